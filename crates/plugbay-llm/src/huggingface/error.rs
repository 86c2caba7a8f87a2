//! The one mapping of Hugging Face error bodies to [`Error`]: the
//! Inference Providers router, hf-inference pipelines, TGI and TEI.

use std::time::Duration;

use plugbay_core::http::{DefaultErrorMapper, ErrorMapper, ResponseParts};
use plugbay_core::{Error, ErrorKind};
use serde_json::Value;

/// The longest server-announced cold-start wait we pass on as
/// `retry_after` (HF estimates run from seconds to minutes).
const MAX_ESTIMATED_WAIT: Duration = Duration::from_secs(600);

/// Reads Hugging Face error bodies:
///
/// - `{"error": "message"}`, optionally with `error_type` (TGI and TEI:
///   `validation`, `overloaded`, `tokenizer`, `backend`, ...), `warnings`
///   or `estimated_time`;
/// - `{"error": ["message", ...]}` (validation errors listed one by one);
/// - OpenAI-style `{"error": {"message", "type", "code"}}` from the router,
///   and anything else, through the [`DefaultErrorMapper`].
///
/// Kinds follow the shared status table, with these refinements:
/// a 503 that says the model "is currently loading" (or carries
/// `estimated_time`) is a retryable `Unavailable` whose `retry_after` is
/// the estimate (a cold start); 402 (credits exhausted) is `QuotaExceeded`;
/// `error_type: overloaded` is `RateLimited`; `validation` and `tokenizer`
/// are `InvalidInput` unless the status says `PayloadTooLarge` (TEI answers
/// 413 to too large a batch); 424 (the model failed to run) is
/// `Unavailable`.
///
/// 2xx bodies that are an object with an `error` member are errors too
/// (pipelines answer with arrays, never objects).
#[derive(Debug, Clone, Copy, Default)]
pub struct HfErrorMapper;

impl HfErrorMapper {
    /// The mapper.
    pub fn new() -> HfErrorMapper {
        HfErrorMapper
    }
}

/// What an HF error body says.
#[derive(Debug, Default, PartialEq)]
struct HfErrorBody {
    message: String,
    error_type: Option<String>,
    estimated_time: Option<f64>,
}

fn read_body(raw: &[u8]) -> Option<HfErrorBody> {
    let value: Value = serde_json::from_slice(raw).ok()?;
    let object = value.as_object()?;
    let message = match object.get("error")? {
        Value::String(message) => message.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|item| match item {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            if parts.is_empty() {
                return None;
            }
            parts.join("; ")
        }
        // Objects are OpenAI-shaped: the default mapper reads them.
        _ => return None,
    };
    Some(HfErrorBody {
        message,
        error_type: object
            .get("error_type")
            .and_then(Value::as_str)
            .map(str::to_owned),
        estimated_time: object.get("estimated_time").and_then(Value::as_f64),
    })
}

fn is_loading(body: &HfErrorBody) -> bool {
    body.estimated_time.is_some()
        || body
            .message
            .to_ascii_lowercase()
            .contains("currently loading")
}

fn build(status: u16, body: HfErrorBody) -> Error {
    let cold_start = status == 503 && is_loading(&body);
    let kind = match (status, body.error_type.as_deref()) {
        (402, _) => ErrorKind::QuotaExceeded,
        (413, _) => ErrorKind::PayloadTooLarge,
        (424, _) => ErrorKind::Unavailable,
        (_, Some("overloaded")) => ErrorKind::RateLimited,
        (400..=499, Some("validation" | "tokenizer")) if status != 429 => ErrorKind::InvalidInput,
        _ => ErrorKind::from_status(status),
    };
    let mut error = Error::new(kind, format!("HTTP {status}: {}", body.message));
    if let Some(error_type) = body.error_type {
        error = error.with_provider_code(error_type);
    }
    if cold_start {
        error = error
            .with_retryable(true)
            .with_context("cold_start", "true");
        if let Some(wait) = body
            .estimated_time
            .filter(|t| t.is_finite() && *t > 0.0)
            .and_then(|t| Duration::try_from_secs_f64(t).ok())
        {
            error = error.with_retry_after(wait.min(MAX_ESTIMATED_WAIT));
        }
    }
    error
}

