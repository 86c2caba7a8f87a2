//! The one mapping from a driver error to a plugbay [`Error`].

use plugbay_core::redact::redact;
use plugbay_core::{Error, ErrorKind};
use redis::{ErrorKind as RedisKind, RedisError, ServerErrorKind};

/// Map `err`, raised by `operation`, to the plugbay kind that the same
/// failure has on every backend. The message goes through [`redact`]; the
/// driver's messages do not carry the URL, and the password never reaches
/// them.
pub(crate) fn map_error(err: RedisError, operation: &'static str) -> Error {
    let kind = kind_of(&err);
    let message = redact(&format!("redis {operation} failed: {err}"));
    let mut mapped = Error::new(kind, message)
        .with_provider("redis")
        .with_operation(operation);
    if let Some(code) = err.code() {
        mapped = mapped.with_provider_code(code.to_owned());
    }
    mapped.with_source(err)
}

/// The plugbay kind of a driver error.
pub(crate) fn kind_of(err: &RedisError) -> ErrorKind {
    if err.is_timeout() {
        return ErrorKind::Timeout;
    }
    if err.is_connection_refusal() || err.is_connection_dropped() {
        return ErrorKind::Unavailable;
    }
    let detail = err.detail().unwrap_or_default();
    match err.code() {
        Some("WRONGTYPE") => return ErrorKind::InvalidInput,
        Some("NOAUTH" | "WRONGPASS" | "AUTH") => return ErrorKind::Unauthenticated,
        Some("NOPERM") => return ErrorKind::PermissionDenied,
        Some("OOM") => return ErrorKind::QuotaExceeded,
        Some("BUSY") => return ErrorKind::Unavailable,
        _ => {}
    }
    let text = format!("{detail} {err}").to_ascii_lowercase();
    if text.contains("not an integer")
        || text.contains("would overflow")
        || text.contains("invalid expire time")
    {
        return ErrorKind::InvalidInput;
    }
    if text.contains("wrongpass") || text.contains("noauth") {
        return ErrorKind::Unauthenticated;
    }
    match err.kind() {
        RedisKind::AuthenticationFailed => ErrorKind::Unauthenticated,
        RedisKind::Io => ErrorKind::Unavailable,
        RedisKind::Parse | RedisKind::UnexpectedReturnType | RedisKind::RESP3NotSupported => {
            ErrorKind::Protocol
        }
        RedisKind::InvalidClientConfig => ErrorKind::Config,
        RedisKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly,
        ) => ErrorKind::Unavailable,
        RedisKind::Server(ServerErrorKind::NoPerm) => ErrorKind::PermissionDenied,
        _ => ErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn io_err(kind: io::ErrorKind) -> RedisError {
        RedisError::from(io::Error::from(kind))
    }

    #[test]
    fn io_failures_map_to_unavailable_or_timeout() {
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
        ] {
            let err = map_error(io_err(kind), "get");
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{kind:?}");
            assert!(err.is_retryable());
            assert_eq!(err.provider(), Some("redis"));
            assert_eq!(err.operation(), Some("get"));
        }
        assert_eq!(
            map_error(io_err(io::ErrorKind::TimedOut), "set").kind(),
            ErrorKind::Timeout
        );
    }

    #[test]
    fn client_side_kinds() {
        let err = RedisError::from((
            RedisKind::AuthenticationFailed,
            "Password authentication failed",
        ));
        assert_eq!(kind_of(&err), ErrorKind::Unauthenticated);
        let err = RedisError::from((RedisKind::InvalidClientConfig, "Missing hostname"));
        assert_eq!(kind_of(&err), ErrorKind::Config);
        let err = RedisError::from((RedisKind::UnexpectedReturnType, "expected an integer"));
        assert_eq!(kind_of(&err), ErrorKind::Protocol);
    }
}
