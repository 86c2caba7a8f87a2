//! The [`DocumentStore`] conformance suite: public scenarios every backend
//! must pass, plus [`run_all`].
//!
//! Each scenario works in collections of its own (unique names per run), so
//! the suite can run against a shared database. Enable the `conformance`
//! feature to run it against your own backend:
//!
//! ```
//! # tokio_test_block_on(async {
//! plugbay_data::conformance::run_all(&plugbay_data::InMemoryDocumentStore::new()).await;
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::join_all;
use plugbay_core::{ErrorKind, Result};
use serde_json::{Value, json};

use crate::{DocId, Document, DocumentStore, DocumentStoreExt, Filter, Page, Version};

/// A collection name no other scenario or run uses (at most 63 bytes).
fn collection(scenario: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = format!("pbc_{:x}_{nanos:x}_{n}_{scenario}", std::process::id());
    name.truncate(63);
    name
}

fn doc(value: Value) -> Document {
    value
        .as_object()
        .expect("test documents are objects")
        .clone()
}

fn id(s: &str) -> DocId {
    DocId::new(s).unwrap()
}

fn kind<T: std::fmt::Debug>(result: Result<T>) -> ErrorKind {
    result.expect_err("expected an error").kind()
}

/// Insert with and without an id, then read back.
pub async fn insert_and_get(store: &dyn DocumentStore) {
    let c = collection("insert_get");
    assert_eq!(
        store.get(&c, &id("nope")).await.unwrap(),
        None,
        "unknown collection is empty"
    );
    let body = doc(json!({"name": "ada", "n": 1, "nested": {"list": [1, "two", null, true]}}));
    let generated = store.insert(&c, None, body.clone()).await.unwrap();
    assert!(!generated.id.as_str().is_empty());
    assert_eq!(generated.version, Version::FIRST);
    assert_eq!(generated.value, body);
    let chosen = store
        .insert(&c, Some(id("user-ü")), doc(json!({})))
        .await
        .unwrap();
    assert_eq!(chosen.id, id("user-ü"));
    assert_ne!(chosen.id, generated.id);

    let got = store.get(&c, &generated.id).await.unwrap().unwrap();
    assert_eq!(got, generated);
    let empty = store.get(&c, &chosen.id).await.unwrap().unwrap();
    assert!(empty.value.is_empty());
    assert_eq!(store.get(&c, &id("missing")).await.unwrap(), None);
}

/// Inserting a taken id is `AlreadyExists` and leaves the original alone;
/// the same id in another collection is independent.
pub async fn duplicate_id(store: &dyn DocumentStore) {
    let (c, other) = (collection("dup"), collection("dup_other"));
    store
        .insert(&c, Some(id("a")), doc(json!({"v": 1})))
        .await
        .unwrap();
    let err = store.insert(&c, Some(id("a")), doc(json!({"v": 2}))).await;
    assert_eq!(kind(err), ErrorKind::AlreadyExists);
    assert_eq!(
        store.get(&c, &id("a")).await.unwrap().unwrap().value,
        doc(json!({"v": 1}))
    );
    store
        .insert(&other, Some(id("a")), doc(json!({"v": 3})))
        .await
        .unwrap();
    assert_eq!(
        store.get(&c, &id("a")).await.unwrap().unwrap().value["v"],
        json!(1)
    );
}

/// Replace with the right version bumps it; a stale version is
/// `PreconditionFailed`; a missing id is `NotFound`.
pub async fn replace_with_versions(store: &dyn DocumentStore) {
    let c = collection("replace");
    let saved = store
        .insert(&c, Some(id("d")), doc(json!({"v": 1})))
        .await
        .unwrap();
    let v2 = store
        .replace(&c, &saved.id, doc(json!({"v": 2})), saved.version)
        .await
        .unwrap();
    assert_eq!(v2, Version(2));
    let stale = store
        .replace(&c, &saved.id, doc(json!({"v": 3})), saved.version)
        .await;
    assert_eq!(kind(stale), ErrorKind::PreconditionFailed);
    let got = store.get(&c, &saved.id).await.unwrap().unwrap();
    assert_eq!((got.version, got.value), (Version(2), doc(json!({"v": 2}))));
    let v3 = store
        .replace(&c, &saved.id, doc(json!({"w": true})), v2)
        .await
        .unwrap();
    assert_eq!(v3, Version(3));
    let missing = store
        .replace(&c, &id("ghost"), doc(json!({})), Version::FIRST)
        .await;
    assert_eq!(kind(missing), ErrorKind::NotFound);
}

