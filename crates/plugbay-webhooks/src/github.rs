//! GitHub webhook signatures (`X-Hub-Signature-256`).

use std::fmt;
use std::time::SystemTime;

use http::HeaderMap;
use plugbay_core::{ExposeSecret, Result, SecretString};

use crate::verifier::{
    VerifiedEvent, VerifierCapabilities, WebhookVerifier, any_matches, check_event_id, hmac_sha256,
    invalid, parse_json, required_header, unauthenticated,
};

const PROVIDER: &str = "github";

/// The header GitHub signs deliveries in.
pub const GITHUB_SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The header naming the event type (`push`, `pull_request`, ...).
pub const GITHUB_EVENT_HEADER: &str = "x-github-event";
/// The header carrying the delivery's unique id.
pub const GITHUB_DELIVERY_HEADER: &str = "x-github-delivery";

/// Verifies GitHub deliveries.
///
/// `X-Hub-Signature-256: sha256=<hex>` is an HMAC-SHA256 of the raw body,
/// keyed with the webhook secret. The event type comes from
/// `X-GitHub-Event`, the event id from `X-GitHub-Delivery`.
///
/// GitHub signs neither a timestamp nor those two headers: a captured
/// delivery can be replayed with a fresh `X-GitHub-Delivery` and still pass.
/// Dedupe ([`crate::ReplayGuard`]) stops honest redeliveries, not a replayer
/// with a captured request; keep the endpoint on TLS. Configure the webhook
/// with content type `application/json`: a form-encoded body is rejected as
/// `InvalidInput`.
pub struct GithubVerifier {
    secret: SecretString,
}

impl GithubVerifier {
    /// A verifier for the webhook secret.
    pub fn new(secret: SecretString) -> GithubVerifier {
        GithubVerifier { secret }
    }
}

impl fmt::Debug for GithubVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubVerifier")
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

impl WebhookVerifier for GithubVerifier {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> VerifierCapabilities {
        VerifierCapabilities::new().signs_body(true)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], _now: SystemTime) -> Result<VerifiedEvent> {
        let value = required_header(
            PROVIDER,
            headers,
            GITHUB_SIGNATURE_HEADER,
            "missing X-Hub-Signature-256 header",
        )?;
        let mut sig = [0u8; 32];
        let hex_sig = value
            .strip_prefix("sha256=")
            .ok_or_else(|| unauthenticated(PROVIDER, "malformed X-Hub-Signature-256 header"))?;
        hex::decode_to_slice(hex_sig, &mut sig)
            .map_err(|_| unauthenticated(PROVIDER, "malformed X-Hub-Signature-256 header"))?;
        let expected = hmac_sha256(self.secret.expose_secret().as_bytes(), &[body])?;
        if !any_matches(&expected, [&sig[..]]) {
            return Err(unauthenticated(PROVIDER, "GitHub signature does not match"));
        }

        let event_type = required_header(PROVIDER, headers, GITHUB_EVENT_HEADER, "")
            .map_err(|_| invalid(PROVIDER, "missing or malformed X-GitHub-Event header"))?
            .to_owned();
        let id = required_header(PROVIDER, headers, GITHUB_DELIVERY_HEADER, "")
            .map_err(|_| invalid(PROVIDER, "missing or malformed X-GitHub-Delivery header"))?
            .to_owned();
        check_event_id(PROVIDER, &id)?;
        let payload = parse_json(PROVIDER, body)?;
        Ok(VerifiedEvent::new(PROVIDER, id, event_type, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::signers::{GithubSigner, sign_github};
    use crate::conformance::verifier as suite;
    use plugbay_core::ErrorKind;
    use std::time::UNIX_EPOCH;

    const SECRET: &str = "It's a Secret to Everybody";
    const VECTOR: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn verifier() -> GithubVerifier {
        GithubVerifier::new(SecretString::from(SECRET))
    }

    fn headers(sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(GITHUB_SIGNATURE_HEADER, sig.parse().unwrap());
        h.insert(GITHUB_EVENT_HEADER, "ping".parse().unwrap());
        h.insert(GITHUB_DELIVERY_HEADER, "d-1".parse().unwrap());
        h
    }

    #[test]
    fn published_vector_signature_matches() {
        assert_eq!(
            sign_github(SECRET, b"Hello, World!"),
            format!("sha256={VECTOR}")
        );
        // The published payload is not JSON: the signature passes, the body
        // is then rejected as input rather than as an authentication failure.
        let err = verifier()
            .verify(
                &headers(&format!("sha256={VECTOR}")),
                b"Hello, World!",
                UNIX_EPOCH,
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = verifier()
            .verify(
                &headers(&format!("sha256={VECTOR}")),
                b"Hello, World?",
                UNIX_EPOCH,
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }

    #[test]
    fn json_delivery_yields_headers_as_id_and_type() {
        let body = br#"{"zen":"Keep it logically awesome."}"#;
        let event = verifier()
            .verify(&headers(&sign_github(SECRET, body)), body, UNIX_EPOCH)
            .unwrap();
        assert_eq!(event.event_id, "d-1");
        assert_eq!(event.event_type, "ping");
        assert_eq!(event.timestamp, None);
        assert_eq!(event.payload["zen"], "Keep it logically awesome.");
    }

    #[test]
    fn missing_delivery_header_is_invalid_input() {
        let body = b"{}";
        let mut h = headers(&sign_github(SECRET, body));
        h.remove(GITHUB_DELIVERY_HEADER);
        let err = verifier().verify(&h, body, UNIX_EPOCH).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn malformed_signatures_are_unauthenticated() {
        for sig in [
            VECTOR.to_owned(),
            format!("sha1={VECTOR}"),
            "sha256=zz".to_owned(),
            format!("sha256={VECTOR}00"),
        ] {
            let err = verifier()
                .verify(&headers(&sig), b"Hello, World!", UNIX_EPOCH)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{sig}");
            assert!(!err.to_string().contains(VECTOR));
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        assert!(!format!("{:?}", verifier()).contains("Everybody"));
    }

    #[test]
    fn conformance() {
        suite::run_all(&verifier(), &GithubSigner::new(SECRET));
    }
}
