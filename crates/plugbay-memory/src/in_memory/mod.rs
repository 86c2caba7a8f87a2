//! [`InMemoryVectorStore`]: exact search over vectors held in process memory.

mod ann;
mod batch;
mod collection;
mod hnsw;
mod kernels;
mod options;
mod persist;
mod scan;
mod search;
mod snapshot;
#[cfg(test)]
mod tests;
mod vector_store;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use plugbay_core::{Error, Result};

use collection::Collection;
use persist::Persistence;

pub use options::{
    CollectionOptions, DEFAULT_PARALLEL_THRESHOLD, HnswOptions, InMemoryVectorStoreBuilder,
    Quantization,
};

const BACKEND: &str = "memory";

type Shared = Arc<RwLock<Collection>>;

/// An always-available vector store that keeps everything in memory and
/// searches exactly by default.
///
/// - **Layout**: each collection keeps its vectors in one contiguous
///   `f32` buffer; a query is one pass over it with a bounded top-k heap,
///   the filter checked before the distance. Cosine collections store
///   unit-normalised vectors (as Qdrant does), so
///   [`get`](crate::VectorStore::get) returns the normalised vector.
/// - **Threads**: collections of at least
///   [`parallel_threshold`](InMemoryVectorStoreBuilder::parallel_threshold)
///   values are scanned in parts on rayon's pool, from a
///   `tokio::task::spawn_blocking` thread so the async workers keep
///   serving other tasks (`block_in_place` would panic on a
///   current-thread runtime and would move the worker's other tasks
///   away); smaller ones are scanned inline, where a thread hand-off
///   would cost more than the scan.
/// - **Batches**: [`query_batch`](crate::VectorStore::query_batch) answers many
///   queries in one pass over the data, tile by tile; int8 tiles are
///   scored against four queries at a time.
/// - **int8**: with [`Quantization::Int8`] the scan reads int8 codes and
///   rescores the best `top_k × rescore_oversample` exactly.
/// - **ANN**: with [`CollectionOptions::ann`], collections past
///   [`HnswOptions::min_rows`] are searched through an HNSW graph.
/// - **Durability**: nothing is persisted unless a
///   [snapshot](InMemoryVectorStoreBuilder::snapshot) is configured; see
///   [`flush`](Self::flush) for what a crash can lose.
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
pub struct InMemoryVectorStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    collections: RwLock<HashMap<String, Shared>>,
    config: InMemoryVectorStoreBuilder,
    persistence: Option<Persistence>,
}

impl Default for InMemoryVectorStore {
    fn default() -> InMemoryVectorStore {
        InMemoryVectorStore::from_parts(InMemoryVectorStoreBuilder::default(), HashMap::new())
    }
}

impl fmt::Debug for InMemoryVectorStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .inner
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("InMemoryVectorStore")
            .field("collections", &n)
            .field("scan_threads", &self.inner.config.scan.threads)
            .field("snapshot", &self.inner.config.snapshot)
            .finish()
    }
}

impl InMemoryVectorStoreBuilder {
    /// Build the store, loading the snapshot file when one is configured
    /// and exists.
    ///
    /// # Errors
    /// `Protocol` when the snapshot file is truncated, corrupt or of an
    /// unknown version (the store refuses to start empty over it); I/O
    /// errors reading it.
    pub fn build(self) -> Result<InMemoryVectorStore> {
        let mut collections = HashMap::new();
        if let Some(path) = &self.snapshot {
            for loaded in snapshot::load(path)?.unwrap_or_default() {
                let mut c =
                    Collection::new(loaded.dims, loaded.metric, self.options_for(&loaded.name));
                c.upsert(loaded.records);
                collections.insert(loaded.name, Arc::new(RwLock::new(c)));
            }
        }
        Ok(InMemoryVectorStore::from_parts(self, collections))
    }
}

impl InMemoryVectorStore {
    /// An empty store with default options and no persistence.
    pub fn new() -> InMemoryVectorStore {
        InMemoryVectorStore::default()
    }

    /// A builder for scan threads, quantisation, ANN and snapshots.
    pub fn builder() -> InMemoryVectorStoreBuilder {
        InMemoryVectorStoreBuilder::default()
    }

    /// A store persisted to the snapshot file at `path`, loaded now when
    /// it exists.
    ///
    /// # Errors
    /// As [`InMemoryVectorStoreBuilder::build`].
    pub fn with_snapshot(path: impl AsRef<Path>) -> Result<InMemoryVectorStore> {
        InMemoryVectorStore::builder()
            .snapshot(path.as_ref())
            .build()
    }