impl ErrorMapper for HfErrorMapper {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        let status = response.status.as_u16();
        match read_body(response.body) {
            Some(body) => build(status, body),
            None => {
                let error = DefaultErrorMapper::new().map_error(response);
                if status == 402 {
                    error.with_kind(ErrorKind::QuotaExceeded)
                } else {
                    error
                }
            }
        }
    }

    fn error_in_success(&self, response: &ResponseParts<'_>) -> Option<Error> {
        let trimmed = response.body.trim_ascii_start();
        if !trimmed.starts_with(b"{") {
            return None;
        }
        let value: Value = serde_json::from_slice(trimmed).ok()?;
        if value.get("error").is_none_or(Value::is_null) {
            return None;
        }
        // Nothing in a 200 says what went wrong: treat it as the server's
        // failure, so it is retried like a 500.
        let error = match read_body(trimmed) {
            Some(body) => build(500, body),
            None => DefaultErrorMapper::new().map_error(&ResponseParts::new(
                plugbay_core::http::StatusCode::INTERNAL_SERVER_ERROR,
                response.headers,
                trimmed,
            )),
        };
        Some(
            error
                .with_status(response.status.as_u16())
                .with_context("error_in", "2xx body"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::http::{HeaderMap, StatusCode};

    fn map(status: u16, body: &str) -> Error {
        let headers = HeaderMap::new();
        HfErrorMapper.map_error(&ResponseParts::new(
            StatusCode::from_u16(status).unwrap(),
            &headers,
            body.as_bytes(),
        ))
    }

    #[test]
    fn cold_start_is_retryable_with_the_estimate() {
        let e = map(
            503,
            r#"{"error":"Model sentence-transformers/all-MiniLM-L6-v2 is currently loading","estimated_time":20.0}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(20)));
        assert!(e.message().contains("currently loading"));
        assert!(e.context().any(|(k, v)| k == "cold_start" && v == "true"));
        // Loading without an estimate: still a cold start, no wait known.
        let e = map(503, r#"{"error":"Model x is currently loading"}"#);
        assert!(e.is_retryable() && e.retry_after().is_none());
        // A huge estimate is capped.
        let e = map(503, r#"{"error":"loading","estimated_time":1e9}"#);
        assert_eq!(e.retry_after(), Some(MAX_ESTIMATED_WAIT));
    }

    #[test]
    fn string_array_and_typed_errors() {
        let cases = [
            (
                400,
                r#"{"error":"Input validation error: `inputs` must be non-empty","error_type":"validation"}"#,
                ErrorKind::InvalidInput,
            ),
            (
                422,
                r#"{"error":"Tokenization error","error_type":"tokenizer"}"#,
                ErrorKind::InvalidInput,
            ),
            (
                413,
                r#"{"error":"batch size 64 > maximum allowed batch size 32","error_type":"validation"}"#,
                ErrorKind::PayloadTooLarge,
            ),
            (
                429,
                r#"{"error":"Model is overloaded","error_type":"overloaded"}"#,
                ErrorKind::RateLimited,
            ),
            (
                424,
                r#"{"error":"Inference failed","error_type":"backend"}"#,
                ErrorKind::Unavailable,
            ),
            (
                400,
                r#"{"error":["Input should be a valid list","Field required"]}"#,
                ErrorKind::InvalidInput,
            ),
            (
                401,
                r#"{"error":"Invalid credentials in Authorization header"}"#,
                ErrorKind::Unauthenticated,
            ),
            (
                402,
                r#"{"error":"You have exceeded your monthly included credits for Inference Providers."}"#,
                ErrorKind::QuotaExceeded,
            ),
            (402, "Payment Required", ErrorKind::QuotaExceeded),
            (
                404,
                r#"{"error":"Model not-a/model does not exist"}"#,
                ErrorKind::NotFound,
            ),
            (
                500,
                r#"{"error":"unknown error","warnings":["x"]}"#,
                ErrorKind::Unavailable,
            ),
            (
                503,
                r#"{"error":"Service Unavailable"}"#,
                ErrorKind::Unavailable,
            ),
            (
                429,
                r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
                ErrorKind::RateLimited,
            ),
        ];
        for (status, body, kind) in cases {
            assert_eq!(map(status, body).kind(), kind, "{status} {body}");
        }
        let e = map(400, cases[5].1);
        assert!(e.message().contains("valid list; Field required"), "{e}");
        let e = map(413, cases[2].1);
        assert_eq!(e.provider_code(), Some("validation"));
        // A plain 503 without loading is not marked as a cold start.
        assert!(
            map(503, cases[11].1)
                .context()
                .all(|(k, _)| k != "cold_start")
        );
    }

    #[test]
    fn errors_in_success_bodies() {
        let headers = HeaderMap::new();
        let parts = |body: &'static [u8]| ResponseParts::new(StatusCode::OK, &headers, body);
        let e = HfErrorMapper
            .error_in_success(&parts(
                br#"{"error":"Model is overloaded","error_type":"overloaded"}"#,
            ))
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.status(), Some(200));
        for ok in [
            &b"[[0.1,0.2]]"[..],
            b"[]",
            br#"{"error":null,"x":1}"#,
            b"{\"embeddings\":[]}",
        ] {
            assert!(HfErrorMapper.error_in_success(&parts(ok)).is_none());
        }
    }
}
