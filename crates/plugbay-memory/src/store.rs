//! The [`VectorStore`] trait, its conveniences and shared input checks.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use plugbay_core::{Error, Result};

use crate::filter::Filter;
use crate::types::{
    CollectionSpec, ScoredRecord, ScrollPage, ScrollRequest, Selector, VectorCapabilities,
    VectorQuery, VectorRecord,
};

/// A store of vectors with metadata, searched by similarity.
///
/// Contract shared by every backend (the conformance suite checks it):
///
/// - an unknown collection is `ErrorKind::NotFound` for every operation but
///   [`ensure_collection`](Self::ensure_collection);
/// - a vector of the wrong length, or with a NaN/infinite value, an empty or
///   over-long (> 512 bytes) id, `top_k == 0` and an invalid [`Filter`] are
///   `ErrorKind::InvalidInput`, and nothing is written;
/// - scores are "higher is better" for every [`Metric`](crate::Metric).
#[async_trait]
pub trait VectorStore: Send + Sync + Debug {
    /// The backend's short name (`"memory"`, `"qdrant"`, `"pinecone"`).
    fn backend(&self) -> &'static str;

    /// What this backend supports.
    fn capabilities(&self) -> VectorCapabilities;

    /// Create the collection if it does not exist. Idempotent: an existing
    /// collection with the same dimensions and metric is fine.
    ///
    /// # Errors
    /// `AlreadyExists` if a collection of that name exists with different
    /// dimensions or metric; `InvalidInput` for an invalid spec; `Unsupported`
    /// for a metric the backend lacks.
    async fn ensure_collection(&self, spec: CollectionSpec) -> Result<()>;

    /// Insert or overwrite (by id) records. A batch is validated as a whole
    /// before anything is written; within a batch a repeated id keeps the
    /// last record. Backends split batches larger than their request limit.
    async fn upsert(&self, collection: &str, records: Vec<VectorRecord>) -> Result<()>;

    /// The `q.top_k` records most similar to `q.vector` that match
    /// `q.filter` and score at least `q.min_score`, best first.
    async fn query(&self, collection: &str, q: VectorQuery) -> Result<Vec<ScoredRecord>>;

    /// Answer several queries against one collection; result `i` is
    /// what [`query`](Self::query) returns for `queries[i]`. Backends that
    /// can share work across queries (one pass over the data, one round
    /// trip) override this; the default asks one query at a time.
    ///
    /// # Errors
    /// As [`query`](Self::query), for the first query that fails; an
    /// empty batch is `Ok(vec![])`.
    async fn query_batch(
        &self,
        collection: &str,
        queries: Vec<VectorQuery>,
    ) -> Result<Vec<Vec<ScoredRecord>>> {
        let mut results = Vec::with_capacity(queries.len());
        for q in queries {
            results.push(self.query(collection, q).await?);
        }
        Ok(results)
    }

    /// The records with these ids, in the order asked; ids not stored are
    /// skipped (not an error). Cosine collections may return the vector
    /// unit-normalised.
    async fn get(&self, collection: &str, ids: &[String]) -> Result<Vec<VectorRecord>>;

    /// Delete the selected records and return how many were removed.
    async fn delete(&self, collection: &str, sel: Selector) -> Result<u64>;

    /// How many records match `filter` (all records when `None`).
    async fn count(&self, collection: &str, filter: Option<Filter>) -> Result<u64>;

    /// Page through records matching a filter in a stable order. Needed to
    /// list conversation memories; check
    /// [`VectorCapabilities::scroll`] first.
    ///
    /// # Errors
    /// `Unsupported` by default.
    async fn scroll(&self, collection: &str, req: ScrollRequest) -> Result<ScrollPage> {
        let _ = (collection, req);
        Err(
            Error::unsupported("scroll is not supported by this vector store")
                .with_provider(self.backend())
                .with_operation("scroll"),
        )
    }

    /// Drop a collection and all its records.
    ///
    /// # Errors
    /// `NotFound` for an unknown collection; `Unsupported` by default.
    async fn drop_collection(&self, collection: &str) -> Result<()> {
        let _ = collection;
        Err(
            Error::unsupported("dropping collections is not supported by this vector store")
                .with_provider(self.backend())
                .with_operation("drop_collection"),
        )
    }
}

