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
use std::time::Duration;

mod fmt;
mod kind;
#[cfg(test)]
mod tests;

pub use kind::ErrorKind;

/// A `Result` with [`Error`] as its error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
