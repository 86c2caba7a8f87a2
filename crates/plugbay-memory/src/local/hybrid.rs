//! Hybrid search: the vector score blended with a BM25 score over the
//! candidate texts, so exact rare words (names, codes) rank well even
//! when the embedding model does not capture them.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// How [`LocalMemory`](super::LocalMemory) blends lexical and vector
/// scores in `search`.
///
/// The vector store returns the `candidates` nearest memories of the
/// scope; each gets `(1 - w) * vector + w * lexical`, where `lexical` is
/// BM25 over those candidates (IDF from the candidates, so a word only a
/// few memories contain weighs most) scaled to `[0, 1]` by the best
/// candidate. With `w = 0` search is purely semantic. The threshold
/// applies to the blended score.
///
/// ```
/// use plugbay_memory::local::HybridSearch;
/// let h = HybridSearch::new().lexical_weight(0.5).candidates(200);
/// assert_eq!(h.lexical_weight, 0.5);
/// assert_eq!(HybridSearch::off().lexical_weight, 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HybridSearch {
    /// Weight of the lexical score, `0.0..=1.0` (default 0.3).
    pub lexical_weight: f32,
    /// How many vector candidates are re-scored (default 100; at least
    /// `top_k` are always fetched).
    pub candidates: usize,
}

impl Default for HybridSearch {
    fn default() -> HybridSearch {
        HybridSearch {
            lexical_weight: 0.3,
            candidates: 100,
        }
    }
}

impl HybridSearch {
    /// The defaults (weight 0.3, 100 candidates).
    pub fn new() -> HybridSearch {
        HybridSearch::default()
    }

    /// Purely semantic search.
    pub fn off() -> HybridSearch {
        HybridSearch {
            lexical_weight: 0.0,
            ..HybridSearch::default()
        }
    }

    /// Set [`lexical_weight`](Self::lexical_weight), clamped to `0..=1`.
    pub fn lexical_weight(mut self, weight: f32) -> HybridSearch {
        self.lexical_weight = if weight.is_finite() {
            weight.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Set [`candidates`](Self::candidates).
    pub fn candidates(mut self, n: usize) -> HybridSearch {
        self.candidates = n.max(1);
        self
    }

    pub(crate) fn is_on(&self) -> bool {
        self.lexical_weight > 0.0
    }
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "has", "have",
    "i", "in", "is", "it", "me", "my", "of", "on", "or", "so", "that", "the", "to", "was", "we",
    "what", "when", "where", "which", "who", "with", "you", "your",
];

/// Lower-cased alphanumeric words, without stop words.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .filter(|t| !STOP_WORDS.contains(&t.as_str()))
        .collect()
}

/// BM25 scores of `docs` for `query`, scaled so the best is 1 (all 0 when
/// nothing matches).
pub(crate) fn lexical_scores(query: &str, docs: &[&str]) -> Vec<f32> {
    const K1: f32 = 1.2;
    const B: f32 = 0.75;
    let query: HashSet<String> = tokens(query).into_iter().collect();
    let docs: Vec<Vec<String>> = docs.iter().map(|d| tokens(d)).collect();
    if query.is_empty() || docs.is_empty() {
        return vec![0.0; docs.len()];
    }
    let n = docs.len() as f32;
    let avg_len = (docs.iter().map(Vec::len).sum::<usize>() as f32 / n).max(1.0);
    let mut df: HashMap<&str, f32> = HashMap::new();
    for doc in &docs {
        let unique: HashSet<&str> = doc.iter().map(String::as_str).collect();
        for t in unique.into_iter().filter(|t| query.contains(*t)) {
            *df.entry(t).or_default() += 1.0;
        }
    }
    let raw: Vec<f32> = docs
        .iter()
        .map(|doc| {
            let len = doc.len() as f32;
            df.iter()
                .map(|(term, df)| {
                    let tf = doc.iter().filter(|t| t.as_str() == *term).count() as f32;
                    if tf == 0.0 {
                        return 0.0;
                    }
                    let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg_len))
                })
                .sum()
        })
        .collect();
    let best = raw.iter().copied().fold(0.0_f32, f32::max);
    if best <= 0.0 {
        return vec![0.0; raw.len()];
    }
    raw.into_iter().map(|s| s / best).collect()
}

impl super::LocalMemory {
    /// Search: the scope's nearest memories, re-scored by
    /// [`HybridSearch`] when it is on, best first.
    pub(super) async fn ranked(
        &self,
        query: &str,
        filter: crate::filter::Filter,
        opts: &crate::memory::SearchOptions,
    ) -> plugbay_core::Result<Vec<crate::memory::ScoredMemory>> {
        use crate::memory::ScoredMemory;
        use crate::types::VectorQuery;
        let vector = self
            .embed(&[query.to_owned()])
            .await?
            .pop()
            .ok_or_else(|| {
                plugbay_core::Error::protocol("the embedding model returned no vector")
            })?;
        let hybrid = self.hybrid.is_on();
        let pool = if hybrid {
            opts.top_k.max(self.hybrid.candidates)
        } else {
            opts.top_k
        };
        let mut q = VectorQuery::new(vector, pool).filter(filter);
        if let (false, Some(threshold)) = (hybrid, opts.threshold) {
            q = q.min_score(threshold);
        }
        let hits = self.store.query(&self.collection, q).await?;
        let mut found = hits
            .into_iter()
            .map(|hit| {
                super::records::from_record(hit.id, hit.metadata)
                    .map(|item| ScoredMemory::new(item, hit.score))
            })
            .collect::<plugbay_core::Result<Vec<_>>>()?;
        if !hybrid {
            return Ok(found);
        }
        let texts: Vec<&str> = found.iter().map(|m| m.item.text.as_str()).collect();
        let lexical = lexical_scores(query, &texts);
        let w = self.hybrid.lexical_weight;
        for (hit, lex) in found.iter_mut().zip(lexical) {
            hit.score = (1.0 - w) * hit.score + w * lex;
        }
        found.retain(|hit| opts.threshold.is_none_or(|t| hit.score >= t));
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        found.truncate(opts.top_k);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_drop_case_punctuation_and_stop_words() {
        assert_eq!(
            tokens("Who is Zyxelbrook's CEO?"),
            ["zyxelbrook", "s", "ceo"]
        );
        assert!(tokens("what is the").is_empty());
    }

    #[test]
    fn rare_terms_outweigh_common_ones() {
        let docs = [
            "likes coffee in the morning",
            "coffee with milk, coffee black",
            "met Zyxelbrook at the coffee fair",
        ];
        let scores = lexical_scores("coffee with Zyxelbrook", &docs);
        assert_eq!(scores[2], 1.0, "{scores:?}");
        assert!(scores[0] < scores[1] && scores[1] < 1.0, "{scores:?}");
        assert_eq!(lexical_scores("tea", &docs), [0.0, 0.0, 0.0]);
        assert!(lexical_scores("x", &[]).is_empty());
    }

    #[test]
    fn weights_are_clamped() {
        assert_eq!(HybridSearch::new().lexical_weight(3.0).lexical_weight, 1.0);
        assert_eq!(
            HybridSearch::new().lexical_weight(f32::NAN).lexical_weight,
            0.0
        );
        assert!(!HybridSearch::off().is_on());
        assert_eq!(HybridSearch::new().candidates(0).candidates, 1);
    }
}
