//! The call descriptor: who is being called, whether the call may be
//! repeated, and how its errors are read.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::Method;

use super::error_map::{DefaultErrorMapper, ErrorMapper};
use super::retry::RetryPolicy;

/// Describes one logical provider call made through
/// [`HttpClient`](super::HttpClient).
///
/// Cheap to clone (the mapper is shared); a backend usually keeps one
/// mapper and builds a `Call` per operation:
///
/// ```
/// use plugbay_core::http::{Call, DefaultErrorMapper};
/// // LLM completions are POSTs that the provider documents as safe to retry.
/// let call = Call::new("openai", "chat").idempotent(true);
/// assert_eq!(call.provider(), "openai");
/// assert_eq!(call.idempotency(), Some(true));
/// let s3 = Call::new("s3", "complete_multipart")
///     .with_error_mapper(DefaultErrorMapper::new().detect_error_in_success(true));
/// assert_eq!(s3.idempotency(), None);
/// ```
#[derive(Debug, Clone)]
pub struct Call {
    provider: Cow<'static, str>,
    operation: Cow<'static, str>,
    idempotent: Option<bool>,
    mapper: Arc<dyn ErrorMapper>,
    retry_policy: Option<RetryPolicy>,
    timeout: Option<Duration>,
    head_timeout_only: bool,
}

impl Call {
    /// A call of `operation` on `provider`, with idempotency inferred from
    /// the HTTP method and the [`DefaultErrorMapper`].
    pub fn new(
        provider: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
    ) -> Self {
        Call {
            provider: provider.into(),
            operation: operation.into(),
            idempotent: None,
            mapper: Arc::new(DefaultErrorMapper::new()),
            retry_policy: None,
            timeout: None,
            head_timeout_only: false,
        }
    }

    /// Say whether repeating the request is safe, overriding the method
    /// rule. `true` makes a POST retryable (LLM completions, requests with
    /// an idempotency key); `false` forbids retrying even a GET once it was
    /// sent. A request that never left (connect error) is always retried.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// Use `mapper` to read this call's error responses.
    pub fn with_error_mapper(mut self, mapper: impl ErrorMapper + 'static) -> Self {
        self.mapper = Arc::new(mapper);
        self
    }

    /// Use an already shared mapper.
    pub fn with_shared_error_mapper(mut self, mapper: Arc<dyn ErrorMapper>) -> Self {
        self.mapper = mapper;
        self
    }

    /// Use `policy` instead of the client's retry policy for this call.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// Bound each attempt of this call by `timeout` instead of the client's
    /// timeout (long LLM completions, short health checks).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// On a streamed call ([`HttpClient::send`](super::HttpClient::send)),
    /// let the timeout bound each attempt only until the response head
    /// (status and headers) has arrived, leaving the body to the caller:
    /// a long LLM stream is bounded by the silence between its chunks, not
    /// by its total length. Buffered calls always bound the whole attempt.
    pub fn head_timeout_only(mut self) -> Self {
        self.head_timeout_only = true;
        self
    }

    /// Whether [`Call::head_timeout_only`] was set.
    pub fn is_head_timeout_only(&self) -> bool {
        self.head_timeout_only
    }

    /// The provider name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The operation name.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The explicit idempotency, or `None` when inferred from the method.
    pub fn idempotency(&self) -> Option<bool> {
        self.idempotent
    }

    /// The error mapper.
    pub fn error_mapper(&self) -> &dyn ErrorMapper {
        self.mapper.as_ref()
    }

    /// The per-call retry policy, if one was set.
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.retry_policy.as_ref()
    }

    /// The per-call timeout, if one was set.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    pub(crate) fn provider_cow(&self) -> Cow<'static, str> {
        self.provider.clone()
    }

    pub(crate) fn operation_cow(&self) -> Cow<'static, str> {
        self.operation.clone()
    }

    /// Whether a request with `method` may be repeated once sent.
    pub fn is_idempotent_for(&self, method: &Method) -> bool {
        self.idempotent.unwrap_or(matches!(
            *method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_follows_method_unless_set() {
        let call = Call::new("p", "op");
        assert!(call.is_idempotent_for(&Method::GET));
        assert!(call.is_idempotent_for(&Method::PUT));
        assert!(!call.is_idempotent_for(&Method::POST));
        assert!(!call.is_idempotent_for(&Method::PATCH));
        assert!(
            call.clone()
                .idempotent(true)
                .is_idempotent_for(&Method::POST)
        );
        assert!(!call.idempotent(false).is_idempotent_for(&Method::GET));
    }
}
