//! [`PineconeBuilder`]: a [`PineconeStore`] from code, settings or a URL.

use std::sync::Arc;
use std::time::Duration;

use plugbay_core::http::Sleeper;
use plugbay_core::{Error, HttpClient, Result, RetryPolicy, SecretString, Settings};

use super::PineconeStore;
use super::config::{MAX_UPSERT_BYTES, MAX_UPSERT_RECORDS, PineconeConfig};

/// Builds a [`PineconeStore`]:
///
/// ```
/// use plugbay_memory::pinecone::PineconeBuilder;
/// let store = PineconeBuilder::default()
///     .api_key("pcsk_...")
///     .index("memories")
///     .build()?;
/// assert_eq!(store.config().api_version, "2025-04");
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct PineconeBuilder {
    config: PineconeConfig,
    http: Option<HttpClient>,
    sleeper: Option<Arc<dyn Sleeper>>,
}

fn config_error(message: impl Into<String>) -> Error {
    Error::config(message.into()).with_provider("pinecone")
}

impl PineconeBuilder {
    /// Start from a whole config.
    pub fn from_config(config: PineconeConfig) -> PineconeBuilder {
        PineconeBuilder {
            config,
            ..PineconeBuilder::default()
        }
    }

    /// The API key (required), sent as `Api-Key`.
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.config.api_key = Some(key.into());
        self
    }

    /// The index name; its host is looked up on the control plane.
    pub fn index(mut self, name: impl Into<String>) -> Self {
        self.config.index = Some(name.into());
        self
    }

    /// The index host (skips the control-plane lookup); a bare host gets
    /// `https://`, a full URL is used as it is.
    pub fn index_host(mut self, host: impl Into<String>) -> Self {
        self.config.index_host = Some(host.into());
        self
    }

    /// The control plane root (default `https://api.pinecone.io`).
    pub fn control_url(mut self, url: impl Into<String>) -> Self {
        self.config.control_url = url.into();
        self
    }

    /// The `X-Pinecone-API-Version` (default `2025-04`).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.config.api_version = version.into();
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

    /// Most bytes per upsert body (capped at Pinecone's 2 MiB).
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.config.max_request_bytes = bytes.clamp(1, MAX_UPSERT_BYTES);
        self
    }

    /// Most records per upsert body (capped at Pinecone's 1000).
    pub fn max_batch(mut self, records: usize) -> Self {
        self.config.max_batch = records.clamp(1, MAX_UPSERT_RECORDS);
        self
    }

    /// Use this HTTP client (its timeout, retry policy and sleeper apply).
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

    /// `PINECONE_API_KEY` (required, may be a secret reference),
    /// `PINECONE_INDEX`, `PINECONE_INDEX_HOST`, and the overrides
    /// `PINECONE_CONTROLLER_HOST` and `PINECONE_API_VERSION`.
    ///
    /// # Errors
    /// `Config` when the key is missing or a secret cannot be resolved.
    pub async fn from_settings(settings: &Settings) -> Result<PineconeBuilder> {
        let mut b =
            PineconeBuilder::default().api_key(settings.require_secret("PINECONE_API_KEY").await?);
        if let Some(index) = settings.get("PINECONE_INDEX") {
            b = b.index(index.trim());
        }
        if let Some(host) = settings.get("PINECONE_INDEX_HOST") {
            b = b.index_host(host.trim());
        }
        if let Some(url) = settings.get("PINECONE_CONTROLLER_HOST") {
            b = b.control_url(super::client::host_url(url));
        }
        if let Some(version) = settings.get("PINECONE_API_VERSION") {
            b = b.api_version(version.trim());
        }
        Ok(b)
    }

    /// [`PineconeBuilder::from_settings`] over the process environment and
    /// `.env.local`.
    ///
    /// # Errors
    /// As [`PineconeBuilder::from_settings`].
    pub async fn from_env() -> Result<PineconeBuilder> {
        PineconeBuilder::from_settings(&Settings::from_env()?).await
    }

    /// Read `pinecone://index-name` (an index looked up on the control
    /// plane) or `pinecone://index-host.svc....pinecone.io` (a name with a
    /// dot is a host). The key comes from the process environment's
    /// `PINECONE_API_KEY` (plain values only; use
    /// [`PineconeBuilder::from_settings`] for secret references).
    ///
    /// # Errors
    /// `Config` for a malformed URL or a missing key.
    pub fn from_url(url: &str) -> Result<PineconeBuilder> {
        let rest = url
            .split_once("://")
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("pinecone"))
            .map(|(_, rest)| rest.trim_end_matches('/'))
            .ok_or_else(|| config_error("a Pinecone URL looks like pinecone://index-name"))?;
        if rest.is_empty() || rest.contains(['/', '?', '@']) {
            return Err(config_error(
                "a Pinecone URL is pinecone://index-name or pinecone://index-host",
            ));
        }
        let mut b = PineconeBuilder::default();
        b = if rest.contains('.') {
            b.index_host(rest)
        } else {
            b.index(rest)
        };
        if let Ok(key) = std::env::var("PINECONE_API_KEY")
            && !key.trim().is_empty()
        {
            b = b.api_key(key);
        }
        Ok(b)
    }

    /// Build the store (no network call is made; the index is resolved on
    /// first use or by [`PineconeStore::describe`]).
    ///
    /// # Errors
    /// `Config` without an API key or without an index name or host.
    pub fn build(self) -> Result<PineconeStore> {
        let key = self
            .config
            .api_key
            .clone()
            .ok_or_else(|| config_error("Pinecone needs an API key (PINECONE_API_KEY)"))?;
        if self.config.index.is_none() && self.config.index_host.is_none() {
            return Err(config_error(
                "Pinecone needs an index name (PINECONE_INDEX) or host (PINECONE_INDEX_HOST)",
            ));
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
        Ok(PineconeStore::assemble(self.config, key, http))
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    #[test]
    fn urls_name_an_index_or_a_host() {
        let b = PineconeBuilder::from_url("pinecone://memories").unwrap();
        assert_eq!(b.config.index.as_deref(), Some("memories"));
        let b = PineconeBuilder::from_url("pinecone://idx-abc.svc.pinecone.io").unwrap();
        assert_eq!(
            b.config.index_host.as_deref(),
            Some("idx-abc.svc.pinecone.io")
        );
        for bad in ["pinecone://", "qdrant://x", "pinecone://a/b"] {
            assert_eq!(
                PineconeBuilder::from_url(bad).unwrap_err().kind(),
                ErrorKind::Config
            );
        }
    }

    #[test]
    fn build_needs_a_key_and_an_index() {
        let err = PineconeBuilder::default().index("i").build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let err = PineconeBuilder::default().api_key("k").build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[tokio::test]
    async fn settings() {
        let s = Settings::from_map([
            ("PINECONE_API_KEY", "k"),
            ("PINECONE_INDEX", "mem"),
            ("PINECONE_INDEX_HOST", "mem-1.svc.pinecone.io"),
        ]);
        let b = PineconeBuilder::from_settings(&s).await.unwrap();
        assert_eq!(b.config.index.as_deref(), Some("mem"));
        assert_eq!(
            b.config.index_host.as_deref(),
            Some("mem-1.svc.pinecone.io")
        );
        let err = PineconeBuilder::from_settings(&Settings::from_map([("PINECONE_INDEX", "x")]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