/// A shared, type-erased [`VectorStore`].
pub type DynVectorStore = Arc<dyn VectorStore>;

macro_rules! forward_vector_store {
    ($ty:ty) => {
        #[async_trait]
        impl<T: VectorStore + ?Sized> VectorStore for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capabilities(&self) -> VectorCapabilities {
                (**self).capabilities()
            }
            async fn ensure_collection(&self, spec: CollectionSpec) -> Result<()> {
                (**self).ensure_collection(spec).await
            }
            async fn upsert(&self, collection: &str, records: Vec<VectorRecord>) -> Result<()> {
                (**self).upsert(collection, records).await
            }
            async fn query(&self, collection: &str, q: VectorQuery) -> Result<Vec<ScoredRecord>> {
                (**self).query(collection, q).await
            }
            async fn query_batch(
                &self,
                collection: &str,
                queries: Vec<VectorQuery>,
            ) -> Result<Vec<Vec<ScoredRecord>>> {
                (**self).query_batch(collection, queries).await
            }
            async fn get(&self, collection: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
                (**self).get(collection, ids).await
            }
            async fn delete(&self, collection: &str, sel: Selector) -> Result<u64> {
                (**self).delete(collection, sel).await
            }
            async fn count(&self, collection: &str, filter: Option<Filter>) -> Result<u64> {
                (**self).count(collection, filter).await
            }
            async fn scroll(&self, collection: &str, req: ScrollRequest) -> Result<ScrollPage> {
                (**self).scroll(collection, req).await
            }
            async fn drop_collection(&self, collection: &str) -> Result<()> {
                (**self).drop_collection(collection).await
            }
        }
    };
}

forward_vector_store!(Arc<T>);
forward_vector_store!(Box<T>);

/// Conveniences over any [`VectorStore`].
#[async_trait]
pub trait VectorStoreExt: VectorStore {
    /// Upsert a single record.
    async fn upsert_one(&self, collection: &str, record: VectorRecord) -> Result<()> {
        self.upsert(collection, vec![record]).await
    }

    /// The record with this id, or `None`.
    async fn get_one(&self, collection: &str, id: &str) -> Result<Option<VectorRecord>> {
        let mut found = self.get(collection, &[id.to_owned()]).await?;
        Ok(found.pop())
    }

    /// Delete one record; `true` if it existed.
    async fn delete_one(&self, collection: &str, id: &str) -> Result<bool> {
        let n = self
            .delete(collection, Selector::Ids(vec![id.to_owned()]))
            .await?;
        Ok(n > 0)
    }
}

impl<S: VectorStore + ?Sized> VectorStoreExt for S {}

/// Longest record id accepted (Pinecone's limit).
pub const MAX_ID_LEN: usize = 512;

/// Check a record id: 1 to [`MAX_ID_LEN`] bytes.
///
/// # Errors
/// `ErrorKind::InvalidInput`.
pub fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Error::invalid_input(format!(
            "record ids must be 1-{MAX_ID_LEN} bytes"
        )));
    }
    Ok(())
}

/// Check a vector's length and that every value is finite.
///
/// # Errors
/// `ErrorKind::InvalidInput`.
pub fn validate_vector(vector: &[f32], dimensions: usize) -> Result<()> {
    if vector.len() != dimensions {
        return Err(Error::invalid_input(format!(
            "vector has {} dimensions, the collection has {dimensions}",
            vector.len()
        )));
    }
    if let Some(pos) = vector.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid_input(format!(
            "vector value at index {pos} is not finite"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    #[test]
    fn vector_checks() {
        assert!(validate_vector(&[1.0, 2.0], 2).is_ok());
        for bad in [&[1.0][..], &[1.0, f32::NAN], &[f32::NEG_INFINITY, 0.0]] {
            assert_eq!(
                validate_vector(bad, 2).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn id_checks() {
        assert!(validate_id("a").is_ok());
        assert!(validate_id(&"x".repeat(MAX_ID_LEN)).is_ok());
        assert_eq!(validate_id("").unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(
            validate_id(&"x".repeat(MAX_ID_LEN + 1)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
