//! Reading the response headers that steer retries and diagnostics:
//! `Retry-After`, `retry-after-ms`, `x-should-retry`, request ids and
//! rate-limit counters.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// Request-id headers, in the order they are tried (OpenAI and most APIs,
/// S3, Azure/Anthropic-style, Google).
pub const REQUEST_ID_HEADERS: &[&str] = &[
    "x-request-id",
    "x-amz-request-id",
    "request-id",
    "x-ms-request-id",
    "x-goog-request-id",
    "x-guploader-uploadid",
];

/// Rate-limit headers copied onto an error as context (OpenAI's
/// `x-ratelimit-*-{requests,tokens}`, the GitHub/Discord `x-ratelimit-*`
/// family and the IETF `ratelimit-*` draft).
///
/// Context keys must be `'static`, so the recognised names are listed
/// rather than matched by prefix.
pub const RATE_LIMIT_HEADERS: &[&str] = &[
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-reset-after",
    "x-ratelimit-used",
    "x-ratelimit-resource",
    "x-ratelimit-bucket",
    "x-ratelimit-scope",
    "x-ratelimit-global",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
];

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// How long the server asked us to wait, from `retry-after-ms` (milliseconds,
/// OpenAI) or `Retry-After` (delta seconds, fractional tolerated, or an HTTP
/// date compared with `now`).
///
/// A date in the past gives `Some(Duration::ZERO)`. Unreadable or negative
/// values give `None`. Whether the wait is reasonable is the retry policy's
/// call, not this function's.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::HeaderMap;
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "3".parse().unwrap());
/// assert_eq!(
///     plugbay_core::http::parse_retry_after(&headers, SystemTime::now()),
///     Some(Duration::from_secs(3))
/// );
/// ```
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(parse_non_negative) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = header_str(headers, "retry-after")?;
    if let Some(secs) = parse_non_negative(value) {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn parse_non_negative(value: &str) -> Option<f64> {
    let v: f64 = value.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// The server's explicit retry verdict from `x-should-retry`, if it gave one.
pub fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match header_str(headers, "x-should-retry")? {
        v if v.eq_ignore_ascii_case("true") => Some(true),
        v if v.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The provider's request id from the first of [`REQUEST_ID_HEADERS`]
/// present.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|name| header_str(headers, name))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The rate-limit headers present, as `(name, value)` pairs.
pub fn rate_limit_headers(headers: &HeaderMap) -> Vec<(&'static str, String)> {
    RATE_LIMIT_HEADERS
        .iter()
        .filter_map(|name| header_str(headers, name).map(|v| (*name, v.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(7)));
        let h = headers(&[("retry-after", "1.5")]);
        assert_eq!(
            parse_retry_after(&h, now),
            Some(Duration::from_millis(1500))
        );
        // milliseconds win over seconds
        let h = headers(&[("retry-after", "7"), ("retry-after-ms", "250")]);
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_millis(250)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        let h = headers(&[("retry-after", &date)]);
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        let h = headers(&[("retry-after", &past)]);
        assert_eq!(parse_retry_after(&h, now), Some(Duration::ZERO));
        for bad in ["-1", "soon", "NaN", ""] {
            let h = headers(&[("retry-after", bad)]);
            assert_eq!(parse_retry_after(&h, now), None, "{bad}");
        }
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn should_retry_and_ids() {
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "TRUE")])),
            Some(true)
        );
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "false")])),
            Some(false)
        );
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "maybe")])),
            None
        );
        let h = headers(&[("x-amz-request-id", "AMZ1"), ("request-id", "R2")]);
        assert_eq!(request_id(&h).as_deref(), Some("AMZ1"));
        let h = headers(&[
            ("x-ratelimit-remaining-tokens", "10"),
            ("x-ratelimit-reset-tokens", "6m0s"),
            ("content-type", "x"),
        ]);
        assert_eq!(
            rate_limit_headers(&h),
            vec![
                ("x-ratelimit-remaining-tokens", "10".to_owned()),
                ("x-ratelimit-reset-tokens", "6m0s".to_owned())
            ]
        );
    }
}
