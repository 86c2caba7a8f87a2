//! The one mapping of OpenAI error bodies (`{"error": {message, type,
//! param, code}}`) to [`Error`], for HTTP error responses and for errors
//! that arrive inside a stream.

use plugbay_core::http::{DefaultErrorMapper, ErrorMapper, ResponseParts};
use plugbay_core::{Error, ErrorKind};
use serde_json::Value;

/// Reads OpenAI's error bodies (and those of compatible servers and Azure
/// OpenAI). The kind comes from, in order:
///
/// - `insufficient_quota` / `billing_hard_limit_reached` in `code` or
///   `type`: [`ErrorKind::QuotaExceeded`] (never retried);
/// - a decisive `code`: `context_length_exceeded` → `InvalidInput`,
///   `invalid_api_key` → `Unauthenticated`, `model_not_found` /
///   `DeploymentNotFound` → `NotFound`, `rate_limit_exceeded` →
///   `RateLimited`, ...;
/// - the status: 429 → `RateLimited`, 409 → `Unavailable` (OpenAI documents
///   it as a transient lock conflict), otherwise the shared status table.
///
/// Bodies of another shape (a proxy's HTML page) go to the
/// [`DefaultErrorMapper`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiErrorMapper;

impl OpenAiErrorMapper {
    /// The mapper.
    pub fn new() -> OpenAiErrorMapper {
        OpenAiErrorMapper
    }
}

impl ErrorMapper for OpenAiErrorMapper {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        let status = response.status.as_u16();
        match serde_json::from_slice::<Value>(response.body)
            .ok()
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(WireError::read)
        {
            Some(wire) => wire.into_error(Some(status)),
            None => DefaultErrorMapper::new().map_error(response),
        }
    }
}

/// The fields of an OpenAI error object.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct WireError {
    message: Option<String>,
    kind: Option<String>,
    param: Option<String>,
    code: Option<String>,
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl WireError {
    /// Read the value of an `error` member: an object, or a bare message
    /// string as some compatible servers send.
    pub(crate) fn read(value: &Value) -> Option<WireError> {
        match value {
            Value::Object(e) => Some(WireError {
                message: text(e.get("message")),
                kind: text(e.get("type")),
                param: text(e.get("param")),
                code: text(e.get("code")),
            }),
            Value::String(message) => Some(WireError {
                message: Some(message.clone()),
                ..WireError::default()
            }),
            _ => None,
        }
    }

    /// The kind for this error, `status` being `None` inside a stream.
    fn error_kind(&self, status: Option<u16>) -> ErrorKind {
        let code = self.code.as_deref();
        let kind = self.kind.as_deref();
        let is = |names: &[&str]| names.iter().any(|n| code == Some(*n) || kind == Some(*n));
        if is(&["insufficient_quota", "billing_hard_limit_reached"]) {
            return ErrorKind::QuotaExceeded;
        }
        if let Some(decided) = code.and_then(code_kind) {
            return decided;
        }
        match status {
            Some(409) => ErrorKind::Unavailable,
            Some(status) => ErrorKind::from_status(status),
            // In a stream there is no status: the type (or a numeric code,
            // as vLLM sends) has to do.
            None => {
                if let Some(status) = code.and_then(|c| c.parse::<u16>().ok()) {
                    return ErrorKind::from_status(status);
                }
                match kind {
                    Some("invalid_request_error" | "BadRequestError") => ErrorKind::InvalidInput,
                    Some("authentication_error") => ErrorKind::Unauthenticated,
                    Some("permission_error") => ErrorKind::PermissionDenied,
                    Some("not_found_error") => ErrorKind::NotFound,
                    Some("rate_limit_error" | "requests" | "tokens") => ErrorKind::RateLimited,
                    _ => ErrorKind::Unavailable,
                }
            }
        }
    }

    /// The [`Error`] for this body; `status` is `None` for stream errors.
    pub(crate) fn into_error(self, status: Option<u16>) -> Error {
        let kind = self.error_kind(status);
        let message = self
            .message
            .clone()
            .unwrap_or_else(|| "no message".to_owned());
        let message = match status {
            Some(status) => format!("HTTP {status}: {message}"),
            None => format!("error inside the reply stream: {message}"),
        };
        let mut error = Error::new(kind, message);
        if let Some(code) = self.code.or(self.kind.clone()) {
            error = error.with_provider_code(code);
        }
        if let Some(kind) = self.kind {
            error = error.with_context("error_type", kind);
        }
        if let Some(param) = self.param {
            error = error.with_context("param", param);
        }
        if status.is_none() && kind.is_retryable() {
            // A failure mid-stream already consumed tokens; retrying is the
            // caller's call, but the kind still says it is transient.
            error = error.with_retryable(true);
        }
        error
    }
}

