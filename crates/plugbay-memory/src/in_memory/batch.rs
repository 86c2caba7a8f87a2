//! Many queries in one pass over a collection.
//!
//! The rows are walked in cache-sized tiles and every query is scored
//! against a tile before the next one is loaded, so memory traffic is
//! paid once per batch instead of once per query. With int8 codes the
//! tile is scored by the multi-query kernel ([`dot_i8_rows`]), which
//! loads each row once per block of [`QUERY_BLOCK`] queries, and each
//! query's candidates are then rescored exactly in `f32`.

use std::ops::Range;

use rayon::prelude::*;

use super::collection::Collection;
use super::kernels::{I8QueryBlock, QUERY_BLOCK, Vectorizable, dot_i8_rows, vectorized};
use super::options::ScanConfig;
use super::scan::{
    Int8Part, QuantQuery, Ranked, ScanQuery, TopK, candidates_wanted, int8_finish, scan_f32_into,
    split,
};

/// Rows per tile of a batch scan: about 256 KiB of vectors, so a tile
/// stays in L2 while every query of the batch is scored against it.
fn tile_rows(dims: usize, bytes_per_value: usize) -> usize {
    ((256 * 1024) / (dims * bytes_per_value).max(1)).max(8)
}

/// Tiles covering `rows`.
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
    blocks: &'a [I8QueryBlock],
    wanted: &'a [usize],
    rows: Range<usize>,
    tile: usize,
}

impl Vectorizable for BatchInt8<'_> {
    type Output = Vec<Int8Part>;

    #[inline(always)]
    fn run(self) -> Vec<Int8Part> {
        let c = self.c;
        let mut found: Vec<Int8Part> = self
            .wanted
            .iter()
            .map(|&w| Int8Part::new(&self.rows, w))
            .collect();
        let mut dots = vec![[0i32; QUERY_BLOCK]; self.tile];
        for tile in tiles(&self.rows, self.tile) {
            let codes = &c.codes[tile.start * c.dims..tile.end * c.dims];
            let dots = &mut dots[..tile.len()];
            let per_block = self
                .queries
                .chunks(QUERY_BLOCK)
                .zip(self.encoded.chunks(QUERY_BLOCK))
                .zip(found.chunks_mut(QUERY_BLOCK));
            for (block, ((queries, encoded), parts)) in self.blocks.iter().zip(per_block) {
                dot_i8_rows(codes, block, dots);
                for (j, ((q, qq), part)) in queries.iter().zip(encoded).zip(parts).enumerate() {
                    let column = dots.iter().map(|d| d[j]);
                    part.push_dots(c, qq, q.filter, tile.clone(), column);
                }
            }
        }
        found
    }
}

/// Top-k of every query in one pass over the rows (see the module docs).
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
    let blocks: Vec<I8QueryBlock> = encoded
        .chunks(QUERY_BLOCK)
        .map(|block| I8QueryBlock::new(c.dims, block.iter().map(|qq| qq.codes.as_slice())))
        .collect();
    let tile = tile_rows(c.dims, 1);
    let parts = split(c.len(), c.dims, scan, |rows| {
        vectorized(BatchInt8 {
            c,
            queries,
            encoded: &encoded,
            blocks: &blocks,
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
    let finish = |((parts, q), w): ((Vec<Int8Part>, &ScanQuery<'_>), usize)| {
        int8_finish(c, q.vector, q.top_k, w, parts)
    };
    // Rescoring is independent per query: spread it like the scan.
    if scan.threads > 1 && c.len().saturating_mul(c.dims) >= scan.parallel_threshold {
        per_query
            .into_par_iter()
            .zip(queries.par_iter())
            .zip(wanted)
            .map(finish)
            .collect()
    } else {
        per_query
            .into_iter()
            .zip(queries)
            .zip(wanted)
            .map(finish)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::filter::Filter;
    use crate::types::{Metric, VectorRecord};

    use super::super::options::{CollectionOptions, Quantization};
    use super::super::scan;
    use super::super::tests::rng as random;

    /// Several parts (3 threads) or many tiles (1,500 dims, 1 thread), a
    /// partial query block and filters on some queries: the batch int8
    /// path must give exactly what single int8 searches give.
    #[test]
    fn int8_batch_equals_single_int8_searches_and_keeps_recall() {
        let mut next = random(21);
        let options = CollectionOptions::new().quantization(Quantization::Int8);
        let odd = Filter::eq("bucket", 1);
        // Neither dims is a multiple of 16 or 32.
        for (dims, threads) in [(100usize, 3usize), (1500, 1)] {
            for metric in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
                let mut unit = |n: usize| {
                    let mut v: Vec<f32> = (0..n).map(|_| next()).collect();
                    if metric == Metric::Cosine {
                        super::super::kernels::normalize(&mut v);
                    }
                    v
                };
                let mut c = Collection::new(dims, metric, options.clone());
                c.upsert(
                    (0..2001i64)
                        .map(|i| {
                            VectorRecord::new(format!("r{i}"), unit(dims))
                                .with_field("bucket", i % 3)
                        })
                        .collect(),
                );
                let vectors: Vec<Vec<f32>> = (0..7).map(|_| unit(dims)).collect();
                let queries: Vec<ScanQuery<'_>> = vectors
                    .iter()
                    .enumerate()
                    .map(|(i, v)| ScanQuery {
                        vector: v,
                        top_k: 10,
                        filter: (i % 2 == 1).then_some(&odd),
                    })
                    .collect();
                let scan_cfg = ScanConfig {
                    threads,
                    parallel_threshold: 0,
                };
                assert!(tile_rows(dims, 1) < 2001 || threads > 1);
                let batched = batch(&c, &queries, &scan_cfg);
                let mut hits = 0usize;
                for (q, got) in queries.iter().zip(&batched) {
                    assert_eq!(*got, scan::int8(&c, *q, &scan_cfg), "{metric:?} {dims}");
                    if q.filter.is_some() {
                        assert!(got.iter().all(|&(r, _)| r % 3 == 1), "filtered rows only");
                    }
                    let exact = scan::exact(&c, *q, &scan_cfg);
                    hits += got
                        .iter()
                        .filter(|(r, _)| exact.iter().any(|(e, _)| e == r))
                        .count();
                }
                let recall = hits as f64 / (10 * queries.len()) as f64;
                assert!(recall >= 0.99, "{metric:?} {dims} recall {recall}");
            }
        }
    }

    #[test]
    fn tiles_cover_the_range_once() {
        let covered: Vec<usize> = tiles(&(3..20), 8).flatten().collect();
        assert_eq!(covered, (3..20).collect::<Vec<_>>());
        assert_eq!(tile_rows(768, 1), 341);
    }
}
