//! [`from_url`]: pick a [`KeyValue`](crate::KeyValue) backend from one setting.

use std::sync::Arc;

use plugbay_core::{Error, ErrorKind, Result};

use crate::kv::DynKeyValue;
use crate::memory::InMemoryKeyValue;

/// Open the key-value backend a URL names (typically `REDIS_URL` or a
/// `CACHE_URL` setting), so a deployment swaps backends by configuration.
///
/// - `memory://` — an [`InMemoryKeyValue`]; query options `max_entries=N`
///   and `shards=N`.
/// - `redis://…`, `rediss://…` — a `redis::RedisKeyValue` with the
///   `redis` feature (URL forms in `redis::RedisConfig::from_url`; it
///   connects lazily, on the first call); `Unsupported` naming the feature
///   without it.
///
/// Anything else is a `Config` error. Error messages never echo the URL,
/// which may hold a password.
///
/// ```
/// let kv = plugbay_cache::from_url("memory://?max_entries=1000").unwrap();
/// assert_eq!(kv.backend(), "memory");
/// let redis = plugbay_cache::from_url("redis://:secret@localhost:6379/0");
/// # #[cfg(feature = "redis")]
/// assert_eq!(redis.unwrap().backend(), "redis");
/// # #[cfg(not(feature = "redis"))]
/// assert_eq!(redis.unwrap_err().kind(), plugbay_core::ErrorKind::Unsupported);
/// ```
pub fn from_url(url: &str) -> Result<DynKeyValue> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| config("the cache URL has no scheme (expected memory:// or redis://)"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "memory" => memory_from_url(rest),
        "redis" | "rediss" => redis_from_url(url, scheme),
        _ => Err(
            config("unknown cache URL scheme (expected memory:// or redis://)")
                .with_context("scheme", scheme.to_owned()),
        ),
    }
}

#[cfg(feature = "redis")]
fn redis_from_url(url: &str, _scheme: &str) -> Result<DynKeyValue> {
    Ok(Arc::new(crate::redis::RedisKeyValue::from_url(url)?))
}

#[cfg(not(feature = "redis"))]
fn redis_from_url(_url: &str, scheme: &str) -> Result<DynKeyValue> {
    Err(Error::unsupported(
        "the Redis key-value backend needs the `redis` feature of plugbay-cache",
    )
    .with_context("scheme", scheme.to_owned()))
}

fn memory_from_url(rest: &str) -> Result<DynKeyValue> {
    let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !host.trim_end_matches('/').is_empty() {
        return Err(config("memory:// URLs take no host or path"));
    }
    let mut builder = InMemoryKeyValue::builder();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || {
            value.parse::<usize>().map_err(|_| {
                config("memory:// option must be a non-negative integer")
                    .with_context("option", name.to_owned())
            })
        };
        builder = match name {
            "max_entries" => builder.max_entries(number()?),
            "shards" => builder.shards(number()?),
            _ => {
                return Err(
                    config("unknown memory:// option (expected max_entries or shards)")
                        .with_context("option", name.to_owned()),
                );
            }
        };
    }
    Ok(Arc::new(builder.build()))
}

fn config(message: &'static str) -> Error {
    Error::new(ErrorKind::Config, message).with_operation("from_url")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_urls() {
        assert_eq!(from_url("memory://").unwrap().backend(), "memory");
        assert_eq!(
            from_url("MEMORY:///?shards=2&max_entries=5")
                .unwrap()
                .backend(),
            "memory"
        );
        for bad in [
            "memory://host",
            "memory://?max_entries=x",
            "memory://?ttl=3",
            "memory",
            "ftp://x",
        ] {
            assert_eq!(
                from_url(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }

    #[cfg(not(feature = "redis"))]
    #[test]
    fn redis_urls_are_unsupported_without_leaking_the_password() {
        for url in [
            "redis://:hunter2@localhost:6379/0",
            "rediss://user:hunter2@cache:6380",
        ] {
            let err = from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported);
            let shown = format!("{err:?} {err}");
            assert!(shown.contains("`redis` feature"), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_urls_open_the_redis_backend_without_leaking_the_password() {
        for url in [
            "redis://:hunter2@localhost:6379/0",
            "REDISS://user:hunter2@cache:6380",
            "redis://localhost/1?prefix=app:",
        ] {
            let kv = from_url(url).unwrap();
            assert_eq!(kv.backend(), "redis");
            assert!(!format!("{kv:?}").contains("hunter2"), "{kv:?}");
        }
        let err = from_url("redis://:hunter2@h/not-a-db").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!format!("{err:?} {err}").contains("hunter2"));
    }
}
