//! What one attempt of a call produced (`Success` or `Failure`), and the
//! helpers that shape a failure: decorating its error with the call, status
//! and headers, and reading an error body within a bound.

use std::time::Duration;

use http::{HeaderMap, StatusCode};

use super::body::{HttpResponse, map_reqwest_error};
use super::call::Call;
use super::headers;
use crate::error::{Error, ErrorKind};

/// What one attempt produced when it succeeded.
pub(super) enum Success {
    Streaming(reqwest::Response),
    Buffered(HttpResponse),
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Mode {
    Streaming,
    Buffered,
}

/// What one attempt produced when it failed.
pub(super) struct Failure {
    pub(super) error: Error,
    /// Whether the failure is transient by the policy's rules.
    pub(super) transient: bool,
    /// Whether the request may have reached the server.
    pub(super) sent: bool,
    pub(super) server_wait: Option<Duration>,
    pub(super) should_retry: Option<bool>,
}

/// An attempt cut by its timeout (the request may have been sent).
pub(super) fn timeout_failure(call: &Call, limit: Duration) -> Failure {
    let error = Error::new(ErrorKind::Timeout, "the request timed out")
        .with_context("timeout_ms", limit.as_millis().to_string());
    Failure {
        error: decorate_basic(error, call),
        transient: true,
        sent: true,
        server_wait: None,
        should_retry: None,
    }
}

pub(super) fn transport_failure(err: reqwest::Error, call: &Call) -> Failure {
    // A failed connect never sent the request, so even a POST may go again.
    let sent = !err.is_connect();
    let error = decorate_basic(map_reqwest_error(err), call);
    Failure {
        transient: error.kind().is_retryable(),
        error,
        sent,
        server_wait: None,
        should_retry: None,
    }
}

pub(super) fn decorate_basic(error: Error, call: &Call) -> Error {
    let error = if error.provider().is_none() {
        error.with_provider(call.provider_cow())
    } else {
        error
    };
    if error.operation().is_none() {
        error.with_operation(call.operation_cow())
    } else {
        error
    }
}

pub(super) fn decorate(mut error: Error, status: StatusCode, headers: &HeaderMap) -> Error {
    if error.status().is_none() {
        error = error.with_status(status.as_u16());
    }
    if error.request_id().is_none()
        && let Some(id) = headers::request_id(headers)
    {
        error = error.with_request_id(id);
    }
    for (name, value) in headers::rate_limit_headers(headers) {
        error = error.with_context(name, value);
    }
    error
}

/// The most of an error body kept for the error mapper: provider error
/// bodies are small, and a misbehaving peer must not make us buffer an
/// unbounded answer just to report a failure.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Read an error response's body, keeping at most [`MAX_ERROR_BODY`] bytes.
pub(super) async fn read_error_body(
    mut response: reqwest::Response,
) -> reqwest::Result<bytes::Bytes> {
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ERROR_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ERROR_BODY {
            break;
        }
    }
    Ok(body.freeze())
}
