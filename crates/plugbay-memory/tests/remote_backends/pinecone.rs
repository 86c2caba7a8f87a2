//! `PineconeStore` against the Pinecone fake.

use std::time::Duration;

use plugbay_core::http::{Call, RecordingSleeper};
use plugbay_core::{ErrorKind, HttpClient};
use plugbay_memory::conformance::vector as suite;
use plugbay_memory::pinecone::{PineconeBuilder, PineconeErrorMapper, PineconeStore};
use plugbay_memory::{
    CollectionSpec, Filter, Metric, Selector, VectorQuery, VectorRecord, VectorStore,
    VectorStoreExt,
};
use serde_json::json;
use wiremock::MockServer;

use crate::support::pinecone_stub::{MAX_BODY, PineconeStub};
use crate::support::{FaultTarget, mount_fallback, run_fault_suite};

const KEY: &str = "pcsk_test";

async fn fake(indexes: &[(&str, usize, &str)]) -> (MockServer, PineconeStub) {
    let server = MockServer::start().await;
    let mut stub = PineconeStub::new(&server.uri(), KEY);
    for (name, dims, metric) in indexes {
        stub = stub.with_index(name, *dims, metric);
    }
    mount_fallback(&server, stub.clone()).await;
    (server, stub)
}

async fn store(server: &MockServer, index: &str) -> PineconeStore {
    let store = PineconeBuilder::default()
        .api_key(KEY)
        .index(index)
        .control_url(server.uri())
        .sleeper(RecordingSleeper::new())
        .build()
        .unwrap();
    store.describe().await.unwrap();
    store
}

#[tokio::test]
async fn passes_the_conformance_scenarios_one_index_shape_at_a_time() {
    // A collection is a namespace, so each scenario runs against an index
    // of the shape it needs.
    let (server, stub) = fake(&[
        ("d2dot", 2, "dotproduct"),
        ("d2cos", 2, "cosine"),
        ("d2euc", 2, "euclidean"),
        ("d3dot", 3, "dotproduct"),
        ("d4cos", 4, "cosine"),
        ("d8euc", 8, "euclidean"),
    ])
    .await;
    let dot2 = store(&server, "d2dot").await;
    assert_eq!(dot2.capabilities().metrics, [Metric::Dot]);
    suite::upsert_overwrites_by_id(&dot2).await;
    suite::query_applies_filters(&dot2).await;
    suite::count_with_and_without_filter(&dot2).await;
    suite::delete_by_selector(&dot2).await;
    suite::unknown_collection_is_not_found(&dot2).await;
    suite::scroll_pages_through_everything(&dot2).await; // skipped: no scroll
    for index in ["d2dot", "d2cos", "d2euc"] {
        suite::query_orders_by_metric(&store(&server, index).await).await;
    }
    suite::empty_query_result(&store(&server, "d2cos").await).await;
    suite::invalid_vectors_are_rejected(&store(&server, "d3dot").await).await;
    suite::ensure_is_idempotent(&store(&server, "d4cos").await).await;
    suite::batch_upsert_thousand(&store(&server, "d8euc").await).await;
    let state = stub.state.lock().unwrap();
    assert!(
        state
            .versions
            .iter()
            .all(|v| v.as_deref() == Some("2025-04")),
        "every call pins the API version"
    );
    assert_eq!(state.describes, 8, "one control-plane lookup per store");
    assert_eq!(state.rejected_upserts, 0);
}

#[tokio::test]
async fn round_trip_within_one_index() {
    let (server, _stub) = fake(&[("d3", 3, "dotproduct")]).await;
    let store = store(&server, "d3").await;
    store
        .ensure_collection(CollectionSpec::new("rt", 3, Metric::Dot))
        .await
        .unwrap();
    let meta = json!({"title": "hello", "n": 3, "ok": true, "tags": ["a", "b"]});
    let record = VectorRecord::new("r1", vec![0.5, -1.25, 3.0])
        .with_metadata(meta.as_object().cloned().unwrap());
    store.upsert("rt", vec![record.clone()]).await.unwrap();
    let got = store
        .get("rt", &["missing".into(), "r1".into()])
        .await
        .unwrap();
    assert_eq!(got, vec![record]);
    let err = store
        .ensure_collection(CollectionSpec::new("other", 4, Metric::Dot))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    let err = store
        .ensure_collection(CollectionSpec::new("other", 3, Metric::Cosine))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
}

