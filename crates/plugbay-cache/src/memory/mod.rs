//! [`InMemoryKeyValue`]: the always-compiled, in-process [`KeyValue`].
//!
//! # Why a sharded `Mutex<HashMap>` and not `moka`
//!
//! `moka` was the first candidate. It was set aside because the trait needs
//! every operation (including plain `get`, `set` and `delete`) to be atomic
//! with the compare-and-set style ones, and moka serialises only calls that go
//! through its entry-compute API; per-entry TTLs would have to travel inside
//! the value (with a "keep the current TTL" flag for `incr`); its clock is its
//! own, so tests could not drive expiry with tokio's paused time; and its size
//! bound is enforced eventually, not exactly. A sharded map gives all of that
//! in a few hundred lines: each operation runs entirely under its shard's
//! lock, with no `.await` inside, so it is atomic by construction.
//!
//! # Expiry
//!
//! Each shard keeps an index of entries ordered by expiry instant. Every
//! operation first drops the entries of its shard whose instant has passed
//! (the front of that index, O(expired · log n)), so an expired key is never
//! returned and expired keys do not pile up in shards that are written to.
//! [`InMemoryKeyValue::purge_expired`] sweeps every shard, for callers that
//! want to reclaim memory of idle shards on a timer. Time is
//! [`tokio::time::Instant`], so tests can pause and advance it.
//!
//! # Capacity
//!
//! With [`InMemoryKeyValueBuilder::max_entries`], storing a new key in a full
//! shard first drops expired entries, then evicts the least recently used
//! entry of that shard (reads and writes both count as use). The bound is
//! split evenly across shards; it is exact with one shard, which is the
//! default for bounds under 512 entries (larger bounds get up to 16 shards).

use std::collections::hash_map::RandomState;

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use plugbay_core::{Error, Result};
use tokio::time::Instant;

use crate::kv::KeyValue;

mod shard;
use shard::Shard;

const DEFAULT_SHARDS: usize = 16;
/// Bounds smaller than this get a single shard, so the bound is exact.
const MIN_ENTRIES_PER_SHARD: usize = 256;

/// Builder for [`InMemoryKeyValue`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InMemoryKeyValueBuilder {
    max_entries: Option<usize>,
    shards: Option<usize>,
}

impl InMemoryKeyValueBuilder {
    /// A builder with no size bound and the default shard count.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bound the number of entries; past it the least recently used entry of
    /// the shard is evicted. `0` means unbounded.
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = (max_entries > 0).then_some(max_entries);
        self
    }

    /// Number of independently locked shards (at least 1). The default is 16,
    /// or 1 for small bounds.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards.max(1));
        self
    }

    /// Build the store.
    pub fn build(self) -> InMemoryKeyValue {
        let shards = self.shards.unwrap_or(match self.max_entries {
            Some(max) => (max / MIN_ENTRIES_PER_SHARD).clamp(1, DEFAULT_SHARDS),
            None => DEFAULT_SHARDS,
        });
        let per_shard = self.max_entries.map(|max| max.div_ceil(shards));
        InMemoryKeyValue {
            inner: Arc::new(Inner {
                shards: (0..shards)
                    .map(|_| Mutex::new(Shard::new(per_shard)))
                    .collect(),
                hasher: RandomState::new(),
                max_entries: self.max_entries,
            }),
        }
    }
}

/// An in-process [`KeyValue`] with exact TTLs, atomic operations and an
/// optional LRU size bound.
///
/// Cloning is cheap and shares the storage. Values live only as long as the
/// process: use it for tests, development and single-instance deployments.
///
/// ```
/// # tokio_test_block_on(async {
/// use std::time::Duration;
/// use plugbay_cache::{InMemoryKeyValue, KeyValue};
///
/// let kv = InMemoryKeyValue::new();
/// assert!(kv.set_if_absent("lock:job-7", "me".into(), Some(Duration::from_secs(30))).await?);
/// assert!(!kv.set_if_absent("lock:job-7", "you".into(), None).await?);
/// assert_eq!(kv.incr("hits", 2, None).await?, 2);
/// assert_eq!(kv.take("lock:job-7").await?.as_deref(), Some(&b"me"[..]));
/// # Ok::<(), plugbay_core::Error>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryKeyValue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    max_entries: Option<usize>,
}

