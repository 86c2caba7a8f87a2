//! [`QdrantStore`]: a [`VectorStore`] over Qdrant's REST API (feature
//! `qdrant`).
//!
//! - Collections are Qdrant collections with one unnamed vector
//!   (`PUT /collections/{c}` with `size` and `distance`); payload indexes
//!   configured on the builder are created with each new collection.
//! - Qdrant point ids are UUIDs or integers, so every record id is mapped to
//!   a UUIDv5 in the fixed namespace [`POINT_ID_NAMESPACE`] and kept in the
//!   payload under [`ID_PAYLOAD_KEY`] (`_plugbay_id`), which caller metadata
//!   may not use.
//! - Writes use `wait=true`, so a write is visible to the next read.
//! - Filters compile to `must`/`should`/`must_not`; see the `filter`
//!   submodule docs for the one known gap (`Exists` on an empty list).
//! - `delete` reports how many records went by counting (exactly) before
//!   deleting; a concurrent writer can make that count stale.
//! - Euclidean scores are negated distances, as everywhere in plugbay.

mod builder;
mod client;
mod config;
mod error;
mod filter;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use plugbay_core::{Error, HttpClient, Result};
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub use builder::QdrantBuilder;
pub use config::{DEFAULT_URL, ID_PAYLOAD_KEY, PayloadIndex, PayloadSchema, QdrantConfig};
pub use error::QdrantErrorMapper;

use crate::filter::Filter;
use crate::store::{VectorStore, validate_id, validate_vector};
use crate::types::{
    CollectionSpec, Metadata, Metric, ScoredRecord, ScrollPage, ScrollRequest, Selector,
    VectorCapabilities, VectorQuery, VectorRecord, validate_collection_name,
};
use client::{QdrantClient, WirePoint};

const BACKEND: &str = "qdrant";

/// The UUID namespace record ids are hashed into (UUIDv5) to make Qdrant
/// point ids. Fixed forever: changing it would orphan every stored point.
pub const POINT_ID_NAMESPACE: Uuid = Uuid::from_u128(0xe31f_55d3_8fd7_5748_92e4_b88b_cbe3_ef0e);

/// The Qdrant point id of a record id.
///
/// ```
/// use plugbay_memory::qdrant::point_id;
/// assert_eq!(point_id("a"), point_id("a"));
/// assert_ne!(point_id("a"), point_id("b"));
/// assert_eq!(point_id("a").len(), 36);
/// ```
pub fn point_id(id: &str) -> String {
    Uuid::new_v5(&POINT_ID_NAMESPACE, id.as_bytes()).to_string()
}

/// A vector store on a Qdrant server. Build with [`QdrantBuilder`].
pub struct QdrantStore {
    client: QdrantClient,
    config: QdrantConfig,
    /// Dimensions and metric per collection, read once.
    shapes: Mutex<HashMap<String, (usize, Metric)>>,
}

impl fmt::Debug for QdrantStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QdrantStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn op(err: Error, operation: &'static str) -> Error {
    err.with_provider(BACKEND).with_operation(operation)
}

fn check_name(name: &str) -> Result<()> {
    validate_collection_name(name)?;
    if name == "." || name == ".." {
        return Err(Error::invalid_input(
            "collection names `.` and `..` are not allowed",
        ));
    }
    Ok(())
}

fn to_vector(value: Option<Value>) -> Vec<f32> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_f64)
            .map(|x| x as f32)
            .collect(),
        _ => Vec::new(),
    }
}

/// The original id and caller metadata of a point.
fn split_payload(point: &WirePoint, payload: Option<Map<String, Value>>) -> (String, Metadata) {
    let mut payload = payload.unwrap_or_default();
    let id = match payload.remove(ID_PAYLOAD_KEY) {
        Some(Value::String(id)) => id,
        _ => match &point.id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    };
    (id, payload)
}

impl QdrantStore {
    /// A builder.
    pub fn builder() -> QdrantBuilder {
        QdrantBuilder::default()
    }