/// 16 concurrent replaces with the same expected version: exactly one wins,
/// the rest are `PreconditionFailed`, and the stored document is the
/// winner's.
pub async fn concurrent_replace(store: &dyn DocumentStore) {
    let c = collection("concurrent_replace");
    let saved = store
        .insert(&c, None, doc(json!({"writer": -1})))
        .await
        .unwrap();
    let results = join_all((0..16).map(|i| {
        let (c, saved) = (&c, &saved);
        async move {
            let r = store
                .replace(c, &saved.id, doc(json!({"writer": i})), saved.version)
                .await;
            (i, r)
        }
    }))
    .await;
    let winners: Vec<i32> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (_, r) in &results {
        if let Err(err) = r {
            assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
        }
    }
    let got = store.get(&c, &saved.id).await.unwrap().unwrap();
    assert_eq!(got.version, Version(2));
    assert_eq!(got.value["writer"], json!(winners[0]));
}

/// Delete reports whether it removed something; a deleted id reads as
/// absent, cannot be replaced, and may be inserted again at version 1.
pub async fn delete(store: &dyn DocumentStore) {
    let c = collection("delete");
    store
        .insert(&c, Some(id("x")), doc(json!({"a": 1})))
        .await
        .unwrap();
    assert!(store.delete(&c, &id("x")).await.unwrap());
    assert!(!store.delete(&c, &id("x")).await.unwrap());
    assert_eq!(store.get(&c, &id("x")).await.unwrap(), None);
    let gone = store
        .replace(&c, &id("x"), doc(json!({})), Version::FIRST)
        .await;
    assert_eq!(kind(gone), ErrorKind::NotFound);
    let again = store
        .insert(&c, Some(id("x")), doc(json!({"a": 2})))
        .await
        .unwrap();
    assert_eq!(again.version, Version::FIRST);
    assert_eq!(store.count(&c, &Filter::all()).await.unwrap(), 1);
}

