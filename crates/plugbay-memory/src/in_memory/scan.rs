//! Exact and int8 scans: one query or a batch, on one thread or split
//! across rayon's pool.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Range;

use rayon::prelude::*;

use crate::filter::Filter;
use crate::types::Metric;

use super::collection::Collection;
use super::kernels::{Vectorizable, dot, dot_i8, quantize_i8, squared_l2, vectorized};
use super::options::ScanConfig;

/// Ranked results, best first: `(row, rank key)`.
pub(crate) type Ranked = Vec<(usize, f32)>;

/// A value ordered like the score but cheaper (no square root): the dot
/// product for cosine (unit vectors) and dot, the negative squared
/// distance for Euclidean.
#[inline(always)]
pub(crate) fn rank_key(metric: Metric, query: &[f32], row: &[f32]) -> f32 {
    match metric {
        Metric::Cosine | Metric::Dot => dot(query, row),
        Metric::Euclidean => -squared_l2(query, row),
    }
}

/// One query of a scan: the (prepared) vector, how many results, filter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanQuery<'a> {
    pub(crate) vector: &'a [f32],
    pub(crate) top_k: usize,
    pub(crate) filter: Option<&'a Filter>,
}

/// Bounded top-k: a max-heap whose top is the *worst* kept candidate, so
/// a better one replaces it in O(log k) and most rows are rejected by one
/// comparison against [`TopK::floor`].
#[derive(Debug)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Candidate>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1 << 16)),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Keys at or below this cannot enter (once full).
    #[inline]
    fn floor(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |c| c.key)
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, row: usize, key: f32) {
        if key < self.floor() {
            return;
        }
        let candidate = Candidate { key, row };
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate < *worst
        {
            *worst = candidate;
        }
    }

    fn merge(&mut self, other: TopK) {
        for c in other.heap {
            self.push(c.row, c.key);
        }
    }

    /// Best first; ties by lower row, so results are deterministic.
    pub(crate) fn into_sorted(self) -> Ranked {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|c| (c.row, c.key))
            .collect()
    }
}

/// A heap entry ordered so that the *worst* candidate is the greatest.
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

/// Run `work` over row ranges covering `0..rows`: on the calling thread
/// for small collections, else over `scan.threads` contiguous parts on
/// rayon's pool (bounded by the pool, so concurrent queries do not
/// oversubscribe the cores).
fn split<T: Send>(
    rows: usize,
    dims: usize,
    scan: &ScanConfig,
    work: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    let parts = if scan.threads > 1 && rows.saturating_mul(dims) >= scan.parallel_threshold {
        scan.threads.min(rows.max(1))
    } else {
        1
    };
    if parts == 1 {
        return vec![work(0..rows)];
    }
    let per = rows.div_ceil(parts);
    (0..parts)
        .into_par_iter()
        .map(|p| work(p * per..((p + 1) * per).min(rows)))
        .collect()
}

fn merged(k: usize, parts: Vec<TopK>) -> TopK {
    let mut top = TopK::new(k);
    for part in parts {
        top.merge(part);
    }
    top
}

/// Add the exact scores of `rows` (those matching `filter`) to `top`.
#[inline(always)]
pub(crate) fn scan_f32_into(
    c: &Collection,
    q: &[f32],
    filter: Option<&Filter>,
    rows: Range<usize>,
    top: &mut TopK,
) {
    let dims = c.dims;
    let data = &c.data[rows.start * dims..rows.end * dims];
    for (i, row) in data.chunks_exact(dims).enumerate() {
        let r = rows.start + i;
        if filter.is_some_and(|f| !f.matches(&c.metadata[r])) {
            continue;
        }
        top.push(r, rank_key(c.metric, q, row));
    }
}

/// One part of an exact scan.
struct ExactPart<'a> {
    c: &'a Collection,
    q: ScanQuery<'a>,
    rows: Range<usize>,
}

impl Vectorizable for ExactPart<'_> {
    type Output = TopK;

    #[inline(always)]
    fn run(self) -> TopK {
        let mut top = TopK::new(self.q.top_k);
        scan_f32_into(self.c, self.q.vector, self.q.filter, self.rows, &mut top);
        top
    }
}

/// Exact top-k over every row.
pub(crate) fn exact(c: &Collection, q: ScanQuery<'_>, scan: &ScanConfig) -> Ranked {
    let parts = split(c.len(), c.dims, scan, |rows| {
        vectorized(ExactPart { c, q, rows })
    });
    merged(q.top_k, parts).into_sorted()
}

/// A query encoded like the rows: int8 codes, scale and squared norm.
#[derive(Debug)]
struct QuantQuery {
    codes: Vec<i8>,
    scale: f32,
    norm: f32,
}

impl QuantQuery {
    fn new(v: &[f32]) -> QuantQuery {
        let mut codes = vec![0i8; v.len()];
        let scale = quantize_i8(v, &mut codes);
        QuantQuery {
            codes,
            scale,
            norm: dot(v, v),
        }
    }

