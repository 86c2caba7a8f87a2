//! [`QdrantBuilder`]: a [`QdrantStore`] from code, settings or a URL.

use std::sync::Arc;
use std::time::Duration;

use plugbay_core::config::parse_duration;
use plugbay_core::http::Sleeper;
use plugbay_core::{Error, HttpClient, Result, RetryPolicy, SecretString, Settings};

use super::QdrantStore;
use super::config::{PayloadIndex, PayloadSchema, QdrantConfig};

/// Builds a [`QdrantStore`]:
///
/// ```
/// use plugbay_memory::qdrant::{PayloadSchema, QdrantBuilder};
/// let store = QdrantBuilder::default()
///     .url("http://127.0.0.1:6333")
///     .payload_index("user_id", PayloadSchema::Keyword)
///     .build()?;
/// assert_eq!(store.config().url, "http://127.0.0.1:6333");
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct QdrantBuilder {
    config: QdrantConfig,
    http: Option<HttpClient>,
    sleeper: Option<Arc<dyn Sleeper>>,
}

fn bad_url(url: &str, why: impl std::fmt::Display) -> Error {
    Error::config(format!("invalid Qdrant URL: {why}"))
        .with_provider("qdrant")
        .with_context("url", plugbay_core::redact::redact(url))
}

impl QdrantBuilder {
    /// Start from a whole config.
    pub fn from_config(config: QdrantConfig) -> QdrantBuilder {
        QdrantBuilder {
            config,
            ..QdrantBuilder::default()
        }
    }

