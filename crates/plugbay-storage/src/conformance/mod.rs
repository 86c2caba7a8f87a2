//! The [`ObjectStore`] conformance suite (feature `conformance`).
//!
//! Every backend runs these scenarios: the memory and fs stores in
//! `cargo test`, S3/GCS against real local peers, Cloudinary against stubs.
//! Each scenario takes `&dyn ObjectStore`, works under its own unique
//! prefix (`plugbay-conformance/<uuid>/<scenario>/`) so runs can share a
//! real bucket, removes what it wrote, asserts error *kinds*, and skips
//! with a printed reason what the backend's capabilities rule out.
//!
//! ```no_run
//! # async fn demo() {
//! let store = plugbay_storage::InMemoryStore::new();
//! plugbay_storage::conformance::run_all(&store).await;
//! # }
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod basic;
mod conditional;
mod listing;
mod streaming;

use std::time::Duration;

use futures::StreamExt;
use plugbay_core::ErrorKind;
use sha2::{Digest, Sha256};

use crate::{Key, ObjectStore, ObjectStoreExt, PresignMethod};

pub use basic::{
    awkward_keys, copy, delete_is_idempotent, missing_objects, put_get_round_trip, tiny_objects,
};
pub use conditional::{concurrent_create_only, conditional_gets, create_only, if_match, ranges};
pub use listing::{list_with_delimiter, pagination};
pub use streaming::{failed_stream_leaves_nothing, random_round_trip, streaming_put};

/// Run every scenario, in order, printing each name.
pub async fn run_all(store: &dyn ObjectStore) {
    println!("conformance: running against `{}`", store.backend());
    put_get_round_trip(store).await;
    tiny_objects(store).await;
    missing_objects(store).await;
    delete_is_idempotent(store).await;
    awkward_keys(store).await;
    copy(store).await;
    create_only(store).await;
    concurrent_create_only(store).await;
    if_match(store).await;
    ranges(store).await;
    conditional_gets(store).await;
    list_with_delimiter(store).await;
    pagination(store).await;
    streaming_put(store).await;
    failed_stream_leaves_nothing(store).await;
    random_round_trip(store).await;
    presign(store).await;
}

/// `presign` gives an http(s) URL where the capabilities say so, and
/// `Unsupported` otherwise.
pub async fn presign(store: &dyn ObjectStore) {
    let scratch = Scratch::new("presign");
    let key = scratch.key("file.txt");
    store.put(&key, "presigned").await.unwrap();
    let caps = store.capabilities();
    for method in [PresignMethod::Get, PresignMethod::Put] {
        let result = store.presign(method, &key, Duration::from_secs(300)).await;
        if caps.presign(method) {
            let url = result.unwrap_or_else(|e| panic!("presign {method:?}: {e}"));
            assert!(matches!(url.scheme(), "http" | "https"), "{url}");
        } else {
            let err = result.expect_err("presign should be unsupported");
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        }
    }
    scratch.cleanup(store).await;
}

/// A unique key prefix for one scenario run.
#[derive(Debug, Clone)]
pub struct Scratch {
    prefix: String,
}

impl Scratch {
    /// `plugbay-conformance/<uuid>/<name>/`.
    pub fn new(name: &str) -> Scratch {
        Scratch {
            prefix: format!(
                "plugbay-conformance/{}/{name}/",
                uuid::Uuid::new_v4().simple()
            ),
        }
    }

    /// The prefix, ending in `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A key under the prefix.
    pub fn key(&self, name: &str) -> Key {
        Key::new(format!("{}{name}", self.prefix)).unwrap()
    }

    /// Delete everything under the prefix and check it is gone.
    pub async fn cleanup(&self, store: &dyn ObjectStore) {
        let objects = store.list_all(&self.prefix).await.unwrap();
        futures::stream::iter(objects)
            .for_each_concurrent(16, |o| async move {
                store.delete(&o.key).await.unwrap();
            })
            .await;
        assert!(store.list_all(&self.prefix).await.unwrap().is_empty());
    }
}

/// Print why a scenario (or part of one) is skipped.
pub fn skip(scenario: &str, reason: &str) {
    println!("conformance: skipping {scenario}: {reason}");
}

/// Hex SHA-256 of `data`.
pub fn checksum(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Deterministic pseudo-random bytes (splitmix64), so failures reproduce.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Assert `result` failed with `kind`.
#[track_caller]
pub fn assert_kind<T: std::fmt::Debug>(result: plugbay_core::Result<T>, kind: ErrorKind) {
    match result {
        Ok(v) => panic!("expected a {kind} error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "expected {kind}, got {e}"),
    }
}
