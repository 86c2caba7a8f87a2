//! Conformance scenarios for [`VectorStore`] backends.
//!
//! Every scenario creates its own uniquely named collection and drops it at
//! the end when the backend can. Scenarios a backend cannot run (no
//! filters, no scroll, a missing metric) are skipped with a printed reason.
//! Record scenarios (writes, reads, deletes, errors) live in `records.rs`,
//! query scenarios (ordering, filters, counts, batches) in `query.rs`.

use crate::store::VectorStore;
use crate::types::{CollectionSpec, Metric};

mod query;
mod records;

pub use query::{
    count_with_and_without_filter, empty_query_result, query_applies_filters,
    query_batch_matches_single_queries, query_orders_by_metric,
};
pub use records::{
    batch_upsert_thousand, delete_by_selector, ensure_is_idempotent, invalid_vectors_are_rejected,
    scroll_pages_through_everything, unknown_collection_is_not_found, upsert_get_round_trip,
    upsert_overwrites_by_id,
};

/// A collection name no other scenario or run uses.
pub(super) fn unique(scenario: &str) -> String {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    format!("conf-{scenario}-{}", &tag[..12])
}

pub(super) async fn fresh(
    store: &dyn VectorStore,
    scenario: &str,
    dims: usize,
    metric: Metric,
) -> String {
    let name = unique(scenario);
    store
        .ensure_collection(CollectionSpec::new(&name, dims, metric))
        .await
        .unwrap_or_else(|e| panic!("{scenario}: ensure_collection failed: {e}"));
    name
}

pub(super) async fn cleanup(store: &dyn VectorStore, name: &str) {
    // Backends without drop support keep the (uniquely named) collection.
    let _ = store.drop_collection(name).await;
}

pub(super) fn skip(scenario: &str, store: &dyn VectorStore, reason: &str) {
    println!(
        "conformance: skipping `{scenario}` on {}: {reason}",
        store.backend()
    );
}

pub(super) fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

pub(super) fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

pub(super) fn unit(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

pub(super) fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
}

pub(super) fn ids_of(hits: &[crate::types::ScoredRecord]) -> Vec<&str> {
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