    fn from_parts(
        config: InMemoryVectorStoreBuilder,
        collections: HashMap<String, Shared>,
    ) -> InMemoryVectorStore {
        let persistence = config
            .snapshot
            .clone()
            .map(|path| Persistence::new(path, config.snapshot_debounce));
        InMemoryVectorStore {
            inner: Arc::new(Inner {
                collections: RwLock::new(collections),
                config,
                persistence,
            }),
        }
    }

    fn collection(&self, name: &str) -> Result<Shared> {
        self.inner
            .collections
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
        let out = f(&mut guard);
        drop(guard);
        if out.is_ok() {
            self.touched();
        }
        out
    }

    /// Note a write for the snapshot (and schedule a debounced save).
    fn touched(&self) {
        if let Some(p) = &self.inner.persistence {
            p.touched(&self.inner);
        }
    }

    /// Run a scan inline when it is small, else on a blocking thread.
    async fn run_scan<T: Send + 'static>(
        &self,
        values: usize,
        op: &'static str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        if values < self.inner.config.scan.parallel_threshold
            || tokio::runtime::Handle::try_current().is_err()
        {
            return Ok(work());
        }
        tokio::task::spawn_blocking(work).await.map_err(|e| {
            Error::internal("a vector scan task failed")
                .with_provider(BACKEND)
                .with_operation(op)
                .with_source(e)
        })
    }

    /// Save the snapshot if anything changed since the last save.
    ///
    /// Durability: the snapshot file always holds a complete snapshot
    /// (written to a temporary file, fsynced, renamed over the old one).
    /// A crash loses every write made after the last completed save —
    /// with [`snapshot_debounce`](InMemoryVectorStoreBuilder::snapshot_debounce)
    /// at most about that delay plus one save's duration. Nothing is
    /// saved on drop: call `flush` before shutting down. A store without
    /// a snapshot path has nothing to flush and returns `Ok`.
    ///
    /// # Errors
    /// I/O errors writing the file; the previous snapshot stays intact.
    pub async fn flush(&self) -> Result<()> {
        persist::save(&self.inner, true).await
    }

    /// Whether writes were made since the last completed snapshot save
    /// (always `false` without a snapshot path).
    pub fn unsaved_changes(&self) -> bool {
        self.inner
            .persistence
            .as_ref()
            .is_some_and(Persistence::is_dirty)
    }

    /// Save the snapshot now, changed or not.
    ///
    /// # Errors
    /// `Config` when the store has no snapshot path; I/O errors writing
    /// the file (the previous snapshot stays intact).
    pub async fn snapshot(&self) -> Result<()> {
        if self.inner.persistence.is_none() {
            return Err(Error::config("this store has no snapshot path")
                .with_provider(BACKEND)
                .with_operation("snapshot"));
        }
        persist::save(&self.inner, false).await
    }

    /// Change the search options of an existing collection (for example
    /// to tune [`HnswOptions::ef_search`] or switch int8 scanning on).
    /// Switching quantisation re-encodes the collection; changing the
    /// index's `m` or `ef_construction` drops the index, to be rebuilt.
    ///
    /// # Errors
    /// `NotFound` for an unknown collection.
    pub fn set_collection_options(
        &self,
        collection: &str,
        options: CollectionOptions,
    ) -> Result<()> {
        let shared = self
            .collection(collection)
            .map_err(|e| with_op(e, "set_collection_options"))?;
        shared
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .set_options(options);
        Ok(())
    }

    /// Build (or bring up to date) the HNSW index of a collection now,
    /// instead of on its first query past
    /// [`HnswOptions::min_rows`]. Returns how many records the index
    /// covers.
    ///
    /// # Errors
    /// `NotFound` for an unknown collection; `Config` when the collection
    /// has no ANN option.
    pub async fn build_index(&self, collection: &str) -> Result<usize> {
        let shared = self
            .collection(collection)
            .map_err(|e| with_op(e, "build_index"))?;
        let scan = self.inner.config.scan;
        let work = move || {
            let c = shared.read().unwrap_or_else(PoisonError::into_inner);
            let Some(opts) = c.options.ann.clone() else {
                return Err(Error::config("this collection has no ANN index option"));
            };
            ann::catch_up(&c, &opts, &scan, true);
            Ok(ann::indexed_rows(&c))
        };
        self.run_scan(usize::MAX, "build_index", work)
            .await?
            .map_err(|e| with_op(e, "build_index"))
    }
}

fn with_op(err: Error, op: &'static str) -> Error {
    err.with_provider(BACKEND).with_operation(op)
}
