//! Vector search: plugbay's in-memory store against the memory-bandwidth
//! bound and a naive baseline, side by side in one run.
//!
//! Exact top-10 over 100,000 × 768 `f32` (cosine):
//! - `bound_sum`: a plain sum over an equally large flat buffer, grown
//!   like the store's own (the bandwidth bound for one pass);
//!   `bound_sum_2_threads`: the same sum split in two halves on two
//!   threads (whether memory bandwidth scales to a second core here);
//! - `plugbay_1_thread` / `plugbay_2_threads`: one query;
//! - `naive_vec_vec_sort`: `Vec<Vec<f32>>`, every score computed, full sort;
//! - `batch64_*`: 64 queries per pass (throughput in queries/s);
//! - `int8_*`: int8 scan + exact rescoring (recall printed once).
//!
//! ANN: HNSW over `PLUGBAY_BENCH_ANN_N` (default 200,000; `0` skips the
//! group) × 384 clustered vectors, built with `ef_construction`
//! `PLUGBAY_BENCH_ANN_EF_CONSTRUCTION` (default 100) on 2 threads; build
//! time, recall@10 and single-thread queries/s per `ef_search` are
//! printed, query time measured.
//!
//! Run: `cargo bench -p plugbay-benches --bench vector -- --measurement-time 3 --warm-up-time 1`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plugbay::memory::in_memory::CollectionOptions;
use plugbay::memory::{
    CollectionSpec, HnswOptions, InMemoryVectorStore, Metric, Quantization, ScoredRecord,
    VectorQuery, VectorRecord, VectorStore,
};

const N: usize = 100_000;
const DIMS: usize = 768;
const BATCH: usize = 64;