impl Default for InMemoryKeyValue {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryKeyValue {
    /// An unbounded store with the default shard count.
    pub fn new() -> Self {
        InMemoryKeyValueBuilder::new().build()
    }

    /// A builder for a bounded store or a custom shard count.
    pub fn builder() -> InMemoryKeyValueBuilder {
        InMemoryKeyValueBuilder::new()
    }

    /// This store as a shared [`DynKeyValue`](crate::DynKeyValue).
    pub fn into_dyn(self) -> crate::DynKeyValue {
        Arc::new(self)
    }

    /// The configured entry bound, if any.
    pub fn max_entries(&self) -> Option<usize> {
        self.inner.max_entries
    }

    /// The number of live (unexpired) entries. Sweeps every shard.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.inner
            .shards
            .iter()
            .map(|shard| {
                let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
                shard.purge_expired(now);
                shard.map.len()
            })
            .sum()
    }

    /// Whether the store holds no live entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop every expired entry in every shard now. Operations already purge
    /// their own shard; call this on a timer to reclaim memory of shards that
    /// are no longer touched.
    pub fn purge_expired(&self) {
        let _ = self.len();
    }

    /// Run `op` on `key`'s shard under its lock, after purging what expired.
    fn locked<R>(&self, key: &str, op: impl FnOnce(&mut Shard, Instant) -> R) -> R {
        let index = (self.inner.hasher.hash_one(key) as usize) % self.inner.shards.len();
        let mut shard = self.inner.shards[index]
            .lock()
            // A panic under the lock can only come from allocation failure;
            // the maps stay usable, so keep serving rather than poisoning.
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        shard.purge_expired(now);
        op(&mut shard, now)
    }

    /// Atomically read the live value of `key` and optionally replace it.
    ///
    /// `op` gets the current value and the current instant, and returns its
    /// result plus an optional `(value, expires_at)` to store. Used by the
    /// in-memory rate limiter, which keeps its state in this store.
    pub(crate) fn compute<R>(
        &self,
        key: &str,
        op: impl FnOnce(Option<&Bytes>, Instant) -> Result<(R, Option<(Bytes, Instant)>)>,
    ) -> Result<R> {
        self.locked(key, |shard, now| {
            let (result, write) = op(shard.get(key), now)?;
            if let Some((value, expires_at)) = write {
                shard.insert(key, value, Some(expires_at));
            }
            Ok(result)
        })
    }
}

fn deadline(
    now: Instant,
    ttl: Option<Duration>,
    operation: &'static str,
) -> Result<Option<Instant>> {
    match ttl {
        None => Ok(None),
        Some(ttl) if ttl.is_zero() => Err(Error::invalid_input("ttl must be greater than zero")
            .with_provider("memory")
            .with_operation(operation)),
        Some(ttl) => now.checked_add(ttl).map(Some).ok_or_else(|| {
            Error::invalid_input("ttl is too large")
                .with_provider("memory")
                .with_operation(operation)
        }),
    }
}

