//! [`RateLimiter`] conformance scenarios.

use std::time::{Duration, Instant};

use plugbay_core::ErrorKind;

use super::{POLL_BOUND, POLL_STEP, unique_prefix};
use crate::{Quota, RateLimiter};

/// A burst is allowed with a falling `remaining`; the next request is denied
/// with a `retry_after` no longer than one emission interval, and denied
/// requests are not counted.
pub async fn burst_then_deny(rl: &dyn RateLimiter) {
    let key = format!("{}k", unique_prefix("burst_then_deny"));
    // One request per 20 minutes: the clock cannot refill it mid-scenario.
    let quota = Quota::per_hour(3);
    for expected in [2, 1, 0] {
        let d = rl.check(&key, &quota).await.unwrap();
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.remaining, expected, "{d:?}");
        assert_eq!(d.limit, 3);
        assert_eq!(d.retry_after, None);
    }
    for _ in 0..2 {
        let d = rl.check(&key, &quota).await.unwrap();
        assert!(!d.allowed, "{d:?}");
        assert_eq!(d.remaining, 0);
        let wait = d.retry_after.expect("denied decision without retry_after");
        assert!(
            wait > Duration::ZERO && wait <= quota.emission_interval(),
            "{wait:?}"
        );
        assert!(
            d.reset_after >= wait && d.reset_after <= Duration::from_secs(3600),
            "{d:?}"
        );
        assert_eq!(d.into_result().unwrap_err().kind(), ErrorKind::RateLimited);
    }
}

/// Exhausting one key leaves another untouched.
pub async fn keys_are_independent(rl: &dyn RateLimiter) {
    let p = unique_prefix("keys_are_independent");
    let quota = Quota::per_hour(1);
    let (a, b) = (format!("{p}a"), format!("{p}b"));
    assert!(rl.check(&a, &quota).await.unwrap().allowed);
    assert!(!rl.check(&a, &quota).await.unwrap().allowed);
    assert!(rl.check(&b, &quota).await.unwrap().allowed);
    assert!(!rl.check(&b, &quota).await.unwrap().allowed);
}

/// Weighted checks consume `cost` units; a cost of 0 only reports.
pub async fn weighted_cost(rl: &dyn RateLimiter) {
    let key = format!("{}k", unique_prefix("weighted_cost"));
    let quota = Quota::per_hour(5);
    assert_eq!(rl.check_n(&key, &quota, 0).await.unwrap().remaining, 5);
    let d = rl.check_n(&key, &quota, 3).await.unwrap();
    assert!(d.allowed && d.remaining == 2, "{d:?}");
    let d = rl.check_n(&key, &quota, 3).await.unwrap();
    assert!(!d.allowed && d.remaining == 2, "{d:?}");
    let d = rl.check_n(&key, &quota, 2).await.unwrap();
    assert!(d.allowed && d.remaining == 0, "{d:?}");
    assert_eq!(rl.check_n(&key, &quota, 0).await.unwrap().remaining, 0);
}

/// After being limited, a key is allowed again once time passes.
pub async fn recovers_after_interval(rl: &dyn RateLimiter) {
    let key = format!("{}k", unique_prefix("recovers_after_interval"));
    let interval = Duration::from_millis(60);
    let quota = Quota::new(1, interval);
    let start = Instant::now();
    assert!(rl.check(&key, &quota).await.unwrap().allowed);
    let second = rl.check(&key, &quota).await.unwrap();
    if start.elapsed() < interval / 2 {
        assert!(!second.allowed, "{second:?}");
    }
    let start = Instant::now();
    loop {
        if rl.check(&key, &quota).await.unwrap().allowed {
            break;
        }
        assert!(start.elapsed() < POLL_BOUND, "never allowed again");
        tokio::time::sleep(POLL_STEP).await;
    }
}

/// Invalid quotas and impossible costs are `InvalidInput`.
pub async fn invalid_requests(rl: &dyn RateLimiter) {
    let key = format!("{}k", unique_prefix("invalid_requests"));
    let err = rl.check(&key, &Quota::per_second(0)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = rl
        .check(&key, &Quota::per_second(5).with_burst(0))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = rl.check_n(&key, &Quota::per_hour(2), 3).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    // None of that consumed anything.
    assert_eq!(
        rl.check_n(&key, &Quota::per_hour(2), 0)
            .await
            .unwrap()
            .remaining,
        2
    );
}

/// Run every scenario.
pub async fn run_all(rl: &dyn RateLimiter) {
    burst_then_deny(rl).await;
    keys_are_independent(rl).await;
    weighted_cost(rl).await;
    recovers_after_interval(rl).await;
    invalid_requests(rl).await;
}

#[cfg(test)]
mod tests {
    use crate::InMemoryRateLimiter;

    #[tokio::test]
    async fn in_memory_rate_limiter_conforms() {
        super::run_all(&InMemoryRateLimiter::new()).await;
    }
}
