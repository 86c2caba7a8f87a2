//! The one mapping of Pinecone error responses to [`Error`].
//!
//! The data plane answers `{"code": 3, "message": "..", "details": []}`
//! (gRPC status codes); the control plane `{"error": {"code": "NOT_FOUND",
//! "message": ".."}, "status": 404}`.

use plugbay_core::http::{ErrorMapper, ResponseParts};
use plugbay_core::{Error, ErrorKind};
use serde_json::Value;

/// Reads both Pinecone error shapes.
#[derive(Debug, Clone, Copy, Default)]
pub struct PineconeErrorMapper;

fn parse(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let scalar = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match v.get("error") {
        Some(Value::Object(e)) => (scalar(e.get("message")), scalar(e.get("code"))),
        Some(Value::String(s)) => (Some(s.clone()), None),
        _ => (scalar(v.get("message")), scalar(v.get("code"))),
    }
}

fn kind_of(status: u16, code: Option<&str>, message: &str) -> ErrorKind {
    let lower = message.to_ascii_lowercase();
    if status == 413 || lower.contains("exceeds the maximum supported size") {
        return ErrorKind::PayloadTooLarge;
    }
    match (status, code) {
        (429, _) if lower.contains("quota") || lower.contains("limit reached") => {
            ErrorKind::QuotaExceeded
        }
        (_, Some("5" | "NOT_FOUND")) => ErrorKind::NotFound,
        (_, Some("6" | "ALREADY_EXISTS")) => ErrorKind::AlreadyExists,
        (_, Some("16" | "UNAUTHENTICATED")) => ErrorKind::Unauthenticated,
        (400 | 422, _) => ErrorKind::InvalidInput,
        _ => ErrorKind::from_status(status),
    }
}

impl ErrorMapper for PineconeErrorMapper {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        let status = response.status.as_u16();
        let (message, code) = parse(response.body);
        let text = message.clone().unwrap_or_else(|| {
            String::from_utf8_lossy(response.body)
                .chars()
                .take(200)
                .collect()
        });
        let kind = kind_of(status, code.as_deref(), &text);
        let mut err = Error::new(kind, format!("HTTP {status}: {text}"));
        if let Some(code) = code {
            err = err.with_provider_code(code);
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::http::{HeaderMap, StatusCode};

    use super::*;

    fn map(status: u16, body: &str) -> Error {
        let headers = HeaderMap::new();
        let status = StatusCode::from_u16(status).unwrap();
        PineconeErrorMapper.map_error(&ResponseParts::new(status, &headers, body.as_bytes()))
    }

    #[test]
    fn both_error_shapes() {
        let e = map(
            400,
            r#"{"code":3,"message":"Request size 3MB exceeds the maximum supported size of 2MB","details":[]}"#,
        );
        assert_eq!(e.kind(), ErrorKind::PayloadTooLarge);
        assert_eq!(e.provider_code(), Some("3"));
        let e = map(
            400,
            r#"{"code":3,"message":"Vector dimension 2 does not match the dimension of the index 3","details":[]}"#,
        );
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = map(
            404,
            r#"{"error":{"code":"NOT_FOUND","message":"Resource my-index not found"},"status":404}"#,
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("my-index"));
        let e = map(
            401,
            r#"{"error":{"code":"UNAUTHENTICATED","message":"Invalid API Key"},"status":401}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(
            map(429, r#"{"code":8,"message":"Too many requests"}"#).kind(),
            ErrorKind::RateLimited
        );
        assert_eq!(map(503, "").kind(), ErrorKind::Unavailable);
    }
}
