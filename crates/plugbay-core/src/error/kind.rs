//! [`ErrorKind`], the failure categories callers branch on, and its
//! mappings from HTTP statuses and provider error codes.

use std::fmt;

#[cfg(doc)]
use super::Error;

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
