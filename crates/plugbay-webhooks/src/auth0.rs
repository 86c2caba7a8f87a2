//! Auth0 log streams (custom webhook): a static `Authorization` value.

use std::fmt;
use std::time::SystemTime;

use http::HeaderMap;
use plugbay_core::{Error, ExposeSecret, Result, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::verifier::{
    VerifiedEvent, VerifierCapabilities, WebhookVerifier, any_matches, check_event_id, invalid,
    required_header, unauthenticated,
};

const PROVIDER: &str = "auth0";

/// The most log records one delivery may carry.
const MAX_LOGS: usize = 10_000;

/// Verifies Auth0 log stream deliveries (the "Custom Webhook" stream).
///
/// Auth0 signs nothing: the stream sends the configured "Authorization
/// Token" verbatim as the `Authorization` header, and this verifier compares
/// it with the expected value in constant time (both sides are hashed
/// first, so not even the length leaks). Configure the token with its
/// scheme if you use one (`Bearer abc...`): the whole header value is
/// compared. Neither the body nor a timestamp is covered, so use TLS and
/// dedupe.
///
/// Every content format is accepted:
/// - **JSON object** (one log per request, the recommended format): the
///   event id is the log's `log_id` (or `data.log_id`, `_id`, `data._id`),
///   the type its `data.type` (Auth0's short code, `s`, `f`, `fp`, ...), the
///   payload the log object.
/// - **JSON array** or **JSON lines** (batches): the payload is always a
///   JSON array of the logs, the type `"batch"`, and the event id
///   `batch-<sha256 of the log ids>`, so a redelivered batch is deduped.
///   A log may reappear in a different batch; dedupe single logs with
///   [`crate::ReplayGuard::check_and_record_key`] and [`auth0_log_id`].
pub struct Auth0LogStreamVerifier {
    token: SecretString,
}

impl Auth0LogStreamVerifier {
    /// A verifier expecting `Authorization: <token>` exactly. An empty
    /// token is a `Config` error.
    pub fn new(token: SecretString) -> Result<Auth0LogStreamVerifier> {
        if token.expose_secret().trim().is_empty() {
            return Err(Error::config("Auth0 log stream token is empty").with_provider(PROVIDER));
        }
        Ok(Auth0LogStreamVerifier { token })
    }
}

impl fmt::Debug for Auth0LogStreamVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth0LogStreamVerifier")
            .field("token", &"[REDACTED]")
            .finish()
    }
}

/// The id of one Auth0 log record: `log_id`, `data.log_id`, `_id` or
/// `data._id`, whichever is present first.
pub fn auth0_log_id(log: &Value) -> Option<&str> {
    let data = log.get("data");
    [
        log.get("log_id"),
        data.and_then(|d| d.get("log_id")),
        log.get("_id"),
        data.and_then(|d| d.get("_id")),
    ]
    .into_iter()
    .flatten()
    .find_map(Value::as_str)
}

fn log_type(log: &Value) -> &str {
    log.get("data")
        .and_then(|d| d.get("type"))
        .or_else(|| log.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Parse the body as a single log, an array of logs or JSON lines.
fn parse_logs(body: &[u8]) -> Result<Value> {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return Ok(value);
    }
    let text =
        std::str::from_utf8(body).map_err(|_| invalid(PROVIDER, "log stream body is not UTF-8"))?;
    let mut logs = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let log: Value = serde_json::from_str(line)
            .map_err(|_| invalid(PROVIDER, "log stream body is not JSON or JSON lines"))?;
        logs.push(log);
    }
    Ok(Value::Array(logs))
}

