//! The [`KeyValue`] trait: a small, atomic key-value store with TTLs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use plugbay_core::Result;

/// A key-value store with per-key TTLs and the few atomic operations that
/// sessions, refresh-token families, webhook replay dedupe and rate limits
/// need.
///
/// Every method is atomic with respect to the others on the same key. Keys
/// are opaque strings; callers namespace them (`session:…`, `rt:…`).
/// A `ttl` of `None` means the key does not expire.
#[async_trait]
pub trait KeyValue: Send + Sync + std::fmt::Debug {
    /// The backend's short name (`"memory"`, `"redis"`), for `/readyz` and logs.
    fn backend(&self) -> &'static str;

    /// The value under `key`, or `None` if absent or expired.
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;

    /// Store `value` under `key`, replacing any value and its TTL.
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()>;

    /// Store `value` only if `key` is absent; `true` if this call stored it.
    /// Exactly one of several concurrent callers wins.
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool>;

    /// Atomically read and delete `key` (get-and-delete). Of several
    /// concurrent callers, exactly one receives the value.
    async fn take(&self, key: &str) -> Result<Option<Bytes>>;

    /// Delete `key`; `true` if it existed.
    async fn delete(&self, key: &str) -> Result<bool>;

    /// Add `by` to the integer under `key` (absent counts as 0) and return
    /// the new value. `ttl` is applied only when this call creates the key.
    /// A non-integer value is an `InvalidInput` error.
    async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> Result<i64>;

    /// Set a new TTL on an existing key; `false` if the key is absent.
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool>;

    /// Check that the backend answers (used by health checks).
    async fn ping(&self) -> Result<()> {
        self.get("plugbay:ping").await.map(|_| ())
    }
}

/// A shared, type-erased [`KeyValue`].
pub type DynKeyValue = Arc<dyn KeyValue>;

macro_rules! forward_key_value {
    ($ty:ty) => {
        #[async_trait]
        impl<T: KeyValue + ?Sized> KeyValue for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            async fn get(&self, key: &str) -> Result<Option<Bytes>> {
                (**self).get(key).await
            }
            async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
                (**self).set(key, value, ttl).await
            }
            async fn set_if_absent(
                &self,
                key: &str,
                value: Bytes,
                ttl: Option<Duration>,
            ) -> Result<bool> {
                (**self).set_if_absent(key, value, ttl).await
            }
            async fn take(&self, key: &str) -> Result<Option<Bytes>> {
                (**self).take(key).await
            }
            async fn delete(&self, key: &str) -> Result<bool> {
                (**self).delete(key).await
            }
            async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> Result<i64> {
                (**self).incr(key, by, ttl).await
            }
            async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
                (**self).expire(key, ttl).await
            }
            async fn ping(&self) -> Result<()> {
                (**self).ping().await
            }
        }
    };
}

forward_key_value!(Arc<T>);
forward_key_value!(Box<T>);