/// `code` values that decide the kind whatever the status.
fn code_kind(code: &str) -> Option<ErrorKind> {
    let kind = match code {
        "context_length_exceeded" | "string_above_max_length" | "invalid_prompt" => {
            ErrorKind::InvalidInput
        }
        "invalid_api_key" | "invalid_organization" | "invalid_project" => {
            ErrorKind::Unauthenticated
        }
        "model_not_found" | "DeploymentNotFound" | "unknown_url" => ErrorKind::NotFound,
        "rate_limit_exceeded" => ErrorKind::RateLimited,
        "server_error" | "engine_overloaded" => ErrorKind::Unavailable,
        "unsupported_country_region_territory" => ErrorKind::PermissionDenied,
        _ => return None,
    };
    Some(kind)
}

/// The error carried by a stream chunk's `error` member.
pub(crate) fn stream_error(error: &Value) -> Error {
    WireError::read(error).unwrap_or_default().into_error(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::http::{HeaderMap, StatusCode};

    fn map(status: u16, body: &str) -> Error {
        let headers = HeaderMap::new();
        OpenAiErrorMapper.map_error(&ResponseParts::new(
            StatusCode::from_u16(status).unwrap(),
            &headers,
            body.as_bytes(),
        ))
    }

    #[test]
    fn statuses_and_codes_map_to_kinds() {
        let cases = [
            (
                429,
                r#"{"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
                ErrorKind::QuotaExceeded,
            ),
            (
                429,
                r#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                ErrorKind::RateLimited,
            ),
            (
                429,
                r#"{"error":{"message":"slow down","type":"tokens"}}"#,
                ErrorKind::RateLimited,
            ),
            (
                400,
                r#"{"error":{"message":"too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
                ErrorKind::InvalidInput,
            ),
            (
                401,
                r#"{"error":{"message":"Incorrect API key provided: sk-abc***","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
                ErrorKind::Unauthenticated,
            ),
            (
                401,
                r#"{"error":{"message":"no key","type":"invalid_request_error","param":null,"code":null}}"#,
                ErrorKind::Unauthenticated,
            ),
            (
                404,
                r#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
                ErrorKind::NotFound,
            ),
            (
                404,
                r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#,
                ErrorKind::NotFound,
            ),
            (
                409,
                r#"{"error":{"message":"conflict","type":"server_error"}}"#,
                ErrorKind::Unavailable,
            ),
            (
                500,
                r#"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#,
                ErrorKind::Unavailable,
            ),
            (503, "<html>upstream down</html>", ErrorKind::Unavailable),
        ];
        for (status, body, kind) in cases {
            let e = map(status, body);
            assert_eq!(e.kind(), kind, "{status} {body}");
        }
        let e = map(400, cases[3].1);
        assert_eq!(e.provider_code(), Some("context_length_exceeded"));
        assert!(e.message().starts_with("HTTP 400: too long"), "{e}");
        assert!(e.context().any(|(k, v)| k == "param" && v == "messages"));
    }

    #[test]
    fn stream_errors_use_code_type_or_numeric_code() {
        let kind = |v: Value| stream_error(&v).kind();
        assert_eq!(
            kind(serde_json::json!({"message": "boom", "type": "server_error"})),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind(serde_json::json!({"message": "x", "code": "rate_limit_exceeded"})),
            ErrorKind::RateLimited
        );
        assert_eq!(
            kind(
                serde_json::json!({"object": "error", "message": "bad", "type": "BadRequestError", "code": 400})
            ),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(serde_json::json!({"type": "insufficient_quota"})),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(
            kind(serde_json::json!("model crashed")),
            ErrorKind::Unavailable
        );
        let e = stream_error(&serde_json::json!({"message": "boom", "type": "server_error"}));
        assert!(e.is_retryable());
        assert!(e.message().contains("boom"));
    }
}
