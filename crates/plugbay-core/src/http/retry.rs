//! The retry policy (how often and how long to wait) and the injectable
//! [`Sleeper`] that does the waiting.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

/// When and how [`HttpClient`](super::HttpClient) retries a failed attempt.
///
/// The defaults follow the official OpenAI SDKs: 2 retries, backoff
/// `min(0.5 s * 2^n, 8 s)` minus up to 25 % jitter, a server-requested wait
/// (`retry-after-ms`, `Retry-After`) honoured when it is above 0 and at
/// most 60 s. On top of that a total time budget (120 s) stops retrying when
/// the next wait would not fit.
///
/// ```
/// use std::time::Duration;
/// use plugbay_core::RetryPolicy;
/// let policy = RetryPolicy::default()
///     .max_retries(4)
///     .budget(Duration::from_secs(30));
/// assert_eq!(policy.max_retries, 4);
/// assert_eq!(RetryPolicy::none().max_retries, 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// Backoff before the first retry; doubles for each further retry.
    pub initial_backoff: Duration,
    /// Upper bound of the computed backoff.
    pub max_backoff: Duration,
    /// Fraction (0.0..=1.0) of the backoff that is randomly taken off.
    pub jitter: f64,
    /// Longest server-requested wait we honour. A longer request stops the
    /// retries: the error carries the wait in `retry_after()` for the caller.
    pub max_server_wait: Duration,
    /// Total time for all attempts and waits of one call; no retry starts
    /// whose wait would end past it.
    pub budget: Duration,
    /// Retry HTTP 409 too (OpenAI documents 409 as a transient lock
    /// conflict; for most APIs it means "already exists").
    pub retry_on_conflict: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            jitter: 0.25,
            max_server_wait: Duration::from_secs(60),
            budget: Duration::from_secs(120),
            retry_on_conflict: false,
        }
    }
}

impl RetryPolicy {
    /// The default policy (see the type docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// A policy that never retries.
    pub fn none() -> Self {
        Self::default().max_retries(0)
    }

    /// Set [`RetryPolicy::max_retries`].
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Set [`RetryPolicy::initial_backoff`].
    pub fn initial_backoff(mut self, wait: Duration) -> Self {
        self.initial_backoff = wait;
        self
    }

    /// Set [`RetryPolicy::max_backoff`].
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// Set [`RetryPolicy::jitter`], clamped to `0.0..=1.0` (0 makes waits
    /// deterministic, handy in tests).
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Set [`RetryPolicy::max_server_wait`].
    pub fn max_server_wait(mut self, wait: Duration) -> Self {
        self.max_server_wait = wait;
        self
    }

    /// Set [`RetryPolicy::budget`].
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Set [`RetryPolicy::retry_on_conflict`].
    pub fn retry_on_conflict(mut self, retry: bool) -> Self {
        self.retry_on_conflict = retry;
        self
    }

    /// The backoff before retry number `retry` (0 for the first retry),
    /// with a random jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        self.backoff_with(retry, rand::random::<f64>())
    }

    /// The backoff before retry number `retry` with `unit` (in `0.0..1.0`)
    /// as the random draw: `min(initial * 2^retry, max) * (1 - jitter * unit)`.
    pub fn backoff_with(&self, retry: u32, unit: f64) -> Duration {
        let factor = 2f64.powi(i32::try_from(retry.min(64)).unwrap_or(64));
        let base =
            (self.initial_backoff.as_secs_f64() * factor).min(self.max_backoff.as_secs_f64());
        let scale = 1.0 - self.jitter * unit.clamp(0.0, 1.0);
        Duration::try_from_secs_f64((base * scale).max(0.0)).unwrap_or(self.max_backoff)
    }

    /// Whether an HTTP status is worth retrying under this policy: 408, 429,
    /// 5xx except 501 (not implemented will not change), and 409 when
    /// [`RetryPolicy::retry_on_conflict`] is set.
    pub fn is_retryable_status(&self, status: u16) -> bool {
        match status {
            408 | 429 => true,
            409 => self.retry_on_conflict,
            501 => false,
            500..=599 => true,
            _ => false,
        }
    }

    /// Whether a server-requested wait is one we honour as given:
    /// above zero and at most [`RetryPolicy::max_server_wait`] (a zero wait
    /// falls back to the backoff, as the OpenAI SDKs do).
    pub fn honours_server_wait(&self, wait: Duration) -> bool {
        !wait.is_zero() && wait <= self.max_server_wait
    }
}

