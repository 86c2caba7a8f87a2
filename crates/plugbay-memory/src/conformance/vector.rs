//! Conformance scenarios for [`VectorStore`] backends.
//!
//! Every scenario creates its own uniquely named collection and drops it at
//! the end when the backend can. Scenarios a backend cannot run (no
//! filters, no scroll, a missing metric) are skipped with a printed reason.

use serde_json::json;

use plugbay_core::ErrorKind;

use crate::filter::Filter;
use crate::store::VectorStore;
use crate::types::{CollectionSpec, Metric, ScrollRequest, Selector, VectorQuery, VectorRecord};

/// A collection name no other scenario or run uses.
fn unique(scenario: &str) -> String {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    format!("conf-{scenario}-{}", &tag[..12])
}

async fn fresh(store: &dyn VectorStore, scenario: &str, dims: usize, metric: Metric) -> String {
    let name = unique(scenario);
    store
        .ensure_collection(CollectionSpec::new(&name, dims, metric))
        .await
        .unwrap_or_else(|e| panic!("{scenario}: ensure_collection failed: {e}"));
    name
}

async fn cleanup(store: &dyn VectorStore, name: &str) {
    // Backends without drop support keep the (uniquely named) collection.
    let _ = store.drop_collection(name).await;
}

fn skip(scenario: &str, store: &dyn VectorStore, reason: &str) {
    println!(
        "conformance: skipping `{scenario}` on {}: {reason}",
        store.backend()
    );
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

fn unit(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
}

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

/// Each metric orders hand-made vectors as expected, with scores where
/// higher is better (Euclidean: negative distance).
pub async fn query_orders_by_metric(store: &dyn VectorStore) {
    // A = [10, 5], B = [1, 0], C = [0, 1] against q = [1, 0] give three
    // different orders, so a backend mixing metrics up fails.
    let expected: [(Metric, [&str; 3], [f32; 3]); 3] = [
        (Metric::Dot, ["a", "b", "c"], [10.0, 1.0, 0.0]),
        (Metric::Cosine, ["b", "a", "c"], [1.0, 0.894_427_2, 0.0]),
        (
            Metric::Euclidean,
            ["b", "c", "a"],
            [0.0, -std::f32::consts::SQRT_2, -10.295_63],
        ),
    ];
    let supported = store.capabilities().metrics;
    for (metric, order, scores) in expected {
        if !supported.contains(&metric) {
            skip(
                "query_orders_by_metric",
                store,
                &format!("{metric:?} unsupported"),
            );
            continue;
        }
        let name = fresh(store, "order", 2, metric).await;
        store
            .upsert(
                &name,
                vec![
                    VectorRecord::new("a", vec![10.0, 5.0]),
                    VectorRecord::new("b", vec![1.0, 0.0]),
                    VectorRecord::new("c", vec![0.0, 1.0]),
                ],
            )
            .await
            .expect("upsert");
        let hits = store
            .query(&name, VectorQuery::new(vec![1.0, 0.0], 3))
            .await
            .expect("query");
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, order, "{metric:?}");
        for (hit, want) in hits.iter().zip(scores) {
            assert!(
                (hit.score - want).abs() < 1e-3,
                "{metric:?} {}: {} vs {want}",
                hit.id,
                hit.score
            );
        }
        let top2 = store
            .query(&name, VectorQuery::new(vec![1.0, 0.0], 2))
            .await
            .expect("query top 2");
        assert_eq!(top2.len(), 2, "{metric:?}: top_k bounds the result");
        let above = store
            .query(
                &name,
                VectorQuery::new(vec![1.0, 0.0], 3).min_score(scores[1] - 1e-3),
            )
            .await
            .expect("query min_score");
        assert_eq!(above.len(), 2, "{metric:?}: min_score drops the worst");
        cleanup(store, &name).await;
    }
}

async fn filter_fixture(store: &dyn VectorStore, scenario: &str) -> String {
    let name = fresh(store, scenario, 2, Metric::Dot).await;
    let rec = |id: &str, v: f32, meta: serde_json::Value| {
        VectorRecord::new(id, vec![v, 1.0])
            .with_metadata(meta.as_object().cloned().unwrap_or_default())
    };
    store
        .upsert(
            &name,
            vec![
                rec(
                    "a",
                    1.0,
                    json!({"color": "red", "n": 1, "tags": ["x", "y"], "flag": true}),
                ),
                rec("b", 2.0, json!({"color": "blue", "n": 2, "tags": ["y"]})),
                rec("c", 3.0, json!({"color": "green", "n": 3, "flag": false})),
                rec("d", 4.0, json!({"n": 4})),
            ],
        )
        .await
        .expect("upsert filter fixture");
    name
}

fn filter_cases() -> Vec<(Filter, Vec<String>)> {
    vec![
        (Filter::eq("color", "red"), strings(&["a"])),
        (Filter::eq("n", 2.0), strings(&["b"])),
        (Filter::eq("tags", "y"), strings(&["a", "b"])),
        (Filter::ne("color", "red"), strings(&["b", "c", "d"])),
        (
            Filter::is_in("color", ["red", "green"]),
            strings(&["a", "c"]),
        ),
        (
            Filter::not_in("color", ["red", "green"]),
            strings(&["b", "d"]),
        ),
        (
            Filter::range("n", Some(1.0), None, None, Some(3.0)),
            strings(&["b", "c"]),
        ),
        (Filter::gte("n", 3), strings(&["c", "d"])),
        (Filter::lt("n", 2), strings(&["a"])),
        (Filter::exists("flag"), strings(&["a", "c"])),
        (Filter::eq("flag", false), strings(&["c"])),
        (
            Filter::ne("color", "red").and(Filter::gte("n", 3)),
            strings(&["c", "d"]),
        ),
        (
            Filter::eq("color", "red").or(Filter::eq("n", 4)),
            strings(&["a", "d"]),
        ),
        (!Filter::exists("flag"), strings(&["b", "d"])),
        (
            Filter::any([
                Filter::all([Filter::eq("tags", "y"), Filter::gt("n", 1)]),
                Filter::eq("n", 4),
            ]),
            strings(&["b", "d"]),
        ),
    ]
}

