//! The one mapping from an S3 (or STS) error response to [`Error`].
//!
//! The shared [`DefaultErrorMapper`] already reads S3's XML
//! `<Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId></Error>`
//! and knows the codes every provider shares (`NoSuchKey`, `SlowDown`,
//! `AccessDenied`, `SignatureDoesNotMatch` ...). This mapper adds what is
//! specific to S3: 304 answers to conditional reads, conditional-write
//! conflicts, and codes that mean "the store is misconfigured" rather than
//! "the object is missing".

use plugbay_core::http::{DefaultErrorMapper, ErrorMapper, ResponseParts};
use plugbay_core::{Error, ErrorKind};

/// Reads S3 error responses (and, when asked, errors hidden in 200 bodies,
/// which S3 documents for CompleteMultipartUpload and CopyObject).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct S3ErrorMapper {
    in_success: bool,
}

impl S3ErrorMapper {
    /// Also treat a 200 whose body is an `<Error>` document as a failure.
    pub(crate) fn detecting_errors_in_success() -> S3ErrorMapper {
        S3ErrorMapper { in_success: true }
    }
}

impl ErrorMapper for S3ErrorMapper {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        if response.status.as_u16() == 304 {
            // A conditional GET whose `If-None-Match` matched or whose
            // `If-Modified-Since` did not hold: one kind for every failed
            // condition (see `GetOptions`).
            return Error::new(
                ErrorKind::PreconditionFailed,
                "HTTP 304: the object was not modified (a read condition did not hold)",
            )
            .with_provider_code("NotModified");
        }
        refine(DefaultErrorMapper::new().map_error(response))
    }

    fn error_in_success(&self, response: &ResponseParts<'_>) -> Option<Error> {
        if !self.in_success {
            return None;
        }
        DefaultErrorMapper::new()
            .detect_error_in_success(true)
            .error_in_success(response)
            .map(refine)
    }
}

fn refine(error: Error) -> Error {
    match error.provider_code().and_then(s3_kind) {
        Some(kind) => error.with_kind(kind),
        None => error,
    }
}

/// Kinds for S3 codes the shared table does not know or that S3 means
/// differently.
fn s3_kind(code: &str) -> Option<ErrorKind> {
    let kind = match code {
        // A concurrent conditional write won; the caller's condition is
        // what failed (create-only puts turn this into AlreadyExists).
        "ConditionalRequestConflict" => ErrorKind::PreconditionFailed,
        // A missing bucket or a wrong region is a configuration problem,
        // not a missing object: never let it pass for NotFound.
        "NoSuchBucket"
        | "InvalidBucketName"
        | "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException" => ErrorKind::Config,
        "InvalidPart"
        | "InvalidPartOrder"
        | "EntityTooSmall"
        | "KeyTooLongError"
        | "MetadataTooLarge"
        | "InvalidDigest"
        | "BadDigest"
        | "XAmzContentSHA256Mismatch"
        | "InvalidStorageClass" => ErrorKind::InvalidInput,
        // STS AssumeRoleWithWebIdentity rejections, and a clock so far off
        // that every signature is refused (retrying will not help).
        "InvalidIdentityToken"
        | "IDPRejectedClaim"
        | "ExpiredTokenException"
        | "RequestTimeTooSkewed" => ErrorKind::Unauthenticated,
        "InvalidObjectState" => ErrorKind::PermissionDenied,
        "OperationAborted" => ErrorKind::Unavailable,
        _ => return None,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use plugbay_core::http::{HeaderMap, StatusCode};

    use super::*;

    fn map(status: u16, body: &str) -> Error {
        let headers = HeaderMap::new();
        let status = StatusCode::from_u16(status).unwrap();
        S3ErrorMapper::default().map_error(&ResponseParts::new(status, &headers, body.as_bytes()))
    }

    fn xml(code: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>m</Message><RequestId>RID</RequestId></Error>"
        )
    }

    #[test]
    fn s3_codes_map_to_kinds() {
        let cases = [
            (404, "NoSuchKey", ErrorKind::NotFound),
            (412, "PreconditionFailed", ErrorKind::PreconditionFailed),
            (
                409,
                "ConditionalRequestConflict",
                ErrorKind::PreconditionFailed,
            ),
            (503, "SlowDown", ErrorKind::RateLimited),
            (403, "AccessDenied", ErrorKind::PermissionDenied),
            (403, "SignatureDoesNotMatch", ErrorKind::Unauthenticated),
            (403, "InvalidAccessKeyId", ErrorKind::Unauthenticated),
            (404, "NoSuchBucket", ErrorKind::Config),
            (301, "PermanentRedirect", ErrorKind::Config),
            (416, "InvalidRange", ErrorKind::InvalidInput),
            (400, "EntityTooSmall", ErrorKind::InvalidInput),
            (400, "InvalidIdentityToken", ErrorKind::Unauthenticated),
            (500, "InternalError", ErrorKind::Unavailable),
            (400, "SomethingNew", ErrorKind::InvalidInput),
        ];
        for (status, code, kind) in cases {
            let e = map(status, &xml(code));
            assert_eq!(e.kind(), kind, "{code}");
            assert_eq!(e.provider_code(), Some(code));
            assert_eq!(e.request_id(), Some("RID"));
        }
    }

    #[test]
    fn bodiless_answers_map_by_status() {
        assert_eq!(map(404, "").kind(), ErrorKind::NotFound);
        assert_eq!(map(412, "").kind(), ErrorKind::PreconditionFailed);
        assert_eq!(map(304, "").kind(), ErrorKind::PreconditionFailed);
        assert_eq!(map(403, "").kind(), ErrorKind::PermissionDenied);
        assert_eq!(map(503, "").kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn errors_in_200_only_when_asked() {
        let headers = HeaderMap::new();
        let body = xml("InternalError");
        let parts = ResponseParts::new(StatusCode::OK, &headers, body.as_bytes());
        assert!(S3ErrorMapper::default().error_in_success(&parts).is_none());
        let e = S3ErrorMapper::detecting_errors_in_success()
            .error_in_success(&parts)
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.is_retryable());
        let ok =
            b"<CompleteMultipartUploadResult><ETag>\"e\"</ETag></CompleteMultipartUploadResult>";
        let parts = ResponseParts::new(StatusCode::OK, &headers, ok);
        assert!(
            S3ErrorMapper::detecting_errors_in_success()
                .error_in_success(&parts)
                .is_none()
        );
    }
}
