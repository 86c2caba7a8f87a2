//! The Redis backend (feature `redis`): [`RedisKeyValue`] and
//! [`RedisRateLimiter`] over the official `redis` crate.
//!
//! One reconnecting multiplexed connection ([`redis::aio::ConnectionManager`])
//! is shared by every clone of a backend and by the rate limiters made from
//! it; many concurrent calls are pipelined on it. Every trait operation is a
//! single atomic command or Lua script:
//!
//! | operation | Redis |
//! | --- | --- |
//! | `get` / `set` / `delete` | `GET` / `SET [PX ms]` / `DEL` |
//! | `set_if_absent` | `SET key value NX [PX ms]` |
//! | `take` | `GETDEL` (a `GET`+`DEL` Lua script on Redis < 6.2) |
//! | `incr` | Lua: `INCRBY`, then `PEXPIRE` only if the key was just created |
//! | `expire` | `PEXPIRE` (`0` deletes, as on every backend) |
//! | rate limit check | Lua: GCRA on the server clock (`TIME`), TAT stored with `PX` |

mod client;
mod config;
mod error;
mod rate_limit;

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use plugbay_core::{Error, Result, SecretString, Settings};
use redis::{Cmd, RedisWrite, Script, ToRedisArgs, Value};

use crate::kv::KeyValue;
use client::{RedisConnection, Retry, is_unknown_command};

pub use config::{DEFAULT_KEY_PREFIX, RedisConfig};
pub use rate_limit::RedisRateLimiter;

/// `INCRBY`, then `PEXPIRE` only when this call created the key. The new
/// value is read back with `GET` because Lua numbers are doubles and would
/// round counters above 2^53.
const INCR_LUA: &str = r"
local created = redis.call('EXISTS', KEYS[1]) == 0
redis.call('INCRBY', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1])
";

/// `take` for servers without `GETDEL` (Redis < 6.2).
const TAKE_LUA: &str = r"
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
";

static INCR_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(INCR_LUA));
static TAKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TAKE_LUA));

/// Redis refuses expiry instants past `i64::MAX` milliseconds; stay well
/// inside that (this is still millions of years).
const MAX_TTL_MS: u64 = (i64::MAX as u64) / 4;

/// Builder for [`RedisKeyValue`].
///
/// ```
/// use std::time::Duration;
/// use plugbay_cache::redis::RedisKeyValueBuilder;
///
/// let kv = RedisKeyValueBuilder::from_url("redis://:secret@localhost:6379/0")?
///     .key_prefix("myapp:")
///     .response_timeout(Duration::from_secs(2))
///     .build()?; // connects lazily, on the first call
/// assert!(!format!("{kv:?}").contains("secret"));
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RedisKeyValueBuilder {
    config: RedisConfig,
}

impl RedisKeyValueBuilder {
    /// A builder with defaults and no URL.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for `url` (see [`RedisConfig::from_url`] for the forms).
    pub fn from_url(url: &str) -> Result<Self> {
        Ok(Self::from_config(RedisConfig::from_url(url)?))
    }

    /// A builder from `REDIS_URL` and friends (see
    /// [`RedisConfig::from_settings`]).
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        Ok(Self::from_config(RedisConfig::from_settings(settings)?))
    }

    /// [`RedisKeyValueBuilder::from_settings`] over the process environment
    /// and `.env.local`.
    pub fn from_env() -> Result<Self> {
        Self::from_settings(&Settings::from_env()?)
    }

    /// A builder starting from `config`.
    pub fn from_config(config: RedisConfig) -> Self {
        RedisKeyValueBuilder { config }
    }

    /// Set the server URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.config.url = Some(SecretString::from(url.into()));
        self
    }

    /// Prepend `prefix` to every key (default [`DEFAULT_KEY_PREFIX`]).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.key_prefix = prefix.into();
        self
    }

    /// Bound on establishing a connection (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Bound on waiting for one reply (default 5 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.config.response_timeout = timeout;
        self
    }

    /// How many reconnect attempts a lost connection gets (default 2).
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.config.reconnect_retries = retries;
        self
    }

    /// The configuration so far.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// Build the backend. No connection is made yet: the first call
    /// connects (inside the caller's tokio runtime), and a lost connection
    /// is re-established on its own.
    pub fn build(self) -> Result<RedisKeyValue> {
        Ok(RedisKeyValue {
            conn: RedisConnection::open(&self.config)?,
            prefix: Arc::from(self.config.key_prefix.as_str()),
        })
    }
}

/// A [`KeyValue`] on a Redis server (Redis 6.2+ preferred; older servers
/// work with a Lua fallback for `take`).
///
/// Cloning is cheap and shares the connection. Keys are stored as
/// `{prefix}{key}`; values are stored as given (counters as base-10 text).
/// `Debug` and errors never show the URL's password.
#[derive(Clone)]
pub struct RedisKeyValue {
    conn: Arc<RedisConnection>,
    prefix: Arc<str>,
}

impl RedisKeyValue {
    /// A builder.
    pub fn builder() -> RedisKeyValueBuilder {
        RedisKeyValueBuilder::new()
    }

    /// `RedisKeyValueBuilder::from_url(url)?.build()`.
    pub fn from_url(url: &str) -> Result<Self> {
        RedisKeyValueBuilder::from_url(url)?.build()
    }

    /// The key namespace prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// A GCRA rate limiter sharing this backend's connection, with keys
    /// under `{prefix}ratelimit:`.
    pub fn rate_limiter(&self) -> RedisRateLimiter {
        RedisRateLimiter::new(self)
    }

