//! [`InMemoryRateLimiter`]: GCRA over an [`InMemoryKeyValue`].

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use plugbay_core::{Error, Result};
use tokio::time::Instant;

use super::gcra::gcra;
use super::{Quota, RateDecision, RateLimiter};
use crate::memory::InMemoryKeyValue;

/// An in-process GCRA [`RateLimiter`].
///
/// Each key's TAT is stored in an [`InMemoryKeyValue`] with a TTL equal to
/// `tat − now`, so idle keys vanish on their own; give it a bounded store
/// with [`InMemoryRateLimiter::with_store`] to cap memory under key floods.
/// Time is [`tokio::time::Instant`], so tests may pause and advance it.
///
/// ```
/// # tokio_test_block_on(async {
/// use plugbay_cache::{InMemoryRateLimiter, Quota, RateLimiter};
///
/// let limiter = InMemoryRateLimiter::new();
/// let quota = Quota::per_minute(2);
/// assert!(limiter.check("login:10.0.0.1", &quota).await?.allowed);
/// assert!(limiter.check("login:10.0.0.1", &quota).await?.allowed);
/// let third = limiter.check("login:10.0.0.1", &quota).await?;
/// assert!(!third.allowed && third.retry_after.is_some());
/// # Ok::<(), plugbay_core::Error>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryRateLimiter {
    store: InMemoryKeyValue,
    epoch: Instant,
}

impl Default for InMemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryRateLimiter {
    /// A limiter with its own unbounded store.
    pub fn new() -> Self {
        Self::with_store(InMemoryKeyValue::new())
    }

    /// A limiter keeping its state in `store` (for example a bounded one).
    /// Keys are used as given: do not share the store with unrelated data.
    pub fn with_store(store: InMemoryKeyValue) -> Self {
        InMemoryRateLimiter {
            store,
            epoch: Instant::now(),
        }
    }
}

#[async_trait]
impl RateLimiter for InMemoryRateLimiter {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn check_n(&self, key: &str, quota: &Quota, cost: u32) -> Result<RateDecision> {
        self.store.compute(key, |current, now| {
            let tat = current.map(decode_tat).transpose()?;
            let step = gcra(now.saturating_duration_since(self.epoch), tat, quota, cost)?;
            let write = match step.store {
                Some((tat, ttl)) => {
                    // Only an absurd quota (a window of centuries) overflows.
                    let expires_at = now.checked_add(ttl).ok_or_else(|| {
                        Error::invalid_input("the quota's window is too long")
                            .with_provider("memory")
                    })?;
                    Some((encode_tat(tat), expires_at))
                }
                None => None,
            };
            Ok((step.decision, write))
        })
    }
}

fn encode_tat(tat: Duration) -> Bytes {
    Bytes::copy_from_slice(&tat.as_nanos().to_be_bytes())
}

fn decode_tat(raw: &Bytes) -> Result<Duration> {
    let bytes: [u8; 16] = raw[..]
        .try_into()
        .map_err(|_| Error::internal("rate limiter state is corrupt").with_provider("memory"))?;
    let nanos = u128::from_be_bytes(bytes);
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyValue;
    use plugbay_core::ErrorKind;

    #[tokio::test(start_paused = true)]
    async fn limits_recovers_and_forgets_idle_keys() {
        let store = InMemoryKeyValue::new();
        let limiter = InMemoryRateLimiter::with_store(store.clone());
        let quota = Quota::per_second(2);
        assert!(limiter.check("k", &quota).await.unwrap().allowed);
        assert!(limiter.check("k", &quota).await.unwrap().allowed);
        let denied = limiter.check("k", &quota).await.unwrap();
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after, Some(Duration::from_millis(500)));
        assert!(limiter.check("other", &quota).await.unwrap().allowed);

        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(limiter.check("k", &quota).await.unwrap().allowed);
        tokio::time::advance(Duration::from_secs(1)).await;
        // Both TATs have passed, so their entries are gone.
        assert!(store.is_empty());
        assert_eq!(limiter.check_n("k", &quota, 0).await.unwrap().remaining, 2);
    }

    #[tokio::test]
    async fn absurd_quota_window_is_invalid_input_not_a_panic() {
        let limiter = InMemoryRateLimiter::new();
        let quota = Quota::new(1, Duration::MAX);
        let err = limiter.check("k", &quota).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn corrupt_state_is_internal_error() {
        let store = InMemoryKeyValue::new();
        store
            .set("k", Bytes::from_static(b"junk"), None)
            .await
            .unwrap();
        let limiter = InMemoryRateLimiter::with_store(store);
        let err = limiter.check("k", &Quota::per_second(1)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
    }
}
