//! One in-memory collection: flat row-major vectors and parallel columns.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::filter::Filter;
use crate::types::{Metadata, Metric, ScoredRecord, ScrollPage, VectorRecord};

use super::kernels::{dot, squared_l2};

/// Vectors of one collection.
///
/// All vectors live in ONE contiguous `Vec<f32>` (row `r` is
/// `data[r * dims..(r + 1) * dims]`) so a scan streams through memory; ids
/// and metadata are parallel columns, and `rows` maps an id to its row.
/// Deletes swap the last row into the hole, keeping the storage dense.
/// Cosine collections store unit-normalised vectors, so a cosine query is a
/// plain dot product against a normalised query.
///
/// The scan ([`Collection::query`]) is the seam for later work: a parallel
/// scan over row ranges, int8 quantised rows or an HNSW index can replace
/// it without touching the storage layout or the trait impl.
#[derive(Debug)]
pub(crate) struct Collection {
    pub(crate) dims: usize,
    pub(crate) metric: Metric,
    data: Vec<f32>,
    ids: Vec<String>,
    metadata: Vec<Metadata>,
    rows: HashMap<String, usize>,
}

impl Collection {
    pub(crate) fn new(dims: usize, metric: Metric) -> Collection {
        Collection {
            dims,
            metric,
            data: Vec::new(),
            ids: Vec::new(),
            metadata: Vec::new(),
            rows: HashMap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.dims..(r + 1) * self.dims]
    }

    /// Insert or overwrite records that the caller already validated (and
    /// normalised, for cosine).
    pub(crate) fn upsert(&mut self, records: Vec<VectorRecord>) {
        self.data.reserve(records.len() * self.dims);
        for record in records {
            match self.rows.get(&record.id) {
                Some(&r) => {
                    self.data[r * self.dims..(r + 1) * self.dims].copy_from_slice(&record.vector);
                    self.metadata[r] = record.metadata;
                }
                None => {
                    self.rows.insert(record.id.clone(), self.ids.len());
                    self.data.extend_from_slice(&record.vector);
                    self.ids.push(record.id);
                    self.metadata.push(record.metadata);
                }
            }
        }
    }

    pub(crate) fn get(&self, ids: &[String]) -> Vec<VectorRecord> {
        ids.iter()
            .filter_map(|id| self.rows.get(id).map(|&r| self.record(r, true)))
            .collect()
    }

    fn record(&self, r: usize, with_vector: bool) -> VectorRecord {
        let vector = if with_vector {
            self.row(r).to_vec()
        } else {
            Vec::new()
        };
        VectorRecord::new(self.ids[r].clone(), vector).with_metadata(self.metadata[r].clone())
    }

    fn swap_remove(&mut self, r: usize) {
        let last = self.len() - 1;
        if r != last {
            self.data
                .copy_within(last * self.dims..(last + 1) * self.dims, r * self.dims);
            self.rows.insert(self.ids[last].clone(), r);
        }
        self.data.truncate(last * self.dims);
        self.rows.remove(&self.ids[r]);
        self.ids.swap_remove(r);
        self.metadata.swap_remove(r);
    }

    pub(crate) fn delete_ids(&mut self, ids: &[String]) -> u64 {
        let mut removed = 0;
        for id in ids {
            if let Some(&r) = self.rows.get(id) {
                self.swap_remove(r);
                removed += 1;
            }
        }
        removed
    }

    pub(crate) fn delete_where(&mut self, filter: &Filter) -> u64 {
        let mut removed = 0;
        // Walking down means the row swapped into a hole was already visited.
        for r in (0..self.len()).rev() {
            if filter.matches(&self.metadata[r]) {
                self.swap_remove(r);
                removed += 1;
            }
        }
        removed
    }

    pub(crate) fn clear(&mut self) -> u64 {
        let n = self.len() as u64;
        *self = Collection::new(self.dims, self.metric);
        n
    }

    pub(crate) fn count(&self, filter: Option<&Filter>) -> u64 {
        match filter {
            None => self.len() as u64,
            Some(f) => self.metadata.iter().filter(|m| f.matches(m)).count() as u64,
        }
    }

    /// Exact top-k: one pass over the rows, the filter checked before the
    /// distance, a bounded heap holding the `top_k` best seen so far.
    /// `query` must already be normalised for cosine collections.
    pub(crate) fn query(
        &self,
        query: &[f32],
        top_k: usize,
        filter: Option<&Filter>,
        min_score: Option<f32>,
        include_vectors: bool,
        include_metadata: bool,
    ) -> Vec<ScoredRecord> {
        let mut heap: BinaryHeap<Candidate> = BinaryHeap::with_capacity(top_k.min(self.len()) + 1);
        for r in 0..self.len() {
            if filter.is_some_and(|f| !f.matches(&self.metadata[r])) {
                continue;
            }
            let candidate = Candidate {
                key: self.rank_key(query, self.row(r)),
                row: r,
            };
            if heap.len() < top_k {
                heap.push(candidate);
            } else if let Some(mut worst) = heap.peek_mut()
                && candidate < *worst
            {
                *worst = candidate;
            }
        }
        heap.into_sorted_vec()
            .into_iter()
            .map(|c| (c.row, self.score_from_key(c.key)))
            .filter(|&(_, score)| min_score.is_none_or(|min| score >= min))
            .map(|(r, score)| {
                let mut hit = ScoredRecord::new(self.ids[r].clone(), score);
                if include_metadata {
                    hit = hit.with_metadata(self.metadata[r].clone());
                }
                if include_vectors {
                    hit = hit.with_vector(self.row(r).to_vec());
                }
                hit
            })
            .collect()
    }

