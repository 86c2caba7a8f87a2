//! Create-only and if-match puts, ranges and conditional gets.

use std::time::Duration;

use futures::future::join_all;
use plugbay_core::ErrorKind;

use super::{Scratch, assert_kind, skip};
use crate::{ByteRange, GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions};

fn create() -> PutOptions {
    PutOptions::new().mode(PutMode::Create)
}

/// A create-only put succeeds once; the second is `AlreadyExists` and
/// leaves the first content in place.
pub async fn create_only(store: &dyn ObjectStore) {
    if !store.capabilities().put_create {
        skip("create_only", "backend does not support create-only puts");
        return;
    }
    let scratch = Scratch::new("create_only");
    let key = scratch.key("once");
    store
        .put_opts(&key, "first".into(), create())
        .await
        .unwrap();
    assert_kind(
        store.put_opts(&key, "second".into(), create()).await,
        ErrorKind::AlreadyExists,
    );
    assert_eq!(store.get_bytes(&key).await.unwrap(), "first");
    assert!(store.put_if_absent(&key, "third").await.unwrap().is_none());
    // After a delete the key can be created again.
    store.delete(&key).await.unwrap();
    assert!(store.put_if_absent(&key, "fourth").await.unwrap().is_some());
    assert_eq!(store.get_bytes(&key).await.unwrap(), "fourth");
    scratch.cleanup(store).await;
}

/// Of 8 concurrent create-only puts exactly one wins; the others are
/// `AlreadyExists` and the stored content is the winner's.
pub async fn concurrent_create_only(store: &dyn ObjectStore) {
    if !store.capabilities().put_create {
        skip(
            "concurrent_create_only",
            "backend does not support create-only puts",
        );
        return;
    }
    let scratch = Scratch::new("concurrent_create_only");
    let key = scratch.key("race");
    let attempts = (0..8).map(|i| {
        let key = key.clone();
        async move {
            let body = format!("writer {i} ").repeat(1000);
            (i, store.put_opts(&key, body.into(), create()).await)
        }
    });
    let results = join_all(attempts).await;
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one creator must win: {winners:?}"
    );
    for (i, result) in &results {
        if let Err(e) = result {
            assert_eq!(e.kind(), ErrorKind::AlreadyExists, "writer {i}: {e}");
        }
    }
    let stored = store.get_bytes(&key).await.unwrap();
    assert_eq!(stored, format!("writer {} ", winners[0]).repeat(1000));
    scratch.cleanup(store).await;
}

/// `IfMatch` with the current etag writes; with a stale etag, or on an
/// absent key, it is `PreconditionFailed` and changes nothing.
pub async fn if_match(store: &dyn ObjectStore) {
    if !store.capabilities().put_if_match {
        skip("if_match", "backend does not support if-match puts");
        return;
    }
    let scratch = Scratch::new("if_match");
    let key = scratch.key("cas");
    let v1 = store.put(&key, "v1").await.unwrap();
    let e1 = v1.etag.clone().expect("put must return an etag");
    let if_match = |etag: &str| PutOptions::new().mode(PutMode::IfMatch(etag.to_owned()));
    let v2 = store
        .put_opts(&key, "v2".into(), if_match(&e1))
        .await
        .unwrap();
    assert_ne!(v2.etag.as_deref(), Some(e1.as_str()));
    assert_kind(
        store.put_opts(&key, "v3".into(), if_match(&e1)).await,
        ErrorKind::PreconditionFailed,
    );
    assert_eq!(store.get_bytes(&key).await.unwrap(), "v2");
    let absent = scratch.key("absent");
    assert_kind(
        store.put_opts(&absent, "x".into(), if_match(&e1)).await,
        ErrorKind::PreconditionFailed,
    );
    assert!(!store.exists(&absent).await.unwrap());
    scratch.cleanup(store).await;
}

/// Bounded, from-offset and suffix ranges return the right bytes and report
/// the range served; an end past the object is clamped; ranges that select
/// nothing are `InvalidInput`.
pub async fn ranges(store: &dyn ObjectStore) {
    if !store.capabilities().ranges {
        skip("ranges", "backend does not serve byte ranges");
        return;
    }
    let scratch = Scratch::new("ranges");
    let key = scratch.key("digits");
    let data: Vec<u8> = (0..100u8).collect();
    store.put(&key, data.clone()).await.unwrap();
    let cases: [(ByteRange, std::ops::Range<u64>); 5] = [
        (ByteRange::new(10..20), 10..20),
        (ByteRange::from_offset(90), 90..100),
        (ByteRange::suffix(5), 95..100),
        (ByteRange::new(95..200), 95..100),
        (ByteRange::suffix(500), 0..100),
    ];
    for (range, served) in cases {
        let got = store
            .get_opts(&key, GetOptions::new().range(range))
            .await
            .unwrap();
        assert_eq!(got.range, served, "{range}");
        assert_eq!(got.meta.size, 100, "meta.size is the whole object");
        let bytes = got.bytes().await.unwrap();
        let expected = &data[served.start as usize..served.end as usize];
        assert_eq!(&bytes[..], expected, "{range}");
    }
    assert_eq!(store.get_range(&key, 0..1).await.unwrap(), vec![0u8]);
    for bad in [
        ByteRange::from_offset(100),
        ByteRange::new(100..110),
        ByteRange::suffix(0),
    ] {
        assert_kind(
            store.get_opts(&key, GetOptions::new().range(bad)).await,
            ErrorKind::InvalidInput,
        );
    }
    scratch.cleanup(store).await;
}

/// `if_match`/`if_none_match` and the date conditions; every failed
/// condition is `PreconditionFailed` (see [`GetOptions`]).
pub async fn conditional_gets(store: &dyn ObjectStore) {
    if !store.capabilities().get_conditions {
        skip(
            "conditional_gets",
            "backend does not evaluate get conditions",
        );
        return;
    }
    let scratch = Scratch::new("conditional_gets");
    let key = scratch.key("cond");
    store.put(&key, "conditional").await.unwrap();
    let head = store.head(&key).await.unwrap();
    let etag = head.etag.clone().expect("head must report an etag");
    let modified = head.last_modified.expect("head must report last_modified");
    let hour = Duration::from_secs(3600);

    let passing = [
        GetOptions::new().if_match(etag.clone()),
        GetOptions::new().if_none_match("\"not-the-etag\""),
        GetOptions::new().if_modified_since(modified - hour),
        GetOptions::new().if_unmodified_since(modified + hour),
    ];
    for opts in passing {
        let got = store.get_opts(&key, opts.clone()).await;
        let got = got.unwrap_or_else(|e| panic!("{opts:?} should pass: {e}"));
        assert_eq!(got.bytes().await.unwrap(), "conditional");
    }
    let failing = [
        GetOptions::new().if_match("\"not-the-etag\""),
        GetOptions::new().if_none_match(etag.clone()),
        GetOptions::new().if_modified_since(modified + hour),
        GetOptions::new().if_unmodified_since(modified - hour),
    ];
    for opts in failing {
        assert_kind(
            store.get_opts(&key, opts).await,
            ErrorKind::PreconditionFailed,
        );
    }
    // Conditions apply to ranged reads as well.
    assert_kind(
        store
            .get_opts(&key, GetOptions::new().range(0..4).if_none_match(etag))
            .await,
        ErrorKind::PreconditionFailed,
    );
    scratch.cleanup(store).await;
}