    /// The REST root (default `http://localhost:6333`).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.config.url = url.into();
        self
    }

    /// The API key, sent as the `api-key` header.
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.config.api_key = Some(key.into());
        self
    }

    /// Bound each attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Retries after the first attempt (default 2).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.config.retry_policy = self.config.retry_policy.max_retries(retries);
        self
    }

    /// The whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.config.retry_policy = policy;
        self
    }

    /// Create a payload index on `field` with every new collection (index
    /// the keys you filter on, `user_id` for memories, say).
    pub fn payload_index(mut self, field: impl Into<String>, schema: PayloadSchema) -> Self {
        self.config
            .payload_indexes
            .push(PayloadIndex::new(field, schema));
        self
    }

    /// Most points per upsert request (default 512).
    pub fn upsert_batch(mut self, points: usize) -> Self {
        self.config.upsert_batch = points.max(1);
        self
    }

    /// Use this HTTP client (its timeout, retry policy and sleeper apply
    /// instead of the builder's).
    pub fn http_client(mut self, http: HttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// Wait between retries with `sleeper` (tests pass a
    /// `RecordingSleeper`).
    pub fn sleeper(mut self, sleeper: impl Sleeper + 'static) -> Self {
        self.sleeper = Some(Arc::new(sleeper));
        self
    }

    /// `QDRANT_URL` (default `http://localhost:6333`) and `QDRANT_API_KEY`
    /// (may be a secret reference).
    ///
    /// # Errors
    /// `Config` when a value is malformed or a secret cannot be resolved.
    pub async fn from_settings(settings: &Settings) -> Result<QdrantBuilder> {
        let mut builder = QdrantBuilder::default();
        if let Some(url) = settings.get_url("QDRANT_URL")? {
            builder = builder.url(url.as_str().trim_end_matches('/'));
        }
        if let Some(key) = settings.secret("QDRANT_API_KEY").await? {
            builder = builder.api_key(key);
        }
        Ok(builder)
    }

    /// [`QdrantBuilder::from_settings`] over the process environment and
    /// `.env.local`.
    ///
    /// # Errors
    /// As [`QdrantBuilder::from_settings`].
    pub async fn from_env() -> Result<QdrantBuilder> {
        QdrantBuilder::from_settings(&Settings::from_env()?).await
    }

    /// Read a URL: `qdrant://host:6333` and `qdrant+http://host:6333` are
    /// plain HTTP, `qdrant+https://host` (and `http(s)://host`) use that
    /// scheme. Query parameters: `timeout` (`30s`), `max_retries`. Keys
    /// never go in the URL: the process environment's `QDRANT_API_KEY`
    /// is used when set (plain values only; use
    /// [`QdrantBuilder::from_settings`] for secret references).
    ///
    /// # Errors
    /// `Config` for a malformed URL or an unknown parameter.
    pub fn from_url(url: &str) -> Result<QdrantBuilder> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(bad_url(url, "expected scheme://host"));
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "qdrant" | "qdrant+http" | "http" => "http",
            "qdrant+https" | "https" => "https",
            other => return Err(bad_url(url, format!("unsupported scheme `{other}`"))),
        };
        let parsed = url::Url::parse(&format!("{scheme}://{rest}")).map_err(|e| bad_url(url, e))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad_url(
                url,
                "credentials do not go in the URL; set QDRANT_API_KEY",
            ));
        }
        let mut builder = QdrantBuilder::default();
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "timeout" => {
                    let t = parse_duration(&value)
                        .ok_or_else(|| bad_url(url, format!("bad timeout `{value}`")))?;
                    builder = builder.timeout(t);
                }
                "max_retries" => {
                    let n = value
                        .parse()
                        .map_err(|_| bad_url(url, format!("bad max_retries `{value}`")))?;
                    builder = builder.max_retries(n);
                }
                other => return Err(bad_url(url, format!("unknown parameter `{other}`"))),
            }
        }
        let mut base = parsed;
        base.set_query(None);
        builder.config.url = base.as_str().trim_end_matches('/').to_owned();
        if let Ok(key) = std::env::var("QDRANT_API_KEY")
            && !key.trim().is_empty()
        {
            builder = builder.api_key(key);
        }
        Ok(builder)
    }

    /// Build the store (no network call is made).
    ///
    /// # Errors
    /// `Config` for a URL that is not `http(s)://` or a failing HTTP
    /// client setup.
    pub fn build(self) -> Result<QdrantStore> {
        let parsed = url::Url::parse(&self.config.url).map_err(|e| bad_url(&self.config.url, e))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad_url(&self.config.url, "the REST URL must be http(s)"));
        }
        let http = match self.http {
            Some(http) => http,
            None => {
                let mut b = HttpClient::builder()
                    .timeout(self.config.timeout)
                    .retry_policy(self.config.retry_policy.clone());
                if let Some(sleeper) = self.sleeper {
                    b = b.sleeper(sleeper);
                }
                b.build()?
            }
        };
        Ok(QdrantStore::assemble(self.config, http))
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    #[test]
    fn urls_map_to_rest_roots() {
        let b = QdrantBuilder::from_url("qdrant://localhost:6333").unwrap();
        assert_eq!(b.config.url, "http://localhost:6333");
        let b = QdrantBuilder::from_url(
            "qdrant+https://xyz.cloud.qdrant.io:6333?timeout=5s&max_retries=4",
        )
        .unwrap();
        assert_eq!(b.config.url, "https://xyz.cloud.qdrant.io:6333");
        assert_eq!(b.config.timeout, Duration::from_secs(5));
        assert_eq!(b.config.retry_policy.max_retries, 4);
        let b = QdrantBuilder::from_url("http://10.0.0.1:6333/").unwrap();
        assert_eq!(b.config.url, "http://10.0.0.1:6333");
    }

    #[test]
    fn bad_urls_are_config_errors() {
        for url in [
            "qdrant:/x",
            "redis://x",
            "qdrant://h?colour=red",
            "qdrant://user:pw@h:6333",
            "qdrant://h?timeout=soon",
        ] {
            let err = QdrantBuilder::from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{url}");
        }
        let err = QdrantBuilder::default().url("ftp://h").build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[tokio::test]
    async fn settings_give_url_and_key() {
        let settings = Settings::from_map([
            ("QDRANT_URL", "https://q.example:6333/"),
            ("QDRANT_API_KEY", "k-123"),
        ]);
        let b = QdrantBuilder::from_settings(&settings).await.unwrap();
        assert_eq!(b.config.url, "https://q.example:6333");
        assert!(b.config.api_key.is_some());
    }
}