/// Every filter operator, including nesting and missing keys, restricts
/// query results as documented; an invalid filter is `InvalidInput`.
pub async fn query_applies_filters(store: &dyn VectorStore) {
    if !store.capabilities().filters {
        return skip("query_applies_filters", store, "no filter support");
    }
    let name = filter_fixture(store, "filters").await;
    for (filter, want) in filter_cases() {
        let hits = store
            .query(
                &name,
                VectorQuery::new(vec![1.0, 0.0], 10).filter(filter.clone()),
            )
            .await
            .unwrap_or_else(|e| panic!("query with {filter:?}: {e}"));
        let got = sorted(hits.into_iter().map(|h| h.id).collect());
        assert_eq!(got, want, "{filter:?}");
    }
    let err = store
        .query(
            &name,
            VectorQuery::new(vec![1.0, 0.0], 10).filter(Filter::And(vec![])),
        )
        .await
        .expect_err("empty And must fail");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    cleanup(store, &name).await;
}

/// `count` counts all records or those matching a filter.
pub async fn count_with_and_without_filter(store: &dyn VectorStore) {
    let name = filter_fixture(store, "count").await;
    assert_eq!(store.count(&name, None).await.expect("count all"), 4);
    if store.capabilities().filters {
        for (filter, want) in filter_cases() {
            let n = store
                .count(&name, Some(filter.clone()))
                .await
                .expect("count filtered");
            assert_eq!(n, want.len() as u64, "{filter:?}");
        }
    }
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

/// An empty collection, or a filter nothing matches, gives no results.
pub async fn empty_query_result(store: &dyn VectorStore) {
    let name = fresh(store, "empty", 2, Metric::Cosine).await;
    let hits = store
        .query(&name, VectorQuery::new(vec![1.0, 0.0], 5))
        .await
        .expect("query empty");
    assert!(hits.is_empty());
    store
        .upsert(
            &name,
            vec![VectorRecord::new("x", vec![1.0, 0.0]).with_field("k", "v")],
        )
        .await
        .expect("upsert");
    if store.capabilities().filters {
        let hits = store
            .query(
                &name,
                VectorQuery::new(vec![1.0, 0.0], 5).filter(Filter::eq("k", "other")),
            )
            .await
            .expect("query filtered");
        assert!(hits.is_empty());
    }
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

/// `query_batch` answers each query as `query` does, in order, and an
/// empty batch is empty; a bad query fails the batch with `InvalidInput`.
pub async fn query_batch_matches_single_queries(store: &dyn VectorStore) {
    let name = fresh(store, "batch", 3, Metric::Euclidean).await;
    let records: Vec<VectorRecord> = (0..20)
        .map(|i| {
            let x = i as f32;
            VectorRecord::new(format!("b{i:02}"), vec![x, (x * 0.7).sin(), 1.0])
                .with_field("even", i % 2 == 0)
        })
        .collect();
    store.upsert(&name, records).await.expect("upsert");
    let mut queries = vec![
        VectorQuery::new(vec![3.2, 0.0, 1.0], 3),
        VectorQuery::new(vec![15.0, 1.0, 1.0], 5),
        VectorQuery::new(vec![-1.0, 0.0, 0.0], 1),
    ];
    if store.capabilities().filters {
        queries.push(VectorQuery::new(vec![7.0, 0.0, 1.0], 4).filter(Filter::eq("even", true)));
    }
    let batch = store
        .query_batch(&name, queries.clone())
        .await
        .expect("query_batch");
    assert_eq!(batch.len(), queries.len());
    for (q, got) in queries.into_iter().zip(&batch) {
        let want = store.query(&name, q).await.expect("query");
        let ids = |hits: &[crate::types::ScoredRecord]| -> Vec<String> {
            hits.iter().map(|h| h.id.clone()).collect()
        };
        assert_eq!(ids(got), ids(&want));
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g.score - w.score).abs() < 1e-4,
                "{} vs {}",
                g.score,
                w.score
            );
        }
    }
    assert_eq!(ids_of(&batch[0]), ["b04", "b03", "b02"]);
    let empty = store
        .query_batch(&name, Vec::new())
        .await
        .expect("empty batch");
    assert!(empty.is_empty());
    let err = store
        .query_batch(&name, vec![VectorQuery::new(vec![1.0, 2.0], 1)])
        .await
        .expect_err("wrong dimensions");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    cleanup(store, &name).await;
}

fn ids_of(hits: &[crate::types::ScoredRecord]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

/// Run every vector-store scenario.
pub async fn run_all(store: &dyn VectorStore) {
    ensure_is_idempotent(store).await;
    upsert_get_round_trip(store).await;
    upsert_overwrites_by_id(store).await;
    query_orders_by_metric(store).await;
    query_applies_filters(store).await;
    count_with_and_without_filter(store).await;
    delete_by_selector(store).await;
    invalid_vectors_are_rejected(store).await;
    unknown_collection_is_not_found(store).await;
    batch_upsert_thousand(store).await;
    empty_query_result(store).await;
    scroll_pages_through_everything(store).await;
    query_batch_matches_single_queries(store).await;
}
