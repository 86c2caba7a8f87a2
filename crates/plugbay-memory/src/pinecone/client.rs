//! Pinecone REST calls: the control plane (index description) and the
//! data plane of one index host.

use std::collections::HashMap;
use std::sync::Arc;

use plugbay_core::http::{Call, ErrorMapper, Method};
use plugbay_core::{Error, ExposeSecret, HttpClient, Result, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::PineconeErrorMapper;
use crate::types::Metric;

const PROVIDER: &str = "pinecone";

/// What the control plane says about an index.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IndexDescription {
    #[serde(default)]
    pub(crate) dimension: Option<usize>,
    #[serde(default)]
    pub(crate) metric: Option<String>,
    pub(crate) host: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NamespaceStats {
    #[serde(default)]
    pub(crate) vector_count: u64,
}

/// `describe_index_stats`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndexStats {
    #[serde(default)]
    pub(crate) namespaces: HashMap<String, NamespaceStats>,
    #[serde(default)]
    pub(crate) dimension: Option<usize>,
    #[serde(default)]
    pub(crate) metric: Option<String>,
}

/// One query match.
#[derive(Debug, Deserialize)]
pub(crate) struct Match {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) score: f32,
    #[serde(default)]
    pub(crate) values: Option<Vec<f32>>,
    #[serde(default)]
    pub(crate) metadata: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct QueryResponse {
    #[serde(default)]
    matches: Vec<Match>,
}

/// One fetched record.
#[derive(Debug, Deserialize)]
pub(crate) struct Fetched {
    #[serde(default)]
    pub(crate) values: Vec<f32>,
    #[serde(default)]
    pub(crate) metadata: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct FetchResponse {
    #[serde(default)]
    vectors: HashMap<String, Fetched>,
}

pub(crate) fn metric_from(name: &str) -> Option<Metric> {
    match name {
        "cosine" => Some(Metric::Cosine),
        "dotproduct" => Some(Metric::Dot),
        "euclidean" => Some(Metric::Euclidean),
        _ => None,
    }
}

/// The base URL of an index host: `https://{host}` unless a scheme is given.
pub(crate) fn host_url(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.contains("://") {
        host.to_owned()
    } else {
        format!("https://{host}")
    }
}

/// The wire client shared by control and data plane calls.
#[derive(Debug, Clone)]
pub(crate) struct PineconeClient {
    http: HttpClient,
    control: String,
    api_key: SecretString,
    api_version: String,
    mapper: Arc<dyn ErrorMapper>,
}

impl PineconeClient {
    pub(crate) fn new(
        http: HttpClient,
        control: &str,
        api_key: SecretString,
        api_version: &str,
    ) -> PineconeClient {
        PineconeClient {
            http,
            control: control.trim_end_matches('/').to_owned(),
            api_key,
            api_version: api_version.to_owned(),
            mapper: Arc::new(PineconeErrorMapper),
        }
    }

    fn call(&self, operation: &'static str, idempotent: bool) -> Call {
        Call::new(PROVIDER, operation)
            .idempotent(idempotent)
            .with_shared_error_mapper(self.mapper.clone())
    }

    async fn send<T: DeserializeOwned>(
        &self,
        call: Call,
        method: Method,
        url: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<T> {
        self.http
            .execute_json(&call, |http| {
                let mut req = http
                    .request(method.clone(), url)
                    .header("Api-Key", self.api_key.expose_secret())
                    .header("X-Pinecone-API-Version", &self.api_version)
                    .header("accept", "application/json");
                if !query.is_empty() {
                    req = req.query(query);
                }
                match &body {
                    Some(b) => req
                        .header("content-type", "application/json")
                        .body(b.clone()),
                    None => req,
                }
            })
            .await
    }

    async fn post_json<T: DeserializeOwned>(
        &self,
        call: Call,
        url: &str,
        body: &Value,
    ) -> Result<T> {
        let bytes = serde_json::to_vec(body)?;
        self.send(call, Method::POST, url, &[], Some(bytes)).await
    }

    /// `GET /indexes/{name}` on the control plane.
    pub(crate) async fn describe_index(&self, name: &str) -> Result<IndexDescription> {
        let url = format!("{}/indexes/{name}", self.control);
        self.send(
            self.call("describe_index", true),
            Method::GET,
            &url,
            &[],
            None,
        )
        .await
    }

    pub(crate) async fn stats(&self, host: &str) -> Result<IndexStats> {
        let url = format!("{}/describe_index_stats", host_url(host));
        self.post_json(
            self.call("describe_index_stats", true),
            &url,
            &Value::Object(Map::new()),
        )
        .await
    }

    /// One pre-packed upsert body.
    pub(crate) async fn upsert(&self, host: &str, body: Vec<u8>) -> Result<()> {
        let url = format!("{}/vectors/upsert", host_url(host));
        // Upserts overwrite by id, so repeating one is safe.
        let _: Value = self
            .send(
                self.call("upsert", true),
                Method::POST,
                &url,
                &[],
                Some(body),
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn query(&self, host: &str, body: &Value) -> Result<Vec<Match>> {
        let url = format!("{}/query", host_url(host));
        let response: QueryResponse = self.post_json(self.call("query", true), &url, body).await?;
        Ok(response.matches)
    }

    /// `GET /vectors/fetch?ids=..&namespace=..` for at most 1000 ids.
    pub(crate) async fn fetch(
        &self,
        host: &str,
        namespace: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Fetched>> {
        if ids.len() > super::config::MAX_IDS_PER_REQUEST {
            return Err(Error::internal("fetch batch over the id limit"));
        }
        let url = format!("{}/vectors/fetch", host_url(host));
        let mut query: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", id.as_str())).collect();
        query.push(("namespace", namespace));
        let response: FetchResponse = self
            .send(self.call("fetch", true), Method::GET, &url, &query, None)
            .await?;
        Ok(response.vectors)
    }

    /// `POST /vectors/delete` with `ids`, `filter` or `deleteAll`.
    pub(crate) async fn delete(&self, host: &str, body: &Value) -> Result<()> {
        let url = format!("{}/vectors/delete", host_url(host));
        let _: Value = self
            .post_json(self.call("delete", true), &url, body)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_get_https_unless_a_scheme_is_given() {
        assert_eq!(
            host_url("idx-1.svc.pinecone.io"),
            "https://idx-1.svc.pinecone.io"
        );
        assert_eq!(host_url("http://127.0.0.1:9/"), "http://127.0.0.1:9");
        assert_eq!(metric_from("dotproduct"), Some(Metric::Dot));
        assert_eq!(metric_from("manhattan"), None);
    }
}
