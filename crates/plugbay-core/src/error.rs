//! The one error type shared by every plugbay crate.
//!
//! [`Error`] is opaque (a boxed inner record) with accessors, so it stays one
//! pointer wide on the happy path and can grow fields without breaking users.
//! What a caller branches on is [`Error::kind`]: the same failure maps to the
//! same [`ErrorKind`] on every backend, which is what makes backends
//! swappable.
//!
//! `Display` and `Debug` never print a secret: the message and every context
//! value go through [`crate::redact::redact`] before they are written.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::redact::redact;

/// A `Result` with [`Error`] as its error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is. Callers branch on this.
///
/// The enum is `#[non_exhaustive]`: match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller passed something the operation cannot accept.
    InvalidInput,
    /// The configuration (settings, builder values) is missing or malformed.
    Config,
    /// No credentials, or credentials the provider rejected (HTTP 401).
    Unauthenticated,
    /// Authenticated, but not allowed to do this (HTTP 403).
    PermissionDenied,
    /// The object, record, key or resource does not exist.
    NotFound,
    /// A create-only operation found the target already present.
    AlreadyExists,
    /// A condition (etag, version, generation) did not hold.
    PreconditionFailed,
    /// The provider asked us to slow down; usually retryable after a wait.
    RateLimited,
    /// A hard quota or billing limit was hit; retrying will not help.
    QuotaExceeded,
    /// The request or payload exceeds a size limit.
    PayloadTooLarge,
    /// The operation did not finish in time (connect, read or overall).
    Timeout,
    /// The peer is down, overloaded or answered a transient server error.
    Unavailable,
    /// The backend does not support this operation or option.
    Unsupported,
    /// The peer answered something we cannot read (bad JSON, a cut stream,
    /// an unexpected status).
    Protocol,
    /// A bug or an invariant broken inside plugbay or a dependency.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order (useful for tests and docs).
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::InvalidInput,
        ErrorKind::Config,
        ErrorKind::Unauthenticated,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::PreconditionFailed,
        ErrorKind::RateLimited,
        ErrorKind::QuotaExceeded,
        ErrorKind::PayloadTooLarge,
        ErrorKind::Timeout,
        ErrorKind::Unavailable,
        ErrorKind::Unsupported,
        ErrorKind::Protocol,
        ErrorKind::Internal,
    ];

    /// A short stable name, e.g. `"not_found"`; used in JSON error bodies
    /// and log fields.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Config => "config",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::PreconditionFailed => "precondition_failed",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether an error of this kind is worth retrying by default.
    ///
    /// Rate limits, timeouts and transient unavailability are; everything
    /// else is not. A single error can override this (see
    /// [`Error::with_retryable`]).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Timeout | ErrorKind::Unavailable
        )
    }

    /// The HTTP status a server should answer for this kind (used by the
    /// example server and any axum integration).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::AlreadyExists => 409,
            ErrorKind::PreconditionFailed => 412,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::RateLimited | ErrorKind::QuotaExceeded => 429,
            ErrorKind::Unsupported => 501,
            ErrorKind::Unavailable | ErrorKind::Protocol => 502,
            ErrorKind::Timeout => 504,
            ErrorKind::Config | ErrorKind::Internal => 500,
        }
    }

    /// Map an HTTP status and an optional provider error code to a kind.
    ///
    /// The provider code wins where it is known to be more precise than the
    /// status (OpenAI's `insufficient_quota` arrives as a 429 but is a quota
    /// error; S3's `SlowDown` arrives as a 503 but is a rate limit).
    pub fn from_http(status: u16, provider_code: Option<&str>) -> ErrorKind {
        if let Some(kind) = provider_code.and_then(ErrorKind::from_provider_code) {
            return kind;
        }
        ErrorKind::from_status(status)
    }

    /// Map an HTTP status alone to a kind.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            400 | 405 | 406 | 411 | 414 | 415 | 416 | 422 => ErrorKind::InvalidInput,
            401 | 407 => ErrorKind::Unauthenticated,
            403 => ErrorKind::PermissionDenied,
            404 | 410 => ErrorKind::NotFound,
            408 => ErrorKind::Timeout,
            409 => ErrorKind::AlreadyExists,
            412 | 428 => ErrorKind::PreconditionFailed,
            413 | 431 => ErrorKind::PayloadTooLarge,
            429 => ErrorKind::RateLimited,
            501 => ErrorKind::Unsupported,
            504 => ErrorKind::Timeout,
            500..=599 => ErrorKind::Unavailable,
            _ => ErrorKind::Protocol,
        }
    }

    /// Map a provider's own error code (OpenAI, S3, GCS, Stripe-style
    /// strings) to a kind, when the code alone is decisive.
    pub fn from_provider_code(code: &str) -> Option<ErrorKind> {
        let kind = match code {
            "insufficient_quota" | "billing_hard_limit_reached" | "QuotaExceeded" => {
                ErrorKind::QuotaExceeded
            }
            "rate_limit_exceeded"
            | "SlowDown"
            | "TooManyRequests"
            | "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "rateLimitExceeded" => ErrorKind::RateLimited,
            "context_length_exceeded"
            | "invalid_request_error"
            | "InvalidArgument"
            | "InvalidRequest"
            | "MalformedXML"
            | "InvalidRange" => ErrorKind::InvalidInput,
            "invalid_api_key"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "authentication_error" => ErrorKind::Unauthenticated,
            "AccessDenied" | "permission_denied" | "insufficient_permissions" => {
                ErrorKind::PermissionDenied
            }
            "NoSuchKey"
            | "NoSuchBucket"
            | "NoSuchUpload"
            | "ResourceNotFoundException"
            | "model_not_found"
            | "SecretNotFound" => ErrorKind::NotFound,
            "PreconditionFailed" | "ConditionNotMet" => ErrorKind::PreconditionFailed,
            "EntityTooLarge" | "request_too_large" => ErrorKind::PayloadTooLarge,
            "BucketAlreadyExists" | "BucketAlreadyOwnedByYou" | "ResourceExistsException" => {
                ErrorKind::AlreadyExists
            }
            "ServiceUnavailable" | "InternalError" | "server_error" | "overloaded_error" => {
                ErrorKind::Unavailable
            }
            "RequestTimeout" | "RequestTimeTooSkewed" => ErrorKind::Timeout,
            "NotImplemented" => ErrorKind::Unsupported,
            _ => return None,
        };
        Some(kind)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error type of every plugbay crate.
///
/// Build one with [`Error::new`] and the `with_*` methods; read it with the
/// accessors. The message should say what went wrong in words a user can act
/// on; it must not contain secrets, and is redacted again on display in case
/// a provider echoed one back.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    provider: Option<Cow<'static, str>>,
    operation: Option<Cow<'static, str>>,
    status: Option<u16>,
    provider_code: Option<String>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    retryable: Option<bool>,
    context: Vec<(&'static str, String)>,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                provider: None,
                operation: None,
                status: None,
                provider_code: None,
                request_id: None,
                retry_after: None,
                retryable: None,
                context: Vec::new(),
                source: None,
            }),
        }
    }

    /// Shorthand for `Error::new(ErrorKind::InvalidInput, message)`.
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for `Error::new(ErrorKind::Config, message)`.
    pub fn config(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorKind::Config, message)
    }

    /// Shorthand for `Error::new(ErrorKind::NotFound, message)`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for `Error::new(ErrorKind::Unsupported, message)`.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorKind::Unsupported, message)
    }

    /// Shorthand for `Error::new(ErrorKind::Protocol, message)`.
    pub fn protocol(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorKind::Protocol, message)
    }

    /// Shorthand for `Error::new(ErrorKind::Internal, message)`.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// An error for an HTTP response: the kind comes from the status and the
    /// provider's error code (see [`ErrorKind::from_http`]).
    pub fn from_http(
        status: u16,
        provider_code: Option<&str>,
        message: impl Into<Cow<'static, str>>,
    ) -> Error {
        let mut err = Error::new(ErrorKind::from_http(status, provider_code), message);
        err.inner.status = Some(status);
        err.inner.provider_code = provider_code.map(str::to_owned);
        err
    }

    /// Name the provider (`"openai"`, `"s3"`, `"fs"` ...).
    pub fn with_provider(mut self, provider: impl Into<Cow<'static, str>>) -> Error {
        self.inner.provider = Some(provider.into());
        self
    }

    /// Name the operation (`"chat"`, `"put"`, `"verify"` ...).
    pub fn with_operation(mut self, operation: impl Into<Cow<'static, str>>) -> Error {
        self.inner.operation = Some(operation.into());
        self
    }

    /// Record the HTTP status the peer answered.
    pub fn with_status(mut self, status: u16) -> Error {
        self.inner.status = Some(status);
        self
    }

    /// Record the provider's own error code (`"NoSuchKey"`, `"rate_limit_exceeded"`).
    pub fn with_provider_code(mut self, code: impl Into<String>) -> Error {
        self.inner.provider_code = Some(code.into());
        self
    }

    /// Record the provider's request id, for support tickets.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Error {
        self.inner.request_id = Some(request_id.into());
        self
    }

    /// Record how long the provider asked us to wait before retrying.
    pub fn with_retry_after(mut self, wait: Duration) -> Error {
        self.inner.retry_after = Some(wait);
        self
    }

    /// Override whether this particular error is retryable (for example a
    /// provider's `x-should-retry` header).
    pub fn with_retryable(mut self, retryable: bool) -> Error {
        self.inner.retryable = Some(retryable);
        self
    }

    /// Add a context pair (`"key"`, `"bucket"`, `"model"` ...). Values are
    /// redacted on display like the message.
    pub fn with_context(mut self, key: &'static str, value: impl Into<String>) -> Error {
        self.inner.context.push((key, value.into()));
        self
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Error {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Attach an already boxed underlying cause.
    pub fn with_boxed_source(mut self, source: Box<dyn StdError + Send + Sync + 'static>) -> Error {
        self.inner.source = Some(source);
        self
    }

    /// Change the kind (for a caller that knows better, e.g. a 404 on a
    /// bucket that means a config error).
    pub fn with_kind(mut self, kind: ErrorKind) -> Error {
        self.inner.kind = kind;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message, unredacted as written by plugbay (it never holds
    /// secrets we put there; `Display` additionally redacts it).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        self.inner
            .retryable
            .unwrap_or_else(|| self.inner.kind.is_retryable())
    }

    /// How long the provider asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The provider name, if known.
    pub fn provider(&self) -> Option<&str> {
        self.inner.provider.as_deref()
    }

    /// The operation name, if known.
    pub fn operation(&self) -> Option<&str> {
        self.inner.operation.as_deref()
    }

    /// The HTTP status the peer answered, if any.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The provider's own error code, if any.
    pub fn provider_code(&self) -> Option<&str> {
        self.inner.provider_code.as_deref()
    }

    /// The provider's request id, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The context pairs, in the order they were added.
    pub fn context(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.inner.context.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        write!(f, "{}", inner.kind)?;
        match (&inner.provider, &inner.operation) {
            (Some(p), Some(o)) => write!(f, " ({p} {o})")?,
            (Some(p), None) => write!(f, " ({p})")?,
            (None, Some(o)) => write!(f, " ({o})")?,
            (None, None) => {}
        }
        write!(f, ": {}", redact(&inner.message))?;
        if let Some(status) = inner.status {
            write!(f, " [status {status}")?;
            if let Some(code) = &inner.provider_code {
                write!(f, ", code {}", redact(code))?;
            }
            f.write_str("]")?;
        }
        for (k, v) in &inner.context {
            write!(f, ", {k}={}", redact(v))?;
        }
        if let Some(id) = &inner.request_id {
            write!(f, ", request_id={}", redact(id))?;
        }
        if let Some(wait) = inner.retry_after {
            write!(f, ", retry after {} ms", wait.as_millis())?;
        }
        if f.alternate() {
            let mut source = inner
                .source
                .as_deref()
                .map(|s| s as &(dyn StdError + 'static));
            while let Some(s) = source {
                write!(f, ": {}", redact(&s.to_string()))?;
                source = s.source();
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &inner.kind)
            .field("message", &redact(&inner.message));
        if let Some(p) = &inner.provider {
            d.field("provider", p);
        }
        if let Some(o) = &inner.operation {
            d.field("operation", o);
        }
        if let Some(s) = inner.status {
            d.field("status", &s);
        }
        if let Some(c) = &inner.provider_code {
            d.field("provider_code", &redact(c));
        }
        if let Some(r) = &inner.request_id {
            d.field("request_id", &redact(r));
        }
        if let Some(w) = inner.retry_after {
            d.field("retry_after", &w);
        }
        if let Some(r) = inner.retryable {
            d.field("retryable", &r);
        }
        if !inner.context.is_empty() {
            let ctx: Vec<(&str, String)> =
                inner.context.iter().map(|(k, v)| (*k, redact(v))).collect();
            d.field("context", &ctx);
        }
        if let Some(s) = &inner.source {
            d.field("source", &redact(&s.to_string()));
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Error {
        use std::io::ErrorKind as Io;
        let kind = match err.kind() {
            Io::NotFound => ErrorKind::NotFound,
            Io::PermissionDenied => ErrorKind::PermissionDenied,
            Io::AlreadyExists => ErrorKind::AlreadyExists,
            Io::InvalidInput | Io::InvalidFilename => ErrorKind::InvalidInput,
            Io::InvalidData | Io::UnexpectedEof => ErrorKind::Protocol,
            Io::TimedOut => ErrorKind::Timeout,
            Io::ConnectionRefused
            | Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::NotConnected
            | Io::BrokenPipe
            | Io::AddrNotAvailable
            | Io::NetworkUnreachable
            | Io::HostUnreachable
            | Io::NetworkDown
            | Io::Interrupted => ErrorKind::Unavailable,
            Io::StorageFull | Io::QuotaExceeded => ErrorKind::QuotaExceeded,
            Io::FileTooLarge => ErrorKind::PayloadTooLarge,
            Io::Unsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Internal,
        };
        Error::new(kind, format!("I/O error: {err}")).with_source(err)
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Error {
        let kind = match err.classify() {
            serde_json::error::Category::Io => ErrorKind::Unavailable,
            _ => ErrorKind::Protocol,
        };
        Error::new(kind, format!("JSON error: {err}")).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping_covers_the_common_codes() {
        let cases = [
            (400, ErrorKind::InvalidInput),
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (408, ErrorKind::Timeout),
            (409, ErrorKind::AlreadyExists),
            (412, ErrorKind::PreconditionFailed),
            (413, ErrorKind::PayloadTooLarge),
            (422, ErrorKind::InvalidInput),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Unavailable),
            (501, ErrorKind::Unsupported),
            (502, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (504, ErrorKind::Timeout),
            (302, ErrorKind::Protocol),
        ];
        for (status, kind) in cases {
            assert_eq!(ErrorKind::from_status(status), kind, "status {status}");
        }
    }

    #[test]
    fn provider_code_overrides_status() {
        assert_eq!(
            ErrorKind::from_http(429, Some("insufficient_quota")),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(
            ErrorKind::from_http(429, Some("rate_limit_exceeded")),
            ErrorKind::RateLimited
        );
        assert_eq!(
            ErrorKind::from_http(503, Some("SlowDown")),
            ErrorKind::RateLimited
        );
        assert_eq!(
            ErrorKind::from_http(404, Some("NoSuchKey")),
            ErrorKind::NotFound
        );
        assert_eq!(
            ErrorKind::from_http(403, Some("SignatureDoesNotMatch")),
            ErrorKind::Unauthenticated
        );
        // An unknown code falls back to the status.
        assert_eq!(
            ErrorKind::from_http(502, Some("weird")),
            ErrorKind::Unavailable
        );
        assert_eq!(ErrorKind::from_http(400, None), ErrorKind::InvalidInput);
    }

    #[test]
    fn retryable_follows_kind_unless_overridden() {
        let quota = Error::from_http(429, Some("insufficient_quota"), "out of credit");
        assert!(!quota.is_retryable());
        let limited =
            Error::from_http(429, None, "slow down").with_retry_after(Duration::from_millis(1500));
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(limited.status(), Some(429));
        let forced = Error::from_http(400, None, "bad").with_retryable(true);
        assert!(forced.is_retryable());
        let vetoed = Error::from_http(503, None, "down").with_retryable(false);
        assert!(!vetoed.is_retryable());
        for kind in ErrorKind::ALL {
            let expected = matches!(
                kind,
                ErrorKind::RateLimited | ErrorKind::Timeout | ErrorKind::Unavailable
            );
            assert_eq!(kind.is_retryable(), expected, "{kind}");
        }
    }

    #[test]
    fn accessors_round_trip() {
        let err = Error::not_found("object missing")
            .with_provider("s3")
            .with_operation("get")
            .with_status(404)
            .with_provider_code("NoSuchKey")
            .with_request_id("req-1")
            .with_context("key", "a/b.txt");
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.provider(), Some("s3"));
        assert_eq!(err.operation(), Some("get"));
        assert_eq!(err.provider_code(), Some("NoSuchKey"));
        assert_eq!(err.request_id(), Some("req-1"));
        assert_eq!(err.context().collect::<Vec<_>>(), vec![("key", "a/b.txt")]);
        let shown = err.to_string();
        assert!(
            shown.starts_with("not_found (s3 get): object missing"),
            "{shown}"
        );
        assert!(shown.contains("status 404"), "{shown}");
    }

    #[test]
    fn display_and_debug_never_show_secrets() {
        let src = std::io::Error::other("auth failed for Bearer sk-live-abcdef0123456789");
        let err = Error::from_http(
            401,
            Some("invalid_api_key"),
            "bad key sk-proj-SECRETSECRET1234",
        )
        .with_context(
            "url",
            "https://b.s3.amazonaws.com/k?X-Amz-Signature=deadbeefcafe&X-Amz-Expires=60",
        )
        .with_context("callback", "https://app/cb?code=abc&token=tok_very_secret")
        .with_source(src);
        let shown = format!("{err:#}");
        let debug = format!("{err:?}");
        for text in [&shown, &debug] {
            assert!(!text.contains("sk-proj-SECRETSECRET1234"), "{text}");
            assert!(!text.contains("sk-live-abcdef0123456789"), "{text}");
            assert!(!text.contains("deadbeefcafe"), "{text}");
            assert!(!text.contains("tok_very_secret"), "{text}");
            assert!(text.contains("X-Amz-Expires=60"), "{text}");
        }
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }

    #[test]
    fn io_errors_map_to_shared_kinds() {
        let nf: Error = std::io::Error::from(std::io::ErrorKind::NotFound).into();
        assert_eq!(nf.kind(), ErrorKind::NotFound);
        let ex: Error = std::io::Error::from(std::io::ErrorKind::AlreadyExists).into();
        assert_eq!(ex.kind(), ErrorKind::AlreadyExists);
        let to: Error = std::io::Error::from(std::io::ErrorKind::TimedOut).into();
        assert!(to.is_retryable());
    }

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
