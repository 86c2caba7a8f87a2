#![doc = include_str!("../README.md")]

pub mod filter;
pub mod in_memory;
pub mod local;
#[cfg(feature = "mem0")]
pub mod mem0;
pub mod memory;
#[cfg(feature = "pinecone")]
pub mod pinecone;
#[cfg(feature = "qdrant")]
pub mod qdrant;
pub mod store;
pub mod types;
mod url;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use filter::Filter;
pub use in_memory::{HnswOptions, InMemoryVectorStore, InMemoryVectorStoreBuilder, Quantization};
pub use local::{
    DynHistoryStore, HistoryStore, HybridSearch, InMemoryHistory, JsonlHistory, LocalMemory,
    LocalMemoryBuilder, ReconcilePolicy,
};
pub use memory::{
    AddOptions, DynMemory, Memory, MemoryEvent, MemoryEventKind, MemoryExt, MemoryItem, Page,
    PageOf, Scope, ScoredMemory, SearchOptions,
};
pub use store::{DynVectorStore, VectorStore, VectorStoreExt};
pub use types::{
    CollectionSpec, Metadata, Metric, ScoredRecord, ScrollPage, ScrollRequest, Selector,
    VectorCapabilities, VectorQuery, VectorRecord,
};
pub use url::from_url;
