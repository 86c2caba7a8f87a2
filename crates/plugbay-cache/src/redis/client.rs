//! Wire calls: one reconnecting multiplexed connection shared by every
//! clone of a backend, and the retry rule for calls that failed because the
//! connection was lost.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use plugbay_core::{Error, ExposeSecret, Result};
use redis::aio::ConnectionManager;
use redis::{Client, Cmd, FromRedisValue, RedisError, ScriptInvocation};
use tokio::sync::OnceCell;

use super::config::{RedisConfig, config_error};
use super::error::map_error;

/// Whether a failed call may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Sending it twice has the same effect as once (`GET`, `SET`,
    /// `PEXPIRE`): retry once on any lost connection.
    Idempotent,
    /// A second send could double its effect or lose its answer (`SET NX`,
    /// `GETDEL`, `INCRBY`): retry only when the first never reached a
    /// server (connection refused).
    Once,
}

/// The shared connection of a Redis backend.
///
/// The [`ConnectionManager`] is created on first use, inside the caller's
/// tokio runtime, so that building a backend is synchronous and never
/// needs a runtime (the manager spawns a task when created).
pub(crate) struct RedisConnection {
    client: Client,
    manager_config: redis::aio::ConnectionManagerConfig,
    manager: OnceCell<ConnectionManager>,
    /// Set once the server answered that it does not know `GETDEL`
    /// (Redis < 6.2); `take` then uses a Lua script.
    pub(crate) getdel_unsupported: AtomicBool,
    redacted_url: String,
}

impl RedisConnection {
    pub(crate) fn open(config: &RedisConfig) -> Result<Arc<Self>> {
        let url = config
            .url
            .as_ref()
            .ok_or_else(|| config_error("the Redis backend needs a URL (REDIS_URL)"))?;
        let client = Client::open(url.expose_secret()).map_err(|e| {
            config_error(format!(
                "REDIS_URL is not usable: {}",
                e.detail().unwrap_or(e.category())
            ))
            .with_operation("connect")
        })?;
        let manager_config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.response_timeout))
            .set_number_of_retries(config.reconnect_retries)
            .set_min_delay(std::time::Duration::from_millis(50))
            .set_max_delay(std::time::Duration::from_secs(1));
        Ok(Arc::new(RedisConnection {
            client,
            manager_config,
            manager: OnceCell::new(),
            getdel_unsupported: AtomicBool::new(false),
            redacted_url: config.redacted_url().unwrap_or_default(),
        }))
    }

    pub(crate) fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    async fn manager(&self) -> Result<ConnectionManager> {
        // Once made, the manager is a cheap `Arc` handle; skip the
        // initialisation future on every call after the first.
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        self.manager
            .get_or_try_init(|| async {
                ConnectionManager::new_lazy_with_config(
                    self.client.clone(),
                    self.manager_config.clone(),
                )
            })
            .await
            .cloned()
            .map_err(|e| map_error(e, "connect"))
    }

    /// Run `cmd`, retrying once when `retry` allows it.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        operation: &'static str,
        retry: Retry,
    ) -> Result<T> {
        let mut conn = self.manager().await?;
        match cmd.query_async(&mut conn).await {
            Ok(value) => Ok(value),
            Err(err) if should_retry(&err, retry) => cmd
                .query_async(&mut conn)
                .await
                .map_err(|e| map_error(e, operation)),
            Err(err) => Err(map_error(err, operation)),
        }
    }

    /// Run a Lua script by `EVALSHA` (loading it on `NOSCRIPT`), retrying
    /// once when `retry` allows it.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
        operation: &'static str,
        retry: Retry,
    ) -> Result<T> {
        let mut conn = self.manager().await?;
        match invocation.invoke_async(&mut conn).await {
            Ok(value) => Ok(value),
            Err(err) if should_retry(&err, retry) => invocation
                .invoke_async(&mut conn)
                .await
                .map_err(|e| map_error(e, operation)),
            Err(err) => Err(map_error(err, operation)),
        }
    }
}

/// The manager has already started reconnecting when a call fails on a lost
/// connection, so the second attempt waits for the new connection.
fn should_retry(err: &RedisError, retry: Retry) -> bool {
    if err.is_timeout() {
        return false;
    }
    match retry {
        Retry::Idempotent => err.is_connection_dropped() || err.is_connection_refusal(),
        Retry::Once => err.is_connection_refusal(),
    }
}

/// Whether the server rejected a command it does not know.
pub(crate) fn is_unknown_command(err: &Error) -> bool {
    err.message()
        .to_ascii_lowercase()
        .contains("unknown command")
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("url", &self.redacted_url)
            .field("connected", &self.manager.initialized())
            .field(
                "getdel_unsupported",
                &self.getdel_unsupported.load(Ordering::Relaxed),
            )
            .finish()
    }
}