    /// A value ordered like the score but cheaper (no square root).
    fn rank_key(&self, query: &[f32], row: &[f32]) -> f32 {
        match self.metric {
            Metric::Cosine | Metric::Dot => dot(query, row),
            Metric::Euclidean => -squared_l2(query, row),
        }
    }

    fn score_from_key(&self, key: f32) -> f32 {
        match self.metric {
            Metric::Cosine | Metric::Dot => key,
            Metric::Euclidean => -(-key).max(0.0).sqrt(),
        }
    }

    /// Records matching `filter` with ids after `cursor`, in id order.
    pub(crate) fn scroll(
        &self,
        filter: Option<&Filter>,
        cursor: Option<&str>,
        limit: usize,
        include_vectors: bool,
    ) -> ScrollPage {
        let mut rows: Vec<usize> = (0..self.len())
            .filter(|&r| cursor.is_none_or(|c| self.ids[r].as_str() > c))
            .filter(|&r| filter.is_none_or(|f| f.matches(&self.metadata[r])))
            .collect();
        rows.sort_unstable_by(|&a, &b| self.ids[a].cmp(&self.ids[b]));
        let more = rows.len() > limit;
        rows.truncate(limit);
        let records: Vec<VectorRecord> = rows
            .iter()
            .map(|&r| self.record(r, include_vectors))
            .collect();
        let next = if more {
            records.last().map(|rec| rec.id.clone())
        } else {
            None
        };
        ScrollPage::new(records, next)
    }
}

/// A heap entry ordered so that the *worst* candidate is the greatest: the
/// max-heap's top is the one to evict, and `into_sorted_vec` yields best
/// first. Ties go to the lower row so results are deterministic.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    key: f32,
    row: usize,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Candidate) -> Ordering {
        other
            .key
            .total_cmp(&self.key)
            .then(self.row.cmp(&other.row))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Candidate) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Candidate) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, v: &[f32], tag: i64) -> VectorRecord {
        VectorRecord::new(id, v.to_vec()).with_field("tag", tag)
    }

    fn ids(hits: &[ScoredRecord]) -> Vec<&str> {
        hits.iter().map(|h| h.id.as_str()).collect()
    }

    #[test]
    fn swap_remove_keeps_rows_consistent() {
        let mut c = Collection::new(2, Metric::Dot);
        c.upsert(vec![
            rec("a", &[1.0, 0.0], 1),
            rec("b", &[2.0, 0.0], 2),
            rec("c", &[3.0, 0.0], 3),
        ]);
        assert_eq!(c.delete_ids(&["a".into(), "zzz".into()]), 1);
        let got = c.get(&["c".into(), "b".into(), "a".into()]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].vector, vec![3.0, 0.0]);
        assert_eq!(got[0].metadata["tag"], 3);
        assert_eq!(got[1].vector, vec![2.0, 0.0]);
        assert_eq!(c.data.len(), 4);
    }

    #[test]
    fn delete_where_removes_every_match() {
        let mut c = Collection::new(1, Metric::Dot);
        c.upsert(
            (0..10)
                .map(|i| rec(&i.to_string(), &[i as f32], i % 3))
                .collect(),
        );
        assert_eq!(c.delete_where(&Filter::eq("tag", 0)), 4);
        assert_eq!(c.count(None), 6);
        assert_eq!(c.count(Some(&Filter::eq("tag", 0))), 0);
        for r in 0..c.len() {
            assert_eq!(c.rows[&c.ids[r]], r);
            assert_eq!(c.row(r)[0], c.ids[r].parse::<f32>().unwrap());
        }
    }

    #[test]
    fn heap_keeps_the_best_k_in_order() {
        let mut c = Collection::new(1, Metric::Dot);
        c.upsert(
            (0..50)
                .map(|i| rec(&format!("r{i:02}"), &[i as f32], i % 2))
                .collect(),
        );
        let hits = c.query(&[1.0], 3, None, None, false, true);
        assert_eq!(ids(&hits), ["r49", "r48", "r47"]);
        let odd = c.query(&[1.0], 2, Some(&Filter::eq("tag", 1)), None, true, false);
        assert_eq!(ids(&odd), ["r49", "r47"]);
        assert!(odd[0].metadata.is_empty());
        assert_eq!(odd[0].vector, Some(vec![49.0]));
        let min = c.query(&[1.0], 10, None, Some(47.5), false, false);
        assert_eq!(ids(&min), ["r49", "r48"]);
    }

    #[test]
    fn euclidean_scores_are_negative_distances() {
        let mut c = Collection::new(2, Metric::Euclidean);
        c.upsert(vec![
            rec("near", &[1.0, 1.0], 0),
            rec("far", &[4.0, 5.0], 0),
        ]);
        let hits = c.query(&[1.0, 1.0], 2, None, None, false, false);
        assert_eq!(ids(&hits), ["near", "far"]);
        assert_eq!(hits[0].score, 0.0);
        assert!((hits[1].score + 5.0).abs() < 1e-6);
    }

    #[test]
    fn scroll_pages_in_id_order() {
        let mut c = Collection::new(1, Metric::Dot);
        c.upsert(
            ["d", "a", "c", "b", "e"]
                .iter()
                .map(|id| rec(id, &[1.0], 0))
                .collect(),
        );
        let first = c.scroll(None, None, 2, false);
        assert_eq!(
            first
                .records
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(first.records[0].vector.is_empty());
        let second = c.scroll(None, first.next_cursor.as_deref(), 2, false);
        assert_eq!(second.next_cursor.as_deref(), Some("d"));
        let last = c.scroll(None, second.next_cursor.as_deref(), 2, false);
        assert_eq!(last.records.len(), 1);
        assert_eq!(last.next_cursor, None);
    }
}