/// Every filter operator, including nested paths, against a fixed set.
pub async fn find_with_filters(store: &dyn DocumentStore) {
    let c = collection("filters");
    let docs = [
        (
            "d1",
            json!({"name": "ada", "age": 36, "tags": ["x", "y"], "active": true,
                      "addr": {"city": "London", "zip": "N1", "geo": {"lat": 51.5}}}),
        ),
        (
            "d2",
            json!({"name": "bob", "age": 25, "active": false, "addr": {"city": "Paris"}}),
        ),
        ("d3", json!({"name": "cy", "age": 41.5, "nick": null})),
        (
            "d4",
            json!({"name": "dee", "age": "unknown", "addr": {"city": "London"}}),
        ),
    ];
    for (key, body) in &docs {
        store
            .insert(&c, Some(id(key)), doc(body.clone()))
            .await
            .unwrap();
    }
    let cases: Vec<(Filter, &[&str])> = vec![
        (Filter::all(), &["d1", "d2", "d3", "d4"]),
        (Filter::eq("name", "ada"), &["d1"]),
        (Filter::eq("addr.city", "London"), &["d1", "d4"]),
        (Filter::eq("addr.geo.lat", 51.5), &["d1"]),
        (Filter::eq("age", 36.0), &["d1"]),
        (Filter::eq("age", "36"), &[]),
        (Filter::eq("active", false), &["d2"]),
        (Filter::eq("nick", Value::Null), &["d3"]),
        (Filter::eq("tags", json!(["x", "y"])), &["d1"]),
        (Filter::eq("tags", "x"), &[]),
        (Filter::eq("tags.1", "y"), &["d1"]),
        (Filter::eq("addr", json!({"city": "Paris"})), &["d2"]),
        (Filter::ne("addr.city", "London"), &["d2", "d3"]),
        (Filter::is_in("name", ["ada", "cy", "zed"]), &["d1", "d3"]),
        (
            Filter::is_in("age", [json!(25), json!(41.5)]),
            &["d2", "d3"],
        ),
        (Filter::is_in("name", Vec::<Value>::new()), &[]),
        (Filter::gt("age", 36), &["d3"]),
        (Filter::gte("age", 36), &["d1", "d3"]),
        (Filter::lt("age", 36), &["d2"]),
        (Filter::lte("age", 25), &["d2"]),
        (Filter::between("age", 25, 41.5), &["d1", "d2"]),
        (Filter::between("name", "b", "d"), &["d2", "d3"]),
        (Filter::gt("addr.zip", "M"), &["d1"]),
        (Filter::exists("nick"), &["d3"]),
        (Filter::exists("addr.zip"), &["d1"]),
        (Filter::exists("addr.geo.lat"), &["d1"]),
        (
            Filter::and([Filter::eq("addr.city", "London"), Filter::gt("age", 30)]),
            &["d1"],
        ),
        (
            Filter::or([Filter::eq("name", "bob"), Filter::eq("name", "dee")]),
            &["d2", "d4"],
        ),
        (Filter::or([]), &[]),
        (Filter::not(Filter::exists("addr")), &["d3"]),
        (
            Filter::not(Filter::or([
                Filter::eq("active", true),
                Filter::lt("age", 30),
            ])),
            &["d3", "d4"],
        ),
    ];
    for (filter, expected) in cases {
        let page = store.find(&c, &filter, Page::new()).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, expected, "{filter:?}");
        assert_eq!(page.next, None, "{filter:?}");
        let count = store.count(&c, &filter).await.unwrap();
        assert_eq!(count, expected.len() as u64, "count {filter:?}");
    }
    let first = store
        .find(&c, &Filter::eq("name", "ada"), Page::new())
        .await
        .unwrap();
    assert_eq!(first.items[0].value, doc(docs[0].1.clone()));
    assert_eq!(first.items[0].version, Version::FIRST);
}

/// Paging through a collection returns every matching document exactly
/// once, in ascending id order, and the last page has no cursor.
pub async fn pagination(store: &dyn DocumentStore) {
    let c = collection("pagination");
    let mut expected = BTreeSet::new();
    for i in 0..25 {
        let saved = store
            .insert(&c, None, doc(json!({"i": i, "even": i % 2 == 0})))
            .await
            .unwrap();
        expected.insert(saved.id);
    }
    for (filter, want) in [(Filter::all(), 25), (Filter::eq("even", true), 13)] {
        let mut seen = Vec::new();
        let mut page = Page::first(7);
        let mut pages = 0;
        loop {
            let found = store.find(&c, &filter, page.clone()).await.unwrap();
            pages += 1;
            assert!(found.items.len() <= 7);
            assert!(!found.items.is_empty(), "a cursor led to an empty page");
            seen.extend(found.items.into_iter().map(|v| v.id));
            match found.next {
                Some(next) => page = page.cursor(next),
                None => break,
            }
            assert!(pages < 100, "pagination does not end");
        }
        assert_eq!(seen.len(), want, "{filter:?}");
        assert_eq!(pages, want.div_ceil(7), "{filter:?}");
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "ids not ascending: {seen:?}"
        );
        assert!(seen.iter().all(|id| expected.contains(id)));
    }
    let all = store.find_all(&c, &Filter::all()).await.unwrap();
    assert_eq!(
        all.into_iter().map(|v| v.id).collect::<BTreeSet<_>>(),
        expected
    );

    // Deleting behind and inserting ahead of the cursor skips nothing that
    // stayed.
    let first = store
        .find(&c, &Filter::all(), Page::first(5))
        .await
        .unwrap();
    for item in &first.items {
        store.delete(&c, &item.id).await.unwrap();
    }
    let rest = store
        .find(
            &c,
            &Filter::all(),
            Page::first(100).cursor(first.next.unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 20);

    assert_eq!(
        kind(store.find(&c, &Filter::all(), Page::first(0)).await),
        ErrorKind::InvalidInput
    );
    let bad_cursor = store
        .find(&c, &Filter::all(), Page::new().cursor("not a cursor"))
        .await;
    assert_eq!(kind(bad_cursor), ErrorKind::InvalidInput);
}

