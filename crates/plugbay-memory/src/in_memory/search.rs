//! Which search answers a prepared query: the HNSW graph when the
//! collection's ANN option applies, else the int8 or exact scan, one query
//! at a time or tiled for a batch.

use rayon::prelude::*;

use crate::types::{ScoredRecord, VectorQuery};

use super::collection::Collection;
use super::options::ScanConfig;
use super::scan::ScanQuery;
use super::{ann, batch, scan};

/// Top-k of one prepared query, by the collection's configured method.
pub(super) fn search_one(
    c: &Collection,
    q: &VectorQuery,
    scan_cfg: &ScanConfig,
) -> Vec<ScoredRecord> {
    let sq = ScanQuery {
        vector: &q.vector,
        top_k: q.top_k,
        filter: q.filter.as_ref(),
    };
    let ranked = if let Some(opts) = ann::applies(c) {
        ann::search(c, opts, sq, scan_cfg)
    } else if c.quantized() {
        scan::int8(c, sq, scan_cfg)
    } else {
        scan::exact(c, sq, scan_cfg)
    };
    c.hits(ranked, q.min_score, q.include_vectors, q.include_metadata)
}

/// Top-k of many prepared queries: one tiled pass, or (with an index)
/// the graph searched for each query in parallel.
pub(super) fn search_many(
    c: &Collection,
    queries: &[VectorQuery],
    scan_cfg: &ScanConfig,
) -> Vec<Vec<ScoredRecord>> {
    if ann::applies(c).is_some() {
        if scan_cfg.threads > 1 {
            return queries
                .par_iter()
                .map(|q| search_one(c, q, scan_cfg))
                .collect();
        }
        return queries.iter().map(|q| search_one(c, q, scan_cfg)).collect();
    }
    let sqs: Vec<ScanQuery<'_>> = queries
        .iter()
        .map(|q| ScanQuery {
            vector: &q.vector,
            top_k: q.top_k,
            filter: q.filter.as_ref(),
        })
        .collect();
    batch::batch(c, &sqs, scan_cfg)
        .into_iter()
        .zip(queries)
        .map(|(ranked, q)| c.hits(ranked, q.min_score, q.include_vectors, q.include_metadata))
        .collect()
}
