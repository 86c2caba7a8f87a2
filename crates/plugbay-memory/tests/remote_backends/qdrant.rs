//! `QdrantStore` against the Qdrant fake.

use std::time::Duration;

use plugbay_core::ErrorKind;
use plugbay_core::http::RecordingSleeper;
use plugbay_memory::conformance;
use plugbay_memory::qdrant::{ID_PAYLOAD_KEY, PayloadSchema, QdrantBuilder, QdrantStore, point_id};
use plugbay_memory::{CollectionSpec, Filter, Metric, VectorQuery, VectorRecord, VectorStore};
use serde_json::json;
use wiremock::MockServer;

use crate::support::qdrant_stub::QdrantStub;
use crate::support::{FaultTarget, mount_fallback, run_fault_suite};

async fn fake() -> (MockServer, QdrantStub) {
    let server = MockServer::start().await;
    let stub = QdrantStub::new();
    mount_fallback(&server, stub.clone()).await;
    (server, stub)
}

fn store(base: &str) -> QdrantStore {
    QdrantBuilder::default()
        .url(base)
        .sleeper(RecordingSleeper::new())
        .build()
        .unwrap()
}

#[tokio::test]
async fn passes_the_vector_store_conformance_suite() {
    let (server, _stub) = fake().await;
    let store = QdrantBuilder::default()
        .url(server.uri())
        .upsert_batch(300)
        .build()
        .unwrap();
    conformance::vector::run_all(&store).await;
}

