//! Tests of the in-memory store: conformance in every configuration,
//! scan equivalences, recall of int8 and HNSW, snapshots.

use async_trait::async_trait;
use plugbay_core::ErrorKind;

use super::*;
use crate::conformance::vector as conformance;
use crate::filter::Filter;
use crate::store::VectorStore;
use crate::types::{
    CollectionSpec, Metric, ScoredRecord, Selector, VectorCapabilities, VectorQuery, VectorRecord,
};

mod recall;
mod snapshots;

pub(super) fn rng(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // Uniform in [-1, 1).
        ((z >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

pub(super) fn random_records(n: usize, dims: usize, seed: u64) -> Vec<VectorRecord> {
    let mut next = rng(seed);
    (0..n)
        .map(|i| {
            let v: Vec<f32> = (0..dims).map(|_| next()).collect();
            VectorRecord::new(format!("r{i}"), v).with_field("bucket", (i % 10) as i64)
        })
        .collect()
}

fn ids(hits: &[ScoredRecord]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

async fn filled(
    store: &InMemoryVectorStore,
    name: &str,
    metric: Metric,
    records: Vec<VectorRecord>,
) {
    let dims = records[0].vector.len();
    store
        .ensure_collection(CollectionSpec::new(name, dims, metric))
        .await
        .unwrap();
    store.upsert(name, records).await.unwrap();
}

#[tokio::test]
async fn passes_the_vector_store_conformance_suite() {
    let store = InMemoryVectorStore::new();
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_conformance_with_parallel_int8_and_ann_scans() {
    let parallel = InMemoryVectorStore::builder()
        .scan_threads(3)
        .parallel_threshold(0)
        .build()
        .unwrap();
    conformance::run_all(&parallel).await;
    let int8 = InMemoryVectorStore::builder()
        .default_collection_options(CollectionOptions::new().quantization(Quantization::Int8))
        .build()
        .unwrap();
    conformance::run_all(&int8).await;
    let ann = InMemoryVectorStore::builder()
        .default_collection_options(
            CollectionOptions::new().ann(Some(HnswOptions::new().min_rows(0))),
        )
        .build()
        .unwrap();
    assert!(ann.capabilities().ann);
    conformance::run_all(&ann).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_batch_and_int8_scans_agree_with_the_single_thread_scan() {
    let serial = InMemoryVectorStore::builder()
        .scan_threads(1)
        .build()
        .unwrap();
    let parallel = InMemoryVectorStore::builder()
        .scan_threads(2)
        .parallel_threshold(0)
        .build()
        .unwrap();
    for metric in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
        let records = random_records(1500, 20, 7);
        filled(&serial, "c", metric, records.clone()).await;
        filled(&parallel, "c", metric, records).await;
        let mut next = rng(99);
        let queries: Vec<VectorQuery> = (0..12)
            .map(|i| {
                let q = VectorQuery::new((0..20).map(|_| next()).collect(), 1 + i % 7);
                if i % 3 == 0 {
                    q.filter(Filter::is_in("bucket", [1, 4]))
                } else {
                    q
                }
            })
            .collect();
        let mut one_by_one = Vec::new();
        for q in &queries {
            let expected = serial.query("c", q.clone()).await.unwrap();
            assert_eq!(
                parallel.query("c", q.clone()).await.unwrap(),
                expected,
                "{metric:?}"
            );
            if q.filter.is_some() {
                assert!(
                    expected
                        .iter()
                        .all(|h| [1, 4].contains(&h.metadata["bucket"].as_i64().unwrap()))
                );
            }
            assert_eq!(expected.len(), q.top_k);
            one_by_one.push(expected);
        }
        assert_eq!(
            parallel.query_batch("c", queries.clone()).await.unwrap(),
            one_by_one
        );
        assert_eq!(serial.query_batch("c", queries).await.unwrap(), one_by_one);
        serial.drop_collection("c").await.unwrap();
        parallel.drop_collection("c").await.unwrap();
    }
}

#[tokio::test]
async fn query_batch_validates_every_query_and_accepts_an_empty_batch() {
    let store = InMemoryVectorStore::new();
    filled(&store, "c", Metric::Dot, random_records(10, 4, 1)).await;
    assert!(store.query_batch("c", Vec::new()).await.unwrap().is_empty());
    let bad = vec![
        VectorQuery::new(vec![1.0; 4], 1),
        VectorQuery::new(vec![1.0; 3], 1),
    ];
    let err = store.query_batch("c", bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let zero_k = vec![VectorQuery::new(vec![1.0; 4], 0)];
    assert_eq!(
        store.query_batch("c", zero_k).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        store.query_batch("nope", vec![]).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // The trait's default `query_batch` answers the same as the override.
    let wrapped = DefaultBatch(store);
    let qs = vec![
        VectorQuery::new(vec![1.0; 4], 3),
        VectorQuery::new(vec![-1.0; 4], 2),
    ];
    let by_default = wrapped.query_batch("c", qs.clone()).await.unwrap();
    assert_eq!(by_default[0].len(), 3);
    assert_eq!(wrapped.0.query_batch("c", qs).await.unwrap(), by_default);
}

/// A wrapper that keeps the trait's default `query_batch`.
#[derive(Debug)]
struct DefaultBatch(InMemoryVectorStore);

#[async_trait]
impl VectorStore for DefaultBatch {
    fn backend(&self) -> &'static str {
        "default-batch"
    }
    fn capabilities(&self) -> VectorCapabilities {
        self.0.capabilities()
    }
    async fn ensure_collection(&self, spec: CollectionSpec) -> Result<()> {
        self.0.ensure_collection(spec).await
    }
    async fn upsert(&self, collection: &str, records: Vec<VectorRecord>) -> Result<()> {
        self.0.upsert(collection, records).await
    }
    async fn query(&self, collection: &str, q: VectorQuery) -> Result<Vec<ScoredRecord>> {
        self.0.query(collection, q).await
    }
    async fn get(&self, collection: &str, ids: &[String]) -> Result<Vec<VectorRecord>> {
        self.0.get(collection, ids).await
    }
    async fn delete(&self, collection: &str, sel: Selector) -> Result<u64> {
        self.0.delete(collection, sel).await
    }
    async fn count(&self, collection: &str, filter: Option<Filter>) -> Result<u64> {
        self.0.count(collection, filter).await
    }
}

#[tokio::test]
async fn collection_options_can_change_at_run_time() {
    let store = InMemoryVectorStore::new();
    let records = random_records(400, 16, 8);
    filled(&store, "c", Metric::Euclidean, records).await;
    let q = VectorQuery::new(vec![0.25; 16], 5);
    let exact = store.query("c", q.clone()).await.unwrap();
    let int8 = CollectionOptions::new().quantization(Quantization::Int8);
    store.set_collection_options("c", int8).unwrap();
    {
        let shared = store.collection("c").unwrap();
        let c = shared.read().unwrap();
        assert_eq!((c.codes.len(), c.scales.len()), (400 * 16, 400));
    }
    assert_eq!(store.query("c", q.clone()).await.unwrap(), exact);
    let ann = CollectionOptions::new().ann(Some(HnswOptions::new().min_rows(10)));
    store.set_collection_options("c", ann).unwrap();
    assert_eq!(store.build_index("c").await.unwrap(), 400);
    assert_eq!(store.query("c", q).await.unwrap()[0], exact[0]);
    {
        let shared = store.collection("c").unwrap();
        assert!(shared.read().unwrap().codes.is_empty());
    }
    let err = store
        .set_collection_options("nope", CollectionOptions::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn queries_work_without_a_tokio_runtime() {
    let store = InMemoryVectorStore::builder()
        .scan_threads(2)
        .parallel_threshold(0)
        .build()
        .unwrap();
    futures::executor::block_on(async {
        filled(&store, "c", Metric::Dot, random_records(100, 8, 3)).await;
        let hits = store
            .query("c", VectorQuery::new(vec![1.0; 8], 4))
            .await
            .unwrap();
        assert_eq!(hits.len(), 4);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    });
}

#[tokio::test]
async fn cosine_rejects_zero_vectors_and_stores_unit_vectors() {
    let store = InMemoryVectorStore::new();
    store
        .ensure_collection(CollectionSpec::new("c", 2, Metric::Cosine))
        .await
        .unwrap();
    let err = store
        .upsert("c", vec![VectorRecord::new("z", vec![0.0, 0.0])])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    store
        .upsert("c", vec![VectorRecord::new("v", vec![3.0, 4.0])])
        .await
        .unwrap();
    let got = store.get("c", &["v".into()]).await.unwrap();
    assert!((got[0].vector[0] - 0.6).abs() < 1e-6);
    let zero_query = store.query("c", VectorQuery::new(vec![0.0, 0.0], 1)).await;
    assert_eq!(zero_query.unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_bad_record_in_a_batch_writes_nothing() {
    let store = InMemoryVectorStore::new();
    store
        .ensure_collection(CollectionSpec::new("c", 2, Metric::Dot))
        .await
        .unwrap();
    let err = store
        .upsert(
            "c",
            vec![
                VectorRecord::new("ok", vec![1.0, 1.0]),
                VectorRecord::new("bad", vec![f32::NAN, 1.0]),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(store.count("c", None).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_and_readers_see_consistent_data() {
    let store = Arc::new(InMemoryVectorStore::new());
    store
        .ensure_collection(CollectionSpec::new("c", 4, Metric::Euclidean))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    let v = vec![t as f32, i as f32, 1.0, 0.5];
                    let id = format!("{t}-{i}");
                    store
                        .upsert("c", vec![VectorRecord::new(&id, v.clone())])
                        .await
                        .unwrap();
                    let hits = store.query("c", VectorQuery::new(v, 1)).await.unwrap();
                    assert_eq!(hits[0].id, id);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.count("c", None).await.unwrap(), 400);
}

#[tokio::test]
async fn drop_collection_forgets_it() {
    let store = InMemoryVectorStore::new();
    store
        .ensure_collection(CollectionSpec::new("c", 2, Metric::Dot))
        .await
        .unwrap();
    store.drop_collection("c").await.unwrap();
    assert_eq!(
        store.count("c", None).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        store.drop_collection("c").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}
