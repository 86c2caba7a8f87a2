//! [`HttpClientBuilder`]: timeouts (per attempt, connect, read), user agent, redirects, retry policy
//! and sleeper for a new [`HttpClient`].

use std::sync::Arc;
use std::time::Duration;

use super::client::HttpClient;
use super::retry::{RetryPolicy, Sleeper, TokioSleeper};
use crate::error::{Error, Result};

/// The user agent sent unless the builder sets another.
pub const DEFAULT_USER_AGENT: &str = concat!("plugbay/", env!("CARGO_PKG_VERSION"));

/// Builds an [`HttpClient`]; see [`HttpClient::builder`].
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    timeout: Duration,
    connect_timeout: Duration,
    read_timeout: Option<Duration>,
    pool_idle_timeout: Duration,
    user_agent: String,
    retry_policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    max_redirects: usize,
    https_only: bool,
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        HttpClientBuilder {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            read_timeout: None,
            pool_idle_timeout: Duration::from_secs(90),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            retry_policy: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
            max_redirects: 5,
            https_only: false,
        }
    }
}

impl HttpClientBuilder {
    /// Bound each attempt, from connecting to the end of the body
    /// (default 60 s; [`Call::with_timeout`](super::Call::with_timeout)
    /// overrides it per call).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Bound connecting (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound each wait for response bytes (default none): a read that
    /// stays idle this long fails with a timeout, however long the whole
    /// response takes. This is what bounds a body left to the caller by
    /// [`Call::head_timeout_only`](super::Call::head_timeout_only), whose
    /// stream then fails with a `reqwest` timeout error that
    /// [`map_reqwest_error`](super::map_reqwest_error) maps to
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout). The timer restarts
    /// after every body read. Before the head, reqwest runs one such timer
    /// from the moment the request is sent, so it also bounds sending a
    /// request body plus waiting for the answer: keep it longer than the
    /// slowest upload of one request, or bound only response bodies by
    /// wrapping them in [`IdleBounded`](super::IdleBounded) instead.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// Close pooled connections idle longer than this (default 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `plugbay/<version>`; GitHub
    /// requires one).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The default retry policy for calls.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How to wait between attempts (default `tokio::time::sleep`; tests
    /// pass a [`RecordingSleeper`](super::RecordingSleeper)).
    pub fn sleeper(mut self, sleeper: impl Sleeper + 'static) -> Self {
        self.sleeper = Arc::new(sleeper);
        self
    }

    /// Follow at most this many redirects (default 5; 0 disables them,
    /// as JWKS and token endpoints should).
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Refuse plain `http://` URLs.
    pub fn https_only(mut self, https_only: bool) -> Self {
        self.https_only = https_only;
        self
    }

    /// Build the client. Fails with
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the TLS backend
    /// or the user agent cannot be set up.
    pub fn build(self) -> Result<HttpClient> {
        let redirect = if self.max_redirects == 0 {
            reqwest::redirect::Policy::none()
        } else {
            reqwest::redirect::Policy::limited(self.max_redirects)
        };
        let mut client = reqwest::Client::builder().tls_backend_rustls();
        if let Some(timeout) = self.read_timeout {
            client = client.read_timeout(timeout);
        }
        let client = client
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            .user_agent(self.user_agent)
            .redirect(redirect)
            .https_only(self.https_only)
            .build()
            .map_err(|e| {
                Error::config("could not build the HTTP client").with_source(e.without_url())
            })?;
        // The per-attempt timeout is applied by the retry loop, not by
        // reqwest: one timer per attempt, armed only if the attempt waits.
        Ok(HttpClient::assemble(
            client,
            self.retry_policy,
            self.sleeper,
            Some(self.timeout),
        ))
    }
}
