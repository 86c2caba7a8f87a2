//! The one mapping of Mem0 error responses to [`Error`].
//!
//! Mem0 answers `{"error": "..", "details": {"message": ".."}}` for
//! rejected input and Django REST framework's `{"detail": ".."}` for
//! authentication, permission and not-found errors.

use plugbay_core::http::{ErrorMapper, ResponseParts};
use plugbay_core::{Error, ErrorKind};
use serde_json::Value;

/// Reads Mem0's error bodies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mem0ErrorMapper;

fn message_of(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    text(v.pointer("/details/message"))
        .or_else(|| text(v.get("detail")))
        .or_else(|| text(v.get("message")))
        .or_else(|| text(v.get("error")))
        .or_else(|| {
            // Field errors: {"messages": ["This field is required."]}.
            v.as_object()
                .and_then(|o| o.iter().next())
                .map(|(k, v)| format!("{k}: {v}"))
        })
}

impl ErrorMapper for Mem0ErrorMapper {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        let status = response.status.as_u16();
        let message = message_of(response.body).unwrap_or_else(|| {
            String::from_utf8_lossy(response.body)
                .chars()
                .take(200)
                .collect()
        });
        let kind = match status {
            400 | 422 => ErrorKind::InvalidInput,
            _ => ErrorKind::from_status(status),
        };
        Error::new(kind, format!("HTTP {status}: {message}"))
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::http::{HeaderMap, StatusCode};

    use super::*;

    fn map(status: u16, body: &str) -> Error {
        let headers = HeaderMap::new();
        let status = StatusCode::from_u16(status).unwrap();
        Mem0ErrorMapper.map_error(&ResponseParts::new(status, &headers, body.as_bytes()))
    }

    #[test]
    fn reads_mem0_bodies() {
        let e = map(
            400,
            r#"{"error":"400 Bad Request","details":{"message":"Invalid input data"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("Invalid input data"), "{e}");
        let e = map(401, r#"{"detail":"Invalid API key"}"#);
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert!(e.message().contains("Invalid API key"));
        assert_eq!(
            map(404, r#"{"detail":"Not found."}"#).kind(),
            ErrorKind::NotFound
        );
        assert_eq!(map(429, "").kind(), ErrorKind::RateLimited);
        let e = map(400, r#"{"messages":["This field is required."]}"#);
        assert!(e.message().contains("messages"), "{e}");
    }
}
