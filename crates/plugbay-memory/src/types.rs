//! Value types of the [`VectorStore`](crate::VectorStore) trait.

use plugbay_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::filter::Filter;

/// Record metadata: a flat JSON object (keep it flat and null-free so every
/// backend, Pinecone included, can store it).
pub type Metadata = Map<String, Value>;

/// How similarity between two vectors is measured.
///
/// Every backend reports scores where **higher is better**:
///
/// - `Cosine`: cosine similarity in `[-1, 1]`;
/// - `Dot`: the dot product;
/// - `Euclidean`: the *negative* Euclidean (L2, not squared) distance, so
///   `0` is an exact match and farther points score lower. Backends convert
///   (Qdrant returns the distance, Pinecone the squared distance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Cosine similarity.
    Cosine,
    /// Dot product (inner product).
    Dot,
    /// Euclidean distance, reported negated.
    Euclidean,
}

/// The shape of a collection: its name, vector length and metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CollectionSpec {
    /// Collection name: 1-128 characters from `[A-Za-z0-9_.-]`.
    pub name: String,
    /// Length of every vector in the collection (at least 1).
    pub dimensions: usize,
    /// The similarity metric.
    pub metric: Metric,
}

impl CollectionSpec {
    /// A spec with the given name, dimensions and metric.
    pub fn new(name: impl Into<String>, dimensions: usize, metric: Metric) -> CollectionSpec {
        CollectionSpec {
            name: name.into(),
            dimensions,
            metric,
        }
    }

    /// Check the name and dimensions.
    ///
    /// # Errors
    /// `ErrorKind::InvalidInput` for an invalid name or zero dimensions.
    pub fn validate(&self) -> Result<()> {
        validate_collection_name(&self.name)?;
        if self.dimensions == 0 {
            return Err(Error::invalid_input(
                "collection dimensions must be at least 1",
            ));
        }
        Ok(())
    }
}

/// Check a collection name: 1-128 characters from `[A-Za-z0-9_.-]`.
///
/// # Errors
/// `ErrorKind::InvalidInput` when the name is empty, too long or has other
/// characters.
pub fn validate_collection_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || name.len() > 128 || !name.chars().all(ok_char) {
        return Err(Error::invalid_input(
            "collection names are 1-128 characters from [A-Za-z0-9_.-]",
        )
        .with_context("collection", name.chars().take(128).collect::<String>()));
    }
    Ok(())
}

/// One stored vector with its id and metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VectorRecord {
    /// Record id, unique within a collection: 1-512 bytes.
    pub id: String,
    /// The vector; its length must equal the collection's dimensions and
    /// every value must be finite.
    pub vector: Vec<f32>,
    /// Flat metadata, matched by [`Filter`]s.
    #[serde(default)]
    pub metadata: Metadata,
}

impl VectorRecord {
    /// A record with empty metadata.
    pub fn new(id: impl Into<String>, vector: Vec<f32>) -> VectorRecord {
        VectorRecord {
            id: id.into(),
            vector,
            metadata: Metadata::new(),
        }
    }

    /// Replace the metadata.
    pub fn with_metadata(mut self, metadata: Metadata) -> VectorRecord {
        self.metadata = metadata;
        self
    }

    /// Set one metadata field.
    pub fn with_field(mut self, key: impl Into<String>, value: impl Into<Value>) -> VectorRecord {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// A nearest-neighbour query. Build with [`VectorQuery::new`] and setters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct VectorQuery {
    /// The query vector (the collection's dimensions, finite values).
    pub vector: Vec<f32>,
    /// How many results at most (at least 1). Default 10.
    pub top_k: usize,
    /// Only records whose metadata matches.
    pub filter: Option<Filter>,
    /// Return stored vectors in the results. Default false.
    pub include_vectors: bool,
    /// Return metadata in the results. Default true.
    pub include_metadata: bool,
    /// Drop results scoring below this (higher is better for every metric).
    pub min_score: Option<f32>,
}

impl Default for VectorQuery {
    fn default() -> VectorQuery {
        VectorQuery {
            vector: Vec::new(),
            top_k: 10,
            filter: None,
            include_vectors: false,
            include_metadata: true,
            min_score: None,
        }
    }
}

impl VectorQuery {
    /// A query for the `top_k` nearest records to `vector`.
    pub fn new(vector: Vec<f32>, top_k: usize) -> VectorQuery {
        VectorQuery {
            vector,
            top_k,
            ..VectorQuery::default()
        }
    }

