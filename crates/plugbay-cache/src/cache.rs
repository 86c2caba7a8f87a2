//! [`Cache`]: typed JSON values over any [`KeyValue`], namespaced, with
//! single-flight loading.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use plugbay_core::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::kv::{DynKeyValue, KeyValue};

/// A typed convenience over a [`DynKeyValue`]: values are stored as JSON
/// under `"{namespace}:{key}"`, so several caches can share one store.
///
/// [`Cache::get_or_insert_with`] loads a missing value once per process even
/// when many tasks miss at the same time (single flight): the first caller
/// computes and stores it while the others wait, then read what was stored.
/// Across processes there is no coordination (each process may compute once);
/// use [`KeyValue::set_if_absent`] as a lock if that matters.
///
/// Cloning is cheap and shares the single-flight state.
///
/// ```
/// # tokio_test_block_on(async {
/// use std::time::Duration;
/// use plugbay_cache::{Cache, InMemoryKeyValue};
///
/// let cache = Cache::new(InMemoryKeyValue::new().into_dyn(), "users");
/// let name: String = cache
///     .get_or_insert_with("42", Some(Duration::from_secs(60)), || async {
///         Ok("Ada".to_string())
///     })
///     .await?;
/// assert_eq!(name, "Ada");
/// assert_eq!(cache.get_json::<String>("42").await?.as_deref(), Some("Ada"));
/// # Ok::<(), plugbay_core::Error>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Cache {
    kv: DynKeyValue,
    namespace: Arc<str>,
    inflight: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("backend", &self.kv.backend())
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache over `kv` whose keys are prefixed with `"{namespace}:"`.
    pub fn new(kv: DynKeyValue, namespace: impl Into<String>) -> Self {
        Cache {
            kv,
            namespace: Arc::from(namespace.into()),
            inflight: Arc::default(),
        }
    }

    /// The namespace this cache prefixes its keys with.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The underlying store.
    pub fn store(&self) -> &DynKeyValue {
        &self.kv
    }

    /// The full key stored in the underlying store for `key`.
    pub fn full_key(&self, key: &str) -> String {
        format!("{}:{key}", self.namespace)
    }

    /// The value under `key`, decoded from JSON; `None` if absent or expired.
    /// A value that is not valid JSON for `T` is a `Protocol` error.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.kv.get(&self.full_key(key)).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Store `value` as JSON under `key`, replacing any value and TTL.
    pub async fn set_json<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<()> {
        let bytes = Bytes::from(serde_json::to_vec(value)?);
        self.kv.set(&self.full_key(key), bytes, ttl).await
    }

    /// Delete `key`; `true` if it existed.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        self.kv.delete(&self.full_key(key)).await
    }

    /// The value under `key`, or the result of `load` stored with `ttl`.
    ///
    /// Concurrent misses on the same key in this process call `load` once;
    /// the others wait and read the stored value. If `load` fails, its error
    /// goes to its caller only and the next waiter tries `load` itself. A
    /// stored value that does not decode as `T` (say, after a schema change)
    /// counts as a miss and is overwritten.
    pub async fn get_or_insert_with<T, F, Fut>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        load: F,
    ) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let full_key = self.full_key(key);
        if let Some(hit) = self.decoded::<T>(&full_key).await? {
            return Ok(hit);
        }
        let flight = Flight::join(&self.inflight, &full_key);
        let _turn = flight.lock.lock().await;
        // Whoever held the lock before us may have stored the value.
        if let Some(hit) = self.decoded::<T>(&full_key).await? {
            return Ok(hit);
        }
        let value = load().await?;
        let bytes = Bytes::from(serde_json::to_vec(&value)?);
        self.kv.set(&full_key, bytes, ttl).await?;
        Ok(value)
    }

    async fn decoded<T: DeserializeOwned>(&self, full_key: &str) -> Result<Option<T>> {
        let Some(bytes) = self.kv.get(full_key).await? else {
            return Ok(None);
        };
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Some(value)),
            Err(err) => {
                tracing::warn!(key = full_key, error = %err, "cached value does not decode; reloading");
                Ok(None)
            }
        }
    }
}

/// One key's single-flight lock; removes its map entry when the last
/// interested caller is gone, including when a caller's future is dropped.
struct Flight<'a> {
    map: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    key: &'a str,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl<'a> Flight<'a> {
    fn join(map: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>, key: &'a str) -> Self {
        let mut guard = map.lock().unwrap_or_else(PoisonError::into_inner);
        let lock = Arc::clone(guard.entry(key.to_owned()).or_default());
        Flight { map, key, lock }
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut guard = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        // Two references left: the map's and ours. Counts only change under
        // the map lock, so nobody can be joining concurrently.
        if Arc::strong_count(&self.lock) == 2 {
            guard.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryKeyValue;
    use plugbay_core::{Error, ErrorKind};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn cache() -> Cache {
        Cache::new(InMemoryKeyValue::new().into_dyn(), "ns")
    }

    #[tokio::test]
    async fn json_round_trip_under_namespace() {
        let cache = cache();
        cache.set_json("k", &vec![1, 2, 3], None).await.unwrap();
        assert_eq!(
            cache.get_json::<Vec<u32>>("k").await.unwrap(),
            Some(vec![1, 2, 3])
        );
        let raw = cache.store().get("ns:k").await.unwrap().unwrap();
        assert_eq!(&raw[..], b"[1,2,3]");
        assert_eq!(
            cache.get_json::<String>("k").await.unwrap_err().kind(),
            ErrorKind::Protocol
        );
        assert!(cache.delete("k").await.unwrap());
        assert_eq!(cache.get_json::<Vec<u32>>("k").await.unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_misses_load_once() {
        let cache = cache();
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks = (0..16)
            .map(|_| {
                let cache = cache.clone();
                let calls = Arc::clone(&calls);
                tokio::spawn(async move {
                    cache
                        .get_or_insert_with("k", None, || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok(7u32)
                        })
                        .await
                        .unwrap()
                })
            })
            .collect::<Vec<_>>();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(cache.inflight.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn failed_load_is_not_cached_and_bad_json_reloads() {
        let cache = cache();
        let err = cache
            .get_or_insert_with::<u32, _, _>("k", None, || async {
                Err(Error::new(ErrorKind::Unavailable, "down"))
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(cache.get_json::<u32>("k").await.unwrap(), None);

        cache
            .store()
            .set("ns:k", Bytes::from_static(b"not json"), None)
            .await
            .unwrap();
        let value = cache
            .get_or_insert_with("k", None, || async { Ok(5u32) })
            .await
            .unwrap();
        assert_eq!(value, 5);
        assert_eq!(cache.get_json::<u32>("k").await.unwrap(), Some(5));
    }
}
