//! [`InMemoryVectorStore`]: exact search over vectors held in process memory.

mod collection;
mod kernels;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use plugbay_core::{Error, Result};

use crate::filter::Filter;
use crate::store::{VectorStore, validate_id, validate_vector};
use crate::types::{
    CollectionSpec, Metric, ScoredRecord, ScrollPage, ScrollRequest, Selector, VectorCapabilities,
    VectorQuery, VectorRecord, validate_collection_name,
};

use collection::Collection;

const BACKEND: &str = "memory";

/// An always-available vector store that keeps everything in memory and
/// searches exactly (a full scan with a bounded top-k heap).
///
/// Each collection sits behind its own `RwLock`, so queries on one
/// collection run concurrently and writes to different collections do not
/// wait on each other. Cosine collections store vectors unit-normalised
/// (as Qdrant does), so [`get`](VectorStore::get) returns the normalised
/// vector. Nothing is persisted.
///
/// ```
/// use plugbay_memory::{CollectionSpec, InMemoryVectorStore, Metric, VectorQuery, VectorRecord, VectorStore};
///
/// # tokio_test_block_on(async {
/// let store = InMemoryVectorStore::new();
/// store.ensure_collection(CollectionSpec::new("docs", 2, Metric::Cosine)).await?;
/// store.upsert("docs", vec![
///     VectorRecord::new("x", vec![1.0, 0.0]),
///     VectorRecord::new("y", vec![0.0, 1.0]),
/// ]).await?;
/// let hits = store.query("docs", VectorQuery::new(vec![0.9, 0.1], 1)).await?;
/// assert_eq!(hits[0].id, "x");
/// # Ok::<(), plugbay_core::Error>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Default)]
pub struct InMemoryVectorStore {
    collections: RwLock<HashMap<String, Arc<RwLock<Collection>>>>,
}

impl fmt::Debug for InMemoryVectorStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("InMemoryVectorStore")
            .field("collections", &n)
            .finish()
    }
}

impl InMemoryVectorStore {
    /// An empty store.
    pub fn new() -> InMemoryVectorStore {
        InMemoryVectorStore::default()
    }