    /// Restrict results to records matching `filter`.
    pub fn filter(mut self, filter: Filter) -> VectorQuery {
        self.filter = Some(filter);
        self
    }

    /// Set or clear the filter.
    pub fn with_filter(mut self, filter: Option<Filter>) -> VectorQuery {
        self.filter = filter;
        self
    }

    /// Whether to return stored vectors.
    pub fn include_vectors(mut self, yes: bool) -> VectorQuery {
        self.include_vectors = yes;
        self
    }

    /// Whether to return metadata.
    pub fn include_metadata(mut self, yes: bool) -> VectorQuery {
        self.include_metadata = yes;
        self
    }

    /// Drop results scoring below `score`.
    pub fn min_score(mut self, score: f32) -> VectorQuery {
        self.min_score = Some(score);
        self
    }
}

/// One query result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScoredRecord {
    /// Record id.
    pub id: String,
    /// Similarity; higher is better (see [`Metric`]).
    pub score: f32,
    /// Metadata; empty unless [`VectorQuery::include_metadata`].
    pub metadata: Metadata,
    /// The stored vector, when [`VectorQuery::include_vectors`].
    pub vector: Option<Vec<f32>>,
}

impl ScoredRecord {
    /// A result with empty metadata and no vector.
    pub fn new(id: impl Into<String>, score: f32) -> ScoredRecord {
        ScoredRecord {
            id: id.into(),
            score,
            metadata: Metadata::new(),
            vector: None,
        }
    }

    /// Set the metadata.
    pub fn with_metadata(mut self, metadata: Metadata) -> ScoredRecord {
        self.metadata = metadata;
        self
    }

    /// Set the vector.
    pub fn with_vector(mut self, vector: Vec<f32>) -> ScoredRecord {
        self.vector = Some(vector);
        self
    }
}

/// Which records a [`delete`](crate::VectorStore::delete) removes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selector {
    /// These ids (missing ids are ignored).
    Ids(Vec<String>),
    /// Every record matching the filter.
    Filter(Filter),
    /// Every record; the collection itself stays.
    All,
}

/// A page request for [`scroll`](crate::VectorStore::scroll).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ScrollRequest {
    /// Only records matching this filter.
    pub filter: Option<Filter>,
    /// Most records per page (at least 1). Default 100.
    pub limit: usize,
    /// The opaque cursor of the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Return stored vectors. Default false.
    pub include_vectors: bool,
}

impl Default for ScrollRequest {
    fn default() -> ScrollRequest {
        ScrollRequest {
            filter: None,
            limit: 100,
            cursor: None,
            include_vectors: false,
        }
    }
}

impl ScrollRequest {
    /// The first page of `limit` records.
    pub fn new(limit: usize) -> ScrollRequest {
        ScrollRequest {
            limit,
            ..ScrollRequest::default()
        }
    }

    /// Only records matching `filter`.
    pub fn filter(mut self, filter: Option<Filter>) -> ScrollRequest {
        self.filter = filter;
        self
    }

    /// Continue after a previous page.
    pub fn cursor(mut self, cursor: Option<String>) -> ScrollRequest {
        self.cursor = cursor;
        self
    }

    /// Whether to return stored vectors.
    pub fn include_vectors(mut self, yes: bool) -> ScrollRequest {
        self.include_vectors = yes;
        self
    }
}

/// One page of [`scroll`](crate::VectorStore::scroll) results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScrollPage {
    /// Records in this page (vectors empty unless requested).
    pub records: Vec<VectorRecord>,
    /// Cursor for the next page; `None` when this is the last.
    pub next_cursor: Option<String>,
}

impl ScrollPage {
    /// A page of records.
    pub fn new(records: Vec<VectorRecord>, next_cursor: Option<String>) -> ScrollPage {
        ScrollPage {
            records,
            next_cursor,
        }
    }
}