    /// Approximate rank key of row `r` from the codes alone.
    #[inline(always)]
    fn key(&self, c: &Collection, r: usize) -> f32 {
        let approx_dot = self.scale * c.scales[r] * dot_i8(&self.codes, c.code_row(r)) as f32;
        match c.metric {
            Metric::Cosine | Metric::Dot => approx_dot,
            Metric::Euclidean => -(self.norm + c.norms[r] - 2.0 * approx_dot),
        }
    }
}

fn candidates_wanted(c: &Collection, top_k: usize) -> usize {
    top_k.saturating_mul(c.options.rescore_oversample.max(1))
}

/// What one part of an int8 scan found for one query: the approximate
/// key of every row in the part (`-inf` when filtered out) and the best
/// candidates by that key.
#[derive(Debug)]
struct Int8Part {
    start: usize,
    approx: Vec<f32>,
    top: TopK,
}

impl Int8Part {
    fn new(rows: &Range<usize>, wanted: usize) -> Int8Part {
        Int8Part {
            start: rows.start,
            approx: Vec::with_capacity(rows.len()),
            top: TopK::new(wanted),
        }
    }

    /// Score `rows` (which must follow the rows already scored).
    #[inline(always)]
    fn scan(
        &mut self,
        c: &Collection,
        qq: &QuantQuery,
        filter: Option<&Filter>,
        rows: Range<usize>,
    ) {
        debug_assert_eq!(self.start + self.approx.len(), rows.start);
        for r in rows {
            let key = if filter.is_some_and(|f| !f.matches(&c.metadata[r])) {
                f32::NEG_INFINITY
            } else {
                let key = qq.key(c, r);
                self.top.push(r, key);
                key
            };
            self.approx.push(key);
        }
    }
}

/// Rescore the int8 candidates exactly, then make the result safe
/// against quantisation error: the largest error seen among the
/// candidates bounds how far a missed row's approximate key can sit
/// below the k-th best exact key, so every row whose approximate key is
/// within twice that margin is rescored too. On well-spread data that
/// adds nothing; on tight clusters (where int8 steps are coarse compared
/// with the gaps between neighbours) it is what keeps recall near 1.
fn int8_finish(
    c: &Collection,
    q: &[f32],
    top_k: usize,
    wanted: usize,
    mut parts: Vec<Int8Part>,
) -> Ranked {
    let mut candidates = TopK::new(wanted);
    for part in &mut parts {
        candidates.merge(std::mem::replace(&mut part.top, TopK::new(0)));
    }
    let candidates = candidates.into_sorted();
    let mut top = TopK::new(top_k);
    let mut max_err = 0.0f32;
    for &(r, approx) in &candidates {
        let exact = rank_key(c.metric, q, c.row(r));
        max_err = max_err.max((exact - approx).abs());
        top.push(r, exact);
    }
    if candidates.len() < wanted {
        // Every matching row was a candidate.
        return top.into_sorted();
    }
    let threshold = top.floor() - 2.0 * max_err;
    let mut seen: Vec<usize> = candidates.iter().map(|&(r, _)| r).collect();
    seen.sort_unstable();
    for part in &parts {
        for (i, &approx) in part.approx.iter().enumerate() {
            let r = part.start + i;
            if approx >= threshold && seen.binary_search(&r).is_err() {
                top.push(r, rank_key(c.metric, q, c.row(r)));
            }
        }
    }
    top.into_sorted()
}

/// One part of an int8 scan.
struct Int8Scan<'a> {
    c: &'a Collection,
    qq: &'a QuantQuery,
    filter: Option<&'a Filter>,
    rows: Range<usize>,
    wanted: usize,
}

impl Vectorizable for Int8Scan<'_> {
    type Output = Int8Part;

    #[inline(always)]
    fn run(self) -> Int8Part {
        let mut part = Int8Part::new(&self.rows, self.wanted);
        part.scan(self.c, self.qq, self.filter, self.rows);
        part
    }
}

/// int8 scan for `top_k × oversample` candidates, rescored exactly.
pub(crate) fn int8(c: &Collection, q: ScanQuery<'_>, scan: &ScanConfig) -> Ranked {
    let wanted = candidates_wanted(c, q.top_k);
    let qq = QuantQuery::new(q.vector);
    let parts = split(c.len(), c.dims, scan, |rows| {
        vectorized(Int8Scan {
            c,
            qq: &qq,
            filter: q.filter,
            rows,
            wanted,
        })
    });
    int8_finish(c, q.vector, q.top_k, wanted, parts)
}

/// Rows per tile of a batch scan: about 256 KiB of vectors, so a tile
/// stays in L2 while every query of the batch is scored against it.
fn tile_rows(dims: usize, bytes_per_value: usize) -> usize {
    ((256 * 1024) / (dims * bytes_per_value).max(1)).max(8)
}

/// Tile starts covering `rows`.
fn tiles(rows: &Range<usize>, tile: usize) -> impl Iterator<Item = Range<usize>> + use<> {
    let end = rows.end;
    (rows.start..rows.end)
        .step_by(tile)
        .map(move |start| start..(start + tile).min(end))
}

