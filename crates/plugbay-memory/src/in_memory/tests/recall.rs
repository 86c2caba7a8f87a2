//! Recall of the int8 scan and the HNSW index against the exact scan, on
//! seeded random and clustered data. Sizes are small enough for debug
//! builds; the bench measures the full-size figures.

use std::collections::HashSet;

use super::*;

fn clustered_records(n: usize, dims: usize, clusters: usize, seed: u64) -> Vec<VectorRecord> {
    let mut next = rng(seed);
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..dims).map(|_| next() * 2.0).collect())
        .collect();
    (0..n)
        .map(|i| {
            let centre = &centres[i % clusters];
            let v: Vec<f32> = centre.iter().map(|c| c + 0.1 * next()).collect();
            VectorRecord::new(format!("r{i}"), v).with_field("bucket", (i % 10) as i64)
        })
        .collect()
}

fn queries_near(records: &[VectorRecord], n: usize, seed: u64) -> Vec<VectorQuery> {
    let mut next = rng(seed);
    (0..n)
        .map(|i| {
            let base = &records[(i * 7919) % records.len()].vector;
            VectorQuery::new(base.iter().map(|x| x + 0.05 * next()).collect(), 10)
                .include_metadata(false)
        })
        .collect()
}

fn random_queries(dims: usize, n: usize, seed: u64) -> Vec<VectorQuery> {
    let mut next = rng(seed);
    (0..n)
        .map(|_| VectorQuery::new((0..dims).map(|_| next()).collect(), 10).include_metadata(false))
        .collect()
}

/// Mean recall@k of `got` against `exact`.
fn recall(exact: &[Vec<ScoredRecord>], got: &[Vec<ScoredRecord>]) -> f64 {
    let mut total = 0.0;
    for (e, g) in exact.iter().zip(got) {
        let want: HashSet<&str> = e.iter().map(|h| h.id.as_str()).collect();
        let hit = g.iter().filter(|h| want.contains(h.id.as_str())).count();
        total += hit as f64 / want.len().max(1) as f64;
    }
    total / exact.len().max(1) as f64
}

async fn recall_of(
    store: &InMemoryVectorStore,
    metric: Metric,
    records: Vec<VectorRecord>,
    queries: Vec<VectorQuery>,
) -> f64 {
    let exact_store = InMemoryVectorStore::new();
    filled(&exact_store, "c", metric, records.clone()).await;
    filled(store, "c", metric, records).await;
    let exact = exact_store.query_batch("c", queries.clone()).await.unwrap();
    let mut got = Vec::new();
    for q in queries {
        let hits = store.query("c", q).await.unwrap();
        // Scores are exact even when the candidates came from int8/HNSW.
        for h in &hits {
            assert!(h.score.is_finite());
        }
        got.push(hits);
    }
    recall(&exact, &got)
}

fn int8_store() -> InMemoryVectorStore {
    InMemoryVectorStore::builder()
        .default_collection_options(CollectionOptions::new().quantization(Quantization::Int8))
        .build()
        .unwrap()
}

#[tokio::test]
async fn int8_with_rescoring_keeps_recall_at_10_above_0_99() {
    for metric in [Metric::Cosine, Metric::Euclidean, Metric::Dot] {
        let random = recall_of(
            &int8_store(),
            metric,
            random_records(3000, 96, 11),
            random_queries(96, 40, 12),
        )
        .await;
        let data = clustered_records(3000, 96, 30, 13);
        let queries = queries_near(&data, 40, 14);
        let clustered = recall_of(&int8_store(), metric, data, queries).await;
        println!("int8 recall@10 {metric:?}: random {random:.4}, clustered {clustered:.4}");
        assert!(random >= 0.99, "{metric:?} random recall {random}");
        assert!(clustered >= 0.99, "{metric:?} clustered recall {clustered}");
    }
}

#[tokio::test]
async fn int8_results_carry_exact_scores() {
    let records = random_records(500, 32, 5);
    let store = int8_store();
    filled(&store, "c", Metric::Dot, records.clone()).await;
    let q = vec![0.5; 32];
    let hits = store
        .query("c", VectorQuery::new(q.clone(), 5))
        .await
        .unwrap();
    for h in hits {
        let stored = records.iter().find(|r| r.id == h.id).unwrap();
        let exact: f32 = stored.vector.iter().zip(&q).map(|(a, b)| a * b).sum();
        assert!((h.score - exact).abs() < 1e-4, "{} vs {exact}", h.score);
    }
}

