//! The [`DocumentStore`] trait, its [`DocumentStoreExt`] conveniences and
//! [`DynDocumentStore`].

use std::sync::Arc;

use async_trait::async_trait;
use plugbay_core::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::filter::Filter;
use crate::types::{DocId, Document, Page, PageOf, Version, Versioned};

/// What a [`DocumentStore`] backend supports beyond the common contract.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DocumentCapabilities {
    /// The largest document the backend stores, in bytes of JSON, if it has
    /// a limit (MongoDB: 16 MiB of BSON). Larger ones are `PayloadTooLarge`.
    pub max_document_bytes: Option<usize>,
}

impl DocumentCapabilities {
    /// Capabilities with no limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the document size limit.
    pub fn max_document_bytes(mut self, bytes: usize) -> Self {
        self.max_document_bytes = Some(bytes);
        self
    }
}

/// A store of JSON documents in named collections, with optimistic
/// concurrency by version.
///
/// Contract shared by every backend (the conformance suite checks it):
/// - Collection names follow [`validate_collection`](crate::validate_collection),
///   documents [`validate_document`](crate::validate_document), filters
///   [`Filter::validate`]; a violation is `InvalidInput`, checked before any
///   I/O. Collections need no creation: an unknown one is empty.
/// - A document's version is [`Version::FIRST`] on insert and goes up by one
///   on every replace. After a delete the id may be reused, starting again
///   at [`Version::FIRST`].
/// - `find` returns documents in ascending id order (by UTF-8 bytes), in
///   keyset pages (see [`Page`]).
#[async_trait]
pub trait DocumentStore: Send + Sync + std::fmt::Debug {
    /// The backend's short name (`"memory"`, `"postgres"`, `"mongodb"`).
    fn backend(&self) -> &'static str;

    /// What this backend supports; see [`DocumentCapabilities`].
    fn capabilities(&self) -> DocumentCapabilities {
        DocumentCapabilities::default()
    }

    /// Insert `doc` under `id` (a fresh UUIDv4 when `None`) at
    /// [`Version::FIRST`] and return what was stored. `AlreadyExists` if the
    /// id is taken in this collection.
    async fn insert(
        &self,
        collection: &str,
        id: Option<DocId>,
        doc: Document,
    ) -> Result<Versioned<Document>>;

    /// The document under `id`, or `None`.
    async fn get(&self, collection: &str, id: &DocId) -> Result<Option<Versioned<Document>>>;

    /// Replace the document under `id` if its version is still `expected`,
    /// and return the new version. `NotFound` if there is no such document,
    /// `PreconditionFailed` if its version differs. Of several concurrent
    /// replaces with the same `expected`, exactly one succeeds.
    async fn replace(
        &self,
        collection: &str,
        id: &DocId,
        doc: Document,
        expected: Version,
    ) -> Result<Version>;

    /// Delete the document under `id`; `true` if it existed.
    async fn delete(&self, collection: &str, id: &DocId) -> Result<bool>;

    /// The documents matching `filter`, one page at a time, in ascending id
    /// order. A malformed cursor or a zero limit is `InvalidInput`.
    async fn find(
        &self,
        collection: &str,
        filter: &Filter,
        page: Page,
    ) -> Result<PageOf<Versioned<Document>>>;

    /// How many documents match `filter`.
    async fn count(&self, collection: &str, filter: &Filter) -> Result<u64>;
}

/// A shared, type-erased [`DocumentStore`].
pub type DynDocumentStore = Arc<dyn DocumentStore>;

macro_rules! forward_document_store {
    ($ty:ty) => {
        #[async_trait]
        impl<T: DocumentStore + ?Sized> DocumentStore for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capabilities(&self) -> DocumentCapabilities {
                (**self).capabilities()
            }
            async fn insert(
                &self,
                collection: &str,
                id: Option<DocId>,
                doc: Document,
            ) -> Result<Versioned<Document>> {
                (**self).insert(collection, id, doc).await
            }
            async fn get(
                &self,
                collection: &str,
                id: &DocId,
            ) -> Result<Option<Versioned<Document>>> {
                (**self).get(collection, id).await
            }
            async fn replace(
                &self,
                collection: &str,
                id: &DocId,
                doc: Document,
                expected: Version,
            ) -> Result<Version> {
                (**self).replace(collection, id, doc, expected).await
            }
            async fn delete(&self, collection: &str, id: &DocId) -> Result<bool> {
                (**self).delete(collection, id).await
            }
            async fn find(
                &self,
                collection: &str,
                filter: &Filter,
                page: Page,
            ) -> Result<PageOf<Versioned<Document>>> {
                (**self).find(collection, filter, page).await
            }
            async fn count(&self, collection: &str, filter: &Filter) -> Result<u64> {
                (**self).count(collection, filter).await
            }
        }
    };
}

forward_document_store!(Arc<T>);
forward_document_store!(Box<T>);

/// Typed conveniences over any [`DocumentStore`].
#[async_trait]
pub trait DocumentStoreExt: DocumentStore {
    /// Insert a serializable value; it must serialize to a JSON object
    /// (else `InvalidInput`).
    async fn insert_as<T: Serialize + Sync>(
        &self,
        collection: &str,
        id: Option<DocId>,
        value: &T,
    ) -> Result<Versioned<Document>> {
        self.insert(collection, id, to_document(value)?).await
    }

    /// The document under `id` decoded as `T`; a document that does not
    /// decode is a `Protocol` error.
    async fn get_as<T: DeserializeOwned>(
        &self,
        collection: &str,
        id: &DocId,
    ) -> Result<Option<Versioned<T>>> {
        match self.get(collection, id).await? {
            Some(found) => {
                let value = serde_json::from_value(found.value.into())?;
                Ok(Some(Versioned::new(found.id, found.version, value)))
            }
            None => Ok(None),
        }
    }

    /// Every document matching `filter`, fetched page by page. Meant for
    /// small results; use [`DocumentStore::find`] to stream large ones.
    async fn find_all(
        &self,
        collection: &str,
        filter: &Filter,
    ) -> Result<Vec<Versioned<Document>>> {
        let mut all = Vec::new();
        let mut page = Page::first(Page::MAX_LIMIT);
        loop {
            let found = self.find(collection, filter, page.clone()).await?;
            all.extend(found.items);
            match found.next {
                Some(next) => page = page.cursor(next),
                None => return Ok(all),
            }
        }
    }
}

impl<S: DocumentStore + ?Sized> DocumentStoreExt for S {}

/// Serialize `value` into a [`Document`]; `InvalidInput` unless it is a
/// JSON object.
pub fn to_document<T: Serialize + ?Sized>(value: &T) -> Result<Document> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::invalid_input(
            "a document must serialize to a JSON object",
        )),
        Err(err) => Err(Error::invalid_input("value does not serialize to JSON").with_source(err)),
    }
}
