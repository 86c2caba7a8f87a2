//! [`HttpClient`]: one pooled `reqwest::Client` plus the retry loop every
//! HTTP backend shares.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, StatusCode};
use tracing::Instrument;
use tracing::field::Empty;

use super::attempt::{
    Failure, Mode, Success, decorate, decorate_basic, read_error_body, timeout_failure,
    transport_failure,
};
use super::body::{HttpResponse, map_reqwest_error};
use super::builder::HttpClientBuilder;
use super::call::Call;
use super::error_map::ResponseParts;
use super::headers;
use super::retry::{RetryPolicy, Sleeper, TokioSleeper};
use crate::error::{Error, ErrorKind, Result};

/// The HTTP client every plugbay backend uses: one shared `reqwest::Client`
/// (rustls, connection pooling, HTTP/2), a [`RetryPolicy`] and an injectable
/// [`Sleeper`]. Cloning is cheap and shares the connection pool.
///
/// A call names itself with a [`Call`] and passes a closure that builds the
/// request; the closure runs once per attempt, so requests with bodies can
/// be retried. See [`HttpClient::execute`] for the retry rules.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: Arc<ClientInner>,
}

#[derive(Debug)]
struct ClientInner {
    client: reqwest::Client,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    /// The per-attempt timeout of calls that set none (`None` for a
    /// wrapped `reqwest::Client`, whose own timeout applies).
    timeout: Option<Duration>,
}

impl HttpClient {
    /// A client with the default settings.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// Start building a client:
    ///
    /// ```
    /// use std::time::Duration;
    /// use plugbay_core::{HttpClient, RetryPolicy};
    /// let client = HttpClient::builder()
    ///     .timeout(Duration::from_secs(30))
    ///     .connect_timeout(Duration::from_secs(5))
    ///     .user_agent("my-app/1.0")
    ///     .retry_policy(RetryPolicy::default().max_retries(3))
    ///     .build()?;
    /// assert_eq!(client.retry_policy().max_retries, 3);
    /// # Ok::<(), plugbay_core::Error>(())
    /// ```
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// Wrap an existing `reqwest::Client` (its own timeouts and TLS apply).
    pub fn from_reqwest(client: reqwest::Client, policy: RetryPolicy) -> Self {
        Self::assemble(client, policy, Arc::new(TokioSleeper), None)
    }

    pub(super) fn assemble(
        client: reqwest::Client,
        policy: RetryPolicy,
        sleeper: Arc<dyn Sleeper>,
        timeout: Option<Duration>,
    ) -> Self {
        HttpClient {
            inner: Arc::new(ClientInner {
                client,
                policy,
                sleeper,
                timeout,
            }),
        }
    }

