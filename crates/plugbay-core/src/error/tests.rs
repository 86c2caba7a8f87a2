//! Unit tests for [`Error`](super::Error) and [`ErrorKind`](super::ErrorKind).

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