/// What a vector store backend supports, so callers and the conformance
/// suite can adapt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct VectorCapabilities {
    /// Metadata filters in query/count/delete.
    pub filters: bool,
    /// Collections are namespaces inside one index (Pinecone): cheap to
    /// create, and all share the index's dimensions and metric.
    pub namespaces: bool,
    /// [`scroll`](crate::VectorStore::scroll) works.
    pub scroll: bool,
    /// Most records per `upsert` call the backend accepts in one request
    /// (`None`: no limit; callers batch, the backend may also split).
    pub max_batch: Option<usize>,
    /// Largest `top_k` accepted (`None`: no limit).
    pub max_top_k: Option<usize>,
    /// Search is approximate (HNSW and the like) rather than exact.
    pub ann: bool,
    /// Metrics a collection may use.
    pub metrics: Vec<Metric>,
}

impl Default for VectorCapabilities {
    fn default() -> VectorCapabilities {
        VectorCapabilities {
            filters: true,
            namespaces: false,
            scroll: false,
            max_batch: None,
            max_top_k: None,
            ann: false,
            metrics: vec![Metric::Cosine, Metric::Dot, Metric::Euclidean],
        }
    }
}

impl VectorCapabilities {
    /// The defaults: filters, all metrics, exact search, no limits.
    pub fn new() -> VectorCapabilities {
        VectorCapabilities::default()
    }

    /// Set [`filters`](Self::filters).
    pub fn filters(mut self, yes: bool) -> Self {
        self.filters = yes;
        self
    }

    /// Set [`namespaces`](Self::namespaces).
    pub fn namespaces(mut self, yes: bool) -> Self {
        self.namespaces = yes;
        self
    }

    /// Set [`scroll`](Self::scroll).
    pub fn scroll(mut self, yes: bool) -> Self {
        self.scroll = yes;
        self
    }

    /// Set [`max_batch`](Self::max_batch).
    pub fn max_batch(mut self, max: Option<usize>) -> Self {
        self.max_batch = max;
        self
    }

    /// Set [`max_top_k`](Self::max_top_k).
    pub fn max_top_k(mut self, max: Option<usize>) -> Self {
        self.max_top_k = max;
        self
    }

    /// Set [`ann`](Self::ann).
    pub fn ann(mut self, yes: bool) -> Self {
        self.ann = yes;
        self
    }

    /// Set [`metrics`](Self::metrics).
    pub fn metrics(mut self, metrics: Vec<Metric>) -> Self {
        self.metrics = metrics;
        self
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    #[test]
    fn collection_names_are_checked() {
        assert!(
            CollectionSpec::new("memories-v1.2_x", 3, Metric::Cosine)
                .validate()
                .is_ok()
        );
        for bad in ["", "a b", "a/b", "ä", &"x".repeat(129)] {
            let err = CollectionSpec::new(bad, 3, Metric::Dot)
                .validate()
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        let zero = CollectionSpec::new("ok", 0, Metric::Dot)
            .validate()
            .unwrap_err();
        assert_eq!(zero.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn query_defaults_and_builders() {
        let q = VectorQuery::new(vec![1.0], 3)
            .filter(Filter::eq("a", 1))
            .include_vectors(true)
            .min_score(0.5);
        assert_eq!(q.top_k, 3);
        assert!(q.include_metadata);
        assert!(q.include_vectors);
        assert_eq!(q.min_score, Some(0.5));
        assert_eq!(q.filter, Some(Filter::eq("a", 1)));
        assert_eq!(VectorQuery::default().top_k, 10);
    }

    #[test]
    fn query_json_fills_defaults() {
        let q: VectorQuery = serde_json::from_str(
            r#"{"vector": [1.0, 2.0], "filter": {"lang": "en"}, "min_score": 0.2}"#,
        )
        .unwrap();
        assert_eq!(q.top_k, 10);
        assert!(q.include_metadata && !q.include_vectors);
        assert_eq!(q.filter, Some(Filter::eq("lang", "en")));
        let bad = serde_json::from_str::<VectorQuery>(r#"{"vector": [1.0], "filter": {}}"#);
        assert!(bad.is_err());
    }

    #[test]
    fn metric_serde_is_snake_case() {
        assert_eq!(
            serde_json::to_string(&Metric::Euclidean).unwrap(),
            "\"euclidean\""
        );
        let sel: Selector = serde_json::from_str(r#"{"ids": ["a"]}"#).unwrap();
        assert_eq!(sel, Selector::Ids(vec!["a".into()]));
    }
}
