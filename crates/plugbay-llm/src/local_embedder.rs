//! [`HashingEmbedder`]: a deterministic, dependency-free local embedder.

use std::collections::BTreeMap;

use async_trait::async_trait;
use plugbay_core::Result;

use crate::model::EmbeddingModel;
use crate::types::{Embeddings, Usage};

/// Default vector length, the same as common small sentence-transformers
/// (`all-MiniLM-L6-v2`), so a store can switch models without resizing.
pub const DEFAULT_DIMENSIONS: usize = 384;

/// Inputs per nominal batch. The embedder is local, so this only matters to
/// callers that size their own batches by it.
const MAX_BATCH: usize = 1024;

// Feature groups: a seed byte keeps equal strings of different groups apart,
// and a weight balances them (a word yields many character n-grams).
const WORD: (u8, f32) = (b'w', 1.0);
const BIGRAM: (u8, f32) = (b'b', 0.6);
const CHARS: (u8, f32) = (b'c', 0.3);

/// A deterministic local embedder: feature hashing of lowercased words, word
/// bigrams and character 3- to 5-grams (words wrapped in `<` `>` boundary
/// markers) into `dims` buckets.
///
/// Each feature is hashed with 64-bit FNV-1a plus a murmur3 finaliser (fixed
/// and stable across runs, platforms and releases: vectors stored today
/// still match queries tomorrow). The low bits choose the bucket and the top
/// bit the sign, so collisions cancel out on average instead of piling up.
/// Counts are damped (`1 + ln(count)`) and the vector is L2-normalised, so
/// cosine similarity is a dot product.
///
/// It captures lexical overlap (shared words and word pieces), not meaning:
/// good for tests, offline development and a no-network default, not a
/// substitute for a neural model. Text without any letter or digit (for
/// example `""`) gives the zero vector; no output ever contains NaN.
///
/// ```
/// use plugbay_llm::HashingEmbedder;
/// let embedder = HashingEmbedder::default();
/// let v = embedder.embed_text("the cat sat on the mat");
/// assert_eq!(v.len(), 384);
/// ```
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dims: usize,
    model: String,
}

impl Default for HashingEmbedder {
    fn default() -> HashingEmbedder {
        HashingEmbedder::new(DEFAULT_DIMENSIONS)
    }
}

impl HashingEmbedder {
    /// An embedder producing `dims`-long vectors (`0` is taken as `1`).
    pub fn new(dims: usize) -> HashingEmbedder {
        let dims = dims.max(1);
        HashingEmbedder {
            dims,
            model: format!("hashing-v1-{dims}"),
        }
    }

    /// The vector length.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Embed one text (synchronously; it is pure computation).
    pub fn embed_text(&self, text: &str) -> Vec<f32> {
        let mut features: BTreeMap<u64, (f32, u32)> = BTreeMap::new();
        let mut add = |group: (u8, f32), parts: &[&str]| {
            let entry = features
                .entry(feature_hash(group.0, parts))
                .or_insert((group.1, 0));
            entry.1 += 1;
        };

        let words = words(text);
        for word in &words {
            add(WORD, &[word]);
            let marked: Vec<char> = std::iter::once('<')
                .chain(word.chars())
                .chain(std::iter::once('>'))
                .collect();
            let mut buf = String::new();
            for n in 3..=5 {
                for window in marked.windows(n) {
                    buf.clear();
                    buf.extend(window);
                    add(CHARS, &[&buf]);
                }
            }
        }
        for pair in words.windows(2) {
            add(BIGRAM, &[&pair[0], " ", &pair[1]]);
        }

        // BTreeMap order makes the float sums, and so the vector, identical
        // on every call.
        let mut vector = vec![0.0f32; self.dims];
        for (hash, (weight, count)) in features {
            let bucket = (hash % self.dims as u64) as usize;
            let sign = if hash >> 63 == 1 { -1.0 } else { 1.0 };
            vector[bucket] += sign * weight * (1.0 + (count as f32).ln());
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            vector.iter_mut().for_each(|x| *x /= norm);
        }
        vector
    }
}

/// Lowercased runs of letters and digits (Unicode-aware).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The feature's hash: 64-bit FNV-1a over a group seed and the parts, then
/// the murmur3 `fmix64` finaliser so every output bit depends on every
/// input bit (plain FNV-1a mixes the top bits, our sign, poorly).
fn feature_hash(seed: u8, parts: &[&str]) -> u64 {
    fmix64(fnv1a64(
        std::iter::once(seed).chain(parts.iter().flat_map(|p| p.bytes())),
    ))
}

