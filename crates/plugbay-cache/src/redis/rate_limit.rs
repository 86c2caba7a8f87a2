//! [`RedisRateLimiter`]: GCRA in one Lua script on the server's clock.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use plugbay_core::{Error, Result};
use redis::Script;

use super::RedisKeyValue;
use super::client::{RedisConnection, Retry};
use crate::rate_limit::{Quota, RateDecision, RateLimiter};

/// The steps of [`gcra()`](crate::gcra), in nanoseconds relative to `now`.
///
/// Lua numbers are doubles, exact only below 2^53; nanoseconds since 1970
/// are not, so the TAT is stored as `"<unix seconds>:<nanoseconds>"` and
/// everything else is computed relative to `now` (bounded by twice the
/// quota's tolerance, which the caller keeps under 2^52). `div` is an exact
/// floor division for such integers. `ARGV[4..5]` (seconds, nanoseconds)
/// replace the server clock; only tests pass them, and then the TAT is
/// stored without a TTL, since the server's clock does not follow theirs.
///
/// Returns `{allowed, remaining, retry_after_ns (-1 if allowed), reset_after_ns}`.
const GCRA_LUA: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now_s, now_n
if ARGV[4] then
  now_s = tonumber(ARGV[4])
  now_n = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now_s = tonumber(t[1])
  now_n = tonumber(t[2]) * 1000
end
local function div(a, b)
  local q = math.floor(a / b)
  while q * b > a do q = q - 1 end
  while (q + 1) * b <= a do q = q + 1 end
  return q
end
local tat = 0
local stored = redis.call('GET', KEYS[1])
if stored then
  local sep = string.find(stored, ':', 1, true)
  local s = sep and tonumber(string.sub(stored, 1, sep - 1))
  local n = sep and tonumber(string.sub(stored, sep + 1))
  if not s or not n then
    return redis.error_reply('WRONGTYPE rate-limit state is not a TAT')
  end
  tat = (s - now_s) * 1000000000 + (n - now_n)
  if tat < 0 then tat = 0 end
end
local new_tat = tat + interval * cost
if new_tat <= tolerance then
  if cost > 0 then
    local total = now_n + new_tat
    local carry = div(total, 1000000000)
    local value = string.format('%d:%d', now_s + carry, total - carry * 1000000000)
    if ARGV[4] then
      redis.call('SET', KEYS[1], value)
    else
      redis.call('SET', KEYS[1], value, 'PX', div(new_tat + 999999, 1000000))
    end
  end
  return {1, div(tolerance - new_tat, interval), -1, new_tat}
end
local remaining = 0
if tolerance > tat then remaining = div(tolerance - tat, interval) end
return {0, remaining, new_tat - tolerance, tat}
";

static GCRA_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(GCRA_LUA));

/// The largest tolerance (`period / limit · burst`) the script computes
/// exactly: 2^52 ns, about 52 days.
const MAX_TOLERANCE_NS: u128 = 1 << 52;

/// A GCRA [`RateLimiter`] on Redis.
///
/// Each check is one `EVALSHA` of a script that reads the server's clock
/// (`TIME`), so every application instance agrees on time, and runs the
/// same integer arithmetic as the pure [`gcra()`](crate::gcra) function.
/// A key's state is its TAT, stored under `{prefix}ratelimit:{key}` with a
/// TTL of `tat − now` (rounded up to a millisecond), so idle keys vanish.
///
/// Quotas whose tolerance (`period / limit · burst`) exceeds about 52 days
/// are `Unsupported` here: Lua computes in doubles.
///
/// ```
/// use plugbay_cache::redis::RedisKeyValue;
///
/// let kv = RedisKeyValue::from_url("redis://localhost:6379/0")?;
/// let limiter = kv.rate_limiter();
/// assert_eq!(limiter.key_prefix(), "plugbay:ratelimit:");
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Clone)]
pub struct RedisRateLimiter {
    conn: Arc<RedisConnection>,
    prefix: Arc<str>,
}

impl RedisRateLimiter {
    /// A limiter sharing `kv`'s connection, with keys under
    /// `{kv prefix}ratelimit:`.
    pub fn new(kv: &RedisKeyValue) -> Self {
        RedisRateLimiter {
            conn: kv.connection().clone(),
            prefix: Arc::from(format!("{}ratelimit:", kv.key_prefix())),
        }
    }

    /// Use `prefix` instead of `{kv prefix}ratelimit:` for this limiter's keys.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// The prefix of this limiter's keys.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// Run the script; `now` (Unix time) replaces the server clock in tests.
    async fn run(
        &self,
        key: &str,
        quota: &Quota,
        cost: u32,
        now: Option<Duration>,
    ) -> Result<RateDecision> {
        quota.validate()?;
        if cost > quota.burst() {
            return Err(Error::invalid_input(
                "cost is larger than the quota's burst and could never be allowed",
            )
            .with_context("cost", cost.to_string())
            .with_context("burst", quota.burst().to_string()));
        }
        // The same integers `gcra()` uses.
        let interval = quota.emission_interval().as_nanos();
        let tolerance = interval * u128::from(quota.burst());
        if tolerance > MAX_TOLERANCE_NS {
            return Err(Error::unsupported(
                "the Redis rate limiter supports quotas whose burst window \
                 (period / limit * burst) is at most about 52 days",
            )
            .with_provider("redis")
            .with_context("quota", format!("{quota:?}")));
        }
        let mut invocation = GCRA_SCRIPT.prepare_invoke();
        invocation
            .key(format!("{}{key}", self.prefix))
            .arg(interval.to_string())
            .arg(tolerance.to_string())
            .arg(cost);
        if let Some(now) = now {
            invocation.arg(now.as_secs()).arg(now.subsec_nanos());
        }
        let reply: Vec<i64> = self
            .conn
            .invoke(&invocation, "rate_limit", Retry::Once)
            .await?;
        decode(&reply, quota.burst())
    }
}

