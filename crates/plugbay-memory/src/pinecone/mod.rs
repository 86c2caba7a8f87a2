//! [`PineconeStore`]: a [`VectorStore`] over Pinecone's REST API (feature
//! `pinecone`).
//!
//! **A collection is a namespace of one index.** Every collection shares
//! the index's dimensions and metric, so `ensure_collection` only checks
//! them (`AlreadyExists` when they differ, like any other collection
//! created with another shape) and remembers the namespace; Pinecone
//! creates namespaces on first write. A collection counts as existing
//! once `ensure_collection` ran in this process or the namespace holds
//! records (`describe_index_stats`); anything else is `NotFound`.
//!
//! - The index host comes from the control plane (`GET /indexes/{name}`)
//!   unless given; every request carries `Api-Key` and a pinned
//!   `X-Pinecone-API-Version`.
//! - Metadata is checked before sending (flat strings, numbers, booleans
//!   and lists of strings; no nulls; at most 40 KB) and upserts are packed
//!   under 2 MB and 1000 records per request.
//! - Filters compile to `$` operators with negations pushed down (Pinecone
//!   has no `$not`); see the `filter` submodule for the one gap.
//! - `count` without a filter reads `describe_index_stats`; with a filter
//!   it counts the matches of one `topK = 10000` query (serverless indexes
//!   do not count filtered records), so more than 10,000 matches is
//!   `Unsupported`. `delete` by filter counts the same way first.
//! - Pinecone is eventually consistent: a write may take a moment to show
//!   up in queries, fetches and counts.
//! - `scroll` is not supported (Pinecone's list endpoint takes no filter).

mod builder;
mod client;
mod config;
mod error;
mod filter;
mod records;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use plugbay_core::{Error, ErrorKind, HttpClient, Result, SecretString};
use serde_json::json;
use tokio::sync::OnceCell;

pub use builder::PineconeBuilder;
pub use config::{
    DEFAULT_API_VERSION, DEFAULT_CONTROL_URL, MAX_IDS_PER_REQUEST, MAX_METADATA_BYTES, MAX_TOP_K,
    MAX_UPSERT_BYTES, MAX_UPSERT_RECORDS, PineconeConfig,
};
pub use error::PineconeErrorMapper;
pub use records::validate_metadata;

use crate::filter::Filter;
use crate::store::{VectorStore, validate_id, validate_vector};
use crate::types::{
    CollectionSpec, Metric, ScoredRecord, Selector, VectorCapabilities, VectorQuery, VectorRecord,
    validate_collection_name,
};
use client::PineconeClient;

const BACKEND: &str = "pinecone";
/// Keep fetch URLs short whatever the id lengths.
const MAX_FETCH_URL_IDS_BYTES: usize = 6_000;

/// The resolved index: where it is and its shape.
#[derive(Debug, Clone)]
struct IndexInfo {
    host: String,
    dims: usize,
    metric: Metric,
}

/// A vector store on one Pinecone index. Build with [`PineconeBuilder`].
pub struct PineconeStore {
    client: PineconeClient,
    config: PineconeConfig,
    index: OnceCell<IndexInfo>,
    known: Mutex<HashSet<String>>,
}

impl fmt::Debug for PineconeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PineconeStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn op(err: Error, operation: &'static str) -> Error {
    err.with_provider(BACKEND).with_operation(operation)
}

fn unmapped_metric(name: &str) -> Error {
    Error::unsupported(format!(
        "the index uses metric `{name}`, which plugbay does not map"
    ))
}

