#![doc = include_str!("../README.md")]

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod filter;
mod from_url;
pub mod memory;
pub mod store;
pub mod types;

pub use filter::Filter;
pub use from_url::from_url;
pub use memory::InMemoryDocumentStore;
pub use store::{
    DocumentCapabilities, DocumentStore, DocumentStoreExt, DynDocumentStore, to_document,
};
pub use types::{
    DocId, Document, Page, PageOf, Version, Versioned, validate_collection, validate_document,
};
