//! Query scenarios: ordering by metric, filters, counts, empty results,
//! batched queries.

use serde_json::json;

use plugbay_core::ErrorKind;

use super::{cleanup, fresh, ids_of, skip, sorted, strings};
use crate::filter::Filter;
use crate::store::VectorStore;
use crate::types::{Metric, VectorQuery, VectorRecord};

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

pub(super) async fn filter_fixture(store: &dyn VectorStore, scenario: &str) -> String {
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
