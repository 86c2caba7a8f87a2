//! Qdrant REST calls: one function per endpoint, each through the shared
//! [`HttpClient`] with the Qdrant error mapper.

use std::sync::Arc;

use plugbay_core::http::{Call, ErrorMapper, Method};
use plugbay_core::{Error, ErrorKind, ExposeSecret, HttpClient, Result, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::config::PayloadSchema;
use super::error::QdrantErrorMapper;
use crate::types::Metric;

const PROVIDER: &str = "qdrant";

/// Qdrant's `{"result": ..}` envelope.
#[derive(Deserialize)]
struct Envelope<T> {
    result: T,
}

/// A point as Qdrant returns it from query, retrieve and scroll.
#[derive(Debug, Deserialize)]
pub(crate) struct WirePoint {
    pub(crate) id: Value,
    #[serde(default)]
    pub(crate) score: Option<f32>,
    #[serde(default)]
    pub(crate) payload: Option<Map<String, Value>>,
    #[serde(default)]
    pub(crate) vector: Option<Value>,
}

#[derive(Deserialize)]
struct QueryResult {
    points: Vec<WirePoint>,
}

#[derive(Deserialize)]
struct CountResult {
    count: u64,
}

/// One page of a scroll.
#[derive(Deserialize)]
pub(crate) struct ScrollResult {
    pub(crate) points: Vec<WirePoint>,
    #[serde(default)]
    pub(crate) next_page_offset: Option<Value>,
}

#[derive(Deserialize)]
struct CollectionInfo {
    config: CollectionConfig,
}

#[derive(Deserialize)]
struct CollectionConfig {
    params: CollectionParams,
}

#[derive(Deserialize)]
struct CollectionParams {
    vectors: Value,
}

/// The wire client: base URL, key and HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct QdrantClient {
    http: HttpClient,
    base: String,
    api_key: Option<SecretString>,
    mapper: Arc<dyn ErrorMapper>,
}

pub(crate) fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Cosine => "Cosine",
        Metric::Dot => "Dot",
        Metric::Euclidean => "Euclid",
    }
}

fn metric_from(name: &str) -> Option<Metric> {
    match name {
        "Cosine" => Some(Metric::Cosine),
        "Dot" => Some(Metric::Dot),
        "Euclid" => Some(Metric::Euclidean),
        _ => None,
    }
}

impl QdrantClient {
    pub(crate) fn new(http: HttpClient, base: &str, api_key: Option<SecretString>) -> QdrantClient {
        QdrantClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            api_key,
            mapper: Arc::new(QdrantErrorMapper),
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
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let envelope: Envelope<T> = self
            .http
            .execute_json(&call, |http| {
                let mut req = http.request(method.clone(), &url);
                if let Some(key) = &self.api_key {
                    req = req.header("api-key", key.expose_secret());
                }
                match body {
                    Some(b) => req.json(b),
                    None => req,
                }
            })
            .await?;
        Ok(envelope.result)
    }

    /// Dimensions and metric of a collection, `None` when it does not exist.
    pub(crate) async fn collection(&self, name: &str) -> Result<Option<(usize, Metric)>> {
        let path = format!("/collections/{name}");
        let info: CollectionInfo = match self
            .send(self.call("get_collection", true), Method::GET, &path, None)
            .await
        {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        let vectors = info.config.params.vectors;
        let size = vectors.get("size").and_then(Value::as_u64);
        let distance = vectors.get("distance").and_then(Value::as_str);
        match (size, distance) {
            (Some(size), Some(distance)) => {
                let metric = metric_from(distance).ok_or_else(|| {
                    Error::unsupported(format!(
                        "collection `{name}` uses distance {distance}, which plugbay does not map"
                    ))
                })?;
                let size = usize::try_from(size)
                    .map_err(|_| Error::protocol("collection size out of range"))?;
                Ok(Some((size, metric)))
            }
            _ => Err(Error::unsupported(format!(
                "collection `{name}` uses named vectors; plugbay needs one unnamed vector"
            ))),
        }
    }

    pub(crate) async fn create_collection(
        &self,
        name: &str,
        dims: usize,
        metric: Metric,
    ) -> Result<()> {
        let body = json!({"vectors": {"size": dims, "distance": metric_name(metric)}});
        let path = format!("/collections/{name}");
        let _: Value = self
            .send(
                self.call("create_collection", true),
                Method::PUT,
                &path,
                Some(&body),
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn create_index(
        &self,
        name: &str,
        field: &str,
        schema: PayloadSchema,
    ) -> Result<()> {
        let body = json!({"field_name": field, "field_schema": schema.as_str()});
        let path = format!("/collections/{name}/index?wait=true");
        let _: Value = self
            .send(
                self.call("create_index", true),
                Method::PUT,
                &path,
                Some(&body),
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn delete_collection(&self, name: &str) -> Result<bool> {
        let path = format!("/collections/{name}");
        let done: Value = self
            .send(
                self.call("delete_collection", true),
                Method::DELETE,
                &path,
                None,
            )
            .await?;
        Ok(done.as_bool().unwrap_or(true))
    }

    pub(crate) async fn upsert(&self, name: &str, points: Vec<Value>) -> Result<()> {
        let body = json!({ "points": points });
        let path = format!("/collections/{name}/points?wait=true");
        let _: Value = self
            .send(self.call("upsert", true), Method::PUT, &path, Some(&body))
            .await?;
        Ok(())
    }

    pub(crate) async fn query(&self, name: &str, body: &Value) -> Result<Vec<WirePoint>> {
        let path = format!("/collections/{name}/points/query");
        let result: QueryResult = self
            .send(self.call("query", true), Method::POST, &path, Some(body))
            .await?;
        Ok(result.points)
    }

    pub(crate) async fn retrieve(
        &self,
        name: &str,
        ids: &[String],
        with_data: bool,
    ) -> Result<Vec<WirePoint>> {
        let body = json!({"ids": ids, "with_payload": with_data, "with_vector": with_data});
        let path = format!("/collections/{name}/points");
        self.send(self.call("get", true), Method::POST, &path, Some(&body))
            .await
    }

    /// Delete by `{"points": [..]}` or `{"filter": {..}}`.
    pub(crate) async fn delete_points(&self, name: &str, selector: &Value) -> Result<()> {
        let path = format!("/collections/{name}/points/delete?wait=true");
        let _: Value = self
            .send(
                self.call("delete", true),
                Method::POST,
                &path,
                Some(selector),
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn count(&self, name: &str, filter: Option<Value>) -> Result<u64> {
        let mut body = json!({"exact": true});
        if let Some(f) = filter {
            body["filter"] = f;
        }
        let path = format!("/collections/{name}/points/count");
        let result: CountResult = self
            .send(self.call("count", true), Method::POST, &path, Some(&body))
            .await?;
        Ok(result.count)
    }

    pub(crate) async fn scroll(&self, name: &str, body: &Value) -> Result<ScrollResult> {
        let path = format!("/collections/{name}/points/scroll");
        self.send(self.call("scroll", true), Method::POST, &path, Some(body))
            .await
    }
}
