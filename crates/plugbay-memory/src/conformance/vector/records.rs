//! Record scenarios: ensure, upsert, get, delete, invalid input, unknown
//! collections, large batches, scroll.

use serde_json::json;

use plugbay_core::ErrorKind;

use super::query::filter_fixture;
use super::{cleanup, close, fresh, skip, sorted, strings, unique, unit};
use crate::filter::Filter;
use crate::store::VectorStore;
use crate::types::{CollectionSpec, Metric, ScrollRequest, Selector, VectorQuery, VectorRecord};

/// `ensure_collection` is idempotent, refuses a conflicting spec with
/// `AlreadyExists` and an invalid one with `InvalidInput`.
pub async fn ensure_is_idempotent(store: &dyn VectorStore) {
    let name = fresh(store, "ensure", 4, Metric::Cosine).await;
    store
        .ensure_collection(CollectionSpec::new(&name, 4, Metric::Cosine))
        .await
        .expect("same spec twice is fine");
    let err = store
        .ensure_collection(CollectionSpec::new(&name, 5, Metric::Cosine))
        .await
        .expect_err("different dimensions must fail");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    let err = store
        .ensure_collection(CollectionSpec::new("", 4, Metric::Cosine))
        .await
        .expect_err("empty name must fail");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = store
        .ensure_collection(CollectionSpec::new(unique("zero"), 0, Metric::Dot))
        .await
        .expect_err("zero dimensions must fail");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    cleanup(store, &name).await;
}

/// What goes in comes back out by id; unknown ids are skipped.
pub async fn upsert_get_round_trip(store: &dyn VectorStore) {
    let name = fresh(store, "roundtrip", 3, Metric::Dot).await;
    let meta = json!({"title": "hello", "n": 3, "ok": true, "tags": ["a", "b"]});
    let record = VectorRecord::new("r1", vec![0.5, -1.25, 3.0])
        .with_metadata(meta.as_object().cloned().unwrap_or_default());
    store
        .upsert(&name, vec![record.clone()])
        .await
        .expect("upsert");
    let got = store
        .get(&name, &strings(&["missing", "r1"]))
        .await
        .expect("get");
    assert_eq!(got.len(), 1, "unknown ids are skipped");
    assert_eq!(got[0].id, "r1");
    assert!(close(&got[0].vector, &record.vector), "{:?}", got[0].vector);
    assert_eq!(got[0].metadata, record.metadata);
    cleanup(store, &name).await;

    let cos = fresh(store, "roundtrip-cos", 2, Metric::Cosine).await;
    store
        .upsert(&cos, vec![VectorRecord::new("c", vec![3.0, 4.0])])
        .await
        .expect("upsert cosine");
    let got = store.get(&cos, &strings(&["c"])).await.expect("get cosine");
    assert!(
        close(&unit(&got[0].vector), &[0.6, 0.8]),
        "cosine may normalise but must keep the direction: {:?}",
        got[0].vector
    );
    cleanup(store, &cos).await;
}

/// Upserting an existing id replaces its vector and metadata.
pub async fn upsert_overwrites_by_id(store: &dyn VectorStore) {
    let name = fresh(store, "overwrite", 2, Metric::Dot).await;
    store
        .upsert(
            &name,
            vec![VectorRecord::new("x", vec![1.0, 0.0]).with_field("v", 1)],
        )
        .await
        .expect("first upsert");
    store
        .upsert(
            &name,
            vec![VectorRecord::new("x", vec![0.0, 2.0]).with_field("v", 2)],
        )
        .await
        .expect("second upsert");
    assert_eq!(store.count(&name, None).await.expect("count"), 1);
    let got = store.get(&name, &strings(&["x"])).await.expect("get");
    assert!(close(&got[0].vector, &[0.0, 2.0]));
    assert_eq!(got[0].metadata.get("v"), Some(&json!(2)));
    cleanup(store, &name).await;
}

/// Delete by ids, by filter and all, each reporting how many went.
pub async fn delete_by_selector(store: &dyn VectorStore) {
    let name = filter_fixture(store, "delete").await;
    let n = store
        .delete(&name, Selector::Ids(strings(&["a", "nope"])))
        .await
        .expect("delete ids");
    assert_eq!(n, 1);
    assert!(
        store
            .get(&name, &strings(&["a"]))
            .await
            .expect("get")
            .is_empty()
    );
    if store.capabilities().filters {
        let n = store
            .delete(&name, Selector::Filter(Filter::gte("n", 3)))
            .await
            .expect("delete filter");
        assert_eq!(n, 2);
        assert_eq!(store.count(&name, None).await.expect("count"), 1);
        let left = store
            .get(&name, &strings(&["b", "c", "d"]))
            .await
            .expect("get");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, "b");
    }
    store
        .delete(&name, Selector::All)
        .await
        .expect("delete all");
    assert_eq!(store.count(&name, None).await.expect("count after all"), 0);
    store
        .upsert(&name, vec![VectorRecord::new("again", vec![1.0, 1.0])])
        .await
        .expect("the collection survives delete all");
    assert_eq!(store.count(&name, None).await.expect("count"), 1);
    cleanup(store, &name).await;
}

