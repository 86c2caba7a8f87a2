//! [`CachedEmbeddings`]: an [`EmbeddingModel`] wrapper that keeps vectors in
//! a [`KeyValue`](plugbay_cache::KeyValue) store (memory, Redis), so a text is embedded once.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use plugbay_cache::DynKeyValue;
use plugbay_core::{Error, Result};
use sha2::{Digest, Sha256};

use crate::model::EmbeddingModel;
use crate::types::Embeddings;

/// The key namespace used unless one is set.
pub const DEFAULT_NAMESPACE: &str = "emb";

/// First byte of a stored vector: the encoding, so it can change later
/// without reading old entries wrongly.
const FORMAT_F32_LE: u8 = 1;

/// Caches the vectors of an inner [`EmbeddingModel`] in a
/// [`KeyValue`](plugbay_cache::KeyValue) store.
///
/// - Keys are `{namespace}:{sha256 hex}` over the provider, the model, the
///   dimensions and the text, so two models (or one model at two sizes)
///   never share an entry, and no text appears in a key.
/// - Values are compact: one format byte, then the `f32`s little-endian
///   (4 bytes per dimension instead of ~10 as JSON).
/// - A batch looks every text up, sends only the misses to the inner model
///   (each distinct text once, in one `embed` call that the inner model
///   splits by its own `max_batch`), stores them with the TTL, and returns
///   all vectors in input order. `usage` covers the misses only.
/// - The cache never makes a call fail: a store that errors, or an entry
///   that does not decode (or has the wrong length), counts as a miss and
///   is logged.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use plugbay_cache::InMemoryKeyValue;
/// use plugbay_llm::{CachedEmbeddings, EmbeddingModel, MockEmbeddingModel};
///
/// let model = CachedEmbeddings::new(MockEmbeddingModel::new(), Arc::new(InMemoryKeyValue::new()));
/// let first = model.embed(&["hello".to_owned()]).await?;
/// let again = model.embed(&["hello".to_owned(), "world".to_owned()]).await?;
/// assert_eq!(first.vectors[0], again.vectors[0]);
/// // The second call only sent the miss to the inner model.
/// assert_eq!(model.get_ref().calls(), vec![vec!["hello".to_owned()], vec!["world".to_owned()]]);
/// # Ok::<(), plugbay_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct CachedEmbeddings<E> {
    inner: E,
    store: DynKeyValue,
    namespace: String,
    ttl: Option<Duration>,
}

impl<E> CachedEmbeddings<E> {
    /// Cache `inner`'s vectors in `store` under [`DEFAULT_NAMESPACE`], with
    /// no expiry.
    pub fn new(inner: E, store: DynKeyValue) -> Self {
        CachedEmbeddings {
            inner,
            store,
            namespace: DEFAULT_NAMESPACE.to_owned(),
            ttl: None,
        }
    }

    /// Use another key namespace (keys are `{namespace}:{hash}`).
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Let entries expire after `ttl` (`None`: never). A zero TTL is
    /// treated as no caching at all.
    pub fn with_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = ttl;
        self
    }

    /// The wrapped model.
    pub fn get_ref(&self) -> &E {
        &self.inner
    }

    /// The wrapped model, mutably.
    pub fn get_mut(&mut self) -> &mut E {
        &mut self.inner
    }

    /// Unwrap into the inner model.
    pub fn into_inner(self) -> E {
        self.inner
    }

    /// The store.
    pub fn store(&self) -> &DynKeyValue {
        &self.store
    }
}

impl<E: EmbeddingModel> CachedEmbeddings<E> {
    /// The cache key of `text` for the inner model.
    pub fn key_for(&self, text: &str) -> String {
        cache_key(
            &self.namespace,
            self.inner.provider(),
            self.inner.model(),
            self.inner.dimensions(),
            text,
        )
    }

    async fn lookup(&self, key: &str) -> Option<Vec<f32>> {
        match self.store.get(key).await {
            Ok(Some(bytes)) => {
                let decoded = decode_vector(&bytes);
                let fits = |v: &Vec<f32>| self.inner.dimensions().is_none_or(|d| d == v.len());
                match decoded.filter(fits) {
                    Some(vector) => Some(vector),
                    None => {
                        tracing::warn!(key, "embedding cache entry is unreadable; re-embedding");
                        None
                    }
                }
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(key, error = %error, "embedding cache read failed; re-embedding");
                None
            }
        }
    }

    async fn remember(&self, key: &str, vector: &[f32]) {
        if let Err(error) = self.store.set(key, encode_vector(vector), self.ttl).await {
            tracing::warn!(key, error = %error, "embedding cache write failed");
        }
    }
}

#[async_trait]
impl<E: EmbeddingModel> EmbeddingModel for CachedEmbeddings<E> {
    fn provider(&self) -> &str {
        self.inner.provider()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn dimensions(&self) -> Option<usize> {
        self.inner.dimensions()
    }

    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }

