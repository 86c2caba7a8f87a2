//! Round trips, missing objects, deletes, awkward keys and copies.

use bytes::Bytes;
use plugbay_core::ErrorKind;

use super::{Scratch, assert_kind, skip};
use crate::{CopyMode, CopyOptions, ObjectStore, ObjectStoreExt, PutOptions};

/// Put then get returns the same bytes; head reports size, content type,
/// metadata and the same etag as the put; an overwrite changes the etag.
pub async fn put_get_round_trip(store: &dyn ObjectStore) {
    let scratch = Scratch::new("put_get_round_trip");
    let key = scratch.key("greeting.txt");
    let opts = PutOptions::new()
        .content_type("text/plain; charset=utf-8")
        .cache_control("max-age=60")
        .metadata("owner", "conformance")
        .metadata("purpose", "round-trip");
    let put = store
        .put_opts(&key, Bytes::from_static(b"hello world").into(), opts)
        .await
        .unwrap();
    assert_eq!(put.key, key);
    assert_eq!(put.size, 11);

    let got = store.get(&key).await.unwrap();
    assert_eq!(got.range, 0..11);
    assert_eq!(got.meta.size, 11);
    assert_eq!(got.bytes().await.unwrap(), "hello world");

    let head = store.head(&key).await.unwrap();
    assert_eq!(head.key, key);
    assert_eq!(head.size, 11);
    assert!(head.etag.is_some(), "head must report an etag");
    assert_eq!(head.etag, put.etag, "put and head disagree on the etag");
    assert!(head.last_modified.is_some());
    assert_eq!(
        head.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    if store.capabilities().custom_metadata {
        assert_eq!(head.cache_control.as_deref(), Some("max-age=60"));
        assert_eq!(
            head.metadata.get("owner").map(String::as_str),
            Some("conformance")
        );
        assert_eq!(
            head.metadata.get("purpose").map(String::as_str),
            Some("round-trip")
        );
    } else {
        skip(
            "put_get_round_trip/metadata",
            "backend does not store custom metadata",
        );
    }

    let second = store.put(&key, "goodbye").await.unwrap();
    assert_eq!(store.get_bytes(&key).await.unwrap(), "goodbye");
    assert_ne!(second.etag, head.etag, "etag must change with the content");
    let again = store.put(&key, "goodbye").await.unwrap();
    assert_eq!(store.head(&key).await.unwrap().size, 7);
    assert!(again.etag.is_some());
    scratch.cleanup(store).await;
}

/// Zero-byte and one-byte objects round-trip with the right sizes.
pub async fn tiny_objects(store: &dyn ObjectStore) {
    let scratch = Scratch::new("tiny_objects");
    let empty = scratch.key("empty");
    let one = scratch.key("one");
    store.put(&empty, Bytes::new()).await.unwrap();
    store.put(&one, vec![0x42u8]).await.unwrap();
    assert_eq!(store.head(&empty).await.unwrap().size, 0);
    assert_eq!(store.head(&one).await.unwrap().size, 1);
    let got = store.get(&empty).await.unwrap();
    assert_eq!(got.range, 0..0);
    assert!(got.bytes().await.unwrap().is_empty());
    assert_eq!(store.get_bytes(&one).await.unwrap(), vec![0x42u8]);
    let listed = store.list_all(scratch.prefix()).await.unwrap();
    let sizes: Vec<u64> = listed.iter().map(|o| o.size).collect();
    assert_eq!(sizes, [0, 1], "{listed:?}");
    scratch.cleanup(store).await;
}

/// Get and head of an absent key are `NotFound`; `exists` is false.
pub async fn missing_objects(store: &dyn ObjectStore) {
    let scratch = Scratch::new("missing_objects");
    let key = scratch.key("never-written");
    assert_kind(store.get(&key).await, ErrorKind::NotFound);
    assert_kind(store.head(&key).await, ErrorKind::NotFound);
    assert!(!store.exists(&key).await.unwrap());
    let nested = scratch.key("no/such/folder/file");
    assert_kind(store.get(&nested).await, ErrorKind::NotFound);
    assert!(store.list_all(scratch.prefix()).await.unwrap().is_empty());
}

/// Delete removes an object; deleting again, or a key never written, is Ok.
pub async fn delete_is_idempotent(store: &dyn ObjectStore) {
    let scratch = Scratch::new("delete_is_idempotent");
    let key = scratch.key("deep/er/file.bin");
    store.put(&key, "x").await.unwrap();
    assert!(store.exists(&key).await.unwrap());
    store.delete(&key).await.unwrap();
    assert_kind(store.head(&key).await, ErrorKind::NotFound);
    store.delete(&key).await.unwrap();
    store.delete(&scratch.key("never")).await.unwrap();
    assert!(store.list_all(scratch.prefix()).await.unwrap().is_empty());
    // The name is free again.
    store.put(&key, "y").await.unwrap();
    assert_eq!(store.get_bytes(&key).await.unwrap(), "y");
    scratch.cleanup(store).await;
}

/// Keys with spaces, Unicode, `+`, `=`, `%` and `~` round-trip and list
/// under their exact names.
pub async fn awkward_keys(store: &dyn ObjectStore) {
    let scratch = Scratch::new("awkward_keys");
    let names = [
        "with space/a b.txt",
        "unicode/ünïcødé/日本語 🐈.txt",
        "plus/a+b=c&d.txt",
        "percent/%20x%2F~y",
        "quote/it's \"here\"",
    ];
    for (i, name) in names.iter().enumerate() {
        let key = scratch.key(name);
        store.put(&key, format!("body {i}")).await.unwrap();
        assert_eq!(store.get_bytes(&key).await.unwrap(), format!("body {i}"));
    }
    let listed: Vec<String> = store
        .list_all(scratch.prefix())
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key.into_string())
        .collect();
    let mut expected: Vec<String> = names.iter().map(|n| scratch.key(n).into_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    scratch.cleanup(store).await;
}

/// Copy duplicates content, content type and metadata; a missing source is
/// `NotFound`; create-only copy onto an existing key is `AlreadyExists`.
pub async fn copy(store: &dyn ObjectStore) {
    let caps = store.capabilities();
    if !caps.copy {
        skip("copy", "backend does not support copy");
        return;
    }
    let scratch = Scratch::new("copy");
    let src = scratch.key("src/original.json");
    let dst = scratch.key("dst/copy.json");
    let opts = PutOptions::new()
        .content_type("application/json")
        .metadata("origin", "copy-test");
    store
        .put_opts(&src, Bytes::from_static(b"{\"a\":1}").into(), opts)
        .await
        .unwrap();
    let copied = store.copy(&src, &dst, CopyOptions::new()).await.unwrap();
    assert_eq!(copied.key, dst);
    assert_eq!(copied.size, 7);
    assert_eq!(store.get_bytes(&dst).await.unwrap(), "{\"a\":1}");
    assert_eq!(store.get_bytes(&src).await.unwrap(), "{\"a\":1}");
    let head = store.head(&dst).await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("application/json"));
    if caps.custom_metadata {
        assert_eq!(
            head.metadata.get("origin").map(String::as_str),
            Some("copy-test")
        );
    }

    assert_kind(
        store
            .copy(&scratch.key("missing"), &dst, CopyOptions::new())
            .await,
        ErrorKind::NotFound,
    );

    // Overwrite is the default.
    store.put(&src, "v2").await.unwrap();
    store.copy(&src, &dst, CopyOptions::new()).await.unwrap();
    assert_eq!(store.get_bytes(&dst).await.unwrap(), "v2");

    if caps.copy_create {
        let create = CopyOptions::new().mode(CopyMode::Create);
        assert_kind(
            store.copy(&src, &dst, create.clone()).await,
            ErrorKind::AlreadyExists,
        );
        assert_eq!(store.get_bytes(&dst).await.unwrap(), "v2");
        let fresh = scratch.key("dst/fresh");
        store.copy(&src, &fresh, create).await.unwrap();
        assert_eq!(store.get_bytes(&fresh).await.unwrap(), "v2");
    } else {
        skip(
            "copy/create-only",
            "backend does not support create-only copy",
        );
    }
    scratch.cleanup(store).await;
}