/// Split ids into fetch/delete batches: at most 1000 ids and a bounded
/// URL length each.
fn id_batches(ids: &[String]) -> Vec<&[String]> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, id) in ids.iter().enumerate() {
        let full = i - start >= MAX_IDS_PER_REQUEST || bytes + id.len() > MAX_FETCH_URL_IDS_BYTES;
        if full && i > start {
            batches.push(&ids[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += id.len();
    }
    if start < ids.len() {
        batches.push(&ids[start..]);
    }
    batches
}

impl PineconeStore {
    /// A builder.
    pub fn builder() -> PineconeBuilder {
        PineconeBuilder::default()
    }

    fn assemble(config: PineconeConfig, key: SecretString, http: HttpClient) -> PineconeStore {
        PineconeStore {
            client: PineconeClient::new(http, &config.control_url, key, &config.api_version),
            config,
            index: OnceCell::new(),
            known: Mutex::new(HashSet::new()),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &PineconeConfig {
        &self.config
    }

    /// Resolve the index (host, dimensions, metric) now rather than on
    /// first use, and return its dimensions and metric. Afterwards
    /// [`capabilities`](VectorStore::capabilities) lists only that metric.
    ///
    /// # Errors
    /// `NotFound` for an unknown index; `Unsupported` for a metric plugbay
    /// does not map; transport and server errors.
    pub async fn describe(&self) -> Result<(usize, Metric)> {
        let info = self.info().await.map_err(|e| op(e, "describe_index"))?;
        Ok((info.dims, info.metric))
    }

    async fn info(&self) -> Result<IndexInfo> {
        self.index
            .get_or_try_init(|| async {
                let described = match (&self.config.index_host, &self.config.index) {
                    (Some(_), _) => None,
                    (None, Some(name)) => Some(self.client.describe_index(name).await?),
                    (None, None) => return Err(Error::config("no Pinecone index configured")),
                };
                let host = match (&self.config.index_host, &described) {
                    (Some(host), _) => host.clone(),
                    (None, Some(d)) => d.host.clone(),
                    (None, None) => return Err(Error::config("no Pinecone index host")),
                };
                let (dims, metric) = match described {
                    Some(d) if d.dimension.is_some() && d.metric.is_some() => {
                        (d.dimension, d.metric)
                    }
                    _ => {
                        let stats = self.client.stats(&host).await?;
                        (stats.dimension, stats.metric)
                    }
                };
                let dims = dims.ok_or_else(|| {
                    Error::protocol("Pinecone did not report the index dimension")
                })?;
                let name = metric.unwrap_or_else(|| "cosine".to_owned());
                let metric = client::metric_from(&name).ok_or_else(|| unmapped_metric(&name))?;
                Ok(IndexInfo { host, dims, metric })
            })
            .await
            .cloned()
    }

    fn is_known(&self, namespace: &str) -> bool {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(namespace)
    }

    fn mark_known(&self, namespace: &str, known: bool) {
        let mut set = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known {
            set.insert(namespace.to_owned());
        } else {
            set.remove(namespace);
        }
    }

    /// The index, after checking that `namespace` is a known collection.
    async fn collection(&self, namespace: &str) -> Result<IndexInfo> {
        validate_collection_name(namespace)?;
        let info = self.info().await?;
        if self.is_known(namespace) {
            return Ok(info);
        }
        let stats = self.client.stats(&info.host).await?;
        if stats.namespaces.contains_key(namespace) {
            self.mark_known(namespace, true);
            return Ok(info);
        }
        Err(Error::not_found(format!(
            "no collection (namespace) `{namespace}` in the Pinecone index"
        )))
    }

    async fn ensure(&self, spec: CollectionSpec) -> Result<()> {
        spec.validate()?;
        let info = self.info().await?;
        if (info.dims, info.metric) != (spec.dimensions, spec.metric) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "collection `{}` would be a namespace of an index with {} dimensions and {:?}, not {} and {:?}",
                    spec.name, info.dims, info.metric, spec.dimensions, spec.metric
                ),
            ));
        }
        self.mark_known(&spec.name, true);
        Ok(())
    }

    async fn upsert_records(&self, namespace: &str, records: Vec<VectorRecord>) -> Result<()> {
        let info = self.collection(namespace).await?;
        records
            .iter()
            .try_for_each(|r| records::validate_record(r, info.dims))?;
        // Within a batch the last record of an id wins.
        let mut seen = HashSet::new();
        let mut unique: Vec<VectorRecord> = records
            .into_iter()
            .rev()
            .filter(|r| seen.insert(r.id.clone()))
            .collect();
        unique.reverse();
        let bodies = records::pack(
            &unique,
            namespace,
            self.config.max_request_bytes,
            self.config.max_batch,
        )?;
        for body in bodies {
            self.client.upsert(&info.host, body).await?;
        }
        Ok(())
    }

    fn score(metric: Metric, raw: f32) -> f32 {
        match metric {
            // Pinecone reports the squared distance.
            Metric::Euclidean => -raw.max(0.0).sqrt(),
            _ => raw,
        }
    }

    async fn run_query(&self, namespace: &str, q: VectorQuery) -> Result<Vec<ScoredRecord>> {
        let info = self.collection(namespace).await?;
        if q.top_k == 0 || q.top_k > MAX_TOP_K {
            return Err(Error::invalid_input(format!(
                "top_k must be between 1 and {MAX_TOP_K}"
            )));
        }
        validate_vector(&q.vector, info.dims)?;
        let mut body = json!({
            "namespace": namespace,
            "vector": q.vector,
            "topK": q.top_k,
            "includeValues": q.include_vectors,
            "includeMetadata": q.include_metadata,
        });
        if let Some(f) = &q.filter {
            f.validate()?;
            body["filter"] = filter::compile(f);
        }
        let matches = self.client.query(&info.host, &body).await?;
        let mut hits = Vec::with_capacity(matches.len());
        for m in matches {
            let score = Self::score(info.metric, m.score);
            if q.min_score.is_some_and(|min| score < min) {
                continue;
            }
            let mut hit = ScoredRecord::new(m.id, score);
            if q.include_metadata {
                hit = hit.with_metadata(m.metadata.unwrap_or_default());
            }
            if q.include_vectors {
                hit = hit.with_vector(m.values.unwrap_or_default());
            }
            hits.push(hit);
        }
        Ok(hits)
    }

    async fn fetch(&self, namespace: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        let info = self.collection(namespace).await?;
        ids.iter().try_for_each(|id| validate_id(id))?;
        let mut found = HashMap::new();
        for batch in id_batches(ids) {
            found.extend(self.client.fetch(&info.host, namespace, batch).await?);
        }
        Ok(ids
            .iter()
            .filter_map(|id| {
                found.get(id).map(|f| {
                    VectorRecord::new(id.clone(), f.values.clone())
                        .with_metadata(f.metadata.clone().unwrap_or_default())
                })
            })
            .collect())
    }

    /// Count matches of `filter` with one `topK = 10000` query.
    async fn count_by_query(
        &self,
        info: &IndexInfo,
        namespace: &str,
        filter: &Filter,
    ) -> Result<u64> {
        filter.validate()?;
        let mut probe = vec![0.0_f32; info.dims];
        if let Some(first) = probe.first_mut() {
            *first = 1.0;
        }
        let body = json!({
            "namespace": namespace,
            "vector": probe,
            "topK": MAX_TOP_K,
            "filter": filter::compile(filter),
            "includeValues": false,
            "includeMetadata": false,
        });
        let n = self.client.query(&info.host, &body).await?.len();
        if n >= MAX_TOP_K {
            return Err(Error::unsupported(format!(
                "{MAX_TOP_K} or more records match; Pinecone cannot count filtered records beyond topK"
            )));
        }
        Ok(n as u64)
    }

    async fn namespace_size(&self, info: &IndexInfo, namespace: &str) -> Result<u64> {
        let stats = self.client.stats(&info.host).await?;
        Ok(stats
            .namespaces
            .get(namespace)
            .map_or(0, |ns| ns.vector_count))
    }

    async fn remove(&self, namespace: &str, sel: Selector) -> Result<u64> {
        let info = self.collection(namespace).await?;
        match sel {
            Selector::Ids(ids) => {
                ids.iter().try_for_each(|id| validate_id(id))?;
                let unique: Vec<String> = ids
                    .iter()
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .cloned()
                    .collect();
                let mut removed = 0;
                for batch in id_batches(&unique) {
                    removed += self.client.fetch(&info.host, namespace, batch).await?.len() as u64;
                    self.client
                        .delete(&info.host, &json!({"ids": batch, "namespace": namespace}))
                        .await?;
                }
                Ok(removed)
            }
            Selector::Filter(f) => {
                let n = self.count_by_query(&info, namespace, &f).await?;
                self.client
                    .delete(
                        &info.host,
                        &json!({"filter": filter::compile(&f), "namespace": namespace}),
                    )
                    .await?;
                Ok(n)
            }
            Selector::All => {
                let n = self.namespace_size(&info, namespace).await?;
                self.client
                    .delete(
                        &info.host,
                        &json!({"deleteAll": true, "namespace": namespace}),
                    )
                    .await?;
                Ok(n)
            }
        }
    }

    async fn count_matching(&self, namespace: &str, filter: Option<Filter>) -> Result<u64> {
        let info = self.collection(namespace).await?;
        match filter {
            Some(f) => self.count_by_query(&info, namespace, &f).await,
            None => self.namespace_size(&info, namespace).await,
        }
    }
}