    async fn embed(&self, inputs: &[String]) -> Result<Embeddings> {
        if inputs.is_empty() {
            return Ok(Embeddings::new(Vec::new(), self.inner.model()));
        }
        if self.ttl.is_some_and(|t| t.is_zero()) {
            return self.inner.embed(inputs).await;
        }
        let keys: Vec<String> = inputs.iter().map(|t| self.key_for(t)).collect();
        let found = futures::future::join_all(keys.iter().map(|k| self.lookup(k))).await;

        // Each distinct missing text goes to the inner model once.
        let mut miss_index: HashMap<&str, usize> = HashMap::new();
        let mut misses: Vec<String> = Vec::new();
        for (text, hit) in inputs.iter().zip(&found) {
            if hit.is_none() && !miss_index.contains_key(text.as_str()) {
                miss_index.insert(text, misses.len());
                misses.push(text.clone());
            }
        }
        tracing::debug!(
            hits = inputs.len() - found.iter().filter(|f| f.is_none()).count(),
            misses = misses.len(),
            "embedding cache lookup"
        );

        let mut fresh = Embeddings::new(Vec::new(), self.inner.model());
        if !misses.is_empty() {
            fresh = self.inner.embed(&misses).await?;
            if fresh.vectors.len() != misses.len() {
                return Err(Error::protocol(format!(
                    "asked for {} embeddings, got {}",
                    misses.len(),
                    fresh.vectors.len()
                ))
                .with_provider(self.inner.provider().to_owned())
                .with_operation("embed"));
            }
            let stores = misses
                .iter()
                .zip(&fresh.vectors)
                .map(|(text, vector)| async move {
                    self.remember(&self.key_for(text), vector).await;
                });
            futures::future::join_all(stores).await;
        }

        let vectors = inputs
            .iter()
            .zip(found)
            .map(|(text, hit)| match hit {
                Some(vector) => vector,
                None => miss_index
                    .get(text.as_str())
                    .and_then(|&i| fresh.vectors.get(i))
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        let mut out = Embeddings::new(vectors, self.inner.model());
        out.usage = fresh.usage;
        Ok(out)
    }
}

/// Wraps any embedding model in [`CachedEmbeddings`] over one store.
///
/// ```
/// use std::sync::Arc;
/// use plugbay_cache::InMemoryKeyValue;
/// use plugbay_llm::{CachedEmbeddingsLayer, HashingEmbedder};
/// let layer = CachedEmbeddingsLayer::new(Arc::new(InMemoryKeyValue::new()))
///     .with_ttl(Some(std::time::Duration::from_secs(86_400)));
/// let cached = layer.layer(HashingEmbedder::default());
/// assert_eq!(cached.get_ref().dims(), 384);
/// ```
#[derive(Debug, Clone)]
pub struct CachedEmbeddingsLayer {
    store: DynKeyValue,
    namespace: String,
    ttl: Option<Duration>,
}

impl CachedEmbeddingsLayer {
    /// A layer caching in `store` under [`DEFAULT_NAMESPACE`], no expiry.
    pub fn new(store: DynKeyValue) -> Self {
        CachedEmbeddingsLayer {
            store,
            namespace: DEFAULT_NAMESPACE.to_owned(),
            ttl: None,
        }
    }

    /// Use another key namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Let entries expire after `ttl`.
    pub fn with_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = ttl;
        self
    }

    /// Wrap `inner`.
    pub fn layer<E>(&self, inner: E) -> CachedEmbeddings<E> {
        CachedEmbeddings::new(inner, self.store.clone())
            .with_namespace(self.namespace.clone())
            .with_ttl(self.ttl)
    }
}

/// `{namespace}:{sha256(provider, model, dimensions, text)}` in hex. Each
/// part is length-prefixed so no two tuples hash the same bytes.
fn cache_key(
    namespace: &str,
    provider: &str,
    model: &str,
    dimensions: Option<usize>,
    text: &str,
) -> String {
    let mut hasher = Sha256::new();
    let dims = dimensions.map_or_else(|| "-".to_owned(), |d| d.to_string());
    for part in [provider, model, dims.as_str(), text] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut key = String::with_capacity(namespace.len() + 1 + 64);
    key.push_str(namespace);
    key.push(':');
    for byte in digest {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

fn encode_vector(vector: &[f32]) -> Bytes {
    let mut out = Vec::with_capacity(1 + vector.len() * 4);
    out.push(FORMAT_F32_LE);
    for value in vector {
        out.extend_from_slice(&value.to_le_bytes());
    }
    Bytes::from(out)
}

fn decode_vector(bytes: &[u8]) -> Option<Vec<f32>> {
    let (&format, body) = bytes.split_first()?;
    if format != FORMAT_F32_LE || body.is_empty() || body.len() % 4 != 0 {
        return None;
    }
    Some(
        body.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugbay_cache::{InMemoryKeyValue, KeyValue};
    use plugbay_core::ErrorKind;

    use super::*;
    use crate::{HashingEmbedder, MockEmbeddingModel};

    fn texts(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn kv() -> Arc<InMemoryKeyValue> {
        Arc::new(InMemoryKeyValue::new())
    }

    #[test]
    fn vectors_round_trip_compactly() {
        let v = vec![0.5, -1.25, f32::MIN_POSITIVE, 3.0e8];
        let bytes = encode_vector(&v);
        assert_eq!(bytes.len(), 1 + 4 * 4);
        assert_eq!(decode_vector(&bytes), Some(v));
        assert_eq!(decode_vector(b""), None);
        assert_eq!(decode_vector(&[FORMAT_F32_LE, 1, 2, 3]), None);
        assert_eq!(decode_vector(&[9, 0, 0, 0, 0]), None);
    }

    #[test]
    fn keys_separate_every_part() {
        let base = cache_key("emb", "p", "m", Some(8), "text");
        assert!(base.starts_with("emb:") && base.len() == 4 + 64);
        assert!(!base.contains("text"));
        for other in [
            cache_key("emb", "q", "m", Some(8), "text"),
            cache_key("emb", "p", "n", Some(8), "text"),
            cache_key("emb", "p", "m", Some(16), "text"),
            cache_key("emb", "p", "m", None, "text"),
            cache_key("emb", "p", "m", Some(8), "text2"),
            cache_key("emb", "pm", "", Some(8), "text"),
            cache_key("other", "p", "m", Some(8), "text")[6..].to_owned(),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base, cache_key("emb", "p", "m", Some(8), "text"));
    }

    #[tokio::test]
    async fn hits_do_not_call_the_inner_model() {
        let model = CachedEmbeddings::new(MockEmbeddingModel::new(), kv());
        let inputs = texts(&["a cat", "a dog"]);
        let first = model.embed(&inputs).await.unwrap();
        let second = model.embed(&inputs).await.unwrap();
        assert_eq!(first.vectors, second.vectors);
        assert_eq!(model.get_ref().call_count(), 1);
        assert!(second.usage.is_none(), "no tokens were spent on hits");
        assert_eq!(second.model, model.get_ref().model());
    }

    #[tokio::test]
    async fn partial_hits_send_only_distinct_misses_and_keep_order() {
        let model = CachedEmbeddings::new(MockEmbeddingModel::new(), kv());
        model.embed(&texts(&["b"])).await.unwrap();
        let out = model.embed(&texts(&["a", "b", "c", "a"])).await.unwrap();
        assert_eq!(
            model.get_ref().calls(),
            vec![texts(&["b"]), texts(&["a", "c"])]
        );
        let direct = HashingEmbedder::default();
        for (text, vector) in ["a", "b", "c", "a"].iter().zip(&out.vectors) {
            assert_eq!(vector, &direct.embed_text(text), "{text}");
        }
        assert_eq!(out.usage.map(|u| u.input_tokens), Some(2));
    }

    #[tokio::test]
    async fn different_models_do_not_collide() {
        let store = kv();
        let layer = CachedEmbeddingsLayer::new(store.clone());
        let small = layer.layer(MockEmbeddingModel::wrap(HashingEmbedder::new(8)));
        let large = layer.layer(MockEmbeddingModel::wrap(HashingEmbedder::new(16)));
        let a = small.embed(&texts(&["same text"])).await.unwrap();
        let b = large.embed(&texts(&["same text"])).await.unwrap();
        assert_eq!((a.vectors[0].len(), b.vectors[0].len()), (8, 16));
        assert_eq!(
            small.get_ref().call_count() + large.get_ref().call_count(),
            2
        );
        assert_ne!(small.key_for("same text"), large.key_for("same text"));
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_the_ttl() {
        let model = CachedEmbeddings::new(MockEmbeddingModel::new(), kv())
            .with_ttl(Some(Duration::from_secs(60)));
        model.embed(&texts(&["x"])).await.unwrap();
        tokio::time::advance(Duration::from_secs(30)).await;
        model.embed(&texts(&["x"])).await.unwrap();
        assert_eq!(model.get_ref().call_count(), 1);
        tokio::time::advance(Duration::from_secs(31)).await;
        model.embed(&texts(&["x"])).await.unwrap();
        assert_eq!(model.get_ref().call_count(), 2);
    }

    #[tokio::test]
    async fn corrupt_entries_are_misses_and_inner_errors_pass_through() {
        let store = kv();
        let model = CachedEmbeddings::new(MockEmbeddingModel::new(), store.clone());
        let key = model.key_for("x");
        store
            .set(&key, Bytes::from_static(b"\x01abc"), None)
            .await
            .unwrap();
        let out = model.embed(&texts(&["x"])).await.unwrap();
        assert_eq!(out.vectors[0].len(), 384);
        assert_eq!(model.get_ref().call_count(), 1);
        // The bad entry was replaced by a good one.
        assert_eq!(
            decode_vector(&store.get(&key).await.unwrap().unwrap()),
            Some(out.vectors[0].clone())
        );

        model
            .get_ref()
            .push_error(Error::new(ErrorKind::RateLimited, "slow down"));
        let err = model.embed(&texts(&["new"])).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(model.embed(&[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_cached_model_passes_the_embedding_suite() {
        let model = CachedEmbeddings::new(MockEmbeddingModel::new().with_max_batch(4), kv())
            .with_namespace("suite");
        crate::conformance::embedding::run_all(&model).await;
        assert_eq!(model.max_batch(), 4);
    }
}
