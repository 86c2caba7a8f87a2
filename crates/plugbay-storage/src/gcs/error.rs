//! The one mapping from a GCS (or Google token endpoint) error response to
//! [`Error`].
//!
//! JSON API errors look like `{"error": {"code": 404, "message": "..",
//! "errors": [{"reason": "notFound", ..}]}}`; the token endpoint answers
//! OAuth 2 errors (`{"error": "invalid_grant", "error_description": ..}`).
//! The status decides the kind, refined by the `reason`: a 403
//! `rateLimitExceeded` is `RateLimited`, not `PermissionDenied`.

use plugbay_core::http::{ErrorMapper, ResponseParts};
use plugbay_core::{Error, ErrorKind};
use serde_json::Value;

/// Reads GCS JSON API and OAuth token endpoint errors.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GcsErrorMapper;

impl ErrorMapper for GcsErrorMapper {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        map_parts(response.status.as_u16(), response.body)
    }
}

pub(crate) fn map_parts(status: u16, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let (message, reason) = match parsed.as_ref().and_then(|v| v.get("error")) {
        Some(Value::Object(e)) => {
            let message = e.get("message").and_then(Value::as_str).map(str::to_owned);
            let reason = e
                .get("errors")
                .and_then(Value::as_array)
                .and_then(|list| list.first())
                .and_then(|first| first.get("reason"))
                .and_then(Value::as_str)
                .or_else(|| e.get("status").and_then(Value::as_str))
                .map(str::to_owned);
            (message, reason)
        }
        Some(Value::String(code)) => {
            let description = parsed
                .as_ref()
                .and_then(|v| v.get("error_description"))
                .and_then(Value::as_str)
                .unwrap_or(code);
            (Some(description.to_owned()), Some(code.clone()))
        }
        _ => (None, None),
    };
    let kind = reason
        .as_deref()
        .and_then(reason_kind)
        .unwrap_or_else(|| ErrorKind::from_status(status));
    let text = match &message {
        Some(m) => format!("HTTP {status}: {m}"),
        None if body.is_empty() => format!("HTTP {status} with an empty body"),
        None => {
            let excerpt: String = String::from_utf8_lossy(body).chars().take(200).collect();
            format!("HTTP {status}: {}", excerpt.trim())
        }
    };
    let mut err = Error::new(kind, plugbay_core::redact::redact(&text)).with_status(status);
    if let Some(reason) = reason {
        err = err.with_provider_code(reason);
    }
    err
}

/// Kinds for `reason` codes that the status alone gets wrong.
fn reason_kind(reason: &str) -> Option<ErrorKind> {
    let kind = match reason {
        "rateLimitExceeded" | "userRateLimitExceeded" | "RESOURCE_EXHAUSTED" => {
            ErrorKind::RateLimited
        }
        "quotaExceeded" | "dailyLimitExceeded" => ErrorKind::QuotaExceeded,
        "conditionNotMet" | "FAILED_PRECONDITION" => ErrorKind::PreconditionFailed,
        "authError" | "invalid_grant" | "invalid_client" | "unauthorized_client" => {
            ErrorKind::Unauthenticated
        }
        "requestedRangeNotSatisfiable" => ErrorKind::InvalidInput,
        "backendError" | "internalError" => ErrorKind::Unavailable,
        _ => return None,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_reasons() {
        let json = |code: u16, reason: &str| {
            format!(
                r#"{{"error":{{"code":{code},"message":"m {reason}","errors":[{{"domain":"global","reason":"{reason}","message":"x"}}]}}}}"#
            )
        };
        let cases = [
            (404, "notFound", ErrorKind::NotFound),
            (412, "conditionNotMet", ErrorKind::PreconditionFailed),
            (403, "forbidden", ErrorKind::PermissionDenied),
            (403, "rateLimitExceeded", ErrorKind::RateLimited),
            (429, "rateLimitExceeded", ErrorKind::RateLimited),
            (401, "required", ErrorKind::Unauthenticated),
            (503, "backendError", ErrorKind::Unavailable),
            (400, "invalid", ErrorKind::InvalidInput),
        ];
        for (status, reason, kind) in cases {
            let e = map_parts(status, json(status, reason).as_bytes());
            assert_eq!(e.kind(), kind, "{status} {reason}");
            assert_eq!(e.provider_code(), Some(reason));
            assert_eq!(e.status(), Some(status));
        }
        let oauth = map_parts(
            400,
            br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
        );
        assert_eq!(oauth.kind(), ErrorKind::Unauthenticated);
        assert!(oauth.message().contains("Invalid JWT Signature"));
        assert_eq!(
            map_parts(502, b"<html>bad gateway</html>").kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(map_parts(500, b"").kind(), ErrorKind::Unavailable);
    }
}
