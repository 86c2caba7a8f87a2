//! Approximate search through the collection's HNSW index, with filters
//! and the not-yet-indexed tail handled exactly.

use std::sync::{PoisonError, TryLockError};

use crate::filter::Filter;

use super::collection::Collection;
use super::hnsw::{Hnsw, Space};
use super::options::{HnswOptions, ScanConfig};
use super::scan::{self, Ranked, ScanQuery, TopK};

/// Rows sampled to estimate how selective a filter is.
const SELECTIVITY_SAMPLE: usize = 512;

/// Whether `c` should be searched through its index.
pub(crate) fn applies(c: &Collection) -> Option<&HnswOptions> {
    c.options.ann.as_ref().filter(|o| c.len() >= o.min_rows)
}

fn space(c: &Collection) -> Space<'_> {
    Space {
        data: &c.data,
        dims: c.dims,
        metric: c.metric,
    }
}

/// Build or extend the index to cover every row. Returns without waiting
/// when another thread is already building.
pub(crate) fn catch_up(c: &Collection, opts: &HnswOptions, scan: &ScanConfig, force: bool) {
    let pending = match c.index.try_read() {
        Ok(guard) => guard.as_ref().map(|h| c.len() - h.len()),
        Err(TryLockError::Poisoned(p)) => p.into_inner().as_ref().map(|h| c.len() - h.len()),
        Err(TryLockError::WouldBlock) => return,
    };
    // An absent index is built at once; a present one is extended when
    // its exact-scanned tail gets long enough to matter.
    let due = match pending {
        None => true,
        Some(0) => false,
        Some(p) => force || p >= (c.len() / 32).max(1024),
    };
    if !due {
        return;
    }
    let mut guard = match c.index.try_write() {
        Ok(g) => g,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return,
    };
    let index = guard.get_or_insert_with(|| Hnsw::new(opts.m, opts.ef_construction));
    index.extend(space(c), c.len(), scan.threads);
}

/// Share of rows matching `filter`, from an even sample.
fn selectivity(c: &Collection, filter: &Filter) -> f64 {
    let n = c.len();
    if n == 0 {
        return 1.0;
    }
    let step = (n / SELECTIVITY_SAMPLE).max(1);
    let (mut seen, mut matched) = (0usize, 0usize);
    for r in (0..n).step_by(step) {
        seen += 1;
        matched += usize::from(filter.matches(&c.metadata[r]));
    }
    matched as f64 / seen as f64
}

/// Approximate top-k. Falls back to the exact scan when the filter is
/// selective (a graph walk would visit mostly non-matching nodes), while
/// the index is being built by another query, and when post-filtering
/// found fewer than `top_k` matches.
pub(crate) fn search(
    c: &Collection,
    opts: &HnswOptions,
    q: ScanQuery<'_>,
    scan_cfg: &ScanConfig,
) -> Ranked {
    let share = q.filter.map(|f| selectivity(c, f));
    if share.is_some_and(|s| s < opts.exact_below_selectivity) {
        return scan::exact(c, q, scan_cfg);
    }
    catch_up(c, opts, scan_cfg, false);
    let guard = match c.index.try_read() {
        Ok(g) => g,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return scan::exact(c, q, scan_cfg),
    };
    let Some(index) = guard.as_ref() else {
        return scan::exact(c, q, scan_cfg);
    };
    // Oversample by the inverse of the filter's share so that about
    // `top_k` matches survive post-filtering.
    let mut ef = opts.ef_search.max(q.top_k);
    if let Some(s) = share {
        let wanted = (q.top_k as f64 * 2.0 / s.max(opts.exact_below_selectivity)).ceil();
        ef = ef.max(wanted as usize);
    }
    let mut top = TopK::new(q.top_k);
    for (key, node) in index.search(space(c), q.vector, ef.min(c.len())) {
        let r = node as usize;
        if q.filter.is_none_or(|f| f.matches(&c.metadata[r])) {
            top.push(r, key);
        }
    }
    scan::scan_f32_into(c, q.vector, q.filter, index.len()..c.len(), &mut top);
    drop(guard);
    if q.filter.is_some() && top.len() < q.top_k {
        return scan::exact(c, q, scan_cfg);
    }
    top.into_sorted()
}

/// Rows covered by the index (0 without one).
pub(crate) fn indexed_rows(c: &Collection) -> usize {
    c.index
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map_or(0, Hnsw::len)
}