    /// This store as a shared [`DynKeyValue`](crate::DynKeyValue).
    pub fn into_dyn(self) -> crate::DynKeyValue {
        Arc::new(self)
    }

    /// `{prefix}{key}` as an owned string, for script invocations (which
    /// copy their keys anyway).
    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    /// `name {prefix}{key}`, with room for `extra_args` more arguments of
    /// `extra_len` bytes in total, so building it allocates twice (argument
    /// table and buffer) and never regrows.
    fn command(&self, name: &str, key: &str, extra_args: usize, extra_len: usize) -> Cmd {
        let mut cmd = Cmd::with_capacity(
            2 + extra_args,
            name.len() + self.prefix.len() + key.len() + extra_len,
        );
        cmd.arg(name).arg(PrefixedKey {
            prefix: &self.prefix,
            key,
        });
        cmd
    }

    pub(crate) fn connection(&self) -> &Arc<RedisConnection> {
        &self.conn
    }
}

/// A key written into a command as `{prefix}{key}`, without first
/// building the joined `String`.
struct PrefixedKey<'a> {
    prefix: &'a str,
    key: &'a str,
}

impl ToRedisArgs for PrefixedKey<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        use std::io::Write as _;
        let mut arg = out.writer_for_next_arg();
        // The writers append to an in-memory buffer and cannot fail.
        let _ = arg.write_all(self.prefix.as_bytes());
        let _ = arg.write_all(self.key.as_bytes());
    }
}

/// A TTL in whole milliseconds (rounded up, so a key never expires early).
pub(crate) fn ttl_millis(ttl: Duration, operation: &'static str) -> Result<u64> {
    if ttl.is_zero() {
        return Err(Error::invalid_input("ttl must be greater than zero")
            .with_provider("redis")
            .with_operation(operation));
    }
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000))
        .ok()
        .filter(|ms| *ms <= MAX_TTL_MS)
        .ok_or_else(|| {
            Error::invalid_input("ttl is too large")
                .with_provider("redis")
                .with_operation(operation)
        })
}

fn optional_ttl(ttl: Option<Duration>, operation: &'static str) -> Result<Option<u64>> {
    ttl.map(|ttl| ttl_millis(ttl, operation)).transpose()
}

#[async_trait]
impl KeyValue for RedisKeyValue {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let cmd = self.command("GET", key, 0, 0);
        self.conn.query(&cmd, "get", Retry::Idempotent).await
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        let ttl = optional_ttl(ttl, "set")?;
        // `PX` and up to 20 digits of milliseconds.
        let mut cmd = self.command("SET", key, 3, value.len() + 22);
        cmd.arg(&value[..]);
        if let Some(ms) = ttl {
            cmd.arg("PX").arg(ms);
        }
        self.conn.query(&cmd, "set", Retry::Idempotent).await
    }

    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        let ttl = optional_ttl(ttl, "set_if_absent")?;
        let mut cmd = self.command("SET", key, 4, value.len() + 24);
        cmd.arg(&value[..]).arg("NX");
        if let Some(ms) = ttl {
            cmd.arg("PX").arg(ms);
        }
        let reply: Value = self.conn.query(&cmd, "set_if_absent", Retry::Once).await?;
        Ok(!matches!(reply, Value::Nil))
    }

    async fn take(&self, key: &str) -> Result<Option<Bytes>> {
        if !self.conn.getdel_unsupported.load(Ordering::Relaxed) {
            let cmd = self.command("GETDEL", key, 0, 0);
            match self.conn.query(&cmd, "take", Retry::Once).await {
                Err(err) if is_unknown_command(&err) => {
                    tracing::debug!("redis server has no GETDEL; using a Lua script for take");
                    self.conn.getdel_unsupported.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        take_by_script(&self.conn, &self.key(key)).await
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let cmd = self.command("DEL", key, 0, 0);
        let removed: i64 = self.conn.query(&cmd, "delete", Retry::Once).await?;
        Ok(removed > 0)
    }

    async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> Result<i64> {
        let ttl = optional_ttl(ttl, "incr")?.unwrap_or(0);
        let mut invocation = INCR_SCRIPT.prepare_invoke();
        invocation.key(self.key(key)).arg(by).arg(ttl);
        let value: Bytes = self.conn.invoke(&invocation, "incr", Retry::Once).await?;
        crate::memory::parse_counter(&value).ok_or_else(|| {
            Error::protocol("redis returned a counter that is not an integer")
                .with_provider("redis")
                .with_operation("incr")
        })
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        // `PEXPIRE key 0` deletes the key, which is the documented rule.
        let ms = if ttl.is_zero() {
            0
        } else {
            ttl_millis(ttl, "expire")?
        };
        let mut cmd = self.command("PEXPIRE", key, 1, 20);
        cmd.arg(ms);
        let applied: i64 = self.conn.query(&cmd, "expire", Retry::Idempotent).await?;
        Ok(applied == 1)
    }

    async fn ping(&self) -> Result<()> {
        let _: Value = self
            .conn
            .query(&redis::cmd("PING"), "ping", Retry::Idempotent)
            .await?;
        Ok(())
    }
}

async fn take_by_script(conn: &RedisConnection, key: &str) -> Result<Option<Bytes>> {
    let mut invocation = TAKE_SCRIPT.prepare_invoke();
    invocation.key(key);
    conn.invoke(&invocation, "take", Retry::Once).await
}

impl fmt::Debug for RedisKeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKeyValue")
            .field("url", &self.conn.redacted_url())
            .field("key_prefix", &self.prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests;