fn fnv1a64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.into_iter().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

fn fmix64(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

#[async_trait]
impl EmbeddingModel for HashingEmbedder {
    fn provider(&self) -> &str {
        "hashing"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn dimensions(&self) -> Option<usize> {
        Some(self.dims)
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    async fn embed(&self, inputs: &[String]) -> Result<Embeddings> {
        let vectors = inputs.iter().map(|text| self.embed_text(text)).collect();
        let tokens: usize = inputs.iter().map(|text| words(text).len()).sum();
        Ok(Embeddings::new(vectors, self.model.clone()).with_usage(Usage::new(tokens as u64, 0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    #[test]
    fn deterministic_across_calls_and_instances() {
        let text = "Deterministic embeddings, please: 42 times!";
        let a = HashingEmbedder::default().embed_text(text);
        let b = HashingEmbedder::new(384).embed_text(text);
        assert_eq!(a, b);
        assert_eq!(a, HashingEmbedder::default().embed_text(text));
    }

    #[test]
    fn hash_matches_published_fnv1a_vectors() {
        // Stored vectors depend on this exact hash; changing it is a breaking
        // change (bump the model name). Vectors from the FNV reference page.
        assert_eq!(fnv1a64(*b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(*b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(*b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(fmix64(0), 0);
        assert_eq!(
            feature_hash(b'w', &["cat"]),
            feature_hash(b'w', &["c", "at"])
        );
        assert_ne!(feature_hash(b'w', &["cat"]), feature_hash(b'c', &["cat"]));
    }

    #[test]
    fn vectors_have_unit_norm() {
        let embedder = HashingEmbedder::new(64);
        for text in [
            "a",
            "hello world",
            "The quick brown fox jumps over the lazy dog",
        ] {
            let v = embedder.embed_text(text);
            assert_eq!(v.len(), 64);
            assert!((norm(&v) - 1.0).abs() < 1e-5, "{text}: {}", norm(&v));
        }
    }

    #[test]
    fn similar_sentences_are_closer_than_unrelated_ones() {
        let embedder = HashingEmbedder::default();
        let cat = embedder.embed_text("the cat sat on the mat");
        let similar = embedder.embed_text("a cat sat on a mat");
        let unrelated = embedder.embed_text("quarterly revenue report");
        let near = cosine(&cat, &similar);
        let far = cosine(&cat, &unrelated);
        assert!(near > far + 0.3, "near {near}, far {far}");
    }

    #[test]
    fn empty_and_symbol_only_text_give_the_zero_vector() {
        let embedder = HashingEmbedder::new(16);
        for text in ["", "   ", "?!…"] {
            let v = embedder.embed_text(text);
            assert_eq!(v, vec![0.0; 16], "{text:?}");
        }
    }

    #[test]
    fn unicode_text_embeds_without_nan() {
        let embedder = HashingEmbedder::default();
        let v = embedder.embed_text("Ünïcödé 東京タワー мир 🚀 naïve café");
        assert!(v.iter().all(|x| x.is_finite()));
        assert!((norm(&v) - 1.0).abs() < 1e-5);
        // Case folding works beyond ASCII.
        assert_eq!(embedder.embed_text("ÉCOLE"), embedder.embed_text("école"));
    }

    #[test]
    fn zero_dims_is_clamped() {
        let embedder = HashingEmbedder::new(0);
        assert_eq!(embedder.dims(), 1);
        assert_eq!(embedder.embed_text("x").len(), 1);
    }

    #[tokio::test]
    async fn batch_matches_individual_results() {
        let embedder = HashingEmbedder::new(128);
        let inputs = vec!["one fish".to_owned(), "".to_owned(), "two fish".to_owned()];
        let batch = embedder.embed(&inputs).await.unwrap();
        assert_eq!(batch.len(), 3);
        for (input, vector) in inputs.iter().zip(&batch.vectors) {
            assert_eq!(vector, &embedder.embed_text(input));
        }
        assert_eq!(batch.usage.map(|u| u.input_tokens), Some(4));
        assert_eq!(batch.model, "hashing-v1-128");
    }
}