/// Waits between attempts. Injectable so tests can record the waits
/// instead of sleeping (see [`RecordingSleeper`]).
#[async_trait]
pub trait Sleeper: Send + Sync + fmt::Debug {
    /// Wait for `duration` (or pretend to). Must not fail.
    async fn sleep(&self, duration: Duration);
}

#[async_trait]
impl<T: Sleeper + ?Sized> Sleeper for Arc<T> {
    async fn sleep(&self, duration: Duration) {
        (**self).sleep(duration).await;
    }
}

#[async_trait]
impl<T: Sleeper + ?Sized> Sleeper for Box<T> {
    async fn sleep(&self, duration: Duration) {
        (**self).sleep(duration).await;
    }
}

/// The default [`Sleeper`]: `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A [`Sleeper`] that returns at once and records every requested wait,
/// for tests of retry behaviour. Clones share the record.
#[derive(Debug, Clone, Default)]
pub struct RecordingSleeper {
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl RecordingSleeper {
    /// A new, empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The waits requested so far, in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// The sum of the waits requested so far.
    pub fn total(&self) -> Duration {
        self.waits().iter().sum()
    }
}

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.push(duration);
        }
        // Yield so a recorded wait is still a suspension point.
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_matches_the_openai_schedule() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_with(0, 0.0), Duration::from_millis(500));
        assert_eq!(p.backoff_with(1, 0.0), Duration::from_secs(1));
        assert_eq!(p.backoff_with(3, 0.0), Duration::from_secs(4));
        assert_eq!(p.backoff_with(4, 0.0), Duration::from_secs(8));
        assert_eq!(p.backoff_with(40, 0.0), Duration::from_secs(8));
        // full jitter draw takes off 25 %
        assert_eq!(p.backoff_with(0, 1.0), Duration::from_millis(375));
        for n in 0..6 {
            let w = p.backoff(n);
            assert!(w <= p.backoff_with(n, 0.0) && w >= p.backoff_with(n, 1.0));
        }
        assert_eq!(
            p.clone().jitter(0.0).backoff(2),
            Duration::from_secs(2),
            "no jitter is deterministic"
        );
    }

    #[test]
    fn retryable_statuses_and_server_waits() {
        let p = RetryPolicy::default();
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(p.is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 422, 501] {
            assert!(!p.is_retryable_status(s), "{s}");
        }
        assert!(p.clone().retry_on_conflict(true).is_retryable_status(409));
        assert!(p.honours_server_wait(Duration::from_secs(60)));
        assert!(!p.honours_server_wait(Duration::from_secs(61)));
        assert!(!p.honours_server_wait(Duration::ZERO));
        assert_eq!(RetryPolicy::new().jitter(f64::NAN).jitter, 0.0);
        assert_eq!(RetryPolicy::new().jitter(3.0).jitter, 1.0);
    }

    #[tokio::test]
    async fn recording_sleeper_records() {
        let s = RecordingSleeper::new();
        let shared = Arc::new(s.clone());
        shared.sleep(Duration::from_secs(5)).await;
        s.sleep(Duration::from_millis(5)).await;
        assert_eq!(
            s.waits(),
            vec![Duration::from_secs(5), Duration::from_millis(5)]
        );
        assert_eq!(s.total(), Duration::from_millis(5005));
    }
}
