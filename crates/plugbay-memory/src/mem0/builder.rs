//! [`Mem0Builder`]: a [`Mem0Memory`] from code or settings.

use std::sync::Arc;
use std::time::Duration;

use plugbay_core::http::{Sleeper, TokioSleeper};
use plugbay_core::{Error, HttpClient, Result, RetryPolicy, SecretString, Settings};

use super::Mem0Memory;
use super::config::Mem0Config;

/// Builds a [`Mem0Memory`]:
///
/// ```
/// use std::time::Duration;
/// use plugbay_memory::mem0::Mem0Builder;
/// let memory = Mem0Builder::default()
///     .api_key("m0-...")
///     .poll_timeout(Duration::from_secs(30))
///     .build()?;
/// assert_eq!(memory.config().base_url, "https://api.mem0.ai");
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Mem0Builder {
    config: Mem0Config,
    http: Option<HttpClient>,
    sleeper: Option<Arc<dyn Sleeper>>,
}

impl Mem0Builder {
    /// Start from a whole config.
    pub fn from_config(config: Mem0Config) -> Mem0Builder {
        Mem0Builder {
            config,
            ..Mem0Builder::default()
        }
    }

    /// The API key (required).
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.config.api_key = Some(key.into());
        self
    }

    /// The API root (default `https://api.mem0.ai`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.config.base_url = url.into();
        self
    }

    /// The `org_id` sent with every call.
    pub fn org_id(mut self, org_id: impl Into<String>) -> Self {
        self.config.org_id = Some(org_id.into());
        self
    }

    /// The `project_id` sent with every call.
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.config.project_id = Some(project_id.into());
        self
    }

    /// Bound each attempt (default 60 s).
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

    /// Wait between polls of an add's event (default 1 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.config.poll_interval = interval;
        self
    }

    /// Stop polling an add's event after this long (default 60 s).
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.config.poll_timeout = timeout;
        self
    }

    /// Use this HTTP client (its timeout and retry policy apply).
    pub fn http_client(mut self, http: HttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// Wait between retries and polls with `sleeper` (tests pass a
    /// `RecordingSleeper`, so polling takes no time).
    pub fn sleeper(mut self, sleeper: impl Sleeper + 'static) -> Self {
        self.sleeper = Some(Arc::new(sleeper));
        self
    }

    /// `MEM0_API_KEY` (required, may be a secret reference) and
    /// `MEM0_BASE_URL`, `MEM0_ORG_ID`, `MEM0_PROJECT_ID`.
    ///
    /// # Errors
    /// `Config` when the key is missing or a value is malformed.
    pub async fn from_settings(settings: &Settings) -> Result<Mem0Builder> {
        let mut b = Mem0Builder::default().api_key(settings.require_secret("MEM0_API_KEY").await?);
        if let Some(url) = settings.get_url("MEM0_BASE_URL")? {
            b = b.base_url(url.as_str().trim_end_matches('/'));
        }
        if let Some(org) = settings.get("MEM0_ORG_ID") {
            b = b.org_id(org.trim());
        }
        if let Some(project) = settings.get("MEM0_PROJECT_ID") {
            b = b.project_id(project.trim());
        }
        Ok(b)
    }

    /// [`Mem0Builder::from_settings`] over the process environment and
    /// `.env.local`.
    ///
    /// # Errors
    /// As [`Mem0Builder::from_settings`].
    pub async fn from_env() -> Result<Mem0Builder> {
        Mem0Builder::from_settings(&Settings::from_env()?).await
    }

    /// Build the backend (no network call; see [`Mem0Memory::ping`]).
    ///
    /// # Errors
    /// `Config` without an API key or with a base URL that is not
    /// `http(s)://`.
    pub fn build(self) -> Result<Mem0Memory> {
        let key = self.config.api_key.clone().ok_or_else(|| {
            Error::config("Mem0 needs an API key (MEM0_API_KEY)").with_provider("mem0")
        })?;
        let url = url::Url::parse(&self.config.base_url).map_err(|e| {
            Error::config(format!("invalid Mem0 base URL: {e}")).with_provider("mem0")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config("the Mem0 base URL must be http(s)").with_provider("mem0"));
        }
        let sleeper: Arc<dyn Sleeper> = self.sleeper.unwrap_or_else(|| Arc::new(TokioSleeper));
        let http = match self.http {
            Some(http) => http,
            None => HttpClient::builder()
                .timeout(self.config.timeout)
                .retry_policy(self.config.retry_policy.clone())
                .sleeper(sleeper.clone())
                .build()?,
        };
        Ok(Mem0Memory::assemble(self.config, key, http, sleeper))
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    #[tokio::test]
    async fn settings_and_required_key() {
        let s = Settings::from_map([
            ("MEM0_API_KEY", "m0-k"),
            ("MEM0_BASE_URL", "http://127.0.0.1:9/"),
        ]);
        let memory = Mem0Builder::from_settings(&s)
            .await
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(memory.config().base_url, "http://127.0.0.1:9");
        let err = Mem0Builder::from_settings(&Settings::from_map([("X", "y")]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(
            Mem0Builder::default().build().unwrap_err().kind(),
            ErrorKind::Config
        );
        let err = Mem0Builder::default()
            .api_key("k")
            .base_url("ftp://x")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
