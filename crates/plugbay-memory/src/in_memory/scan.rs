//! Exact and int8 scans of one query, on one thread or split across
//! rayon's pool, and the pieces the batch scan (`batch.rs`) shares.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

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

    pub(crate) fn merge(&mut self, other: TopK) {
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

/// Chunks per thread of a parallel scan: enough that a thread slowed by
/// other work on its core hands rows to the others instead of finishing
/// last, few enough that claiming and merging chunks costs nothing.
const CHUNKS_PER_THREAD: usize = 4;

/// Run `work` over row ranges covering `0..rows`, results in row order:
/// on the calling thread for small collections, else on at most
/// `scan.threads` of rayon's threads (bounded by the pool, so concurrent
/// queries do not oversubscribe the cores). Each thread claims contiguous
/// chunks from a shared counter until none are left, so the split adapts
/// when one core is busier than the other (a fixed half each would make
/// the scan as slow as its slowest thread).
pub(crate) fn split<T: Send>(
    rows: usize,
    dims: usize,
    scan: &ScanConfig,
    work: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    let threads = if scan.threads > 1 && rows.saturating_mul(dims) >= scan.parallel_threshold {
        scan.threads.min(rows.max(1))
    } else {
        1
    };
    if threads == 1 {
        return vec![work(0..rows)];
    }
    let chunks = threads.saturating_mul(CHUNKS_PER_THREAD).min(rows);
    let per = rows.div_ceil(chunks);
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = (0..threads)
        .into_par_iter()
        .flat_map_iter(|_| {
            let mut mine = Vec::new();
            loop {
                let chunk = next.fetch_add(1, AtomicOrdering::Relaxed);
                let start = chunk.saturating_mul(per);
                if chunk >= chunks || start >= rows {
                    break;
                }
                mine.push((chunk, work(start..(start + per).min(rows))));
            }
            mine
        })
        .collect();
    done.sort_unstable_by_key(|&(chunk, _)| chunk);
    done.into_iter().map(|(_, out)| out).collect()
}

pub(crate) fn merged(k: usize, parts: Vec<TopK>) -> TopK {
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
pub(crate) struct QuantQuery {
    pub(crate) codes: Vec<i8>,
    scale: f32,
    norm: f32,
}

impl QuantQuery {
    pub(crate) fn new(v: &[f32]) -> QuantQuery {
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
        self.key_from_dot(c, r, dot_i8(&self.codes, c.code_row(r)))
    }

    /// [`key`](Self::key) from the int8 dot product of the codes.
    #[inline(always)]
    fn key_from_dot(&self, c: &Collection, r: usize, codes_dot: i32) -> f32 {
        let approx_dot = self.scale * c.scales[r] * codes_dot as f32;
        match c.metric {
            Metric::Cosine | Metric::Dot => approx_dot,
            Metric::Euclidean => -(self.norm + c.norms[r] - 2.0 * approx_dot),
        }
    }
}

pub(crate) fn candidates_wanted(c: &Collection, top_k: usize) -> usize {
    top_k.saturating_mul(c.options.rescore_oversample.max(1))
}

/// What one part of an int8 scan found for one query: the approximate
/// key of every row in the part (`-inf` when filtered out) and the best
/// candidates by that key.
#[derive(Debug)]
pub(crate) struct Int8Part {
    start: usize,
    approx: Vec<f32>,
    top: TopK,
}

impl Int8Part {
    pub(crate) fn new(rows: &Range<usize>, wanted: usize) -> Int8Part {
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

    /// Take the int8 dot products of `rows` (which must follow the rows
    /// already scored) from `dots`, one per row in order.
    #[inline(always)]
    pub(crate) fn push_dots(
        &mut self,
        c: &Collection,
        qq: &QuantQuery,
        filter: Option<&Filter>,
        rows: Range<usize>,
        dots: impl Iterator<Item = i32>,
    ) {
        debug_assert_eq!(self.start + self.approx.len(), rows.start);
        let first = self.approx.len();
        // The keys first, in a branch-free loop (the same arithmetic as
        // `QuantQuery::key_from_dot`, so results equal single searches'),
        // then the filter and the heap.
        let scales = &c.scales[rows.clone()];
        match c.metric {
            Metric::Cosine | Metric::Dot => self.approx.extend(
                scales
                    .iter()
                    .zip(dots)
                    .map(|(&s, d)| qq.scale * s * d as f32),
            ),
            Metric::Euclidean => self.approx.extend(
                scales
                    .iter()
                    .zip(&c.norms[rows.clone()])
                    .zip(dots)
                    .map(|((&s, &n), d)| -(qq.norm + n - 2.0 * (qq.scale * s * d as f32))),
            ),
        }
        for (r, key) in rows.zip(&mut self.approx[first..]) {
            if filter.is_some_and(|f| !f.matches(&c.metadata[r])) {
                *key = f32::NEG_INFINITY;
            } else {
                self.top.push(r, *key);
            }
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
pub(crate) fn int8_finish(
    c: &Collection,
    q: &[f32],
    top_k: usize,
    wanted: usize,
    parts: Vec<Int8Part>,
) -> Ranked {
    vectorized(Int8Finish {
        c,
        q,
        top_k,
        wanted,
        parts,
    })
}

/// [`int8_finish`] as a unit of work, so its exact distances run in the
/// dispatched SIMD kernels.
struct Int8Finish<'a> {
    c: &'a Collection,
    q: &'a [f32],
    top_k: usize,
    wanted: usize,
    parts: Vec<Int8Part>,
}

impl Vectorizable for Int8Finish<'_> {
    type Output = Ranked;

    #[inline(always)]
    fn run(self) -> Ranked {
        int8_finish_inner(self.c, self.q, self.top_k, self.wanted, self.parts)
    }
}

#[inline(always)]
fn int8_finish_inner(
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
        // 3 threads × 4 chunks, capped at one row per chunk.
        assert_eq!(parts.len(), 10);
        let covered: Vec<usize> = parts.into_iter().flatten().collect();
        assert_eq!(covered, (0..10).collect::<Vec<_>>());
        let single = ScanConfig {
            threads: 3,
            parallel_threshold: 100,
        };
        assert_eq!(split(10, 1, &single, |rows| rows), vec![0..10]);
    }
}
