//! One in-memory collection: flat row-major vectors and parallel columns.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use crate::filter::Filter;
use crate::types::{Metadata, Metric, ScoredRecord, ScrollPage, VectorRecord};

use super::hnsw::Hnsw;
use super::kernels::{dot, quantize_i8};
use super::options::{CollectionOptions, Quantization};

/// Vectors of one collection.
///
/// All vectors live in ONE contiguous `Vec<f32>` (row `r` is
/// `data[r * dims..(r + 1) * dims]`) so a scan streams through memory; ids
/// and metadata are parallel columns, and `rows` maps an id to its row.
/// Deletes swap the last row into the hole, keeping the storage dense.
/// Cosine collections store unit-normalised vectors, so a cosine query is a
/// plain dot product against a normalised query.
///
/// With [`Quantization::Int8`], `codes`/`scales` (and `norms` for
/// Euclidean) are further parallel columns kept in step with `data`.
/// The optional HNSW index covers the prefix of rows `0..index.len()`;
/// rows appended later are scanned exactly until the index catches up,
/// and any change to an indexed row drops the index (rebuilt lazily).
#[derive(Debug)]
pub(crate) struct Collection {
    pub(crate) dims: usize,
    pub(crate) metric: Metric,
    pub(crate) options: CollectionOptions,
    pub(crate) data: Vec<f32>,
    pub(crate) ids: Vec<String>,
    pub(crate) metadata: Vec<Metadata>,
    rows: HashMap<String, usize>,
    pub(crate) codes: Vec<i8>,
    pub(crate) scales: Vec<f32>,
    pub(crate) norms: Vec<f32>,
    pub(crate) index: RwLock<Option<Hnsw>>,
}

impl Collection {
    pub(crate) fn new(dims: usize, metric: Metric, options: CollectionOptions) -> Collection {
        Collection {
            dims,
            metric,
            options,
            data: Vec::new(),
            ids: Vec::new(),
            metadata: Vec::new(),
            rows: HashMap::new(),
            codes: Vec::new(),
            scales: Vec::new(),
            norms: Vec::new(),
            index: RwLock::new(None),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn quantized(&self) -> bool {
        self.options.quantization == Quantization::Int8
    }

    pub(crate) fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.dims..(r + 1) * self.dims]
    }