/// Parse a stored counter the way Redis does: canonical base-10 `i64`.
pub(crate) fn parse_counter(value: &[u8]) -> Option<i64> {
    if value.first() == Some(&b'+') {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[async_trait]
impl KeyValue for InMemoryKeyValue {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        Ok(self.locked(key, |shard, _| shard.get(key).cloned()))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.locked(key, |shard, now| {
            let expires_at = deadline(now, ttl, "set")?;
            shard.insert(key, value, expires_at);
            Ok(())
        })
    }

    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        self.locked(key, |shard, now| {
            let expires_at = deadline(now, ttl, "set_if_absent")?;
            if shard.map.contains_key(key) {
                return Ok(false);
            }
            shard.insert(key, value, expires_at);
            Ok(true)
        })
    }

    async fn take(&self, key: &str) -> Result<Option<Bytes>> {
        Ok(self.locked(key, |shard, _| shard.remove(key).map(|e| e.value)))
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        Ok(self.locked(key, |shard, _| shard.remove(key).is_some()))
    }

    async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> Result<i64> {
        self.locked(key, |shard, now| {
            let current = match shard.map.get(key) {
                Some(entry) => Some((
                    parse_counter(&entry.value).ok_or_else(|| {
                        Error::invalid_input("value is not an integer")
                            .with_provider("memory")
                            .with_operation("incr")
                    })?,
                    entry.expires_at,
                )),
                None => None,
            };
            let (base, expires_at) = match current {
                Some((value, expires_at)) => (value, expires_at),
                None => (0, deadline(now, ttl, "incr")?),
            };
            let next = base.checked_add(by).ok_or_else(|| {
                Error::invalid_input("increment would overflow a 64-bit integer")
                    .with_provider("memory")
                    .with_operation("incr")
            })?;
            shard.insert(key, Bytes::from(next.to_string()), expires_at);
            Ok(next)
        })
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.locked(key, |shard, now| {
            if !shard.map.contains_key(key) {
                return Ok(false);
            }
            // Like Redis `PEXPIRE key 0`: a zero TTL deletes the key now.
            if ttl.is_zero() {
                shard.remove(key);
                return Ok(true);
            }
            let expires_at = deadline(now, Some(ttl), "expire")?;
            shard.set_expiry(key, expires_at);
            Ok(true)
        })
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[tokio::test(start_paused = true)]
    async fn ttl_expires_exactly_at_deadline() {
        let kv = InMemoryKeyValue::new();
        kv.set("k", b("v"), Some(Duration::from_secs(10)))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_millis(9_999)).await;
        assert_eq!(kv.get("k").await.unwrap(), Some(b("v")));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(kv.get("k").await.unwrap(), None);
        assert!(!kv.delete("k").await.unwrap());
        assert!(kv.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn set_replaces_ttl_and_set_if_absent_sees_expired_as_absent() {
        let kv = InMemoryKeyValue::new();
        kv.set("k", b("1"), Some(Duration::from_secs(1)))
            .await
            .unwrap();
        kv.set("k", b("2"), None).await.unwrap();
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(kv.get("k").await.unwrap(), Some(b("2")));

        kv.set("t", b("old"), Some(Duration::from_secs(1)))
            .await
            .unwrap();
        assert!(!kv.set_if_absent("t", b("new"), None).await.unwrap());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(kv.set_if_absent("t", b("new"), None).await.unwrap());
        assert_eq!(kv.take("t").await.unwrap(), Some(b("new")));
        assert_eq!(kv.take("t").await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn incr_keeps_ttl_of_existing_key() {
        let kv = InMemoryKeyValue::new();
        assert_eq!(
            kv.incr("c", 1, Some(Duration::from_secs(10)))
                .await
                .unwrap(),
            1
        );
        tokio::time::advance(Duration::from_secs(6)).await;
        // A second TTL is ignored: the key keeps its original deadline.
        assert_eq!(
            kv.incr("c", 1, Some(Duration::from_secs(60)))
                .await
                .unwrap(),
            2
        );
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(kv.get("c").await.unwrap(), None);
        assert_eq!(kv.incr("c", -3, None).await.unwrap(), -3);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(kv.get("c").await.unwrap(), Some(b("-3")));
    }

    #[tokio::test(start_paused = true)]
    async fn expire_moves_the_deadline_and_zero_deletes() {
        let kv = InMemoryKeyValue::new();
        kv.set("k", b("v"), None).await.unwrap();
        assert!(kv.expire("k", Duration::from_secs(2)).await.unwrap());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(kv.expire("k", Duration::from_secs(2)).await.unwrap());
        tokio::time::advance(Duration::from_millis(1_500)).await;
        assert_eq!(kv.get("k").await.unwrap(), Some(b("v")));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(!kv.expire("k", Duration::from_secs(2)).await.unwrap());
        kv.set("z", b("v"), None).await.unwrap();
        assert!(kv.expire("z", Duration::ZERO).await.unwrap());
        assert_eq!(kv.get("z").await.unwrap(), None);
    }

    #[tokio::test]
    async fn bad_ttls_and_counters_are_invalid_input() {
        let kv = InMemoryKeyValue::new();
        let zero = kv.set("k", b("v"), Some(Duration::ZERO)).await.unwrap_err();
        assert_eq!(zero.kind(), ErrorKind::InvalidInput);
        let huge = kv.set("k", b("v"), Some(Duration::MAX)).await.unwrap_err();
        assert_eq!(huge.kind(), ErrorKind::InvalidInput);
        kv.set("n", b("+5"), None).await.unwrap();
        assert_eq!(
            kv.incr("n", 1, None).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        kv.set("m", b(&i64::MAX.to_string()), None).await.unwrap();
        assert_eq!(
            kv.incr("m", 1, None).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        // A failed incr leaves the value alone.
        assert_eq!(kv.get("m").await.unwrap(), Some(b(&i64::MAX.to_string())));
    }

    #[tokio::test]
    async fn bounded_store_evicts_least_recently_used() {
        let kv = InMemoryKeyValue::builder().max_entries(3).build();
        for key in ["a", "b", "c"] {
            kv.set(key, b(key), None).await.unwrap();
        }
        // Touch "a" so "b" becomes the least recently used.
        assert!(kv.get("a").await.unwrap().is_some());
        kv.set("d", b("d"), None).await.unwrap();
        assert_eq!(kv.len(), 3);
        assert_eq!(kv.get("b").await.unwrap(), None);
        for key in ["a", "c", "d"] {
            assert_eq!(kv.get(key).await.unwrap(), Some(b(key)), "{key}");
        }
        // Overwriting an existing key never evicts.
        kv.set("a", b("a2"), None).await.unwrap();
        assert_eq!(kv.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn full_store_drops_expired_before_evicting_live() {
        let kv = InMemoryKeyValue::builder().max_entries(2).build();
        kv.set("short", b("s"), Some(Duration::from_secs(1)))
            .await
            .unwrap();
        kv.set("long", b("l"), None).await.unwrap();
        tokio::time::advance(Duration::from_secs(2)).await;
        kv.set("new", b("n"), None).await.unwrap();
        assert_eq!(kv.get("long").await.unwrap(), Some(b("l")));
        assert_eq!(kv.get("new").await.unwrap(), Some(b("n")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn races_across_threads_have_one_winner() {
        let kv = InMemoryKeyValue::new();
        let wins = (0..32)
            .map(|i| {
                let kv = kv.clone();
                tokio::spawn(async move {
                    let won = kv
                        .set_if_absent("lock", b(&i.to_string()), None)
                        .await
                        .unwrap();
                    let took = kv.take("lock").await.unwrap().is_some();
                    (won, took)
                })
            })
            .collect::<Vec<_>>();
        let mut won = 0;
        let mut took = 0;
        for task in wins {
            let (w, t) = task.await.unwrap();
            won += usize::from(w);
            took += usize::from(t);
        }
        // Every successful set is taken exactly once, and nothing else is.
        assert!(won >= 1);
        assert_eq!(won, took);
    }

    #[test]
    fn counter_parsing_matches_redis() {
        assert_eq!(parse_counter(b"42"), Some(42));
        assert_eq!(parse_counter(b"-7"), Some(-7));
        assert_eq!(parse_counter(b"+7"), None);
        assert_eq!(parse_counter(b" 7"), None);
        assert_eq!(parse_counter(b"1.5"), None);
        assert_eq!(parse_counter(&[0xff]), None);
    }
}
