//! The [`VectorStore`] implementation of [`InMemoryVectorStore`]: input
//! checks, cosine normalisation, and the locking around each search.

use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use plugbay_core::{Error, Result};

use crate::filter::Filter;
use crate::store::{VectorStore, validate_id, validate_vector};
use crate::types::{
    CollectionSpec, Metric, ScoredRecord, ScrollPage, ScrollRequest, Selector, VectorCapabilities,
    VectorQuery, VectorRecord, validate_collection_name,
};

use super::collection::Collection;
use super::kernels;
use super::search::{search_many, search_one};
use super::{BACKEND, InMemoryVectorStore, with_op};

fn validate_filter(filter: Option<&Filter>) -> Result<()> {
    filter.map_or(Ok(()), Filter::validate)
}

fn validate_query(q: &VectorQuery) -> Result<()> {
    if q.top_k == 0 {
        return Err(Error::invalid_input("top_k must be at least 1"));
    }
    validate_filter(q.filter.as_ref())
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
        VectorCapabilities::new()
            .scroll(true)
            .ann(self.inner.config.defaults.ann.is_some())
    }

    async fn ensure_collection(&self, spec: CollectionSpec) -> Result<()> {
        spec.validate()
            .map_err(|e| with_op(e, "ensure_collection"))?;
        {
            let mut all = self
                .inner
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
                                spec.name,
                                existing.dims,
                                existing.metric,
                                spec.dimensions,
                                spec.metric
                            ),
                        ),
                        "ensure_collection",
                    ));
                }
                return Ok(());
            }
            let options = self.inner.config.options_for(&spec.name);
            all.insert(
                spec.name.clone(),
                Arc::new(RwLock::new(Collection::new(
                    spec.dimensions,
                    spec.metric,
                    options,
                ))),
            );
        }
        self.touched();
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
        validate_query(&q).map_err(|e| with_op(e, "query"))?;
        let shared = self
            .collection(collection)
            .map_err(|e| with_op(e, "query"))?;
        // A collection's dims and metric never change, so the query can be
        // prepared before the scan takes its lock.
        let (dims, metric, values) = {
            let c = shared.read().unwrap_or_else(PoisonError::into_inner);
            (c.dims, c.metric, c.len() * c.dims)
        };
        prepare_vector(&mut q.vector, dims, metric).map_err(|e| with_op(e, "query"))?;
        let scan = self.inner.config.scan;
        self.run_scan(values, "query", move || {
            let c = shared.read().unwrap_or_else(PoisonError::into_inner);
            search_one(&c, &q, &scan)
        })
        .await
    }

    async fn query_batch(
        &self,
        collection: &str,
        mut queries: Vec<VectorQuery>,
    ) -> Result<Vec<Vec<ScoredRecord>>> {
        let shared = self
            .collection(collection)
            .map_err(|e| with_op(e, "query_batch"))?;
        let (dims, metric, values) = {
            let c = shared.read().unwrap_or_else(PoisonError::into_inner);
            (c.dims, c.metric, c.len() * c.dims)
        };
        for (i, q) in queries.iter_mut().enumerate() {
            validate_query(q)
                .and_then(|()| prepare_vector(&mut q.vector, dims, metric))
                .map_err(|e| with_op(e, "query_batch").with_context("query", i.to_string()))?;
        }
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let scan = self.inner.config.scan;
        let work = values.saturating_mul(queries.len());
        self.run_scan(work, "query_batch", move || {
            let c = shared.read().unwrap_or_else(PoisonError::into_inner);
            search_many(&c, &queries, &scan)
        })
        .await
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
            .inner
            .collections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(collection);
        match removed {
            Some(_) => {
                self.touched();
                Ok(())
            }
            None => Err(with_op(
                Error::not_found(format!("no collection named `{collection}`")),
                "drop_collection",
            )),
        }
    }
}
