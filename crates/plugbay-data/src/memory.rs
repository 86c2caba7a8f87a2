//! [`InMemoryDocumentStore`]: the always-compiled, in-process
//! [`DocumentStore`].

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use plugbay_core::{Error, ErrorKind, Result};

use crate::filter::Filter;
use crate::store::DocumentStore;
use crate::types::{
    DocId, Document, Page, PageOf, Version, Versioned, validate_collection, validate_document,
};

type Collection = BTreeMap<DocId, (Version, Document)>;

/// An in-process [`DocumentStore`] for tests, development and small
/// single-instance apps.
///
/// Each collection is a map ordered by id, so `find` pages are keyset scans
/// that never skip or repeat a document. One lock guards all collections;
/// every operation holds it briefly and never across an `.await`, so each is
/// atomic (which is what makes concurrent `replace` calls with the same
/// expected version have exactly one winner). Cloning shares the data.
///
/// ```
/// # tokio_test_block_on(async {
/// use plugbay_data::{DocumentStore, Filter, InMemoryDocumentStore, Page, Version};
/// use serde_json::json;
///
/// let store = InMemoryDocumentStore::new();
/// let doc = json!({"name": "ada"}).as_object().unwrap().clone();
/// let saved = store.insert("users", None, doc).await?;
/// assert_eq!(saved.version, Version::FIRST);
/// let page = store.find("users", &Filter::eq("name", "ada"), Page::new()).await?;
/// assert_eq!(page.items.len(), 1);
/// # Ok::<(), plugbay_core::Error>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryDocumentStore {
    collections: Arc<RwLock<HashMap<String, Collection>>>,
}

impl InMemoryDocumentStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// This store as a shared [`DynDocumentStore`](crate::DynDocumentStore).
    pub fn into_dyn(self) -> crate::DynDocumentStore {
        Arc::new(self)
    }

    fn read<R>(&self, collection: &str, op: impl FnOnce(Option<&Collection>) -> R) -> R {
        let guard = self
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        op(guard.get(collection))
    }

    fn write<R>(&self, collection: &str, op: impl FnOnce(&mut Collection) -> R) -> R {
        let mut guard = self
            .collections
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        op(guard.entry(collection.to_owned()).or_default())
    }
}

fn tagged(err: Error, operation: &'static str, collection: &str) -> Error {
    err.with_provider("memory")
        .with_operation(operation)
        .with_context("collection", collection.to_owned())
}