    /// The underlying `reqwest::Client`, for the rare call that must bypass
    /// the retry loop. It has the connect timeout but not the per-attempt
    /// timeout, which the retry loop applies: bound such a request with
    /// [`HttpClient::timeout`] (`RequestBuilder::timeout`).
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner.client
    }

    /// The per-attempt timeout of calls that set none
    /// ([`HttpClientBuilder::timeout`]); `None` for a client made with
    /// [`HttpClient::from_reqwest`], whose own timeout applies.
    pub fn timeout(&self) -> Option<Duration> {
        self.inner.timeout
    }

    /// The default retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    /// A client sharing this one's connection pool and sleeper with another
    /// default retry policy.
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Self {
        Self::assemble(
            self.inner.client.clone(),
            policy,
            self.inner.sleeper.clone(),
            self.inner.timeout,
        )
    }

    /// Send a request built by `build` and read the whole body.
    ///
    /// - A 2xx answer is returned unless the call's mapper finds an error
    ///   inside its body ([`ErrorMapper::error_in_success`](super::ErrorMapper::error_in_success)).
    /// - Any other answer becomes an [`Error`] through the call's mapper,
    ///   with provider, operation, status, provider code, request id,
    ///   `retry_after`, `x-ratelimit-*` context and `attempts` context.
    /// - Retried: 408, 429, 5xx (not 501), 409 if the policy says so,
    ///   connect errors, timeouts and dropped connections, and anything
    ///   with `x-should-retry: true`. Never retried: `x-should-retry: false`,
    ///   [`ErrorKind::QuotaExceeded`], and a non-idempotent call once the
    ///   request was sent (see [`Call::idempotent`]).
    /// - Waits: `retry-after-ms` / `Retry-After` (or, without either, a
    ///   `retry_after` the error mapper read from the body) when above 0 and
    ///   within `max_server_wait` (a longer request stops retrying), else the
    ///   backoff. Retrying stops after `max_retries` or when the next wait
    ///   would overrun the budget; the last error is returned with a
    ///   `gave_up` context saying why.
    pub async fn execute<F>(&self, call: &Call, build: F) -> Result<HttpResponse>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync,
    {
        match self.run(call, &build, Mode::Buffered).await? {
            Success::Buffered(response) => Ok(response),
            Success::Streaming(_) => Err(Error::internal("buffered call returned a stream")),
        }
    }

    /// [`HttpClient::execute`] and decode the body as JSON (`Protocol` on a
    /// malformed or truncated body).
    pub async fn execute_json<T, F>(&self, call: &Call, build: F) -> Result<T>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync,
    {
        let response = self.execute(call, build).await?;
        response.json().map_err(|e| {
            e.with_provider(call.provider_cow())
                .with_operation(call.operation_cow())
                .with_context("attempts", response.attempts().to_string())
        })
    }

    /// Like [`HttpClient::execute`] but return the 2xx response unread, for
    /// streaming bodies (SSE, downloads). Errors and retries are the same,
    /// except that errors inside 2xx bodies are not looked for, and a stream
    /// that fails after this returns is the caller's to handle (map it with
    /// [`map_reqwest_error`]).
    pub async fn send<F>(&self, call: &Call, build: F) -> Result<reqwest::Response>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync,
    {
        match self.run(call, &build, Mode::Streaming).await? {
            Success::Streaming(response) => Ok(response),
            Success::Buffered(_) => Err(Error::internal("streaming call returned a buffer")),
        }
    }

    async fn run<F>(&self, call: &Call, build: &F, mode: Mode) -> Result<Success>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync,
    {
        let span = tracing::info_span!(
            "plugbay.http",
            provider = call.provider(),
            operation = call.operation(),
            http.request.method = Empty,
            server.address = Empty,
            http.response.status_code = Empty,
            attempts = Empty,
            duration_ms = Empty,
            error.kind = Empty,
        );
        let started = Instant::now();
        let result = self
            .retry_loop(call, build, mode, &span)
            .instrument(span.clone())
            .await;
        let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.record("duration_ms", elapsed);
        if let Err(e) = &result {
            span.record("error.kind", e.kind().as_str());
        }
        result
    }

    async fn retry_loop<F>(
        &self,
        call: &Call,
        build: &F,
        mode: Mode,
        span: &tracing::Span,
    ) -> Result<Success>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync,
    {
        let policy = call.retry_policy().unwrap_or(&self.inner.policy);
        // Budget accounting: real time spent in attempts plus the waits we
        // asked for, so an injected sleeper gives deterministic budgets.
        let mut spent = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            span.record("attempts", attempt);
            // The attempt's timeout is ours to apply (one lazily armed timer
            // around the attempt) except on a stream whose body it must also
            // bound: reqwest bounds that body.
            let timeout = call.timeout().or(self.inner.timeout);
            let ours = match mode {
                Mode::Streaming if !call.is_head_timeout_only() => None,
                _ => timeout,
            };
            let mut builder = build(&self.inner.client);
            if ours.is_none()
                && let Some(timeout) = timeout
            {
                builder = builder.timeout(timeout);
            }
            let request = builder.build().map_err(|e| {
                decorate_basic(map_reqwest_error(e), call)
                    .with_context("attempts", attempt.to_string())
            })?;
            if attempt == 1 {
                span.record("http.request.method", request.method().as_str());
                if let Some(host) = request.url().host_str() {
                    span.record("server.address", host);
                }
            }
            let idempotent = call.is_idempotent_for(request.method());
            let began = Instant::now();
            let attempt_future = self.attempt(call, policy, request, mode, attempt, span);
            let outcome = match ours {
                Some(limit) => tokio::time::timeout(limit, attempt_future)
                    .await
                    .unwrap_or_else(|_| Err(timeout_failure(call, limit))),
                None => attempt_future.await,
            };
            spent += began.elapsed();
            let failure = match outcome {
                Ok(success) => return Ok(success),
                Err(failure) => failure,
            };
            let finish = |error: Error| error.with_context("attempts", attempt.to_string());
            let retry = failure.error.kind() != ErrorKind::QuotaExceeded
                && failure.should_retry != Some(false)
                && (idempotent || !failure.sent)
                && (failure.should_retry == Some(true) || failure.transient);
            if !retry {
                return Err(finish(failure.error));
            }
            if attempt > policy.max_retries {
                let why = format!("max retries ({}) reached", policy.max_retries);
                return Err(finish(failure.error.with_context("gave_up", why)));
            }
            let wait = match failure.server_wait {
                Some(w) if policy.honours_server_wait(w) => w,
                Some(w) if w > policy.max_server_wait => {
                    let why = format!(
                        "server asked to wait {} ms, more than the {} ms allowed",
                        w.as_millis(),
                        policy.max_server_wait.as_millis()
                    );
                    return Err(finish(failure.error.with_context("gave_up", why)));
                }
                _ => policy.backoff(attempt - 1),
            };
            if spent + wait > policy.budget {
                let why = format!(
                    "retry budget of {} ms exhausted (next wait {} ms after {} ms)",
                    policy.budget.as_millis(),
                    wait.as_millis(),
                    spent.as_millis()
                );
                return Err(finish(failure.error.with_context("gave_up", why)));
            }
            tracing::debug!(
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error.kind = failure.error.kind().as_str(),
                "retrying provider call"
            );
            self.inner.sleeper.sleep(wait).await;
            spent += wait;
        }
    }

    async fn attempt(
        &self,
        call: &Call,
        policy: &RetryPolicy,
        request: reqwest::Request,
        mode: Mode,
        attempt: u32,
        span: &tracing::Span,
    ) -> std::result::Result<Success, Failure> {
        let mut response = self
            .inner
            .client
            .execute(request)
            .await
            .map_err(|e| transport_failure(e, call))?;
        let status = response.status();
        span.record("http.response.status_code", status.as_u16());
        if status.is_success() && mode == Mode::Streaming {
            return Ok(Success::Streaming(response));
        }
        // Reading the body does not need the headers: move them, no copy.
        let headers = std::mem::take(response.headers_mut());
        let read = if status.is_success() {
            response.bytes().await
        } else {
            read_error_body(response).await
        };
        let body = match read {
            Ok(body) => body,
            Err(e) if status.is_success() => {
                let mut failure = transport_failure(e, call);
                failure.error = decorate(failure.error, status, &headers);
                return Err(failure);
            }
            // An unreadable error body still leaves the status to go on.
            Err(_) => bytes::Bytes::new(),
        };
        let parts = ResponseParts::new(status, &headers, &body);
        let mapper = call.error_mapper();
        if status.is_success() {
            return match mapper.error_in_success(&parts) {
                None => Ok(Success::Buffered(HttpResponse::new(
                    status, headers, body, attempt,
                ))),
                Some(error) => {
                    let transient = error.is_retryable();
                    Err(self.status_failure(call, error, status, &headers, transient))
                }
            };
        }
        let error = mapper.map_error(&parts);
        let transient = policy.is_retryable_status(status.as_u16());
        Err(self.status_failure(call, error, status, &headers, transient))
    }

    fn status_failure(
        &self,
        call: &Call,
        error: Error,
        status: StatusCode,
        headers: &HeaderMap,
        transient: bool,
    ) -> Failure {
        // A wait the provider put in its body (Hugging Face's cold-start
        // `estimated_time`), read by the error mapper, counts like a header.
        let server_wait =
            headers::parse_retry_after(headers, SystemTime::now()).or(error.retry_after());
        let should_retry = headers::should_retry_header(headers);
        let mut error = decorate(decorate_basic(error, call), status, headers);
        if let Some(wait) = server_wait
            && error.retry_after().is_none()
        {
            error = error.with_retry_after(wait);
        }
        if let Some(verdict) = should_retry {
            error = error.with_retryable(verdict);
        }
        Failure {
            error,
            transient,
            sent: true,
            server_wait,
            should_retry,
        }
    }
}
