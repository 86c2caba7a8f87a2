//! Turning an HTTP error response into an [`Error`]: the [`ErrorMapper`]
//! trait and the [`DefaultErrorMapper`] that reads the common error body
//! shapes.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// The longest excerpt of an unreadable error body kept in a message.
const EXCERPT_CHARS: usize = 200;

/// A response as an [`ErrorMapper`] sees it: status, headers and the whole
/// (small) body.
#[derive(Debug, Clone, Copy)]
pub struct ResponseParts<'a> {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: &'a HeaderMap,
    /// The response body.
    pub body: &'a [u8],
}

impl<'a> ResponseParts<'a> {
    /// Bundle the parts of a response.
    pub fn new(status: StatusCode, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        ResponseParts {
            status,
            headers,
            body,
        }
    }
}

/// Maps a provider's error responses to [`Error`].
///
/// [`HttpClient`](super::HttpClient) adds provider, operation, status,
/// request id, `retry_after`, rate-limit context and attempts afterwards, so
/// a mapper only needs to choose the kind, the message and the provider
/// code. A backend with its own error format writes one small mapper
/// (DESIGN.md: "`error.rs`, the one function mapping a response to `Error`").
pub trait ErrorMapper: Send + Sync + fmt::Debug {
    /// The error for a non-2xx response. Never fails; unreadable bodies give
    /// an error chosen by status alone.
    fn map_error(&self, response: &ResponseParts<'_>) -> Error;

    /// An error hidden inside a 2xx response (S3 CompleteMultipartUpload,
    /// GitHub's OAuth token exchange), or `None` when the body is a real
    /// success. Only consulted when the body is buffered. The default sees
    /// no errors.
    fn error_in_success(&self, response: &ResponseParts<'_>) -> Option<Error> {
        let _ = response;
        None
    }
}

impl<T: ErrorMapper + ?Sized> ErrorMapper for Arc<T> {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        (**self).map_error(response)
    }
    fn error_in_success(&self, response: &ResponseParts<'_>) -> Option<Error> {
        (**self).error_in_success(response)
    }
}

impl<T: ErrorMapper + ?Sized> ErrorMapper for Box<T> {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        (**self).map_error(response)
    }
    fn error_in_success(&self, response: &ResponseParts<'_>) -> Option<Error> {
        (**self).error_in_success(response)
    }
}

/// The mapper used when a call names none. It reads:
///
/// - `{"error": {"message", "type", "code"}}` (OpenAI, Anthropic, Pinecone);
/// - `{"error": "code", "error_description": ".."}` (OAuth 2);
/// - `{"message": "..", "code"?: ..}` and `{"detail": ".."}`;
/// - XML `<Error><Code>..</Code><Message>..</Message></Error>` (S3 and
///   S3-compatibles, also giving `<RequestId>`);
/// - anything else as a short text excerpt.
///
/// The kind comes from [`ErrorKind::from_http`]: a known provider code wins
/// over the status (`insufficient_quota` on a 429 is a quota error).
///
/// With [`DefaultErrorMapper::detect_error_in_success`] it also treats a 2xx
/// JSON body with a top-level `"error"` member, or an XML `<Error>` root,
/// as a failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultErrorMapper {
    detect_in_success: bool,
}

/// What could be read out of an error body.
#[derive(Debug, Default, PartialEq)]
struct ErrorBody {
    message: Option<String>,
    /// A decisive code (`error.code`, `<Code>`, OAuth `error`).
    code: Option<String>,
    /// A weaker classifier (`error.type`) used when there is no code.
    kind_hint: Option<String>,
    request_id: Option<String>,
}

impl DefaultErrorMapper {
    /// The default mapper (no error detection in 2xx bodies).
    pub fn new() -> Self {
        Self::default()
    }

    /// Also look for errors inside 2xx bodies.
    pub fn detect_error_in_success(mut self, detect: bool) -> Self {
        self.detect_in_success = detect;
        self
    }

    fn build(status: u16, body: ErrorBody, raw: &[u8]) -> Error {
        // `error.type` is only trusted where the status is not decisive by
        // itself: a 401 with type `invalid_request_error` is still a 401.
        let hint_kind = body
            .kind_hint
            .as_deref()
            .and_then(ErrorKind::from_provider_code)
            .filter(|k| matches!(k, ErrorKind::QuotaExceeded | ErrorKind::RateLimited));
        let decisive = body
            .code
            .as_deref()
            .or(hint_kind.and(body.kind_hint.as_deref()));
        let message = match body.message {
            Some(m) => format!("HTTP {status}: {m}"),
            None if raw.is_empty() => format!("HTTP {status} with an empty body"),
            None => format!("HTTP {status}: {}", excerpt(raw)),
        };
        let mut err = Error::from_http(status, decisive, message);
        if let Some(code) = body.code.or(body.kind_hint) {
            err = err.with_provider_code(code);
        }
        if let Some(id) = body.request_id {
            err = err.with_request_id(id);
        }
        err
    }
}

impl ErrorMapper for DefaultErrorMapper {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        let body = parse_error_body(response.body).unwrap_or_default();
        Self::build(response.status.as_u16(), body, response.body)
    }

    fn error_in_success(&self, response: &ResponseParts<'_>) -> Option<Error> {
        if !self.detect_in_success {
            return None;
        }
        let trimmed = response.body.trim_ascii_start();
        let is_xml = trimmed.starts_with(b"<");
        let is_error = if is_xml {
            xml_root_is_error(trimmed)
        } else {
            serde_json::from_slice::<Value>(trimmed)
                .ok()
                .and_then(|v| v.get("error").map(|e| !e.is_null()))
                .unwrap_or(false)
        };
        if !is_error {
            return None;
        }
        let body = parse_error_body(response.body).unwrap_or_default();
        // The 200 says nothing, so a known code decides; otherwise S3's XML
        // errors-in-200 are server-side (documented as retryable) and JSON
        // ones (OAuth token exchanges) are rejections of what we sent.
        let as_status = if is_xml { 500 } else { 400 };
        let err = Self::build(as_status, body, response.body)
            .with_status(response.status.as_u16())
            .with_context("error_in", "2xx body");
        Some(err)
    }
}