fn ann_store(min_rows: usize) -> InMemoryVectorStore {
    InMemoryVectorStore::builder()
        .default_collection_options(
            CollectionOptions::new().ann(Some(
                HnswOptions::new()
                    .min_rows(min_rows)
                    .m(12)
                    .ef_construction(48),
            )),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hnsw_recall_at_10_on_20k_random_vectors() {
    let store = ann_store(1000);
    let records = random_records(20_000, 12, 21);
    let queries = random_queries(12, 50, 22);
    let r = recall_of(&store, Metric::Euclidean, records, queries).await;
    println!("hnsw recall@10 on 20k random 12-d vectors: {r:.4}");
    assert!(r >= 0.95, "recall {r}");
    assert_eq!(store.build_index("c").await.unwrap(), 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hnsw_filters_post_filter_or_fall_back_to_exact() {
    let store = ann_store(100);
    let exact = InMemoryVectorStore::new();
    let records = clustered_records(3000, 8, 20, 31);
    filled(&store, "c", Metric::Cosine, records.clone()).await;
    filled(&exact, "c", Metric::Cosine, records.clone()).await;
    let mut rare = records[0].clone();
    rare.id = "rare".into();
    rare.metadata.insert("rare".into(), true.into());
    store.upsert("c", vec![rare.clone()]).await.unwrap();
    exact.upsert("c", vec![rare]).await.unwrap();
    // A filter matching one record in 3001: the exact fallback finds it.
    let q = VectorQuery::new(records[1234].vector.clone(), 3).filter(Filter::eq("rare", true));
    assert_eq!(ids(&store.query("c", q).await.unwrap()), ["rare"]);
    // A broad filter: every hit matches and recall stays high.
    let mut got = Vec::new();
    let mut want = Vec::new();
    for q in queries_near(&records, 20, 32) {
        let q = q.filter(Filter::is_in("bucket", [2, 3, 5]));
        let hits = store.query("c", q.clone()).await.unwrap();
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| {
            let r = records.iter().find(|r| r.id == h.id).unwrap();
            [2, 3, 5].contains(&r.metadata["bucket"].as_i64().unwrap())
        }));
        got.push(hits);
        want.push(exact.query("c", q).await.unwrap());
    }
    let r = recall(&want, &got);
    println!("hnsw filtered recall@10: {r:.4}");
    assert!(r >= 0.9, "filtered recall {r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hnsw_index_follows_appends_and_deletes() {
    let store = ann_store(200);
    let records = random_records(1000, 6, 41);
    filled(&store, "c", Metric::Euclidean, records[..600].to_vec()).await;
    assert_eq!(store.build_index("c").await.unwrap(), 600);
    // Appended rows are found before the index catches up (exact tail).
    store.upsert("c", records[600..].to_vec()).await.unwrap();
    let target = records[999].vector.clone();
    let hits = store
        .query("c", VectorQuery::new(target.clone(), 1))
        .await
        .unwrap();
    assert_eq!(ids(&hits), ["r999"]);
    // Deleting an indexed row drops the index; the deleted row is never
    // returned and the index is rebuilt on demand.
    store
        .delete("c", Selector::Ids(vec!["r999".into(), "r5".into()]))
        .await
        .unwrap();
    let hits = store.query("c", VectorQuery::new(target, 3)).await.unwrap();
    assert!(hits.iter().all(|h| h.id != "r999"));
    let hits = store
        .query("c", VectorQuery::new(records[5].vector.clone(), 2))
        .await
        .unwrap();
    assert!(hits.iter().all(|h| h.id != "r5"));
    assert_eq!(store.build_index("c").await.unwrap(), 998);
    let plain = InMemoryVectorStore::new();
    filled(&plain, "c", Metric::Dot, records[..3].to_vec()).await;
    assert_eq!(
        plain.build_index("c").await.unwrap_err().kind(),
        ErrorKind::Config
    );
}