#[async_trait]
impl VectorStore for PineconeStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> VectorCapabilities {
        let caps = VectorCapabilities::new()
            .namespaces(true)
            .max_batch(Some(MAX_UPSERT_RECORDS))
            .max_top_k(Some(MAX_TOP_K))
            .ann(true);
        match self.index.get() {
            Some(info) => caps.metrics(vec![info.metric]),
            None => caps,
        }
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

    /// Deletes every record of the namespace (`deleteAll`) and forgets it.
    async fn drop_collection(&self, collection: &str) -> Result<()> {
        let run = async {
            let info = self.collection(collection).await?;
            self.client
                .delete(
                    &info.host,
                    &json!({"deleteAll": true, "namespace": collection}),
                )
                .await?;
            self.mark_known(collection, false);
            Ok(())
        };
        run.await.map_err(|e| op(e, "drop_collection"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_batches_bound_count_and_bytes() {
        let ids: Vec<String> = (0..2500).map(|i| format!("{i:04}")).collect();
        let sizes: Vec<usize> = id_batches(&ids).iter().map(|b| b.len()).collect();
        assert!(sizes.iter().all(|n| *n <= MAX_IDS_PER_REQUEST), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 2500);
        let long: Vec<String> = (0..40)
            .map(|i| format!("{i}-{}", "x".repeat(500)))
            .collect();
        let batches = id_batches(&long);
        assert!(batches.len() > 1);
        assert!(
            batches
                .iter()
                .all(|b| b.iter().map(String::len).sum::<usize>() <= MAX_FETCH_URL_IDS_BYTES)
        );
        assert!(id_batches(&[]).is_empty());
    }

    #[test]
    fn euclidean_scores_are_negated_distances() {
        assert_eq!(PineconeStore::score(Metric::Euclidean, 4.0), -2.0);
        assert_eq!(PineconeStore::score(Metric::Dot, 4.0), 4.0);
    }
}
