//! Conformance suites every backend of this crate must pass:
//! [`key_value`] for [`KeyValue`](crate::KeyValue) and [`rate_limiter`] for
//! [`RateLimiter`](crate::RateLimiter).
//!
//! Scenarios use unique key prefixes, so they can run against a shared
//! server, and real but short TTLs (tens of milliseconds) polled with a
//! generous bound, so a slow machine makes them slower, not flaky. Enable
//! the `conformance` feature to run them against your own backend:
//!
//! ```
//! # tokio_test_block_on(async {
//! use plugbay_cache::{conformance, InMemoryKeyValue, InMemoryRateLimiter};
//!
//! conformance::key_value::run_all(&InMemoryKeyValue::new()).await;
//! conformance::rate_limiter::run_all(&InMemoryRateLimiter::new()).await;
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
//! # }
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod key_value;
pub mod rate_limiter;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a poll waits for something that should happen "soon" (a TTL of
/// tens of milliseconds) before the scenario fails.
const POLL_BOUND: Duration = Duration::from_secs(5);
const POLL_STEP: Duration = Duration::from_millis(10);

/// A key prefix no other scenario or run uses.
fn unique_prefix(scenario: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "plugbay-conformance:{scenario}:{}-{nanos:x}-{n}:",
        std::process::id()
    )
}