/// One part of a batch scan over `f32` rows.
struct BatchF32<'a> {
    c: &'a Collection,
    queries: &'a [ScanQuery<'a>],
    rows: Range<usize>,
    tile: usize,
}

impl Vectorizable for BatchF32<'_> {
    type Output = Vec<TopK>;

    #[inline(always)]
    fn run(self) -> Vec<TopK> {
        let mut tops: Vec<TopK> = self.queries.iter().map(|q| TopK::new(q.top_k)).collect();
        for tile in tiles(&self.rows, self.tile) {
            for (q, top) in self.queries.iter().zip(&mut tops) {
                scan_f32_into(self.c, q.vector, q.filter, tile.clone(), top);
            }
        }
        tops
    }
}

/// One part of a batch scan over int8 codes.
struct BatchInt8<'a> {
    c: &'a Collection,
    queries: &'a [ScanQuery<'a>],
    encoded: &'a [QuantQuery],
    wanted: &'a [usize],
    rows: Range<usize>,
    tile: usize,
}

impl Vectorizable for BatchInt8<'_> {
    type Output = Vec<Int8Part>;

    #[inline(always)]
    fn run(self) -> Vec<Int8Part> {
        let mut found: Vec<Int8Part> = self
            .wanted
            .iter()
            .map(|&w| Int8Part::new(&self.rows, w))
            .collect();
        for tile in tiles(&self.rows, self.tile) {
            for ((q, qq), part) in self.queries.iter().zip(self.encoded).zip(&mut found) {
                part.scan(self.c, qq, q.filter, tile.clone());
            }
        }
        found
    }
}

/// Many queries in one pass over the rows: the data is walked in
/// cache-sized tiles and every query is scored against a tile before the
/// next is loaded, so memory traffic is paid once per batch instead of
/// once per query. With int8 the codes are scanned and each query's
/// candidates rescored exactly.
pub(crate) fn batch(c: &Collection, queries: &[ScanQuery<'_>], scan: &ScanConfig) -> Vec<Ranked> {
    if c.quantized() {
        return batch_int8(c, queries, scan);
    }
    let tile = tile_rows(c.dims, 4);
    let parts = split(c.len(), c.dims, scan, |rows| {
        vectorized(BatchF32 {
            c,
            queries,
            rows,
            tile,
        })
    });
    let mut per_query: Vec<TopK> = queries.iter().map(|q| TopK::new(q.top_k)).collect();
    for part in parts {
        for (acc, top) in per_query.iter_mut().zip(part) {
            acc.merge(top);
        }
    }
    per_query.into_iter().map(TopK::into_sorted).collect()
}

fn batch_int8(c: &Collection, queries: &[ScanQuery<'_>], scan: &ScanConfig) -> Vec<Ranked> {
    let wanted: Vec<usize> = queries
        .iter()
        .map(|q| candidates_wanted(c, q.top_k))
        .collect();
    let encoded: Vec<QuantQuery> = queries.iter().map(|q| QuantQuery::new(q.vector)).collect();
    let tile = tile_rows(c.dims, 1);
    let parts = split(c.len(), c.dims, scan, |rows| {
        vectorized(BatchInt8 {
            c,
            queries,
            encoded: &encoded,
            wanted: &wanted,
            rows,
            tile,
        })
    });
    let mut per_query: Vec<Vec<Int8Part>> = queries.iter().map(|_| Vec::new()).collect();
    for part in parts {
        for (acc, found) in per_query.iter_mut().zip(part) {
            acc.push(found);
        }
    }
    per_query
        .into_iter()
        .zip(queries)
        .zip(wanted)
        .map(|((parts, q), w)| int8_finish(c, q.vector, q.top_k, w, parts))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_best_and_breaks_ties_by_row() {
        let mut top = TopK::new(3);
        for (r, key) in [(0, 1.0), (1, 5.0), (2, 3.0), (3, 5.0), (4, -1.0), (5, 4.0)] {
            top.push(r, key);
        }
        assert_eq!(top.into_sorted(), vec![(1, 5.0), (3, 5.0), (5, 4.0)]);
        let mut a = TopK::new(2);
        a.push(0, 1.0);
        let mut b = TopK::new(2);
        b.push(1, 2.0);
        b.push(2, 0.5);
        a.merge(b);
        assert_eq!(a.into_sorted(), vec![(1, 2.0), (0, 1.0)]);
    }

    #[test]
    fn split_covers_every_row_once() {
        let scan = ScanConfig {
            threads: 3,
            parallel_threshold: 0,
        };
        let parts = split(10, 1, &scan, |rows| rows);
        assert_eq!(parts.len(), 3);
        let covered: Vec<usize> = parts.into_iter().flatten().collect();
        assert_eq!(covered, (0..10).collect::<Vec<_>>());
        let single = ScanConfig {
            threads: 3,
            parallel_threshold: 100,
        };
        assert_eq!(split(10, 1, &single, |rows| rows), vec![0..10]);
    }
}