    fn assemble(config: QdrantConfig, http: HttpClient) -> QdrantStore {
        QdrantStore {
            client: QdrantClient::new(http, &config.url, config.api_key.clone()),
            config,
            shapes: Mutex::new(HashMap::new()),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &QdrantConfig {
        &self.config
    }

    /// Create a payload index on `field` of an existing collection
    /// (`PUT /collections/{c}/index`).
    ///
    /// # Errors
    /// `NotFound` for an unknown collection; transport and server errors.
    pub async fn create_payload_index(
        &self,
        collection: &str,
        field: &str,
        schema: PayloadSchema,
    ) -> Result<()> {
        let run = async {
            check_name(collection)?;
            self.client.create_index(collection, field, schema).await
        };
        run.await.map_err(|e| op(e, "create_index"))
    }

    fn cached(&self, name: &str) -> Option<(usize, Metric)> {
        self.shapes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .copied()
    }

    fn remember(&self, name: &str, shape: (usize, Metric)) {
        self.shapes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), shape);
    }

    /// The collection's shape, `NotFound` when it does not exist.
    async fn shape(&self, name: &str) -> Result<(usize, Metric)> {
        check_name(name)?;
        if let Some(shape) = self.cached(name) {
            return Ok(shape);
        }
        match self.client.collection(name).await? {
            Some(shape) => {
                self.remember(name, shape);
                Ok(shape)
            }
            None => Err(Error::not_found(format!("no collection `{name}`"))),
        }
    }

    async fn ensure(&self, spec: CollectionSpec) -> Result<()> {
        spec.validate()?;
        check_name(&spec.name)?;
        let wanted = (spec.dimensions, spec.metric);
        let existing = match self.client.collection(&spec.name).await? {
            Some(shape) => Some(shape),
            None => match self
                .client
                .create_collection(&spec.name, spec.dimensions, spec.metric)
                .await
            {
                Ok(()) => {
                    for index in &self.config.payload_indexes {
                        self.client
                            .create_index(&spec.name, &index.field, index.schema)
                            .await?;
                    }
                    None
                }
                // Created by someone else in the meantime: compare below.
                Err(e) if e.kind() == plugbay_core::ErrorKind::AlreadyExists => {
                    self.client.collection(&spec.name).await?
                }
                Err(e) => return Err(e),
            },
        };
        if let Some(shape) = existing
            && shape != wanted
        {
            return Err(Error::new(
                plugbay_core::ErrorKind::AlreadyExists,
                format!(
                    "collection `{}` exists with {} dimensions and {:?}, not {} and {:?}",
                    spec.name, shape.0, shape.1, wanted.0, wanted.1
                ),
            ));
        }
        self.remember(&spec.name, wanted);
        Ok(())
    }

    fn to_point(record: VectorRecord) -> Value {
        let mut payload = record.metadata;
        payload.insert(ID_PAYLOAD_KEY.to_owned(), Value::String(record.id.clone()));
        json!({"id": point_id(&record.id), "vector": record.vector, "payload": payload})
    }

    async fn upsert_records(&self, collection: &str, records: Vec<VectorRecord>) -> Result<()> {
        let (dims, _) = self.shape(collection).await?;
        for r in &records {
            validate_id(&r.id)?;
            validate_vector(&r.vector, dims)?;
            if r.metadata.contains_key(ID_PAYLOAD_KEY) {
                return Err(Error::invalid_input(format!(
                    "metadata key `{ID_PAYLOAD_KEY}` is reserved by the Qdrant backend"
                )));
            }
        }
        // Within a batch the last record of an id wins.
        let mut seen = HashSet::new();
        let mut unique: Vec<VectorRecord> = records
            .into_iter()
            .rev()
            .filter(|r| seen.insert(r.id.clone()))
            .collect();
        unique.reverse();
        let mut points: Vec<Value> = unique.into_iter().map(Self::to_point).collect();
        while !points.is_empty() {
            let rest = points.split_off(points.len().min(self.config.upsert_batch));
            self.client.upsert(collection, points).await?;
            points = rest;
        }
        Ok(())
    }

