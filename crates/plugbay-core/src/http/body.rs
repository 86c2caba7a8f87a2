//! Buffered responses, JSON decoding with `Protocol` errors, and the mapping
//! of transport (reqwest) errors to [`ErrorKind`]s.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::headers;
use crate::error::{Error, ErrorKind, Result};

/// A response whose body was read completely, as returned by
/// [`HttpClient::execute`](super::HttpClient::execute).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    attempts: u32,
}

impl HttpResponse {
    /// Assemble a response (useful in tests and mocks).
    pub fn new(status: StatusCode, headers: HeaderMap, body: Bytes, attempts: u32) -> Self {
        HttpResponse {
            status,
            headers,
            body,
            attempts,
        }
    }

    /// The HTTP status (always 2xx when returned by the client).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Take the body.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// How many attempts the call took (1 when the first one succeeded).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The provider's request id, if a known header carried one.
    pub fn request_id(&self) -> Option<String> {
        headers::request_id(&self.headers)
    }

    /// Decode the body as JSON; a malformed or truncated body is a
    /// [`ErrorKind::Protocol`] error carrying the status and request id.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json(&self.body).map_err(|e| {
            let e = e.with_status(self.status.as_u16());
            match self.request_id() {
                Some(id) => e.with_request_id(id),
                None => e,
            }
        })
    }

    /// The body as UTF-8 text; invalid UTF-8 is a `Protocol` error.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body)
            .map_err(|e| Error::protocol("response body is not valid UTF-8").with_source(e))
    }
}

/// Decode a JSON body into `T`. A malformed body, a body of the wrong shape
/// and a truncated body are all [`ErrorKind::Protocol`] (the peer answered
/// something we cannot read); the message says which, without echoing the
/// body.
///
/// ```
/// use plugbay_core::{ErrorKind, http::decode_json};
/// let v: Vec<u32> = decode_json(b"[1, 2]").unwrap();
/// assert_eq!(v, vec![1, 2]);
/// let err = decode_json::<Vec<u32>>(b"[1, 2").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Protocol);
/// ```
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    // One UTF-8 check of the whole body is cheaper than serde_json's check
    // of every string; a body that is not UTF-8 takes the byte path, which
    // gives exactly the old answer.
    let decoded = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    };
    decoded.map_err(|e| {
        use serde_json::error::Category;
        let what = match e.classify() {
            Category::Eof => "truncated JSON body",
            Category::Syntax => "malformed JSON body",
            Category::Data => "JSON body of an unexpected shape",
            Category::Io => "unreadable JSON body",
        };
        Error::new(
            ErrorKind::Protocol,
            format!("{what} (line {}, column {})", e.line(), e.column()),
        )
        .with_context("body_bytes", body.len().to_string())
        .with_source(e)
    })
}

/// Read a whole `reqwest` response body and decode it as JSON, with
/// transport errors mapped by [`map_reqwest_error`] and decoding errors by
/// [`decode_json`]. Does not look at the status: use it on responses the
/// client already accepted.
pub async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| map_reqwest_error(e).with_status(status))?;
    decode_json(&body).map_err(|e| e.with_status(status))
}

/// Map a transport error to an [`Error`]: timeouts are `Timeout`; connect
/// failures and connections reset or closed while sending are
/// `Unavailable`; a body that cannot be read or decoded (cut short, bad
/// encoding) is `Protocol`; a request that could not be built is
/// `InvalidInput`. The URL is dropped from the cause: it may hold a secret.
pub fn map_reqwest_error(err: reqwest::Error) -> Error {
    let (kind, message) = if err.is_timeout() {
        (ErrorKind::Timeout, "the request timed out")
    } else if err.is_connect() {
        (ErrorKind::Unavailable, "could not connect to the server")
    } else if err.is_builder() {
        (ErrorKind::InvalidInput, "the request could not be built")
    } else if err.is_redirect() {
        (ErrorKind::Protocol, "too many or invalid redirects")
    } else if err.is_body() || err.is_decode() {
        (ErrorKind::Protocol, "the response body could not be read")
    } else if err.is_request() {
        (
            ErrorKind::Unavailable,
            "the connection failed while sending the request",
        )
    } else {
        (ErrorKind::Unavailable, "the HTTP request failed")
    };
    let status = err.status().map(|s| s.as_u16());
    let mut out = Error::new(kind, message).with_source(err.without_url());
    if let Some(status) = status {
        out = out.with_status(status);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Reply {
        #[allow(dead_code)]
        id: String,
    }

    #[test]
    fn json_errors_are_protocol_with_a_reason() {
        let cut = decode_json::<Reply>(br#"{"id": "ab"#).unwrap_err();
        assert_eq!(cut.kind(), ErrorKind::Protocol);
        assert!(cut.message().starts_with("truncated"), "{cut}");
        let bad = decode_json::<Reply>(b"<html>oops</html>").unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::Protocol);
        assert!(bad.message().starts_with("malformed"), "{bad}");
        let shape = decode_json::<Reply>(br#"{"id": 5}"#).unwrap_err();
        assert_eq!(shape.kind(), ErrorKind::Protocol);
        assert!(shape.message().contains("unexpected shape"), "{shape}");
        assert!(decode_json::<Reply>(br#"{"id": "x", "new_field": 1}"#).is_ok());
    }

    #[test]
    fn bodies_that_are_not_utf8_read_as_before() {
        // Bad bytes in a skipped field pass, in a read field they fail.
        let skipped = decode_json::<Reply>(b"{\"id\": \"x\", \"junk\": \"\xff\"}");
        assert!(skipped.is_ok());
        let read = decode_json::<Reply>(b"{\"id\": \"\xff\"}").unwrap_err();
        assert_eq!(read.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn buffered_response_accessors() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", "req_1".parse().unwrap());
        let r = HttpResponse::new(StatusCode::OK, headers, Bytes::from_static(b"{\"id"), 2);
        assert_eq!(r.attempts(), 2);
        assert_eq!(r.request_id().as_deref(), Some("req_1"));
        let e = r.json::<Reply>().unwrap_err();
        assert_eq!(e.request_id(), Some("req_1"));
        assert_eq!(e.status(), Some(200));
        assert_eq!(r.text().unwrap(), "{\"id");
    }
}
