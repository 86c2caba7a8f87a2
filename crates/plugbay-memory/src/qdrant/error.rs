//! The one mapping of Qdrant error responses to [`Error`].
//!
//! Qdrant answers errors as `{"status": {"error": "Not found: Collection
//! `x` doesn't exist!"}, "time": 0.0001}` with a meaningful HTTP status.

use plugbay_core::http::{ErrorMapper, ResponseParts};
use plugbay_core::{Error, ErrorKind};
use serde_json::Value;

/// Reads Qdrant's `{"status": {"error": ".."}}` bodies.
#[derive(Debug, Clone, Copy, Default)]
pub struct QdrantErrorMapper;

fn message_of(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    match v.get("status") {
        Some(Value::Object(status)) => status
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => v
            .get("message")
            .or_else(|| v.get("error"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

impl ErrorMapper for QdrantErrorMapper {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        let status = response.status.as_u16();
        let message = message_of(response.body);
        let kind = match (status, message.as_deref()) {
            (409, _) => ErrorKind::AlreadyExists,
            (_, Some(m)) if m.contains("already exists") => ErrorKind::AlreadyExists,
            (_, Some(m)) if m.starts_with("Not found") => ErrorKind::NotFound,
            (400 | 422, _) => ErrorKind::InvalidInput,
            _ => ErrorKind::from_status(status),
        };
        let text = match message {
            Some(m) => format!("HTTP {status}: {m}"),
            None if response.body.is_empty() => format!("HTTP {status} with an empty body"),
            None => format!("HTTP {status}: {}", excerpt(response.body)),
        };
        Error::new(kind, text)
    }

    fn error_in_success(&self, response: &ResponseParts<'_>) -> Option<Error> {
        // A 2xx whose `status` is an error object (seen behind some proxies
        // and in older servers) is not a success.
        let v: Value = serde_json::from_slice(response.body).ok()?;
        let message = v.get("status")?.get("error")?.as_str()?;
        Some(
            Error::new(
                ErrorKind::Unavailable,
                format!("error in a 2xx body: {message}"),
            )
            .with_context("error_in", "2xx body"),
        )
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::http::{HeaderMap, StatusCode};

    use super::*;

    fn map(status: u16, body: &str) -> Error {
        let headers = HeaderMap::new();
        let status = StatusCode::from_u16(status).unwrap();
        QdrantErrorMapper.map_error(&ResponseParts::new(status, &headers, body.as_bytes()))
    }

    #[test]
    fn reads_status_error_bodies() {
        let e = map(
            404,
            r#"{"status":{"error":"Not found: Collection `c` doesn't exist!"},"time":0.1}"#,
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("doesn't exist"));
        let e = map(
            400,
            r#"{"status":{"error":"Wrong input: Vector dimension error: expected dim: 3, got 2"},"time":0}"#,
        );
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = map(
            409,
            r#"{"status":{"error":"Wrong input: Collection `c` already exists!"},"time":0}"#,
        );
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(map(503, "").kind(), ErrorKind::Unavailable);
        assert_eq!(map(429, "slow down").kind(), ErrorKind::RateLimited);
        assert_eq!(map(401, "").kind(), ErrorKind::Unauthenticated);
    }

    #[test]
    fn finds_errors_in_2xx_bodies() {
        let headers = HeaderMap::new();
        let body = br#"{"status":{"error":"Service internal error"},"time":0}"#;
        let parts = ResponseParts::new(StatusCode::OK, &headers, body);
        assert!(QdrantErrorMapper.error_in_success(&parts).is_some());
        let ok = br#"{"result":true,"status":"ok","time":0}"#;
        let parts = ResponseParts::new(StatusCode::OK, &headers, ok);
        assert!(QdrantErrorMapper.error_in_success(&parts).is_none());
    }
}