#[tokio::test]
async fn a_2_1_mb_upsert_is_split_under_the_2_mb_limit() {
    let (server, stub) = fake(&[("big", 700, "dotproduct")]).await;
    let store = store(&server, "big").await;
    store
        .ensure_collection(CollectionSpec::new("ns", 700, Metric::Dot))
        .await
        .unwrap();
    let records: Vec<VectorRecord> = (0..300)
        .map(|i| {
            let v = (0..700)
                .map(|d| 0.123_456_79 + (i * 700 + d) as f32 * 1e-7)
                .collect();
            VectorRecord::new(format!("rec-{i}"), v).with_field("i", i)
        })
        .collect();
    let total: usize = records
        .iter()
        .map(|r| {
            serde_json::to_vec(&json!({"id": r.id, "values": r.vector, "metadata": r.metadata}))
                .unwrap()
                .len()
        })
        .sum();
    assert!(total > 2_100_000, "the batch must exceed 2 MB: {total}");
    store.upsert("ns", records.clone()).await.unwrap();
    {
        let state = stub.state.lock().unwrap();
        assert!(state.upserts.len() >= 2, "{:?}", state.upserts);
        assert!(state.upserts.iter().all(|(bytes, _)| *bytes <= 2_000_000));
        assert_eq!(state.upserts.iter().map(|(_, n)| n).sum::<usize>(), 300);
        assert_eq!(state.rejected_upserts, 0);
        assert_eq!(state.len("big", "ns"), 300);
    }
    // The fake does enforce the limit: the same records in one request are
    // refused with Pinecone's error, read as PayloadTooLarge.
    let body = json!({
        "vectors": records.iter().map(|r| json!({"id": r.id, "values": r.vector})).collect::<Vec<_>>(),
        "namespace": "ns"
    })
    .to_string();
    assert!(body.len() > MAX_BODY);
    let http = HttpClient::new().unwrap();
    let url = format!("{}/data/big/vectors/upsert", server.uri());
    let err = http
        .execute(
            &Call::new("pinecone", "upsert").with_error_mapper(PineconeErrorMapper),
            |c| {
                c.post(&url)
                    .header("Api-Key", KEY)
                    .header("content-type", "application/json")
                    .body(body.clone())
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PayloadTooLarge, "{err}");
    assert_eq!(err.status(), Some(400));
    assert_eq!(stub.state.lock().unwrap().rejected_upserts, 1);
}

#[tokio::test]
async fn thousands_of_records_are_batched_by_count_for_upsert_fetch_and_delete() {
    let (server, stub) = fake(&[("small", 2, "dotproduct")]).await;
    let store = store(&server, "small").await;
    store
        .ensure_collection(CollectionSpec::new("ns", 2, Metric::Dot))
        .await
        .unwrap();
    let records: Vec<VectorRecord> = (0..2500)
        .map(|i| VectorRecord::new(format!("{i}"), vec![1.0, i as f32]))
        .collect();
    store.upsert("ns", records).await.unwrap();
    let counts: Vec<usize> = stub
        .state
        .lock()
        .unwrap()
        .upserts
        .iter()
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(counts, [1000, 1000, 500]);
    let ids: Vec<String> = (0..2600).map(|i| format!("{i}")).collect();
    assert_eq!(store.get("ns", &ids).await.unwrap().len(), 2500);
    assert_eq!(store.count("ns", None).await.unwrap(), 2500);
    assert_eq!(store.delete("ns", Selector::Ids(ids)).await.unwrap(), 2500);
    assert_eq!(store.count("ns", None).await.unwrap(), 0);
}

#[tokio::test]
async fn metadata_is_checked_before_anything_is_sent() {
    let (server, stub) = fake(&[("m", 2, "cosine")]).await;
    let store = store(&server, "m").await;
    store
        .ensure_collection(CollectionSpec::new("ns", 2, Metric::Cosine))
        .await
        .unwrap();
    let bad = [
        json!({"k": null}),
        json!({"k": {"nested": true}}),
        json!({"k": [1, 2]}),
        json!({"text": "x".repeat(41 * 1024)}),
    ];
    for meta in bad {
        let batch = vec![
            VectorRecord::new("fine", vec![1.0, 0.0]),
            VectorRecord::new("bad", vec![1.0, 0.0])
                .with_metadata(meta.as_object().cloned().unwrap()),
        ];
        let err = store.upsert("ns", batch).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{meta}");
    }
    let err = store
        .upsert("ns", vec![VectorRecord::new("z", vec![0.0, 0.0])])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        stub.state.lock().unwrap().upserts.is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn negations_never_send_not_and_filtered_counts_use_a_query() {
    let (server, _stub) = fake(&[("f", 2, "dotproduct")]).await;
    let store = store(&server, "f").await;
    store
        .ensure_collection(CollectionSpec::new("ns", 2, Metric::Dot))
        .await
        .unwrap();
    let recs = vec![
        VectorRecord::new("a", vec![1.0, 0.0])
            .with_field("c", "red")
            .with_field("n", 1),
        VectorRecord::new("b", vec![1.0, 1.0])
            .with_field("c", "blue")
            .with_field("n", 5),
        VectorRecord::new("c", vec![1.0, 2.0]),
    ];
    store.upsert("ns", recs.clone()).await.unwrap();
    let filters = [
        !Filter::eq("c", "red"),
        !(Filter::eq("c", "red").or(Filter::gte("n", 5))),
        !Filter::range("n", Some(0.0), None, Some(3.0), None),
        !!Filter::exists("c"),
    ];
    for f in filters {
        let want = recs.iter().filter(|r| f.matches(&r.metadata)).count();
        let hits = store
            .query("ns", VectorQuery::new(vec![1.0, 0.0], 10).filter(f.clone()))
            .await
            .unwrap();
        assert_eq!(hits.len(), want, "{f:?}");
        assert_eq!(
            store.count("ns", Some(f.clone())).await.unwrap(),
            want as u64,
            "{f:?}"
        );
    }
    let err = store
        .query("ns", VectorQuery::new(vec![1.0, 0.0], 10_001))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(store.delete_one("ns", "a").await.unwrap());
    assert!(!store.delete_one("ns", "a").await.unwrap());
}

#[tokio::test]
async fn index_host_skips_the_control_plane_and_bad_keys_fail() {
    let (server, stub) = fake(&[("h", 2, "cosine")]).await;
    let store = PineconeBuilder::default()
        .api_key(KEY)
        .index_host(format!("{}/data/h", server.uri()))
        .build()
        .unwrap();
    assert_eq!(store.describe().await.unwrap(), (2, Metric::Cosine));
    assert_eq!(stub.state.lock().unwrap().describes, 0);
    let wrong = PineconeBuilder::default()
        .api_key("nope")
        .index("h")
        .control_url(server.uri())
        .build()
        .unwrap();
    let err = wrong.count("ns", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let missing = PineconeBuilder::default()
        .api_key(KEY)
        .index("absent")
        .control_url(server.uri())
        .build()
        .unwrap();
    let err = missing.describe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(format!("{missing:?}").contains("<redacted>"));
}

fn pinecone_op(
    base: String,
    sleeper: RecordingSleeper,
    timeout: Option<Duration>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = plugbay_core::Result<()>> + Send>> {
    Box::pin(async move {
        let mut b = PineconeBuilder::default()
            .api_key(KEY)
            .index_host(format!("{base}/data/faults"))
            .sleeper(sleeper);
        if let Some(t) = timeout {
            b = b.timeout(t).max_retries(1);
        }
        let store = b.build()?;
        store
            .ensure_collection(CollectionSpec::new("ns", 2, Metric::Dot))
            .await?;
        store
            .query("ns", VectorQuery::new(vec![1.0, 0.0], 3))
            .await
            .map(|_| ())
    })
}

fn faults_stub() -> Box<dyn wiremock::Respond> {
    Box::new(PineconeStub::new("", KEY).with_index("faults", 2, "dotproduct"))
}

#[tokio::test]
async fn fault_suite() {
    run_fault_suite(&FaultTarget {
        stub: faults_stub,
        verb: "POST",
        route: "/data/faults/query",
        op: pinecone_op,
        server_error: json!({"code": 13, "message": "Internal error", "details": []}),
    })
    .await;
}
