//! Tuning options of the [`InMemoryVectorStore`](super::InMemoryVectorStore).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// How a collection's vectors are additionally encoded for faster scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Quantization {
    /// Scan the `f32` vectors directly (exact).
    #[default]
    None,
    /// Keep symmetric int8 codes (one scale per vector) next to the `f32`
    /// vectors, scan the codes for `top_k × rescore_oversample` candidates
    /// and rescore those exactly in `f32`. Scores returned are exact; only
    /// which records are found can differ from an exact scan (rarely, see
    /// the crate README for measured recall).
    Int8,
}

/// Parameters of the HNSW approximate index (see
/// [`CollectionOptions::ann`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HnswOptions {
    /// Build and use the index only once a collection has at least this
    /// many records; smaller collections are scanned exactly. Default
    /// 100,000.
    pub min_rows: usize,
    /// Links per node on the upper layers (twice this on layer 0).
    /// Default 16.
    pub m: usize,
    /// Candidate list size while building. Default 100.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to `top_k` when
    /// smaller). Default 64.
    pub ef_search: usize,
    /// With a filter, fall back to an exact scan when the estimated share
    /// of matching records is below this. Default 0.05.
    pub exact_below_selectivity: f64,
}

impl Default for HnswOptions {
    fn default() -> HnswOptions {
        HnswOptions {
            min_rows: 100_000,
            m: 16,
            ef_construction: 100,
            ef_search: 64,
            exact_below_selectivity: 0.05,
        }
    }
}

impl HnswOptions {
    /// The defaults.
    pub fn new() -> HnswOptions {
        HnswOptions::default()
    }

    /// Set [`min_rows`](Self::min_rows).
    pub fn min_rows(mut self, rows: usize) -> Self {
        self.min_rows = rows;
        self
    }

    /// Set [`m`](Self::m) (at least 2).
    pub fn m(mut self, m: usize) -> Self {
        self.m = m.max(2);
        self
    }

    /// Set [`ef_construction`](Self::ef_construction) (at least 1).
    pub fn ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = ef.max(1);
        self
    }

    /// Set [`ef_search`](Self::ef_search) (at least 1).
    pub fn ef_search(mut self, ef: usize) -> Self {
        self.ef_search = ef.max(1);
        self
    }

    /// Set [`exact_below_selectivity`](Self::exact_below_selectivity).
    pub fn exact_below_selectivity(mut self, share: f64) -> Self {
        self.exact_below_selectivity = share.clamp(0.0, 1.0);
        self
    }
}

/// Per-collection search options of the in-memory store.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CollectionOptions {
    /// Extra encoding used to speed up scans. Default [`Quantization::None`].
    pub quantization: Quantization,
    /// With [`Quantization::Int8`], how many candidates per requested
    /// result are rescored exactly. Default 8.
    pub rescore_oversample: usize,
    /// An approximate HNSW index for large collections; `None` (default)
    /// keeps every search exact.
    pub ann: Option<HnswOptions>,
}

impl Default for CollectionOptions {
    fn default() -> CollectionOptions {
        CollectionOptions {
            quantization: Quantization::None,
            rescore_oversample: 8,
            ann: None,
        }
    }
}

impl CollectionOptions {
    /// The defaults: exact `f32` scans, no index.
    pub fn new() -> CollectionOptions {
        CollectionOptions::default()
    }

    /// Set [`quantization`](Self::quantization).
    pub fn quantization(mut self, quantization: Quantization) -> Self {
        self.quantization = quantization;
        self
    }

    /// Set [`rescore_oversample`](Self::rescore_oversample) (at least 1).
    pub fn rescore_oversample(mut self, factor: usize) -> Self {
        self.rescore_oversample = factor.max(1);
        self
    }

    /// Set or clear the [`ann`](Self::ann) index.
    pub fn ann(mut self, ann: Option<HnswOptions>) -> Self {
        self.ann = ann;
        self
    }
}

/// How scans use threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanConfig {
    /// Most threads one scan uses (1 = never split).
    pub(crate) threads: usize,
    /// A collection with fewer `rows × dims` values is scanned on the
    /// calling thread: below this, splitting and waking threads cost more
    /// than they save.
    pub(crate) parallel_threshold: usize,
}

/// Default [`InMemoryVectorStoreBuilder::parallel_threshold`]: 2²⁰ values
/// (4 MiB of `f32`, about a millisecond of scanning on one core).
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 1 << 20;

/// Builds an [`InMemoryVectorStore`](super::InMemoryVectorStore) with
/// non-default scan, index and persistence options.
///
/// ```
/// use plugbay_memory::in_memory::{CollectionOptions, InMemoryVectorStore, Quantization};
///
/// let store = InMemoryVectorStore::builder()
///     .scan_threads(2)
///     .default_collection_options(CollectionOptions::new().quantization(Quantization::Int8))
///     .build()
///     .unwrap();
/// # let _ = store;
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryVectorStoreBuilder {
    pub(crate) scan: ScanConfig,
    pub(crate) defaults: CollectionOptions,
    pub(crate) per_collection: HashMap<String, CollectionOptions>,
    pub(crate) snapshot: Option<PathBuf>,
    pub(crate) snapshot_debounce: Option<Duration>,
}

impl Default for InMemoryVectorStoreBuilder {
    fn default() -> InMemoryVectorStoreBuilder {
        InMemoryVectorStoreBuilder {
            scan: ScanConfig {
                threads: rayon::current_num_threads().max(1),
                parallel_threshold: DEFAULT_PARALLEL_THRESHOLD,
            },
            defaults: CollectionOptions::default(),
            per_collection: HashMap::new(),
            snapshot: None,
            snapshot_debounce: None,
        }
    }
}

impl InMemoryVectorStoreBuilder {
    /// Most threads a single scan uses (default: rayon's pool size, the
    /// number of cores). `1` keeps every scan on one thread.
    pub fn scan_threads(mut self, threads: usize) -> Self {
        self.scan.threads = threads.max(1);
        self
    }

    /// Collections holding fewer than `values` (`rows × dims`) are scanned
    /// on the calling task without splitting or leaving the async runtime
    /// (default [`DEFAULT_PARALLEL_THRESHOLD`]).
    pub fn parallel_threshold(mut self, values: usize) -> Self {
        self.scan.parallel_threshold = values;
        self
    }

    /// Options for every collection without its own.
    pub fn default_collection_options(mut self, options: CollectionOptions) -> Self {
        self.defaults = options;
        self
    }

    /// Options for the collection called `name` (applied when it is
    /// created or loaded from a snapshot).
    pub fn collection_options(
        mut self,
        name: impl Into<String>,
        options: CollectionOptions,
    ) -> Self {
        self.per_collection.insert(name.into(), options);
        self
    }

    /// Persist to a snapshot file at `path`: it is loaded by
    /// [`build`](Self::build) when it exists and written by
    /// [`flush`](super::InMemoryVectorStore::flush) /
    /// [`snapshot`](super::InMemoryVectorStore::snapshot).
    pub fn snapshot(mut self, path: impl Into<PathBuf>) -> Self {
        self.snapshot = Some(path.into());
        self
    }

    /// Also save the snapshot `delay` after a write (writes during the
    /// delay share one save). Needs a Tokio runtime at write time; without
    /// one, only explicit flushes save.
    pub fn snapshot_debounce(mut self, delay: Duration) -> Self {
        self.snapshot_debounce = Some(delay);
        self
    }

    pub(crate) fn options_for(&self, name: &str) -> CollectionOptions {
        self.per_collection
            .get(name)
            .unwrap_or(&self.defaults)
            .clone()
    }
}