#[tokio::test]
async fn string_ids_become_uuid_v5_points_with_the_id_in_the_payload() {
    let (server, stub) = fake().await;
    let store = store(&server.uri());
    store
        .ensure_collection(CollectionSpec::new("docs", 2, Metric::Dot))
        .await
        .unwrap();
    store
        .upsert(
            "docs",
            vec![VectorRecord::new("memory/42", vec![1.0, 2.0]).with_field("k", "v")],
        )
        .await
        .unwrap();
    assert_eq!(
        stub.state.lock().unwrap().point_ids("docs"),
        [point_id("memory/42")]
    );
    let upsert = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "PUT" && r.url.path() == "/collections/docs/points")
        .unwrap();
    assert_eq!(upsert.url.query(), Some("wait=true"));
    let body: serde_json::Value = serde_json::from_slice(&upsert.body).unwrap();
    assert_eq!(body["points"][0]["payload"][ID_PAYLOAD_KEY], "memory/42");
    let hits = store
        .query(
            "docs",
            VectorQuery::new(vec![1.0, 0.0], 1).include_metadata(false),
        )
        .await
        .unwrap();
    assert_eq!(
        hits[0].id, "memory/42",
        "the id comes back even without metadata"
    );
    assert!(hits[0].metadata.is_empty());
    let err = store
        .upsert(
            "docs",
            vec![VectorRecord::new("x", vec![1.0, 1.0]).with_field(ID_PAYLOAD_KEY, "y")],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn api_key_header_and_payload_indexes() {
    let server = MockServer::start().await;
    let stub = QdrantStub {
        api_key: Some("qd-key".into()),
        ..QdrantStub::new()
    };
    mount_fallback(&server, stub.clone()).await;
    let without = store(&server.uri());
    let err = without
        .ensure_collection(CollectionSpec::new("m", 3, Metric::Cosine))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let with = QdrantBuilder::default()
        .url(server.uri())
        .api_key("qd-key")
        .payload_index("user_id", PayloadSchema::Keyword)
        .payload_index("created_at", PayloadSchema::Integer)
        .build()
        .unwrap();
    with.ensure_collection(CollectionSpec::new("m", 3, Metric::Cosine))
        .await
        .unwrap();
    assert_eq!(
        stub.state.lock().unwrap().indexes("m"),
        ["user_id", "created_at"]
    );
    // Idempotent: no second creation, no duplicate indexes.
    with.ensure_collection(CollectionSpec::new("m", 3, Metric::Cosine))
        .await
        .unwrap();
    assert_eq!(stub.state.lock().unwrap().indexes("m").len(), 2);
    assert!(format!("{with:?}").contains("<redacted>"));
}

#[tokio::test]
async fn filters_agree_with_the_in_memory_evaluator() {
    // Every operator, on records with missing keys, lists, numbers stored as
    // integers and floats, and booleans: the Qdrant fake (with Qdrant's
    // semantics) must select what `Filter::matches` selects.
    let (server, _stub) = fake().await;
    let store = store(&server.uri());
    store
        .ensure_collection(CollectionSpec::new("f", 2, Metric::Dot))
        .await
        .unwrap();
    let metas = [
        json!({"s": "a", "n": 1, "t": ["x", "y"], "b": true}),
        json!({"s": "b", "n": 2.5, "t": ["y"]}),
        json!({"n": 2, "b": false}),
        json!({"s": "c", "t": "x"}),
        json!({}),
    ];
    let records: Vec<VectorRecord> = metas
        .iter()
        .enumerate()
        .map(|(i, m)| {
            VectorRecord::new(format!("r{i}"), vec![1.0, i as f32])
                .with_metadata(m.as_object().cloned().unwrap())
        })
        .collect();
    store.upsert("f", records.clone()).await.unwrap();
    let filters = [
        Filter::eq("n", 2.0),
        Filter::eq("n", 2.5),
        Filter::eq("t", "x"),
        Filter::ne("s", "a"),
        Filter::is_in("n", [1.0, 2.5]),
        Filter::is_in("s", [json!("a"), json!(7)]),
        Filter::not_in("t", ["y"]),
        Filter::range("n", Some(1.0), None, None, Some(2.5)),
        Filter::exists("b"),
        !Filter::exists("s"),
        Filter::eq("b", false).or(Filter::lt("n", 2)),
        !(Filter::eq("s", "a").and(Filter::exists("t"))),
        Filter::ne("b", true).and(!Filter::is_in("s", ["c"])),
    ];
    for f in filters {
        let mut want: Vec<String> = records
            .iter()
            .filter(|r| f.matches(&r.metadata))
            .map(|r| r.id.clone())
            .collect();
        want.sort();
        let mut got: Vec<String> = store
            .query("f", VectorQuery::new(vec![1.0, 0.0], 10).filter(f.clone()))
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        got.sort();
        assert_eq!(got, want, "{f:?}");
        assert_eq!(
            store.count("f", Some(f.clone())).await.unwrap(),
            want.len() as u64,
            "{f:?}"
        );
    }
}

fn qdrant_op(
    base: String,
    sleeper: RecordingSleeper,
    timeout: Option<Duration>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = plugbay_core::Result<()>> + Send>> {
    Box::pin(async move {
        let mut b = QdrantBuilder::default().url(base).sleeper(sleeper);
        if let Some(t) = timeout {
            b = b.timeout(t).max_retries(1);
        }
        b.build()?.count("faults", None).await.map(|_| ())
    })
}

fn seeded() -> Box<dyn wiremock::Respond> {
    let stub = QdrantStub::new();
    stub.state.lock().unwrap().seed("faults", 2, "Dot");
    Box::new(stub)
}

#[tokio::test]
async fn fault_suite() {
    run_fault_suite(&FaultTarget {
        stub: seeded,
        verb: "POST",
        route: "/collections/faults/points/count",
        op: qdrant_op,
        server_error: json!({"status": {"error": "Service internal error: 1 of 1 read operations failed"}, "time": 0.1}),
    })
    .await;
}

#[tokio::test]
async fn an_error_inside_a_200_is_not_a_success() {
    let server = MockServer::start().await;
    crate::support::mount_fault(
        &server,
        "POST",
        "/collections/faults/points/count",
        crate::support::json_response(
            200,
            json!({"status": {"error": "Service internal error"}, "time": 0.0}),
        ),
        100,
    )
    .await;
    mount_fallback(&server, {
        let stub = QdrantStub::new();
        stub.state.lock().unwrap().seed("faults", 2, "Dot");
        stub
    })
    .await;
    let err = qdrant_op(server.uri(), RecordingSleeper::new(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(err.provider(), Some("qdrant"));
    assert_eq!(err.operation(), Some("count"));
}

#[tokio::test]
async fn unknown_collections_and_bad_names() {
    let (server, _stub) = fake().await;
    let store = store(&server.uri());
    let err = store.drop_collection("nope").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = store.count("..", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