fn excerpt(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim();
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

fn value_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_error_body(raw: &[u8]) -> Option<ErrorBody> {
    let trimmed = raw.trim_ascii_start();
    if trimmed.starts_with(b"<") {
        return parse_xml_error(trimmed);
    }
    let v: Value = serde_json::from_slice(trimmed).ok()?;
    let mut body = ErrorBody::default();
    match v.get("error") {
        Some(Value::Object(e)) => {
            body.message = e.get("message").and_then(value_to_string);
            body.code = e.get("code").and_then(value_to_string);
            body.kind_hint = e
                .get("type")
                .or_else(|| e.get("status"))
                .and_then(value_to_string);
        }
        Some(Value::String(code)) => {
            body.code = Some(code.clone());
            body.message = v
                .get("error_description")
                .or_else(|| v.get("message"))
                .and_then(value_to_string)
                .or_else(|| Some(code.clone()));
        }
        _ => {
            body.message = v
                .get("message")
                .or_else(|| v.get("detail"))
                .or_else(|| v.get("error_message"))
                .and_then(value_to_string);
            body.code = v
                .get("code")
                .or_else(|| v.get("error_code"))
                .and_then(value_to_string);
        }
    }
    body.request_id = v
        .get("request_id")
        .or_else(|| v.get("requestId"))
        .and_then(value_to_string);
    Some(body)
}

fn xml_root_is_error(trimmed: &[u8]) -> bool {
    let text = String::from_utf8_lossy(trimmed);
    let mut rest = text.as_ref();
    // Skip the XML declaration and comments before the root element.
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("<?").or_else(|| rest.strip_prefix("<!")) {
            match after.find('>') {
                Some(i) => rest = &after[i + 1..],
                None => return false,
            }
        } else {
            break;
        }
    }
    rest.starts_with("<Error>") || rest.starts_with("<Error ")
}

fn xml_tag(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    let value = text[start..end].trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn parse_xml_error(raw: &[u8]) -> Option<ErrorBody> {
    let text = String::from_utf8_lossy(raw);
    let body = ErrorBody {
        message: xml_tag(&text, "Message"),
        code: xml_tag(&text, "Code"),
        kind_hint: None,
        request_id: xml_tag(&text, "RequestId"),
    };
    (body.message.is_some() || body.code.is_some()).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, body: &str) -> Error {
        let headers = HeaderMap::new();
        let status = StatusCode::from_u16(status).unwrap();
        DefaultErrorMapper::new().map_error(&ResponseParts::new(status, &headers, body.as_bytes()))
    }

    #[test]
    fn openai_shapes() {
        let e = map(
            429,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
        assert_eq!(e.provider_code(), Some("insufficient_quota"));
        assert!(e.message().contains("current quota"));
        let e = map(
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        // type alone does not override a decisive status
        let e = map(
            401,
            r#"{"error":{"message":"bad","type":"invalid_request_error","code":null}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert_eq!(e.provider_code(), Some("invalid_request_error"));
        // but a quota type does
        let e = map(
            429,
            r#"{"error":{"message":"m","type":"insufficient_quota"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
    }

    #[test]
    fn oauth_message_and_detail_shapes() {
        let e = map(
            400,
            r#"{"error":"invalid_grant","error_description":"code expired"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.provider_code(), Some("invalid_grant"));
        assert!(e.message().contains("code expired"));
        let e = map(404, r#"{"message":"Not Found","code":5}"#);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.provider_code(), Some("5"));
        let e = map(422, r#"{"detail":"bad filter"}"#);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("bad filter"));
    }

    #[test]
    fn s3_xml_and_plain_text() {
        let e = map(
            503,
            "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message><RequestId>R1</RequestId></Error>",
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.provider_code(), Some("SlowDown"));
        assert_eq!(e.request_id(), Some("R1"));
        let e = map(400, "invalid_payload");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().ends_with("invalid_payload"));
        let e = map(502, "");
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        let long = "x".repeat(1000);
        assert!(map(500, &long).message().chars().count() < 260);
    }

    #[test]
    fn errors_inside_success_bodies() {
        let headers = HeaderMap::new();
        let detect = DefaultErrorMapper::new().detect_error_in_success(true);
        let xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>";
        let parts = ResponseParts::new(StatusCode::OK, &headers, xml);
        let e = detect.error_in_success(&parts).unwrap();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(e.status(), Some(200));
        assert!(DefaultErrorMapper::new().error_in_success(&parts).is_none());
        let gh = br#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#;
        let e = detect
            .error_in_success(&ResponseParts::new(StatusCode::OK, &headers, gh))
            .unwrap();
        assert_eq!(e.provider_code(), Some("bad_verification_code"));
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(!e.is_retryable());
        for ok in [
            &br#"{"access_token":"x","error":null}"#[..],
            b"<CompleteMultipartUploadResult><ETag>e</ETag></CompleteMultipartUploadResult>",
            b"[]",
        ] {
            let parts = ResponseParts::new(StatusCode::OK, &headers, ok);
            assert!(detect.error_in_success(&parts).is_none());
        }
    }
}