/// Malformed collection names, documents and filters are `InvalidInput` on
/// every operation.
pub async fn invalid_input(store: &dyn DocumentStore) {
    let good = collection("invalid");
    let any = id("x");
    for bad in [
        "",
        "has space",
        "a.b",
        "$cmd",
        "système",
        "9lives",
        &"x".repeat(64),
    ] {
        assert_eq!(
            kind(store.insert(bad, None, doc(json!({}))).await),
            ErrorKind::InvalidInput,
            "{bad}"
        );
        assert_eq!(
            kind(store.get(bad, &any).await),
            ErrorKind::InvalidInput,
            "{bad}"
        );
        let replaced = store
            .replace(bad, &any, doc(json!({})), Version::FIRST)
            .await;
        assert_eq!(kind(replaced), ErrorKind::InvalidInput, "{bad}");
        assert_eq!(
            kind(store.delete(bad, &any).await),
            ErrorKind::InvalidInput,
            "{bad}"
        );
        let found = store.find(bad, &Filter::all(), Page::new()).await;
        assert_eq!(kind(found), ErrorKind::InvalidInput, "{bad}");
        assert_eq!(
            kind(store.count(bad, &Filter::all()).await),
            ErrorKind::InvalidInput,
            "{bad}"
        );
    }
    for body in [
        json!({"a.b": 1}),
        json!({"$set": 1}),
        json!({"s": "nul\u{0}"}),
        json!({"o": {"": 1}}),
    ] {
        let err = store.insert(&good, None, doc(body.clone())).await;
        assert_eq!(kind(err), ErrorKind::InvalidInput, "{body}");
    }
    let saved = store
        .insert(&good, Some(any.clone()), doc(json!({"ok": 1})))
        .await
        .unwrap();
    let bad_replace = store
        .replace(&good, &any, doc(json!({"x.y": 1})), saved.version)
        .await;
    assert_eq!(kind(bad_replace), ErrorKind::InvalidInput);
    assert_eq!(
        store.get(&good, &any).await.unwrap().unwrap().version,
        Version::FIRST
    );
    for filter in [
        Filter::eq("", 1),
        Filter::eq("a..b", 1),
        Filter::gt("a", true),
        Filter::exists("$where"),
    ] {
        let found = store.find(&good, &filter, Page::new()).await;
        assert_eq!(kind(found), ErrorKind::InvalidInput, "{filter:?}");
        assert_eq!(
            kind(store.count(&good, &filter).await),
            ErrorKind::InvalidInput,
            "{filter:?}"
        );
    }
}

/// Run every scenario.
pub async fn run_all(store: &dyn DocumentStore) {
    insert_and_get(store).await;
    duplicate_id(store).await;
    replace_with_versions(store).await;
    concurrent_replace(store).await;
    delete(store).await;
    find_with_filters(store).await;
    pagination(store).await;
    invalid_input(store).await;
}

#[cfg(test)]
mod tests {
    use crate::InMemoryDocumentStore;

    #[tokio::test]
    async fn in_memory_document_store_conforms() {
        super::run_all(&InMemoryDocumentStore::new()).await;
    }
}