    async fn run_query(&self, collection: &str, q: VectorQuery) -> Result<Vec<ScoredRecord>> {
        let (dims, metric) = self.shape(collection).await?;
        if q.top_k == 0 {
            return Err(Error::invalid_input("top_k must be at least 1"));
        }
        validate_vector(&q.vector, dims)?;
        let mut body = json!({
            "query": q.vector,
            "limit": q.top_k,
            "with_vector": q.include_vectors,
            // The original id lives in the payload, so it is always asked for.
            "with_payload": if q.include_metadata { json!(true) } else { json!({"include": [ID_PAYLOAD_KEY]}) },
        });
        if let Some(f) = &q.filter {
            f.validate()?;
            body["filter"] = filter::compile(f);
        }
        let points = self.client.query(collection, &body).await?;
        let mut hits = Vec::with_capacity(points.len());
        for mut point in points {
            let raw = point.score.unwrap_or(0.0);
            let score = if metric == Metric::Euclidean {
                -raw
            } else {
                raw
            };
            if q.min_score.is_some_and(|min| score < min) {
                continue;
            }
            let payload = point.payload.take();
            let vector = point.vector.take();
            let (id, metadata) = split_payload(&point, payload);
            let mut hit = ScoredRecord::new(id, score);
            if q.include_metadata {
                hit = hit.with_metadata(metadata);
            }
            if q.include_vectors {
                hit = hit.with_vector(to_vector(vector));
            }
            hits.push(hit);
        }
        Ok(hits)
    }

    async fn fetch(&self, collection: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        self.shape(collection).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        ids.iter().try_for_each(|id| validate_id(id))?;
        let point_ids: Vec<String> = ids.iter().map(|id| point_id(id)).collect();
        let points = self.client.retrieve(collection, &point_ids, true).await?;
        let mut by_id = HashMap::new();
        for mut point in points {
            let payload = point.payload.take();
            let vector = point.vector.take();
            let (id, metadata) = split_payload(&point, payload);
            by_id.insert(
                id.clone(),
                VectorRecord::new(id, to_vector(vector)).with_metadata(metadata),
            );
        }
        Ok(ids.iter().filter_map(|id| by_id.get(id).cloned()).collect())
    }

    async fn remove(&self, collection: &str, sel: Selector) -> Result<u64> {
        self.shape(collection).await?;
        match sel {
            Selector::Ids(ids) => {
                if ids.is_empty() {
                    return Ok(0);
                }
                ids.iter().try_for_each(|id| validate_id(id))?;
                let unique: HashSet<String> = ids.iter().map(|id| point_id(id)).collect();
                let point_ids: Vec<String> = unique.into_iter().collect();
                let present = self
                    .client
                    .retrieve(collection, &point_ids, false)
                    .await?
                    .len();
                self.client
                    .delete_points(collection, &json!({ "points": point_ids }))
                    .await?;
                Ok(present as u64)
            }
            Selector::Filter(f) => {
                f.validate()?;
                let compiled = filter::compile(&f);
                let n = self
                    .client
                    .count(collection, Some(compiled.clone()))
                    .await?;
                self.client
                    .delete_points(collection, &json!({ "filter": compiled }))
                    .await?;
                Ok(n)
            }
            Selector::All => {
                let n = self.client.count(collection, None).await?;
                self.client
                    .delete_points(collection, &json!({ "filter": {} }))
                    .await?;
                Ok(n)
            }
        }
    }

    async fn count_matching(&self, collection: &str, filter: Option<Filter>) -> Result<u64> {
        self.shape(collection).await?;
        let compiled = match filter {
            Some(f) => {
                f.validate()?;
                Some(filter::compile(&f))
            }
            None => None,
        };
        self.client.count(collection, compiled).await
    }

