//! Mem0 platform REST calls, each through the shared [`HttpClient`] with
//! the Mem0 error mapper.

use std::sync::Arc;

use plugbay_core::http::{Call, ErrorMapper, Method};
use plugbay_core::{ExposeSecret, HttpClient, Result, SecretString};
use serde_json::Value;

use super::error::Mem0ErrorMapper;

const PROVIDER: &str = "mem0";

/// The wire client.
#[derive(Debug, Clone)]
pub(crate) struct Mem0Client {
    http: HttpClient,
    base: String,
    api_key: SecretString,
    scope_params: Vec<(String, String)>,
    mapper: Arc<dyn ErrorMapper>,
}

impl Mem0Client {
    pub(crate) fn new(
        http: HttpClient,
        base: &str,
        api_key: SecretString,
        org_id: Option<&str>,
        project_id: Option<&str>,
    ) -> Mem0Client {
        let mut scope_params = Vec::new();
        if let Some(org) = org_id {
            scope_params.push(("org_id".to_owned(), org.to_owned()));
        }
        if let Some(project) = project_id {
            scope_params.push(("project_id".to_owned(), project.to_owned()));
        }
        Mem0Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            api_key,
            scope_params,
            mapper: Arc::new(Mem0ErrorMapper),
        }
    }

    fn call(&self, operation: &'static str, idempotent: bool) -> Call {
        Call::new(PROVIDER, operation)
            .idempotent(idempotent)
            .with_shared_error_mapper(self.mapper.clone())
    }

    async fn send(
        &self,
        call: Call,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .execute(&call, |http| {
                let mut req = http
                    .request(method.clone(), &url)
                    .header(
                        "authorization",
                        format!("Token {}", self.api_key.expose_secret()),
                    )
                    .header("accept", "application/json");
                if !self.scope_params.is_empty() {
                    req = req.query(&self.scope_params);
                }
                if !query.is_empty() {
                    req = req.query(query);
                }
                match body {
                    Some(b) => req.json(b),
                    None => req,
                }
            })
            .await?;
        // DELETE answers may be empty.
        if response.body().iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        response.json().map_err(|e| {
            e.with_provider(PROVIDER)
                .with_operation(call.operation().to_owned())
                .with_context("attempts", response.attempts().to_string())
        })
    }

    pub(crate) async fn ping(&self) -> Result<Value> {
        self.send(self.call("ping", true), Method::GET, "/v1/ping/", &[], None)
            .await
    }

    /// `POST /v3/memories/add/`: not retried once sent (a retry could
    /// store the messages twice).
    pub(crate) async fn add(&self, body: &Value) -> Result<Value> {
        self.send(
            self.call("add", false),
            Method::POST,
            "/v3/memories/add/",
            &[],
            Some(body),
        )
        .await
    }

    pub(crate) async fn event(&self, event_id: &str) -> Result<Value> {
        let path = format!("/v1/event/{event_id}/");
        self.send(self.call("get_event", true), Method::GET, &path, &[], None)
            .await
    }

    pub(crate) async fn search(&self, body: &Value) -> Result<Value> {
        self.send(
            self.call("search", true),
            Method::POST,
            "/v3/memories/search/",
            &[],
            Some(body),
        )
        .await
    }

    pub(crate) async fn list(&self, page: u64, page_size: usize, body: &Value) -> Result<Value> {
        let query = [
            ("page", page.to_string()),
            ("page_size", page_size.to_string()),
        ];
        self.send(
            self.call("list", true),
            Method::POST,
            "/v3/memories/",
            &query,
            Some(body),
        )
        .await
    }

    pub(crate) async fn get(&self, id: &str) -> Result<Value> {
        let path = format!("/v1/memories/{id}/");
        self.send(self.call("get", true), Method::GET, &path, &[], None)
            .await
    }

    pub(crate) async fn update(&self, id: &str, body: &Value) -> Result<Value> {
        let path = format!("/v1/memories/{id}/");
        self.send(
            self.call("update", true),
            Method::PUT,
            &path,
            &[],
            Some(body),
        )
        .await
    }

    pub(crate) async fn delete(&self, id: &str) -> Result<Value> {
        let path = format!("/v1/memories/{id}/");
        self.send(self.call("delete", true), Method::DELETE, &path, &[], None)
            .await
    }

    pub(crate) async fn history(&self, id: &str) -> Result<Value> {
        let path = format!("/v1/memories/{id}/history/");
        self.send(self.call("history", true), Method::GET, &path, &[], None)
            .await
    }
}
