//! The Generic Cell Rate Algorithm as a pure function, shared by every
//! [`RateLimiter`](super::RateLimiter) backend (the Redis backend runs the
//! same steps in a Lua script, and its tests compare against this one).
//!
//! A key's whole state is its *theoretical arrival time* (TAT): the instant
//! at which the key would be back to a full burst. With emission interval
//! `T = period / limit` and tolerance `τ = T · burst`, a request of cost `n`
//! at time `now` computes `tat' = max(tat, now) + n·T`; it is allowed iff
//! `tat' − now ≤ τ`, and then `tat'` is stored until it passes (after which
//! the key is indistinguishable from a fresh one, so it may be dropped).

use std::time::Duration;

use plugbay_core::{Error, Result};

use super::{Quota, RateDecision};

/// The outcome of one GCRA step: the decision and what to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcraStep {
    /// The decision to hand back to the caller.
    pub decision: RateDecision,
    /// The new TAT to store, with the TTL after which it may be dropped
    /// (`tat − now`); `None` when nothing changes (denied, or cost 0).
    pub store: Option<(Duration, Duration)>,
}

/// Run one GCRA step.
///
/// `now` and `tat` are offsets from any fixed epoch the backend picks (a
/// process-start instant, Unix time); they only need to be consistent.
/// `tat` is `None` for a key with no state. Errors with `InvalidInput` for an
/// invalid quota or a `cost` above the burst.
pub fn gcra(now: Duration, tat: Option<Duration>, quota: &Quota, cost: u32) -> Result<GcraStep> {
    quota.validate()?;
    if cost > quota.burst() {
        return Err(Error::invalid_input(
            "cost is larger than the quota's burst and could never be allowed",
        )
        .with_context("cost", cost.to_string())
        .with_context("burst", quota.burst().to_string()));
    }
    let interval = quota.emission_interval().as_nanos();
    let tolerance = interval * u128::from(quota.burst());
    let now_ns = now.as_nanos();
    let tat_ns = tat.map_or(now_ns, |t| t.as_nanos()).max(now_ns);
    let new_tat = tat_ns + interval * u128::from(cost);
    let limit = quota.burst();

    let step = if new_tat - now_ns <= tolerance {
        let remaining = (tolerance - (new_tat - now_ns)) / interval;
        GcraStep {
            decision: RateDecision::new(
                true,
                limit,
                clamp_u32(remaining),
                None,
                nanos(new_tat - now_ns),
            ),
            store: (cost > 0).then(|| (nanos(new_tat), nanos(new_tat - now_ns))),
        }
    } else {
        let remaining = tolerance.saturating_sub(tat_ns - now_ns) / interval;
        let allow_at = new_tat - tolerance;
        GcraStep {
            decision: RateDecision::new(
                false,
                limit,
                clamp_u32(remaining),
                Some(nanos(allow_at - now_ns)),
                nanos(tat_ns - now_ns),
            ),
            store: None,
        }
    };
    Ok(step)
}

fn clamp_u32(n: u128) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn nanos(n: u128) -> Duration {
    let secs = u64::try_from(n / 1_000_000_000).unwrap_or(u64::MAX);
    // The remainder is below 10^9, so it always fits.
    Duration::new(secs, (n % 1_000_000_000) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    const MS: Duration = Duration::from_millis(1);

    /// A tiny limiter over the pure function with a controlled clock.
    struct Clocked {
        quota: Quota,
        now: Duration,
        tat: Option<Duration>,
    }

    impl Clocked {
        fn new(quota: Quota) -> Self {
            Clocked {
                quota,
                now: Duration::from_secs(1_000),
                tat: None,
            }
        }
        fn hit(&mut self, cost: u32) -> RateDecision {
            let step = gcra(self.now, self.tat, &self.quota, cost).unwrap();
            if let Some((tat, ttl)) = step.store {
                assert_eq!(tat, self.now + ttl);
                self.tat = Some(tat);
            }
            step.decision
        }
    }

    #[test]
    fn burst_is_allowed_then_limited_with_exact_retry_after() {
        // 10 per second = one every 100 ms, bursts of 3.
        let mut rl = Clocked::new(Quota::per_second(10).with_burst(3));
        let remaining: Vec<u32> = (0..3)
            .map(|_| {
                let d = rl.hit(1);
                assert!(d.allowed);
                assert_eq!(d.retry_after, None);
                d.remaining
            })
            .collect();
        assert_eq!(remaining, vec![2, 1, 0]);
        let denied = rl.hit(1);
        assert!(!denied.allowed);
        assert_eq!(denied.remaining, 0);
        assert_eq!(denied.retry_after, Some(100 * MS));
        assert_eq!(denied.reset_after, 300 * MS);
        // A denied request is not counted.
        assert_eq!(rl.hit(1).retry_after, Some(100 * MS));
    }

    #[test]
    fn recovers_one_request_per_emission_interval() {
        let mut rl = Clocked::new(Quota::per_second(10).with_burst(3));
        for _ in 0..3 {
            assert!(rl.hit(1).allowed);
        }
        rl.now += 99 * MS;
        assert_eq!(rl.hit(1).retry_after, Some(MS));
        rl.now += MS;
        let d = rl.hit(1);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(!rl.hit(1).allowed);
        // After a full burst window of idleness the key is fresh again.
        rl.now += 300 * MS;
        assert_eq!(rl.hit(0).remaining, 3);
        assert_eq!(rl.hit(1).remaining, 2);
    }

    #[test]
    fn stale_tat_counts_as_now_and_ttl_covers_the_burst() {
        let quota = Quota::per_minute(60).with_burst(5);
        let step = gcra(
            Duration::from_secs(500),
            Some(Duration::from_secs(10)),
            &quota,
            2,
        )
        .unwrap();
        assert!(step.decision.allowed);
        assert_eq!(step.decision.remaining, 3);
        assert_eq!(
            step.store,
            Some((Duration::from_secs(502), Duration::from_secs(2)))
        );
    }

    #[test]
    fn weighted_cost_and_peek() {
        let quota = Quota::per_second(4).with_burst(4);
        let now = Duration::from_secs(7);
        let first = gcra(now, None, &quota, 3).unwrap();
        assert!(first.decision.allowed);
        assert_eq!(first.decision.remaining, 1);
        let tat = first.store.unwrap().0;
        let second = gcra(now, Some(tat), &quota, 2).unwrap();
        assert!(!second.decision.allowed);
        // One more unit is allowed now; two need one more interval (250 ms).
        assert_eq!(second.decision.remaining, 1);
        assert_eq!(second.decision.retry_after, Some(250 * MS));
        let peek = gcra(now, Some(tat), &quota, 0).unwrap();
        assert!(peek.decision.allowed);
        assert_eq!(peek.store, None);
    }

    #[test]
    fn impossible_cost_and_bad_quota_are_invalid_input() {
        let err = gcra(Duration::ZERO, None, &Quota::per_second(2), 3).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = gcra(Duration::ZERO, None, &Quota::per_second(0), 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