fn rng(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

fn random_vectors(n: usize, dims: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut next = rng(seed);
    (0..n)
        .map(|_| (0..dims).map(|_| next()).collect())
        .collect()
}

/// Embedding-like data: points scattered around many random centres.
fn clustered_vectors(n: usize, dims: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut next = rng(seed);
    let centres = random_vectors(clusters, dims, seed ^ 0xABCD);
    (0..n)
        .map(|i| {
            centres[i % clusters]
                .iter()
                .map(|c| c + 0.35 * next())
                .collect()
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn store(threads: usize, options: CollectionOptions) -> InMemoryVectorStore {
    InMemoryVectorStore::builder()
        .scan_threads(threads)
        .default_collection_options(options)
        .build()
        .unwrap()
}

async fn fill(store: &InMemoryVectorStore, vectors: &[Vec<f32>], metric: Metric) {
    let dims = vectors[0].len();
    store
        .ensure_collection(CollectionSpec::new("bench", dims, metric))
        .await
        .unwrap();
    for (chunk_no, chunk) in vectors.chunks(10_000).enumerate() {
        let records = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| VectorRecord::new(format!("r{}", chunk_no * 10_000 + i), v.clone()))
            .collect();
        store.upsert("bench", records).await.unwrap();
    }
}

fn queries(dims: usize, n: usize, seed: u64) -> Vec<VectorQuery> {
    random_vectors(n, dims, seed)
        .into_iter()
        .map(|v| VectorQuery::new(v, 10).include_metadata(false))
        .collect()
}

fn recall(exact: &[Vec<ScoredRecord>], got: &[Vec<ScoredRecord>]) -> f64 {
    let mut total = 0.0;
    for (e, g) in exact.iter().zip(got) {
        let want: HashSet<&str> = e.iter().map(|h| h.id.as_str()).collect();
        total += g.iter().filter(|h| want.contains(h.id.as_str())).count() as f64
            / want.len().max(1) as f64;
    }
    total / exact.len().max(1) as f64
}

/// The bandwidth bound: one pass summing the buffer with independent
/// accumulators (what a scan can at best do per byte).
fn bound_sum(data: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    for chunk in data.chunks_exact(16) {
        for (a, x) in acc.iter_mut().zip(chunk) {
            *a += x;
        }
    }
    acc.iter().sum()
}

/// [`bound_sum`] over two halves on two threads (spawn cost ~tens of µs,
/// negligible against a pass over 300 MB).
fn bound_sum_2_threads(data: &[f32]) -> f32 {
    let (a, b) = data.split_at(data.len() / 2 / 16 * 16);
    std::thread::scope(|s| {
        let other = s.spawn(|| bound_sum(b));
        bound_sum(a) + other.join().unwrap()
    })
}

fn naive_top10(rows: &[Vec<f32>], q: &[f32]) -> Vec<(usize, f32)> {
    let norm = q.iter().map(|x| x * x).sum::<f32>().sqrt();
    let mut scored: Vec<(usize, f32)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let dot: f32 = r.iter().zip(q).map(|(a, b)| a * b).sum();
            let rn: f32 = r.iter().map(|x| x * x).sum::<f32>().sqrt();
            (i, dot / (norm * rn))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(10);
    scored
}

fn exact_scan(c: &mut Criterion) {
    let rt = runtime();
    let vectors = random_vectors(N, DIMS, 1);
    // The store's buffer is private, so the bound sums a buffer grown the
    // way `Collection::upsert` grows its own (reserve per 10,000-row
    // upsert, then append row by row), to get the same allocation shape.
    let mut flat: Vec<f32> = Vec::new();
    for chunk in vectors.chunks(10_000) {
        flat.reserve(chunk.len() * DIMS);
        for v in chunk {
            flat.extend_from_slice(v);
        }
    }
    let one = store(1, CollectionOptions::new());
    let two = store(2, CollectionOptions::new());
    let int8_options = CollectionOptions::new().quantization(Quantization::Int8);
    let int8_one = store(1, int8_options.clone());
    rt.block_on(async {
        fill(&one, &vectors, Metric::Cosine).await;
        fill(&two, &vectors, Metric::Cosine).await;
        fill(&int8_one, &vectors, Metric::Cosine).await;
    });
    let qs = queries(DIMS, BATCH, 2);
    let q0 = qs[0].clone();

    // Recall of int8 + rescoring against exact, on random and clustered data.
    let exact = rt.block_on(one.query_batch("bench", qs.clone())).unwrap();
    let approx = rt
        .block_on(int8_one.query_batch("bench", qs.clone()))
        .unwrap();
    println!(
        "vector/int8: recall@10 on random 100k x 768 = {:.4}",
        recall(&exact, &approx)
    );
    {
        let clustered = clustered_vectors(N, DIMS, 1000, 3);
        let exact_c = store(2, CollectionOptions::new());
        let int8_c = store(2, int8_options);
        rt.block_on(async {
            fill(&exact_c, &clustered, Metric::Cosine).await;
            fill(&int8_c, &clustered, Metric::Cosine).await;
        });
        let cq: Vec<VectorQuery> = clustered
            .iter()
            .step_by(N / BATCH)
            .map(|v| VectorQuery::new(v.iter().map(|x| x + 0.01).collect(), 10))
            .collect();
        let e = rt
            .block_on(exact_c.query_batch("bench", cq.clone()))
            .unwrap();
        let a = rt.block_on(int8_c.query_batch("bench", cq)).unwrap();
        println!(
            "vector/int8: recall@10 on clustered 100k x 768 = {:.4}",
            recall(&e, &a)
        );
    }

    let mut group = c.benchmark_group("vector/exact_100k_768");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    group.bench_function("bound_sum", |b| b.iter(|| black_box(bound_sum(&flat))));
    group.bench_function("bound_sum_2_threads", |b| {
        b.iter(|| black_box(bound_sum_2_threads(&flat)))
    });
    group.bench_function("plugbay_1_thread", |b| {
        b.iter(|| rt.block_on(one.query("bench", q0.clone())).unwrap())
    });
    group.bench_function("plugbay_2_threads", |b| {
        b.iter(|| rt.block_on(two.query("bench", q0.clone())).unwrap())
    });
    group.bench_function("naive_vec_vec_sort", |b| {
        b.iter(|| black_box(naive_top10(&vectors, &q0.vector)))
    });
    group.bench_function("int8_1_thread", |b| {
        b.iter(|| rt.block_on(int8_one.query("bench", q0.clone())).unwrap())
    });
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("batch64_f32_1_thread", |b| {
        b.iter(|| rt.block_on(one.query_batch("bench", qs.clone())).unwrap())
    });
    group.bench_function("batch64_int8_1_thread", |b| {
        b.iter(|| {
            rt.block_on(int8_one.query_batch("bench", qs.clone()))
                .unwrap()
        })
    });
    group.bench_function("batch64_int8_2_threads", |b| {
        let int8_two = store(2, CollectionOptions::new().quantization(Quantization::Int8));
        rt.block_on(fill(&int8_two, &vectors, Metric::Cosine));
        b.iter(|| {
            rt.block_on(int8_two.query_batch("bench", qs.clone()))
                .unwrap()
        })
    });
    group.finish();
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ann(c: &mut Criterion) {
    let n = env_usize("PLUGBAY_BENCH_ANN_N", 200_000);
    if n < 100 {
        println!("vector/hnsw: skipped (PLUGBAY_BENCH_ANN_N={n})");
        return;
    }
    let ef_construction = env_usize("PLUGBAY_BENCH_ANN_EF_CONSTRUCTION", 100);
    let dims = 384;
    let rt = runtime();
    let vectors = clustered_vectors(n, dims, n / 100, 5);
    let qs: Vec<VectorQuery> = vectors
        .iter()
        .step_by(n / 100)
        .map(|v| VectorQuery::new(v.iter().map(|x| x + 0.05).collect(), 10))
        .collect();
    // One store: exact truth first, then the index is switched on.
    let indexed = store(2, CollectionOptions::new());
    rt.block_on(fill(&indexed, &vectors, Metric::Cosine));
    drop(vectors);
    let truth = rt
        .block_on(indexed.query_batch("bench", qs.clone()))
        .unwrap();

    let base = HnswOptions::new()
        .min_rows(1)
        .ef_construction(ef_construction);
    let options = CollectionOptions::new().ann(Some(base.clone()));
    indexed.set_collection_options("bench", options).unwrap();
    let started = Instant::now();
    rt.block_on(indexed.build_index("bench")).unwrap();
    println!(
        "vector/hnsw: built {n} x {dims} (m 16, ef_construction {ef_construction}) in {:.1} s on 2 threads",
        started.elapsed().as_secs_f64()
    );

    let mut group = c.benchmark_group(format!("vector/hnsw_{n}_384"));
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    for ef in [32, 64, 128] {
        let options = CollectionOptions::new().ann(Some(base.clone().ef_search(ef)));
        indexed.set_collection_options("bench", options).unwrap();
        let mut got = Vec::new();
        let started = Instant::now();
        for q in &qs {
            got.push(rt.block_on(indexed.query("bench", q.clone())).unwrap());
        }
        let per_second = qs.len() as f64 / started.elapsed().as_secs_f64();
        println!(
            "vector/hnsw: ef_search {ef}: recall@10 = {:.4}, {per_second:.0} queries/s (one at a time)",
            recall(&truth, &got)
        );
        let q0 = qs[1].clone();
        group.bench_function(format!("query_ef{ef}"), |b| {
            b.iter(|| rt.block_on(indexed.query("bench", q0.clone())).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, exact_scan, ann);
criterion_main!(benches);