#[async_trait]
impl DocumentStore for InMemoryDocumentStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn insert(
        &self,
        collection: &str,
        id: Option<DocId>,
        doc: Document,
    ) -> Result<Versioned<Document>> {
        validate_collection(collection)
            .and_then(|()| validate_document(&doc))
            .map_err(|e| tagged(e, "insert", collection))?;
        let id = id.unwrap_or_else(DocId::generate);
        self.write(collection, |docs| {
            if docs.contains_key(&id) {
                let err = Error::new(ErrorKind::AlreadyExists, "a document with this id exists")
                    .with_context("id", id.to_string());
                return Err(tagged(err, "insert", collection));
            }
            docs.insert(id.clone(), (Version::FIRST, doc.clone()));
            Ok(Versioned::new(id, Version::FIRST, doc))
        })
    }

    async fn get(&self, collection: &str, id: &DocId) -> Result<Option<Versioned<Document>>> {
        validate_collection(collection).map_err(|e| tagged(e, "get", collection))?;
        Ok(self.read(collection, |docs| {
            let (version, doc) = docs?.get(id)?;
            Some(Versioned::new(id.clone(), *version, doc.clone()))
        }))
    }

    async fn replace(
        &self,
        collection: &str,
        id: &DocId,
        doc: Document,
        expected: Version,
    ) -> Result<Version> {
        validate_collection(collection)
            .and_then(|()| validate_document(&doc))
            .map_err(|e| tagged(e, "replace", collection))?;
        self.write(collection, |docs| {
            let Some((version, stored)) = docs.get_mut(id) else {
                let err =
                    Error::not_found("no document with this id").with_context("id", id.to_string());
                return Err(tagged(err, "replace", collection));
            };
            if *version != expected {
                let err = Error::new(
                    ErrorKind::PreconditionFailed,
                    "the document's version changed",
                )
                .with_context("id", id.to_string())
                .with_context("expected", expected.to_string())
                .with_context("actual", version.to_string());
                return Err(tagged(err, "replace", collection));
            }
            *version = version.next();
            *stored = doc;
            Ok(*version)
        })
    }

    async fn delete(&self, collection: &str, id: &DocId) -> Result<bool> {
        validate_collection(collection).map_err(|e| tagged(e, "delete", collection))?;
        Ok(self.write(collection, |docs| docs.remove(id).is_some()))
    }

    async fn find(
        &self,
        collection: &str,
        filter: &Filter,
        page: Page,
    ) -> Result<PageOf<Versioned<Document>>> {
        let (limit, after) = validate_collection(collection)
            .and_then(|()| filter.validate())
            .and_then(|()| Ok((page.effective_limit()?, page.after()?)))
            .map_err(|e| tagged(e, "find", collection))?;
        Ok(self.read(collection, |docs| {
            let Some(docs) = docs else {
                return PageOf::new(Vec::new(), None);
            };
            let start = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
            // One extra match tells whether another page exists, so the last
            // page never hands out a cursor to an empty one.
            let mut items: Vec<Versioned<Document>> = docs
                .range((start, Bound::Unbounded))
                .filter(|(_, (_, doc))| filter.matches(doc))
                .take(limit + 1)
                .map(|(id, (version, doc))| Versioned::new(id.clone(), *version, doc.clone()))
                .collect();
            let next = (items.len() > limit).then(|| {
                items.truncate(limit);
                items.last().map(|last| Page::cursor_after(&last.id))
            });
            PageOf::new(items, next.flatten())
        }))
    }

    async fn count(&self, collection: &str, filter: &Filter) -> Result<u64> {
        validate_collection(collection)
            .and_then(|()| filter.validate())
            .map_err(|e| tagged(e, "count", collection))?;
        Ok(self.read(collection, |docs| {
            docs.map_or(0, |docs| {
                docs.values().filter(|(_, d)| filter.matches(d)).count() as u64
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DocumentStoreExt;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct User {
        name: String,
        age: u32,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_replaces_across_threads_have_one_winner() {
        let store = InMemoryDocumentStore::new();
        let saved = store.insert("c", None, Document::new()).await.unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let (store, id) = (store.clone(), saved.id.clone());
                tokio::spawn(async move {
                    let mut doc = Document::new();
                    doc.insert("i".into(), json!(i));
                    store.replace("c", &id, doc, Version::FIRST).await
                })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(v) => {
                    wins += 1;
                    assert_eq!(v, Version(2));
                }
                Err(err) => assert_eq!(err.kind(), ErrorKind::PreconditionFailed),
            }
        }
        assert_eq!(wins, 1);
    }

    #[tokio::test]
    async fn typed_helpers_round_trip() {
        let store = InMemoryDocumentStore::new().into_dyn();
        let ada = User {
            name: "ada".into(),
            age: 36,
        };
        let id = DocId::new("u1").unwrap();
        store
            .insert_as("users", Some(id.clone()), &ada)
            .await
            .unwrap();
        let got = store.get_as::<User>("users", &id).await.unwrap().unwrap();
        assert_eq!((got.version, got.value), (Version::FIRST, ada));
        let err = store.get_as::<Vec<u8>>("users", &id).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
        let err = store.insert_as("users", None, &[1, 2]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            store
                .get_as::<User>("users", &DocId::generate())
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn stored_documents_are_copies() {
        let store = InMemoryDocumentStore::new();
        let mut doc = Document::new();
        doc.insert("a".into(), json!(1));
        let saved = store.insert("c", None, doc.clone()).await.unwrap();
        let mut fetched = store.get("c", &saved.id).await.unwrap().unwrap();
        fetched.value.insert("a".into(), json!(2));
        assert_eq!(store.get("c", &saved.id).await.unwrap().unwrap().value, doc);
        // Clones share the data.
        assert_eq!(store.clone().count("c", &Filter::all()).await.unwrap(), 1);
    }
}
