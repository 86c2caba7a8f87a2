//! Every failure leaves the server as `{"error": {"kind", "message"}}` with
//! the status [`ErrorKind::http_status`] gives, plus the extractors whose
//! rejections (malformed JSON, a wrong content type, an oversized body)
//! are turned into that same shape.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use plugbay::core::redact::redact;
use plugbay::core::{Error, ErrorKind};
use serde_json::json;

/// A handler's error: a plugbay [`Error`], and the status when it is not
/// the kind's usual one (415 for a wrong content type).
#[derive(Debug)]
pub struct ApiError {
    error: Error,
    status: Option<StatusCode>,
}

/// A handler result.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error of `kind` with a client-facing `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError::from(Error::new(kind, message.into()))
    }

    /// `400 invalid_input`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::InvalidInput, message)
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::NotFound, message)
    }

    /// Answer with `status` instead of the kind's default.
    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = Some(status);
        self
    }

    /// The underlying error.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| status_of(self.error.kind()))
    }

    fn from_rejection(status: StatusCode, text: String) -> ApiError {
        let kind = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
            StatusCode::INTERNAL_SERVER_ERROR => ErrorKind::Internal,
            _ => ErrorKind::InvalidInput,
        };
        let error = ApiError::new(kind, text);
        // 415 says more than 400 about a missing `Content-Type: application/json`.
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            error.with_status(status)
        } else {
            error
        }
    }
}

/// The HTTP status for a kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The JSON error body for `kind` and `message`.
pub fn error_body(kind: ErrorKind, message: &str) -> serde_json::Value {
    json!({"error": {"kind": kind.as_str(), "message": message}})
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        ApiError {
            error,
            status: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let kind = self.error.kind();
        // Internal details (paths, invariants) stay in the log.
        let message = if status.is_server_error()
            && matches!(kind, ErrorKind::Internal | ErrorKind::Config)
        {
            tracing::error!(error = %self.error, "request failed");
            "internal error".to_owned()
        } else {
            if status.is_server_error() {
                tracing::warn!(error = %self.error, "request failed");
            } else {
                tracing::debug!(error = %self.error, "request refused");
            }
            redact(self.error.message())
        };
        let mut response = (status, Json(error_body(kind, &message))).into_response();
        let headers = response.headers_mut();
        if kind == ErrorKind::RateLimited {
            let secs = self
                .error
                .retry_after()
                .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
                .unwrap_or(1)
                .max(1);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        ApiError::from_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::from_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::from_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        ApiError::from_rejection(rejection.status(), rejection.body_text())
    }
}

/// `axum::Json` whose rejections answer in the JSON error shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` whose rejections answer in the JSON error shape.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejections answer in the JSON error shape.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The raw request body, within the route's `DefaultBodyLimit` (413 past
/// it, in the JSON error shape).
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<RawBody, ApiError> {
        Ok(RawBody(Bytes::from_request(req, state).await?))
    }
}

/// The answer for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// The answer for a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::invalid("method not allowed on this route")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
}

/// The answer when a handler panicked (the panic itself is logged).
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(ErrorKind::Internal, "internal error").into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn every_kind_answers_its_status_with_the_json_shape() {
        for kind in ErrorKind::ALL {
            let response = ApiError::new(kind, "boom").into_response();
            assert_eq!(response.status().as_u16(), kind.http_status(), "{kind}");
            let body = body_json(response).await;
            assert_eq!(body["error"]["kind"], kind.as_str());
        }
    }

    #[tokio::test]
    async fn internal_details_are_hidden_and_secrets_redacted() {
        let body =
            body_json(ApiError::new(ErrorKind::Internal, "/srv/secret/path broke").into_response())
                .await;
        assert_eq!(body["error"]["message"], "internal error");
        let leaky =
            ApiError::invalid("bad key sk-abcdefghijklmnopqrstuvwxyz0123456789").into_response();
        let body = body_json(leaky).await;
        assert!(
            !body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("abcdefghijklmnop"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn rate_limits_carry_retry_after_and_401s_a_challenge() {
        let limited = ApiError::from(
            Error::new(ErrorKind::RateLimited, "slow down")
                .with_retry_after(Duration::from_millis(1500)),
        )
        .into_response();
        assert_eq!(limited.headers()[header::RETRY_AFTER], "2");
        let unauth = ApiError::new(ErrorKind::Unauthenticated, "no").into_response();
        assert_eq!(unauth.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
