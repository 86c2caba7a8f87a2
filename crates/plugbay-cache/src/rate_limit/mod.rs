//! Rate limiting: [`Quota`], [`RateDecision`] and the [`RateLimiter`] trait,
//! with the GCRA math in [`gcra`] shared by every backend.

pub mod gcra;
mod memory;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plugbay_core::{Error, ErrorKind, Result};

pub use memory::InMemoryRateLimiter;

/// How many requests a key may make: `limit` per `period` on average, with
/// bursts of up to `burst` back to back (default `burst = limit`).
///
/// GCRA spaces requests one *emission interval* (`period / limit`) apart and
/// tolerates running up to `burst` intervals ahead of schedule.
///
/// ```
/// use std::time::Duration;
/// use plugbay_cache::Quota;
///
/// let quota = Quota::per_minute(60).with_burst(10);
/// assert_eq!(quota.emission_interval(), Duration::from_secs(1));
/// assert_eq!(quota.burst(), 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    limit: u32,
    period: Duration,
    burst: u32,
}

impl Quota {
    /// `limit` requests per `period`, bursts of up to `limit`.
    ///
    /// A zero `limit`, zero `period` or zero burst is accepted here and
    /// rejected by [`RateLimiter::check_n`] with `InvalidInput`.
    pub const fn new(limit: u32, period: Duration) -> Quota {
        Quota {
            limit,
            period,
            burst: limit,
        }
    }

    /// `n` requests per second.
    pub const fn per_second(n: u32) -> Quota {
        Quota::new(n, Duration::from_secs(1))
    }

    /// `n` requests per minute.
    pub const fn per_minute(n: u32) -> Quota {
        Quota::new(n, Duration::from_secs(60))
    }

    /// `n` requests per hour.
    pub const fn per_hour(n: u32) -> Quota {
        Quota::new(n, Duration::from_secs(3600))
    }

    /// Allow bursts of up to `burst` requests back to back.
    pub const fn with_burst(mut self, burst: u32) -> Quota {
        self.burst = burst;
        self
    }

    /// Requests per period.
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The period `limit` applies to.
    pub const fn period(&self) -> Duration {
        self.period
    }

    /// The largest number of requests allowed back to back.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The steady-state spacing between requests: `period / limit`
    /// (zero for an invalid quota).
    pub fn emission_interval(&self) -> Duration {
        self.period.checked_div(self.limit).unwrap_or_default()
    }

    /// `InvalidInput` unless limit, period, burst and the emission interval
    /// are all non-zero.
    pub fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.burst == 0 || self.emission_interval().is_zero() {
            return Err(Error::invalid_input(
                "quota needs a non-zero limit, burst and emission interval",
            )
            .with_context("quota", format!("{self:?}")));
        }
        Ok(())
    }
}

/// The answer to one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateDecision {
    /// Whether the request may go ahead (and was counted).
    pub allowed: bool,
    /// The quota's burst, for `X-RateLimit-Limit`-style headers.
    pub limit: u32,
    /// How many more unit-cost requests would be allowed right now.
    pub remaining: u32,
    /// When denied, how long until the same request would be allowed.
    pub retry_after: Option<Duration>,
    /// How long until the key is back to a full burst.
    pub reset_after: Duration,
}

impl RateDecision {
    /// A decision, for backends outside this crate.
    pub fn new(
        allowed: bool,
        limit: u32,
        remaining: u32,
        retry_after: Option<Duration>,
        reset_after: Duration,
    ) -> RateDecision {
        RateDecision {
            allowed,
            limit,
            remaining,
            retry_after,
            reset_after,
        }
    }

    /// `Ok(self)` when allowed, else a `RateLimited` error carrying
    /// `retry_after`.
    pub fn into_result(self) -> Result<RateDecision> {
        if self.allowed {
            return Ok(self);
        }
        let mut err = Error::new(ErrorKind::RateLimited, "rate limit exceeded");
        if let Some(wait) = self.retry_after {
            err = err.with_retry_after(wait);
        }
        Err(err)
    }
}

/// A rate limiter keyed by caller-chosen strings (`"login:{ip}"`), using
/// GCRA so that each key costs one stored timestamp.
#[async_trait]
pub trait RateLimiter: Send + Sync + std::fmt::Debug {
    /// The backend's short name (`"memory"`, `"redis"`).
    fn backend(&self) -> &'static str;

    /// Count a request of weight `cost` against `key` under `quota`,
    /// atomically. A denied request is not counted. `cost = 0` only reports
    /// the state. An invalid quota, or a `cost` above the quota's burst
    /// (which could never be allowed), is `InvalidInput`.
    async fn check_n(&self, key: &str, quota: &Quota, cost: u32) -> Result<RateDecision>;

    /// [`RateLimiter::check_n`] with a cost of one.
    async fn check(&self, key: &str, quota: &Quota) -> Result<RateDecision> {
        self.check_n(key, quota, 1).await
    }
}

/// A shared, type-erased [`RateLimiter`].
pub type DynRateLimiter = Arc<dyn RateLimiter>;

macro_rules! forward_rate_limiter {
    ($ty:ty) => {
        #[async_trait]
        impl<T: RateLimiter + ?Sized> RateLimiter for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            async fn check_n(&self, key: &str, quota: &Quota, cost: u32) -> Result<RateDecision> {
                (**self).check_n(key, quota, cost).await
            }
            async fn check(&self, key: &str, quota: &Quota) -> Result<RateDecision> {
                (**self).check(key, quota).await
            }
        }
    };
}

forward_rate_limiter!(Arc<T>);
forward_rate_limiter!(Box<T>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_constructors_and_validation() {
        assert_eq!(
            Quota::per_second(4).emission_interval(),
            Duration::from_millis(250)
        );
        assert_eq!(
            Quota::per_hour(60).emission_interval(),
            Duration::from_secs(60)
        );
        assert_eq!(Quota::per_minute(5).burst(), 5);
        assert!(Quota::per_minute(5).with_burst(1).validate().is_ok());
        for bad in [
            Quota::per_second(0),
            Quota::per_second(3).with_burst(0),
            Quota::new(1, Duration::ZERO),
            Quota::new(u32::MAX, Duration::from_nanos(1)),
        ] {
            assert_eq!(
                bad.validate().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn denied_decision_becomes_rate_limited_error() {
        let denied = RateDecision::new(
            false,
            5,
            0,
            Some(Duration::from_secs(2)),
            Duration::from_secs(9),
        );
        let err = denied.into_result().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        let allowed = RateDecision::new(true, 5, 4, None, Duration::from_secs(1));
        assert_eq!(allowed.into_result().unwrap(), allowed);
    }
}
