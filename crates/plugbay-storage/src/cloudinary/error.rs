//! The one mapping from a Cloudinary error response to [`Error`].
//!
//! Errors are `{"error": {"message": ".."}}` (read by the shared mapper);
//! the Admin API answers 420 when its hourly rate limit is spent, which is
//! `RateLimited`, not retried in-call (the limit resets on the hour; the
//! reset time is kept as `rate_limit_reset` context).

use plugbay_core::http::{DefaultErrorMapper, ErrorMapper, ResponseParts};
use plugbay_core::{Error, ErrorKind};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CloudinaryErrorMapper;

impl ErrorMapper for CloudinaryErrorMapper {
    fn map_error(&self, response: &ResponseParts<'_>) -> Error {
        let error = DefaultErrorMapper::new().map_error(response);
        let error = match response.status.as_u16() {
            // Not retried here: the Admin API's limit resets hourly.
            420 => error.with_kind(ErrorKind::RateLimited),
            401 => error.with_kind(ErrorKind::Unauthenticated),
            _ => error,
        };
        match response
            .headers
            .get("x-featureratelimit-reset")
            .and_then(|v| v.to_str().ok())
        {
            Some(reset) => error.with_context("rate_limit_reset", reset.to_owned()),
            None => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::http::{HeaderMap, StatusCode};

    use super::*;

    #[test]
    fn cloudinary_statuses() {
        let headers = HeaderMap::new();
        let map = |status: u16, body: &str| {
            CloudinaryErrorMapper.map_error(&ResponseParts::new(
                StatusCode::from_u16(status).unwrap(),
                &headers,
                body.as_bytes(),
            ))
        };
        let limited = map(420, r#"{"error":{"message":"Rate Limit Exceeded"}}"#);
        assert_eq!(limited.kind(), ErrorKind::RateLimited);
        assert!(limited.message().contains("Rate Limit"));
        assert_eq!(
            map(404, r#"{"error":{"message":"Resource not found - x"}}"#).kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            map(401, r#"{"error":{"message":"Invalid Signature"}}"#).kind(),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            map(400, r#"{"error":{"message":"Empty file"}}"#).kind(),
            ErrorKind::InvalidInput
        );
    }
}
