//! [`MockEmbeddingModel`]: the local embedder with scriptable failures.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use plugbay_core::{Error, ErrorKind, Result};

use super::lock;
use crate::local_embedder::HashingEmbedder;
use crate::model::{EmbeddingModel, embed_in_batches};
use crate::types::Embeddings;

/// An [`EmbeddingModel`] for tests of callers: real vectors from a
/// [`HashingEmbedder`], plus scripted failures and a record of every call.
///
/// Failures pushed with [`push_error`](MockEmbeddingModel::push_error) are
/// used one per call, in order; [`fail_always`](MockEmbeddingModel::fail_always)
/// makes every call fail until [`clear_failures`](MockEmbeddingModel::clear_failures).
#[derive(Debug)]
pub struct MockEmbeddingModel {
    inner: HashingEmbedder,
    model: String,
    max_batch: usize,
    failures: Mutex<VecDeque<Error>>,
    always: Mutex<Option<ErrorKind>>,
    calls: Mutex<Vec<Vec<String>>>,
}

impl Default for MockEmbeddingModel {
    fn default() -> MockEmbeddingModel {
        MockEmbeddingModel::new()
    }
}

impl MockEmbeddingModel {
    /// A mock over `HashingEmbedder::default()` (384 dimensions).
    pub fn new() -> MockEmbeddingModel {
        MockEmbeddingModel::wrap(HashingEmbedder::default())
    }

    /// A mock over this embedder.
    pub fn wrap(inner: HashingEmbedder) -> MockEmbeddingModel {
        MockEmbeddingModel {
            model: format!("mock-{}", EmbeddingModel::model(&inner)),
            inner,
            max_batch: 16,
            failures: Mutex::new(VecDeque::new()),
            always: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Report (and batch by) this `max_batch`; the default is 16, small so
    /// that callers' batching is exercised.
    pub fn with_max_batch(mut self, max_batch: usize) -> MockEmbeddingModel {
        self.max_batch = max_batch.max(1);
        self
    }

    /// Make the next call fail with `error`.
    pub fn push_error(&self, error: Error) -> &MockEmbeddingModel {
        lock(&self.failures).push_back(error);
        self
    }

    /// Make every call fail with an error of `kind`.
    pub fn fail_always(&self, kind: ErrorKind) -> &MockEmbeddingModel {
        *lock(&self.always) = Some(kind);
        self
    }

    /// Drop scripted and permanent failures.
    pub fn clear_failures(&self) -> &MockEmbeddingModel {
        lock(&self.failures).clear();
        *lock(&self.always) = None;
        self
    }

    /// The inputs of every call, oldest first.
    pub fn calls(&self) -> Vec<Vec<String>> {
        lock(&self.calls).clone()
    }

    /// How many calls were made.
    pub fn call_count(&self) -> usize {
        lock(&self.calls).len()
    }

    fn scripted_failure(&self) -> Option<Error> {
        if let Some(error) = lock(&self.failures).pop_front() {
            return Some(error);
        }
        let kind = (*lock(&self.always))?;
        Some(
            Error::new(kind, "[mock] scripted embedding failure")
                .with_provider("mock")
                .with_operation("embed"),
        )
    }
}

#[async_trait]
impl EmbeddingModel for MockEmbeddingModel {
    fn provider(&self) -> &str {
        "mock"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn dimensions(&self) -> Option<usize> {
        Some(self.inner.dims())
    }

    fn max_batch(&self) -> usize {
        self.max_batch
    }

    async fn embed(&self, inputs: &[String]) -> Result<Embeddings> {
        lock(&self.calls).push(inputs.to_vec());
        if let Some(error) = self.scripted_failure() {
            return Err(error);
        }
        let mut all =
            embed_in_batches(inputs, self.max_batch, |chunk| self.inner.embed(chunk)).await?;
        all.model = self.model.clone();
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddingModelExt;

    #[tokio::test]
    async fn scripted_failures_come_in_order_then_succeed() {
        let mock = MockEmbeddingModel::new();
        mock.push_error(Error::new(ErrorKind::RateLimited, "slow down"))
            .push_error(Error::new(ErrorKind::Unavailable, "down"));
        assert_eq!(
            mock.embed_one("a").await.unwrap_err().kind(),
            ErrorKind::RateLimited
        );
        assert_eq!(
            mock.embed_one("a").await.unwrap_err().kind(),
            ErrorKind::Unavailable
        );
        let v = mock.embed_one("a").await.unwrap();
        assert_eq!(v, HashingEmbedder::default().embed_text("a"));
        assert_eq!(mock.call_count(), 3);
    }

    #[tokio::test]
    async fn fail_always_until_cleared() {
        let mock = MockEmbeddingModel::new();
        mock.fail_always(ErrorKind::QuotaExceeded);
        for _ in 0..2 {
            assert_eq!(
                mock.embed_one("x").await.unwrap_err().kind(),
                ErrorKind::QuotaExceeded
            );
        }
        mock.clear_failures();
        assert!(mock.embed_one("x").await.is_ok());
        assert_eq!(mock.calls(), vec![vec!["x".to_owned()]; 3]);
    }

    #[tokio::test]
    async fn large_batches_are_split_but_returned_whole() {
        let mock = MockEmbeddingModel::wrap(HashingEmbedder::new(8)).with_max_batch(2);
        let inputs: Vec<String> = (0..5).map(|i| format!("text {i}")).collect();
        let out = mock.embed(&inputs).await.unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(out.vectors[4], HashingEmbedder::new(8).embed_text("text 4"));
        assert_eq!(out.model, "mock-hashing-v1-8");
        assert_eq!(out.usage.map(|u| u.input_tokens), Some(10));
    }
}
