//! [`RedisConfig`]: where the Redis server is and how to talk to it.

use std::fmt;
use std::time::Duration;

use plugbay_core::{Error, ExposeSecret, Result, SecretString, Settings};

/// The key namespace used when none is configured.
pub const DEFAULT_KEY_PREFIX: &str = "plugbay:";

/// Settings of a Redis backend.
///
/// The URL is kept as a [`SecretString`] because it usually carries the
/// password; `Debug` shows it with the password replaced by `***`.
#[derive(Clone)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://[user][:password@]host[:port][/db]`, `rediss://…` for TLS
    /// (append `#insecure` to skip certificate checks), or
    /// `redis+unix:///path/to/socket?db=N`.
    pub url: Option<SecretString>,
    /// Prepended to every key, so several applications can share a server.
    /// Default [`DEFAULT_KEY_PREFIX`].
    pub key_prefix: String,
    /// Bound on establishing one connection (TCP + TLS + `AUTH`/`HELLO`).
    pub connect_timeout: Duration,
    /// Bound on waiting for one reply.
    pub response_timeout: Duration,
    /// How many times a lost connection is re-established (with jittered
    /// exponential backoff) before a call fails with `Unavailable`.
    pub reconnect_retries: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(5),
            reconnect_retries: 2,
        }
    }
}

impl RedisConfig {
    /// A configuration with defaults and no URL.
    pub fn new() -> Self {
        Self::default()
    }

    /// The configuration for `url` (a `redis://`, `rediss://` or
    /// `redis+unix://` URL). The plugbay-only query option `prefix=…` sets
    /// [`RedisConfig::key_prefix`] and is removed before the URL reaches
    /// the driver. Errors never echo the URL.
    pub fn from_url(url: &str) -> Result<Self> {
        let mut parsed = url::Url::parse(url.trim())
            .map_err(|e| config_error(format!("REDIS_URL is not a valid URL: {e}")))?;
        if !matches!(
            parsed.scheme(),
            "redis" | "rediss" | "redis+unix" | "unix" | "valkey" | "valkeys"
        ) {
            return Err(config_error(
                "REDIS_URL must start with redis://, rediss:// or redis+unix://",
            )
            .with_context("scheme", parsed.scheme().to_owned()));
        }
        let mut config = RedisConfig::default();
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.iter().any(|(k, _)| k == "prefix") {
            let mut rest = Vec::new();
            for (name, value) in pairs {
                if name == "prefix" {
                    config.key_prefix = value;
                } else {
                    rest.push((name, value));
                }
            }
            if rest.is_empty() {
                parsed.set_query(None);
            } else {
                parsed.query_pairs_mut().clear().extend_pairs(rest);
            }
        }
        config.url = Some(SecretString::from(parsed.to_string()));
        Ok(config)
    }

    /// Read `REDIS_URL` (required), `REDIS_KEY_PREFIX`,
    /// `REDIS_CONNECT_TIMEOUT` and `REDIS_RESPONSE_TIMEOUT` (durations like
    /// `2s` or `500ms`). A `REDIS_URL` that is a secret reference must be
    /// resolved first (`Settings::secret`) and passed to
    /// [`RedisConfig::from_url`].
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        let url = settings.require("REDIS_URL")?;
        if settings.secret_ref("REDIS_URL")?.is_some() {
            return Err(config_error(
                "REDIS_URL is a secret reference: resolve it with Settings::secret \
                 and pass the value to from_url",
            ));
        }
        let mut config = RedisConfig::from_url(url)?;
        if let Some(prefix) = settings.get("REDIS_KEY_PREFIX") {
            config.key_prefix = prefix.to_owned();
        }
        if let Some(timeout) = settings.get_duration("REDIS_CONNECT_TIMEOUT")? {
            config.connect_timeout = timeout;
        }
        if let Some(timeout) = settings.get_duration("REDIS_RESPONSE_TIMEOUT")? {
            config.response_timeout = timeout;
        }
        Ok(config)
    }

    /// The URL with any password replaced by `***`, for logs and `Debug`.
    pub fn redacted_url(&self) -> Option<String> {
        self.url.as_ref().map(|url| redact_url(url.expose_secret()))
    }
}

/// `url` with its password (user-info or `pass=` query value) masked.
pub(crate) fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unparsable url>".to_owned();
    };
    if parsed.password().is_some() {
        // Cannot fail: a URL that has a password can have it replaced.
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(k, _)| k == "pass") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "pass" { "***".into() } else { v };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

pub(crate) fn config_error(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::config(message).with_provider("redis")
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.redacted_url())
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_retries", &self.reconnect_retries)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    #[test]
    fn debug_hides_the_password() {
        for url in [
            "redis://:hunter2@cache.internal:6380/3",
            "rediss://app:hunter2@cache.internal",
            "redis+unix:///run/redis.sock?db=2&pass=hunter2",
        ] {
            let config = RedisConfig::from_url(url).unwrap();
            let shown = format!("{config:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
            assert!(shown.contains("RedisConfig"), "{shown}");
        }
    }

    #[test]
    fn prefix_query_option_is_taken_out_of_the_url() {
        let config = RedisConfig::from_url("redis://h:1/2?prefix=app%3A&protocol=resp3").unwrap();
        assert_eq!(config.key_prefix, "app:");
        assert_eq!(
            config.url.unwrap().expose_secret(),
            "redis://h:1/2?protocol=resp3"
        );
        let config = RedisConfig::from_url("redis://h/?prefix=").unwrap();
        assert_eq!(config.key_prefix, "");
        assert_eq!(config.url.unwrap().expose_secret(), "redis://h/");
        assert_eq!(
            RedisConfig::from_url("redis://h").unwrap().key_prefix,
            DEFAULT_KEY_PREFIX
        );
    }

    #[test]
    fn bad_urls_are_config_errors_without_the_secret() {
        for url in [
            "http://:hunter2@h",
            "not a url hunter2",
            "redis://:hunter2@[::1",
        ] {
            let err = RedisConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{url}");
            assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
        }
    }

    #[test]
    fn settings_are_read() {
        let settings = Settings::from_map([
            ("REDIS_URL", "redis://:pw@localhost:6379/1"),
            ("REDIS_KEY_PREFIX", "svc:"),
            ("REDIS_RESPONSE_TIMEOUT", "250ms"),
        ]);
        let config = RedisConfig::from_settings(&settings).unwrap();
        assert_eq!(config.key_prefix, "svc:");
        assert_eq!(config.response_timeout, Duration::from_millis(250));
        assert_eq!(config.connect_timeout, Duration::from_secs(2));
        let missing = RedisConfig::from_settings(&Settings::from_map([("X", "y")])).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::Config);
    }
}
