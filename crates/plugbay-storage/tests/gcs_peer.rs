//! The GCS backend against fake-gcs-server (an in-memory GCS fake, started
//! by `scripts/peers.d/gcs.sh`, which exports `PLUGBAY_TEST_GCS_ENDPOINT`
//! and `PLUGBAY_TEST_GCS_BUCKET`). Without them the tests print why and
//! pass, except with `CI=true`, where they fail.
//!
//! What fake-gcs-server 1.54 does, as checked here:
//!
//! | feature | fake-gcs-server |
//! | --- | --- |
//! | multipart uploads with `ifGenerationMatch` (0 and a generation) | yes |
//! | resumable sessions, 308 + `Range` per chunk | yes |
//! | status query `bytes */*` mid-upload | no: it finalises the object (the resume path is tested on wiremock) |
//! | `ifGenerationMatch=0` on `rewriteTo` | ignored: create-only copies are declared unsupported |
//! | `ifGenerationMatch` on `alt=media` downloads | ignored (plugbay checks the generation itself) |
//! | `maxResults` counting prefixes | no: every prefix on every page (plugbay cuts pages itself) |
//! | `startOffset`, `Range`, `PATCH` metadata | yes |
//! | signed URLs | no key, so presign is `Unsupported` |
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use futures::stream;
use plugbay_storage::conformance::{self, Scratch, checksum, pseudo_random};
use plugbay_storage::gcs::{FirebaseStorage, GcsBuilder, GcsStore};
use plugbay_storage::{Body, ListOptions, ObjectStore, ObjectStoreExt, PutOptions};

const KIB: usize = 1024;

fn builder() -> Option<GcsBuilder> {
    let Ok(endpoint) = std::env::var("PLUGBAY_TEST_GCS_ENDPOINT") else {
        let why =
            "PLUGBAY_TEST_GCS_ENDPOINT is not set: start the gcs peer (scripts/peers.d/gcs.sh)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{why}");
        }
        println!("skipping: {why}");
        return None;
    };
    let bucket = std::env::var("PLUGBAY_TEST_GCS_BUCKET").unwrap_or_else(|_| "plugbay-test".into());
    Some(
        GcsBuilder::new(bucket)
            .emulator(&endpoint)
            .conditional_copy(false),
    )
}

fn store() -> Option<GcsStore> {
    Some(builder()?.build().unwrap())
}

#[tokio::test]
async fn conformance_suite() {
    let Some(store) = store() else { return };
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn resumable_upload_in_several_chunks() {
    let Some(builder) = builder() else { return };
    let store = builder.chunk_size(256 * KIB).build().unwrap();
    let scratch = Scratch::new("gcs_resumable");
    // 4 full chunks and a tail, streamed in 64 KiB pieces.
    let data = pseudo_random(11, 4 * 256 * KIB + 1234);
    let pieces: Vec<plugbay_core::Result<Bytes>> = data
        .chunks(64 * KIB)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let key = scratch.key("big/stream.bin");
    let opts = PutOptions::new()
        .content_type("application/x-test")
        .metadata("origin", "resumable");
    let meta = store
        .put_opts(&key, Body::from_stream(stream::iter(pieces)), opts)
        .await
        .unwrap();
    assert_eq!(meta.size, data.len() as u64);
    let head = store.head(&key).await.unwrap();
    assert_eq!(head.etag, meta.etag);
    assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
    assert_eq!(
        head.metadata.get("origin").map(String::as_str),
        Some("resumable")
    );
    assert_eq!(
        checksum(&store.get_bytes(&key).await.unwrap()),
        checksum(&data)
    );

    // A large in-memory body goes the same way, sliced without copying.
    let whole = scratch.key("big/bytes.bin");
    let data2 = pseudo_random(12, 3 * 256 * KIB + 7);
    store.put(&whole, data2.clone()).await.unwrap();
    assert_eq!(
        store
            .get_range(&whole, 256 * KIB as u64..256 * KIB as u64 + 10)
            .await
            .unwrap(),
        &data2[256 * KIB..256 * KIB + 10]
    );
    scratch.cleanup(&store).await;
}

#[tokio::test]
async fn awkward_names_round_trip_and_list() {
    let Some(store) = store() else { return };
    let scratch = Scratch::new("gcs_names");
    let names = [
        "a b/c d.txt",
        "plus+sign/x+y",
        "ünï/日本 🐈",
        "q?uery#frag&amp=1",
    ];
    for name in names {
        let key = scratch.key(name);
        store.put(&key, name.to_owned()).await.unwrap();
        assert_eq!(store.head(&key).await.unwrap().key, key);
        assert_eq!(store.get_bytes(&key).await.unwrap(), name);
    }
    let listed = store.list_all(scratch.prefix()).await.unwrap();
    assert_eq!(listed.len(), names.len());
    let grouped = store
        .list(scratch.prefix(), ListOptions::new().delimiter("/"))
        .await
        .unwrap();
    assert_eq!(grouped.common_prefixes.len(), 3, "{grouped:?}");
    assert_eq!(grouped.objects.len(), 1);
    scratch.cleanup(&store).await;
}

#[tokio::test]
async fn firebase_download_urls_carry_a_token() {
    let Some(builder) = builder() else { return };
    let storage: FirebaseStorage = builder.download_tokens(true).build_firebase().unwrap();
    let scratch = Scratch::new("firebase_tokens");
    let key = scratch.key("avatars/u 42.png");
    storage
        .put(&key, vec![0x89u8, b'P', b'N', b'G'])
        .await
        .unwrap();
    let head = storage.head(&key).await.unwrap();
    let token = head
        .metadata
        .get("firebaseStorageDownloadTokens")
        .cloned()
        .unwrap();
    assert_eq!(token.len(), 36, "a UUID: {token}");
    let url = storage.download_url(&key).await.unwrap();
    assert!(
        url.as_str().ends_with(&format!("?alt=media&token={token}")),
        "{url}"
    );
    assert!(url.as_str().contains("/v0/b/plugbay-test/o/"), "{url}");
    assert!(url.as_str().contains("avatars%2Fu%2042.png"), "{url}");

    // An object written without a token gets one on first request, kept after.
    let plain = GcsBuilder::new(storage.gcs().bucket())
        .emulator(storage.gcs().config().endpoint.as_str())
        .build()
        .unwrap();
    let other = scratch.key("no-token.txt");
    plain.put(&other, "x").await.unwrap();
    assert!(plain.head(&other).await.unwrap().metadata.is_empty());
    let first = storage.download_url(&other).await.unwrap();
    let second = storage.download_url(&other).await.unwrap();
    assert_eq!(first, second);
    let minted = plain.head(&other).await.unwrap();
    let stored = minted
        .metadata
        .get("firebaseStorageDownloadTokens")
        .unwrap();
    assert!(first.as_str().ends_with(stored.as_str()));
    assert_eq!(storage.get_bytes(&other).await.unwrap(), "x");
    scratch.cleanup(&storage).await;
}