/// Wrong dimensions, non-finite values, bad ids and `top_k == 0` are
/// `InvalidInput`, and a rejected batch writes nothing.
pub async fn invalid_vectors_are_rejected(store: &dyn VectorStore) {
    let name = fresh(store, "invalid", 3, Metric::Dot).await;
    let bad_batches = [
        vec![VectorRecord::new("short", vec![1.0, 2.0])],
        vec![VectorRecord::new("long", vec![1.0, 2.0, 3.0, 4.0])],
        vec![VectorRecord::new("nan", vec![1.0, f32::NAN, 0.0])],
        vec![VectorRecord::new("inf", vec![f32::INFINITY, 0.0, 0.0])],
        vec![VectorRecord::new("", vec![1.0, 0.0, 0.0])],
        vec![
            VectorRecord::new("fine", vec![1.0, 0.0, 0.0]),
            VectorRecord::new("bad", vec![1.0]),
        ],
    ];
    for batch in bad_batches {
        let err = store
            .upsert(&name, batch)
            .await
            .expect_err("bad batch must fail");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    assert_eq!(
        store.count(&name, None).await.expect("count"),
        0,
        "nothing written"
    );
    for q in [
        VectorQuery::new(vec![1.0, 0.0], 1),
        VectorQuery::new(vec![1.0, f32::NAN, 0.0], 1),
        VectorQuery::new(vec![1.0, 0.0, 0.0], 0),
    ] {
        let err = store
            .query(&name, q)
            .await
            .expect_err("bad query must fail");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    cleanup(store, &name).await;
}

/// Every operation on an unknown collection is `NotFound`.
pub async fn unknown_collection_is_not_found(store: &dyn VectorStore) {
    let name = unique("missing");
    let kinds = [
        store
            .upsert(&name, vec![VectorRecord::new("x", vec![1.0])])
            .await
            .map(|_| ()),
        store
            .query(&name, VectorQuery::new(vec![1.0], 1))
            .await
            .map(|_| ()),
        store.get(&name, &strings(&["x"])).await.map(|_| ()),
        store.delete(&name, Selector::All).await.map(|_| ()),
        store.count(&name, None).await.map(|_| ()),
    ];
    for (op, result) in ["upsert", "query", "get", "delete", "count"]
        .iter()
        .zip(kinds)
    {
        let err = result.expect_err("unknown collection must fail");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{op}: {err}");
    }
}

/// A 1,000-record batch lands completely and is searchable.
pub async fn batch_upsert_thousand(store: &dyn VectorStore) {
    let dims = 8;
    let name = fresh(store, "batch", dims, Metric::Euclidean).await;
    let records: Vec<VectorRecord> = (0..1000)
        .map(|i| {
            // Dimension 0 makes every vector distinct; the rest vary.
            let v = (0..dims)
                .map(|d| match d {
                    0 => i as f32 / 100.0,
                    _ => ((i * 31 + d * 7) % 97) as f32 / 97.0 + 0.01,
                })
                .collect();
            VectorRecord::new(format!("rec-{i:04}"), v).with_field("i", i)
        })
        .collect();
    let probe = records[421].clone();
    store.upsert(&name, records).await.expect("batch upsert");
    assert_eq!(store.count(&name, None).await.expect("count"), 1000);
    let hits = store
        .query(&name, VectorQuery::new(probe.vector.clone(), 5))
        .await
        .expect("query");
    assert_eq!(hits.len(), 5);
    assert_eq!(hits[0].id, probe.id, "an exact match ranks first");
    assert!(
        hits.windows(2).all(|w| w[0].score >= w[1].score),
        "best first"
    );
    let got = store
        .get(&name, &strings(&["rec-0000", "rec-0999"]))
        .await
        .expect("get");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].metadata.get("i"), Some(&json!(999)));
    cleanup(store, &name).await;
}

/// `scroll` visits every matching record exactly once, page by page.
pub async fn scroll_pages_through_everything(store: &dyn VectorStore) {
    if !store.capabilities().scroll {
        return skip(
            "scroll_pages_through_everything",
            store,
            "no scroll support",
        );
    }
    let name = fresh(store, "scroll", 2, Metric::Dot).await;
    let records = (0..7)
        .map(|i| {
            VectorRecord::new(format!("s{i}"), vec![1.0, i as f32]).with_field("even", i % 2 == 0)
        })
        .collect();
    store.upsert(&name, records).await.expect("upsert");
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = store
            .scroll(
                &name,
                ScrollRequest::new(3)
                    .filter(Some(Filter::eq("even", true)))
                    .cursor(cursor),
            )
            .await
            .expect("scroll");
        assert!(page.records.len() <= 3);
        seen.extend(page.records.into_iter().map(|r| r.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(sorted(seen), strings(&["s0", "s2", "s4", "s6"]));
    cleanup(store, &name).await;
}