    async fn page(&self, collection: &str, req: ScrollRequest) -> Result<ScrollPage> {
        self.shape(collection).await?;
        if req.limit == 0 {
            return Err(Error::invalid_input("scroll limit must be at least 1"));
        }
        let mut body = json!({
            "limit": req.limit,
            "with_payload": true,
            "with_vector": req.include_vectors,
        });
        if let Some(f) = &req.filter {
            f.validate()?;
            body["filter"] = filter::compile(f);
        }
        if let Some(cursor) = &req.cursor {
            let offset: Value = serde_json::from_str(cursor)
                .map_err(|_| Error::invalid_input("malformed scroll cursor"))?;
            body["offset"] = offset;
        }
        let result = self.client.scroll(collection, &body).await?;
        let records = result
            .points
            .into_iter()
            .map(|mut point| {
                let payload = point.payload.take();
                let vector = point.vector.take();
                let (id, metadata) = split_payload(&point, payload);
                VectorRecord::new(id, to_vector(vector)).with_metadata(metadata)
            })
            .collect();
        let next = result
            .next_page_offset
            .filter(|v| !v.is_null())
            .map(|v| v.to_string());
        Ok(ScrollPage::new(records, next))
    }
}

#[async_trait]
impl VectorStore for QdrantStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> VectorCapabilities {
        VectorCapabilities::new().scroll(true).ann(true)
    }

    async fn ensure_collection(&self, spec: CollectionSpec) -> Result<()> {
        self.ensure(spec)
            .await
            .map_err(|e| op(e, "ensure_collection"))
    }

    async fn upsert(&self, collection: &str, records: Vec<VectorRecord>) -> Result<()> {
        self.upsert_records(collection, records)
            .await
            .map_err(|e| op(e, "upsert"))
    }

    async fn query(&self, collection: &str, q: VectorQuery) -> Result<Vec<ScoredRecord>> {
        self.run_query(collection, q)
            .await
            .map_err(|e| op(e, "query"))
    }

    async fn get(&self, collection: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        self.fetch(collection, ids).await.map_err(|e| op(e, "get"))
    }

    async fn delete(&self, collection: &str, sel: Selector) -> Result<u64> {
        self.remove(collection, sel)
            .await
            .map_err(|e| op(e, "delete"))
    }

    async fn count(&self, collection: &str, filter: Option<Filter>) -> Result<u64> {
        self.count_matching(collection, filter)
            .await
            .map_err(|e| op(e, "count"))
    }

    async fn scroll(&self, collection: &str, req: ScrollRequest) -> Result<ScrollPage> {
        self.page(collection, req)
            .await
            .map_err(|e| op(e, "scroll"))
    }

    async fn drop_collection(&self, collection: &str) -> Result<()> {
        let run = async {
            check_name(collection)?;
            self.shapes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(collection);
            if self.client.delete_collection(collection).await? {
                Ok(())
            } else {
                Err(Error::not_found(format!("no collection `{collection}`")))
            }
        };
        run.await.map_err(|e| op(e, "drop_collection"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_ids_are_stable_uuid_v5() {
        let id = point_id("memory-1");
        let parsed = Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 5);
        assert_eq!(id, point_id("memory-1"));
        assert_ne!(id, point_id("memory-2"));
    }

    #[test]
    fn payload_keeps_the_original_id() {
        let point = QdrantStore::to_point(VectorRecord::new("r1", vec![1.0]).with_field("k", "v"));
        assert_eq!(point["payload"][ID_PAYLOAD_KEY], "r1");
        assert_eq!(point["payload"]["k"], "v");
        assert_eq!(point["id"], point_id("r1"));
        let wire = WirePoint {
            id: point["id"].clone(),
            score: None,
            payload: None,
            vector: None,
        };
        let payload = point["payload"].as_object().cloned();
        let (id, meta) = split_payload(&wire, payload);
        assert_eq!(id, "r1");
        assert!(!meta.contains_key(ID_PAYLOAD_KEY));
    }

    #[test]
    fn dot_names_are_refused() {
        assert!(check_name("..").is_err());
        assert!(check_name("a.b").is_ok());
    }
}