    pub(crate) fn code_row(&self, r: usize) -> &[i8] {
        &self.codes[r * self.dims..(r + 1) * self.dims]
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
                    self.encode_row(r);
                    self.invalidate_index_from(r);
                }
                None => {
                    self.rows.insert(record.id.clone(), self.ids.len());
                    self.data.extend_from_slice(&record.vector);
                    self.ids.push(record.id);
                    self.metadata.push(record.metadata);
                    self.encode_row(self.len() - 1);
                }
            }
        }
    }

    /// Bring the int8 columns of row `r` in step with its `f32` values
    /// (appending when `r` is the newest row).
    fn encode_row(&mut self, r: usize) {
        if !self.quantized() {
            return;
        }
        let dims = self.dims;
        if self.scales.len() <= r {
            self.codes.resize((r + 1) * dims, 0);
            self.scales.resize(r + 1, 0.0);
            self.norms.resize(r + 1, 0.0);
        }
        let vector = &self.data[r * dims..(r + 1) * dims];
        self.scales[r] = quantize_i8(vector, &mut self.codes[r * dims..(r + 1) * dims]);
        self.norms[r] = dot(vector, vector);
    }

    /// Switch to new options: codes are built or dropped when the
    /// quantisation changes, and the index is dropped when its build
    /// parameters change (search-time parameters apply at once).
    pub(crate) fn set_options(&mut self, options: CollectionOptions) {
        let graph_changed = match (&self.options.ann, &options.ann) {
            (Some(old), Some(new)) => (old.m, old.ef_construction) != (new.m, new.ef_construction),
            (None, None) => false,
            _ => true,
        };
        if graph_changed {
            *self.index.get_mut().unwrap_or_else(PoisonError::into_inner) = None;
        }
        let requantize = self.options.quantization != options.quantization;
        self.options = options;
        if requantize {
            self.codes = Vec::new();
            self.scales = Vec::new();
            self.norms = Vec::new();
            for r in 0..self.len() {
                self.encode_row(r);
            }
        }
    }

    /// The index no longer describes row `r` (and so the graph): drop it
    /// if it covered that row.
    fn invalidate_index_from(&mut self, r: usize) {
        let index = self.index.get_mut().unwrap_or_else(PoisonError::into_inner);
        if index.as_ref().is_some_and(|h| r < h.len()) {
            *index = None;
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
        self.invalidate_index_from(r);
        let dims = self.dims;
        if r != last {
            self.data
                .copy_within(last * dims..(last + 1) * dims, r * dims);
            if self.quantized() {
                self.codes
                    .copy_within(last * dims..(last + 1) * dims, r * dims);
            }
            self.rows.insert(self.ids[last].clone(), r);
        }
        self.data.truncate(last * dims);
        if self.quantized() {
            self.codes.truncate(last * dims);
            self.scales.swap_remove(r);
            self.norms.swap_remove(r);
        }
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
        *self = Collection::new(self.dims, self.metric, self.options.clone());
        n
    }

    pub(crate) fn count(&self, filter: Option<&Filter>) -> u64 {
        match filter {
            None => self.len() as u64,
            Some(f) => self.metadata.iter().filter(|m| f.matches(m)).count() as u64,
        }
    }

    /// Turn ranked `(row, key)` pairs (best first) into results.
    pub(crate) fn hits(
        &self,
        ranked: Vec<(usize, f32)>,
        min_score: Option<f32>,
        include_vectors: bool,
        include_metadata: bool,
    ) -> Vec<ScoredRecord> {
        ranked
            .into_iter()
            .map(|(r, key)| (r, self.score_from_key(key)))
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

    /// The reported score for a rank key (see [`rank_key`](super::scan::rank_key)).
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

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::options::ScanConfig;
    use super::super::scan::{self, ScanQuery};

    fn query(
        c: &Collection,
        q: &[f32],
        top_k: usize,
        filter: Option<&Filter>,
        min_score: Option<f32>,
        include_vectors: bool,
        include_metadata: bool,
    ) -> Vec<ScoredRecord> {
        let scan_cfg = ScanConfig {
            threads: 1,
            parallel_threshold: usize::MAX,
        };
        let sq = ScanQuery {
            vector: q,
            top_k,
            filter,
        };
        let ranked = scan::exact(c, sq, &scan_cfg);
        c.hits(ranked, min_score, include_vectors, include_metadata)
    }

    fn rec(id: &str, v: &[f32], tag: i64) -> VectorRecord {
        VectorRecord::new(id, v.to_vec()).with_field("tag", tag)
    }

    fn ids(hits: &[ScoredRecord]) -> Vec<&str> {
        hits.iter().map(|h| h.id.as_str()).collect()
    }

    #[test]
    fn swap_remove_keeps_rows_consistent() {
        let mut c = Collection::new(2, Metric::Dot, CollectionOptions::default());
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
    fn int8_columns_follow_upserts_and_deletes() {
        let options = CollectionOptions::new().quantization(Quantization::Int8);
        let mut c = Collection::new(2, Metric::Euclidean, options);
        c.upsert(vec![
            rec("a", &[1.0, 0.0], 1),
            rec("b", &[0.0, 2.0], 2),
            rec("c", &[3.0, 3.0], 3),
        ]);
        c.upsert(vec![rec("b", &[0.0, -4.0], 2)]);
        assert_eq!(c.delete_ids(&["a".into()]), 1);
        assert_eq!((c.codes.len(), c.scales.len(), c.norms.len()), (4, 2, 2));
        for r in 0..c.len() {
            let row = c.row(r);
            let decoded: Vec<f32> = c
                .code_row(r)
                .iter()
                .map(|&q| f32::from(q) * c.scales[r])
                .collect();
            assert!(
                row.iter().zip(&decoded).all(|(x, y)| (x - y).abs() < 0.05),
                "{row:?} {decoded:?}"
            );
            assert_eq!(c.norms[r], row.iter().map(|x| x * x).sum::<f32>());
        }
    }

    #[test]
    fn delete_where_removes_every_match() {
        let mut c = Collection::new(1, Metric::Dot, CollectionOptions::default());
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
        let mut c = Collection::new(1, Metric::Dot, CollectionOptions::default());
        c.upsert(
            (0..50)
                .map(|i| rec(&format!("r{i:02}"), &[i as f32], i % 2))
                .collect(),
        );
        let hits = query(&c, &[1.0], 3, None, None, false, true);
        assert_eq!(ids(&hits), ["r49", "r48", "r47"]);
        let odd = query(
            &c,
            &[1.0],
            2,
            Some(&Filter::eq("tag", 1)),
            None,
            true,
            false,
        );
        assert_eq!(ids(&odd), ["r49", "r47"]);
        assert!(odd[0].metadata.is_empty());
        assert_eq!(odd[0].vector, Some(vec![49.0]));
        let min = query(&c, &[1.0], 10, None, Some(47.5), false, false);
        assert_eq!(ids(&min), ["r49", "r48"]);
    }

    #[test]
    fn euclidean_scores_are_negative_distances() {
        let mut c = Collection::new(2, Metric::Euclidean, CollectionOptions::default());
        c.upsert(vec![
            rec("near", &[1.0, 1.0], 0),
            rec("far", &[4.0, 5.0], 0),
        ]);
        let hits = query(&c, &[1.0, 1.0], 2, None, None, false, false);
        assert_eq!(ids(&hits), ["near", "far"]);
        assert_eq!(hits[0].score, 0.0);
        assert!((hits[1].score + 5.0).abs() < 1e-6);
    }

    #[test]
    fn scroll_pages_in_id_order() {
        let mut c = Collection::new(1, Metric::Dot, CollectionOptions::default());
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