impl WebhookVerifier for Auth0LogStreamVerifier {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> VerifierCapabilities {
        VerifierCapabilities::new()
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], _now: SystemTime) -> Result<VerifiedEvent> {
        let provided = required_header(
            PROVIDER,
            headers,
            "authorization",
            "missing Authorization header",
        )?;
        let expected = Sha256::digest(self.token.expose_secret().as_bytes());
        let provided = Sha256::digest(provided.as_bytes());
        if !any_matches(&expected, [&provided[..]]) {
            return Err(unauthenticated(PROVIDER, "log stream token does not match"));
        }

        let payload = parse_logs(body)?;
        match payload {
            Value::Object(_) => {
                let id = auth0_log_id(&payload)
                    .ok_or_else(|| invalid(PROVIDER, "Auth0 log has no log_id"))?
                    .to_owned();
                check_event_id(PROVIDER, &id)?;
                let kind = log_type(&payload).to_owned();
                Ok(VerifiedEvent::new(PROVIDER, id, kind, payload))
            }
            Value::Array(logs) => {
                if logs.is_empty() {
                    return Err(invalid(PROVIDER, "log stream batch is empty"));
                }
                if logs.len() > MAX_LOGS {
                    return Err(invalid(PROVIDER, "log stream batch is too large"));
                }
                let mut digest = Sha256::new();
                for log in &logs {
                    let id = auth0_log_id(log)
                        .ok_or_else(|| invalid(PROVIDER, "Auth0 log has no log_id"))?;
                    digest.update(id.as_bytes());
                    digest.update(b"\n");
                }
                let id = format!("batch-{}", hex::encode(digest.finalize()));
                Ok(VerifiedEvent::new(
                    PROVIDER,
                    id,
                    "batch",
                    Value::Array(logs),
                ))
            }
            _ => Err(invalid(
                PROVIDER,
                "log stream body is not a log or a list of logs",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::signers::Auth0Signer;
    use crate::conformance::verifier as suite;
    use plugbay_core::ErrorKind;
    use std::time::UNIX_EPOCH;

    const TOKEN: &str = "Bearer log-stream-token-123";

    fn verifier() -> Auth0LogStreamVerifier {
        Auth0LogStreamVerifier::new(SecretString::from(TOKEN)).unwrap()
    }

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", token.parse().unwrap());
        h
    }

    #[test]
    fn single_log_object() {
        let body = br#"{"log_id":"9001","data":{"type":"s","log_id":"9001","date":"2024-01-01T00:00:00Z"}}"#;
        let event = verifier()
            .verify(&headers(TOKEN), body, UNIX_EPOCH)
            .unwrap();
        assert_eq!(event.event_id, "9001");
        assert_eq!(event.event_type, "s");
        assert_eq!(event.payload["data"]["date"], "2024-01-01T00:00:00Z");
    }

    #[test]
    fn array_and_json_lines_give_the_same_batch_id() {
        let array = br#"[{"log_id":"1","data":{"type":"s"}},{"data":{"_id":"2","type":"f"}}]"#;
        let lines = b"{\"log_id\":\"1\",\"data\":{\"type\":\"s\"}}\n{\"data\":{\"_id\":\"2\",\"type\":\"f\"}}\n";
        let a = verifier()
            .verify(&headers(TOKEN), array, UNIX_EPOCH)
            .unwrap();
        let b = verifier()
            .verify(&headers(TOKEN), lines, UNIX_EPOCH)
            .unwrap();
        assert!(a.event_id.starts_with("batch-"), "{}", a.event_id);
        assert_eq!(a.event_id, b.event_id);
        assert_eq!(a.event_type, "batch");
        assert_eq!(a.payload, b.payload);
        let ids: Vec<_> = a
            .payload
            .as_array()
            .unwrap()
            .iter()
            .filter_map(auth0_log_id)
            .collect();
        assert_eq!(ids, ["1", "2"]);
        let other = br#"[{"log_id":"1"},{"log_id":"3"}]"#;
        let c = verifier()
            .verify(&headers(TOKEN), other, UNIX_EPOCH)
            .unwrap();
        assert_ne!(a.event_id, c.event_id);
    }

    #[test]
    fn bad_bodies_are_invalid_input() {
        for body in [
            &b"[]"[..],
            b"{\"data\":{}}",
            b"42",
            b"not json",
            b"[{\"x\":1}]",
        ] {
            let err = verifier()
                .verify(&headers(TOKEN), body, UNIX_EPOCH)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn wrong_or_partial_tokens_are_unauthenticated() {
        for token in ["Bearer log-stream-token-12", "log-stream-token-123", "x"] {
            let err = verifier()
                .verify(&headers(token), br#"{"log_id":"1"}"#, UNIX_EPOCH)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated);
            assert!(!err.to_string().contains("token-12"));
        }
    }

    #[test]
    fn empty_token_is_config_error() {
        let err = Auth0LogStreamVerifier::new(SecretString::from("  ")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!format!("{:?}", verifier()).contains("token-123"));
    }

    #[test]
    fn conformance() {
        suite::run_all(&verifier(), &Auth0Signer::new(TOKEN));
    }
}