    fn collection(&self, name: &str) -> Result<Arc<RwLock<Collection>>> {
        self.collections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!("no collection named `{name}`"))
                    .with_provider(BACKEND)
                    .with_context("collection", name.to_owned())
            })
    }

    fn read<T>(&self, name: &str, f: impl FnOnce(&Collection) -> Result<T>) -> Result<T> {
        let collection = self.collection(name)?;
        let guard = collection.read().unwrap_or_else(PoisonError::into_inner);
        f(&guard)
    }

    fn write<T>(&self, name: &str, f: impl FnOnce(&mut Collection) -> Result<T>) -> Result<T> {
        let collection = self.collection(name)?;
        let mut guard = collection.write().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

fn with_op(err: Error, op: &'static str) -> Error {
    err.with_provider(BACKEND).with_operation(op)
}

fn validate_filter(filter: Option<&Filter>) -> Result<()> {
    filter.map_or(Ok(()), Filter::validate)
}

/// Check a vector and, for cosine, normalise it in place.
fn prepare_vector(vector: &mut [f32], dims: usize, metric: Metric) -> Result<()> {
    validate_vector(vector, dims)?;
    if metric == Metric::Cosine && !kernels::normalize(vector) {
        return Err(Error::invalid_input(
            "a zero vector has no direction and cannot be used with the cosine metric",
        ));
    }
    Ok(())
}

#[async_trait]
impl VectorStore for InMemoryVectorStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> VectorCapabilities {
        VectorCapabilities::new().scroll(true)
    }

    async fn ensure_collection(&self, spec: CollectionSpec) -> Result<()> {
        spec.validate()
            .map_err(|e| with_op(e, "ensure_collection"))?;
        let mut all = self
            .collections
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = all.get(&spec.name) {
            let existing = existing.read().unwrap_or_else(PoisonError::into_inner);
            if existing.dims != spec.dimensions || existing.metric != spec.metric {
                return Err(with_op(
                    Error::new(
                        plugbay_core::ErrorKind::AlreadyExists,
                        format!(
                            "collection `{}` exists with {} dimensions and {:?}, asked for {} and {:?}",
                            spec.name, existing.dims, existing.metric, spec.dimensions, spec.metric
                        ),
                    ),
                    "ensure_collection",
                ));
            }
            return Ok(());
        }
        all.insert(
            spec.name.clone(),
            Arc::new(RwLock::new(Collection::new(spec.dimensions, spec.metric))),
        );
        Ok(())
    }

    async fn upsert(&self, collection: &str, mut records: Vec<VectorRecord>) -> Result<()> {
        let (dims, metric) = self
            .read(collection, |c| Ok((c.dims, c.metric)))
            .map_err(|e| with_op(e, "upsert"))?;
        // Validate and normalise outside the write lock; queries keep running.
        for record in &mut records {
            validate_id(&record.id)
                .and_then(|()| prepare_vector(&mut record.vector, dims, metric))
                .map_err(|e| with_op(e, "upsert").with_context("id", record.id.clone()))?;
        }
        self.write(collection, |c| {
            // The collection may have been dropped and recreated meanwhile.
            if (c.dims, c.metric) != (dims, metric) {
                return Err(Error::new(
                    plugbay_core::ErrorKind::PreconditionFailed,
                    "the collection changed shape during the upsert",
                ));
            }
            c.upsert(records);
            Ok(())
        })
        .map_err(|e| with_op(e, "upsert"))
    }

    async fn query(&self, collection: &str, mut q: VectorQuery) -> Result<Vec<ScoredRecord>> {
        if q.top_k == 0 {
            return Err(with_op(
                Error::invalid_input("top_k must be at least 1"),
                "query",
            ));
        }
        validate_filter(q.filter.as_ref()).map_err(|e| with_op(e, "query"))?;
        self.read(collection, |c| {
            prepare_vector(&mut q.vector, c.dims, c.metric)?;
            Ok(c.query(
                &q.vector,
                q.top_k,
                q.filter.as_ref(),
                q.min_score,
                q.include_vectors,
                q.include_metadata,
            ))
        })
        .map_err(|e| with_op(e, "query"))
    }

    async fn get(&self, collection: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        self.read(collection, |c| Ok(c.get(ids)))
            .map_err(|e| with_op(e, "get"))
    }

    async fn delete(&self, collection: &str, sel: Selector) -> Result<u64> {
        if let Selector::Filter(f) = &sel {
            f.validate().map_err(|e| with_op(e, "delete"))?;
        }
        self.write(collection, |c| {
            Ok(match &sel {
                Selector::Ids(ids) => c.delete_ids(ids),
                Selector::Filter(f) => c.delete_where(f),
                Selector::All => c.clear(),
            })
        })
        .map_err(|e| with_op(e, "delete"))
    }

    async fn count(&self, collection: &str, filter: Option<Filter>) -> Result<u64> {
        validate_filter(filter.as_ref()).map_err(|e| with_op(e, "count"))?;
        self.read(collection, |c| Ok(c.count(filter.as_ref())))
            .map_err(|e| with_op(e, "count"))
    }

    async fn scroll(&self, collection: &str, req: ScrollRequest) -> Result<ScrollPage> {
        if req.limit == 0 {
            return Err(with_op(
                Error::invalid_input("limit must be at least 1"),
                "scroll",
            ));
        }
        validate_filter(req.filter.as_ref()).map_err(|e| with_op(e, "scroll"))?;
        self.read(collection, |c| {
            Ok(c.scroll(
                req.filter.as_ref(),
                req.cursor.as_deref(),
                req.limit,
                req.include_vectors,
            ))
        })
        .map_err(|e| with_op(e, "scroll"))
    }

    async fn drop_collection(&self, collection: &str) -> Result<()> {
        validate_collection_name(collection).map_err(|e| with_op(e, "drop_collection"))?;
        let removed = self
            .collections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(collection);
        match removed {
            Some(_) => Ok(()),
            None => Err(with_op(
                Error::not_found(format!("no collection named `{collection}`")),
                "drop_collection",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;
    use crate::conformance::vector as conformance;

    #[tokio::test]
    async fn passes_the_vector_store_conformance_suite() {
        let store = InMemoryVectorStore::new();
        conformance::run_all(&store).await;
    }

    #[tokio::test]
    async fn cosine_rejects_zero_vectors_and_stores_unit_vectors() {
        let store = InMemoryVectorStore::new();
        store
            .ensure_collection(CollectionSpec::new("c", 2, Metric::Cosine))
            .await
            .unwrap();
        let err = store
            .upsert("c", vec![VectorRecord::new("z", vec![0.0, 0.0])])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        store
            .upsert("c", vec![VectorRecord::new("v", vec![3.0, 4.0])])
            .await
            .unwrap();
        let got = store.get("c", &["v".into()]).await.unwrap();
        assert!((got[0].vector[0] - 0.6).abs() < 1e-6);
        let zero_query = store.query("c", VectorQuery::new(vec![0.0, 0.0], 1)).await;
        assert_eq!(zero_query.unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn a_bad_record_in_a_batch_writes_nothing() {
        let store = InMemoryVectorStore::new();
        store
            .ensure_collection(CollectionSpec::new("c", 2, Metric::Dot))
            .await
            .unwrap();
        let err = store
            .upsert(
                "c",
                vec![
                    VectorRecord::new("ok", vec![1.0, 1.0]),
                    VectorRecord::new("bad", vec![f32::NAN, 1.0]),
                ],
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(store.count("c", None).await.unwrap(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_and_readers_see_consistent_data() {
        let store = Arc::new(InMemoryVectorStore::new());
        store
            .ensure_collection(CollectionSpec::new("c", 4, Metric::Euclidean))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..50 {
                        let v = vec![t as f32, i as f32, 1.0, 0.5];
                        let id = format!("{t}-{i}");
                        store
                            .upsert("c", vec![VectorRecord::new(&id, v.clone())])
                            .await
                            .unwrap();
                        let hits = store.query("c", VectorQuery::new(v, 1)).await.unwrap();
                        assert_eq!(hits[0].id, id);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(store.count("c", None).await.unwrap(), 400);
    }

    #[tokio::test]
    async fn drop_collection_forgets_it() {
        let store = InMemoryVectorStore::new();
        store
            .ensure_collection(CollectionSpec::new("c", 2, Metric::Dot))
            .await
            .unwrap();
        store.drop_collection("c").await.unwrap();
        assert_eq!(
            store.count("c", None).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            store.drop_collection("c").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}