fn decode(reply: &[i64], limit: u32) -> Result<RateDecision> {
    let &[allowed, remaining, retry_after, reset_after] = reply else {
        return Err(
            Error::protocol("the rate-limit script answered an unexpected shape")
                .with_provider("redis")
                .with_operation("rate_limit"),
        );
    };
    let nanos = |n: i64| Duration::from_nanos(u64::try_from(n).unwrap_or_default());
    Ok(RateDecision::new(
        allowed == 1,
        limit,
        u32::try_from(remaining).unwrap_or(u32::MAX),
        (retry_after >= 0).then(|| nanos(retry_after)),
        nanos(reset_after),
    ))
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn check_n(&self, key: &str, quota: &Quota, cost: u32) -> Result<RateDecision> {
        self.run(key, quota, cost, None).await
    }
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("url", &self.conn.redacted_url())
            .field("key_prefix", &self.prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    //! The script against the pure `gcra()` on the same clock and sequence.
    //! Needs a server: `PLUGBAY_TEST_REDIS_URL` (skips without it, fails in
    //! CI).

    use super::*;
    use crate::gcra;
    use plugbay_core::ErrorKind;

    fn limiter() -> Option<RedisRateLimiter> {
        let Ok(url) = std::env::var("PLUGBAY_TEST_REDIS_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PLUGBAY_TEST_REDIS_URL is not set (start scripts/peers.d/redis.sh)"
            );
            eprintln!("skipping: PLUGBAY_TEST_REDIS_URL is not set");
            return None;
        };
        let prefix = format!(
            "plugbay-unit:{}:{:?}:",
            std::process::id(),
            std::time::SystemTime::now()
        );
        let kv = RedisKeyValue::builder()
            .url(url)
            .key_prefix(prefix)
            .build()
            .unwrap();
        Some(kv.rate_limiter())
    }

    #[test]
    fn decode_rejects_other_shapes() {
        assert_eq!(decode(&[1, 2], 3).unwrap_err().kind(), ErrorKind::Protocol);
        let d = decode(&[0, 1, 5_000, 9_000], 3).unwrap();
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Some(Duration::from_nanos(5_000)));
        assert_eq!(d.reset_after, Duration::from_nanos(9_000));
    }

    #[tokio::test]
    async fn script_matches_pure_gcra_step_by_step() {
        let Some(rl) = limiter() else { return };
        let quotas = [
            Quota::per_second(10).with_burst(3),
            Quota::new(3, Duration::from_secs(1)).with_burst(5), // 333_333_333 ns
            Quota::new(7, Duration::from_millis(1)).with_burst(2), // sub-µs interval
            Quota::per_hour(1000).with_burst(1000),
        ];
        // (advance in ns, cost) — bursts, waits shorter and longer than an
        // interval, odd nanosecond steps, peeks and weighted costs.
        let steps: [(u64, u32); 14] = [
            (0, 1),
            (0, 1),
            (1, 1),
            (0, 0),
            (99_999_999, 1),
            (1, 2),
            (333_333_333, 1),
            (7, 1),
            (142_857, 2),
            (0, 1),
            (900_000_001, 0),
            (1_000_000_000, 1),
            (3, 2),
            (10_000_000_000, 1),
        ];
        for (i, quota) in quotas.iter().enumerate() {
            let key = format!("q{i}");
            // A clock with sub-µs digits, near the real one so TTLs make sense.
            let mut now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                + Duration::from_nanos(123);
            let mut tat = None;
            for (n, &(advance, cost)) in steps.iter().enumerate() {
                now += Duration::from_nanos(advance);
                let cost = cost.min(quota.burst());
                let expected = gcra(now, tat, quota, cost).unwrap();
                if let Some((new_tat, _ttl)) = expected.store {
                    tat = Some(new_tat);
                }
                let got = rl.run(&key, quota, cost, Some(now)).await.unwrap();
                assert_eq!(got, expected.decision, "quota {quota:?}, step {n}");
            }
            let _: i64 = rl
                .conn
                .query(
                    redis::cmd("DEL").arg(format!("{}{key}", rl.prefix)),
                    "delete",
                    Retry::Once,
                )
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn stored_tat_expires_when_it_passes() {
        let Some(rl) = limiter() else { return };
        let quota = Quota::per_second(10).with_burst(3);
        let pttl = |rl: RedisRateLimiter| async move {
            let ms: i64 = rl
                .conn
                .query(
                    redis::cmd("PTTL").arg(format!("{}ttl", rl.prefix)),
                    "pttl",
                    Retry::Once,
                )
                .await
                .unwrap();
            ms
        };
        assert_eq!(
            pttl(rl.clone()).await,
            -2,
            "no state before the first check"
        );
        assert!(rl.check_n("ttl", &quota, 0).await.unwrap().allowed);
        assert_eq!(pttl(rl.clone()).await, -2, "a peek stores nothing");
        let d = rl.check_n("ttl", &quota, 2).await.unwrap();
        assert!(d.allowed && d.remaining == 1, "{d:?}");
        let ms = pttl(rl.clone()).await;
        assert!(
            (1..=200).contains(&ms),
            "TTL {ms} ms for a TAT 200 ms ahead"
        );
    }

    #[tokio::test]
    async fn oversized_window_is_unsupported_and_bad_input_invalid() {
        let Some(rl) = limiter() else { return };
        let err = rl
            .check("k", &Quota::per_hour(1).with_burst(24 * 60))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        let err = rl.check_n("k", &Quota::per_hour(2), 3).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
}
