//! Stripe webhook signatures (`Stripe-Signature`).

use std::fmt;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use plugbay_core::{ExposeSecret, Result, SecretString};

use crate::verifier::{
    DEFAULT_TOLERANCE, MAX_SIGNATURES, VerifiedEvent, VerifierCapabilities, WebhookVerifier,
    any_matches, check_event_id, check_timestamp, hmac_sha256, invalid, parse_json,
    required_header, unauthenticated,
};

const PROVIDER: &str = "stripe";

/// The header Stripe signs deliveries in.
pub const STRIPE_SIGNATURE_HEADER: &str = "stripe-signature";

/// Verifies Stripe deliveries.
///
/// `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]` carries an
/// HMAC-SHA256, keyed with the endpoint secret exactly as Stripe shows it
/// (including the `whsec_` prefix), over `"{t}.{raw body}"`. Any `v1`
/// signature may match (Stripe sends two while a rolled secret is still
/// valid); other schemes (`v0`) are ignored. The timestamp must lie within
/// the tolerance (300 s by default) of `now`, in either direction.
///
/// The event id is the body's `id` (`evt_...`), the type its `type`.
pub struct StripeVerifier {
    secret: SecretString,
    tolerance: Duration,
}

impl StripeVerifier {
    /// A verifier for the endpoint secret `whsec_...`.
    pub fn new(secret: SecretString) -> StripeVerifier {
        StripeVerifier {
            secret,
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Accept timestamps up to `tolerance` away from `now` (default 300 s).
    pub fn tolerance(mut self, tolerance: Duration) -> StripeVerifier {
        self.tolerance = tolerance;
        self
    }
}

impl fmt::Debug for StripeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeVerifier")
            .field("secret", &"[REDACTED]")
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl WebhookVerifier for StripeVerifier {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> VerifierCapabilities {
        VerifierCapabilities::new()
            .signs_body(true)
            .signs_timestamp(true)
            .multiple_signatures(true)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<VerifiedEvent> {
        let value = required_header(
            PROVIDER,
            headers,
            STRIPE_SIGNATURE_HEADER,
            "missing Stripe-Signature header",
        )?;
        let mut timestamp = None;
        let mut signatures: Vec<[u8; 32]> = Vec::new();
        for (i, item) in value.split(',').enumerate() {
            if i >= 2 * MAX_SIGNATURES {
                return Err(unauthenticated(
                    PROVIDER,
                    "Stripe-Signature has too many items",
                ));
            }
            let Some((key, val)) = item.trim().split_once('=') else {
                return Err(unauthenticated(
                    PROVIDER,
                    "malformed Stripe-Signature header",
                ));
            };
            match key {
                "t" if timestamp.is_none() => timestamp = Some(val),
                "t" => {
                    return Err(unauthenticated(
                        PROVIDER,
                        "Stripe-Signature has more than one timestamp",
                    ));
                }
                "v1" => {
                    if signatures.len() >= MAX_SIGNATURES {
                        return Err(unauthenticated(
                            PROVIDER,
                            "Stripe-Signature has too many signatures",
                        ));
                    }
                    // A v1 that is not 32 bytes of hex can never match; it is
                    // skipped like Stripe's own libraries skip it.
                    let mut sig = [0u8; 32];
                    if hex::decode_to_slice(val, &mut sig).is_ok() {
                        signatures.push(sig);
                    }
                }
                _ => {}
            }
        }
        let Some(raw_t) = timestamp else {
            return Err(unauthenticated(
                PROVIDER,
                "Stripe-Signature has no timestamp",
            ));
        };
        if signatures.is_empty() {
            return Err(unauthenticated(
                PROVIDER,
                "Stripe-Signature has no v1 signature",
            ));
        }
        // Check the MAC before the clock, so a forged header learns nothing
        // about our tolerance.
        let expected = hmac_sha256(
            self.secret.expose_secret().as_bytes(),
            &[raw_t.as_bytes(), b".", body],
        )?;
        if !any_matches(&expected, signatures.iter().map(|s| &s[..])) {
            return Err(unauthenticated(PROVIDER, "Stripe signature does not match"));
        }
        let signed_at = check_timestamp(PROVIDER, raw_t, now, self.tolerance)?;

        let payload = parse_json(PROVIDER, body)?;
        let id = payload
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| invalid(PROVIDER, "Stripe event has no id"))?
            .to_owned();
        check_event_id(PROVIDER, &id)?;
        let event_type = payload
            .get("type")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        Ok(VerifiedEvent::new(PROVIDER, id, event_type, payload).with_timestamp(signed_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::signers::{StripeSigner, sign_stripe};
    use crate::conformance::verifier as suite;
    use plugbay_core::ErrorKind;
    use std::time::UNIX_EPOCH;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_test","object":"event"}"#;
    const T: u64 = 1_700_000_000;
    const VECTOR: &str = "8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724";

    fn verifier() -> StripeVerifier {
        StripeVerifier::new(SecretString::from(SECRET))
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(STRIPE_SIGNATURE_HEADER, value.parse().unwrap());
        h
    }

    #[test]
    fn published_vector_verifies() {
        assert_eq!(sign_stripe(SECRET, T, BODY), format!("t={T},v1={VECTOR}"));
        let event = verifier()
            .verify(&headers(&format!("t={T},v1={VECTOR}")), BODY, at(T + 10))
            .unwrap();
        assert_eq!(event.provider, "stripe");
        assert_eq!(event.event_id, "evt_test");
        assert_eq!(event.event_type, "");
        assert_eq!(event.timestamp, Some(at(T)));
        assert_eq!(event.payload["object"], "event");
    }

    #[test]
    fn second_of_several_signatures_may_match() {
        let value = format!("t={T},v0=abc,v1={},v1={VECTOR}", "0".repeat(64));
        assert!(verifier().verify(&headers(&value), BODY, at(T)).is_ok());
    }

    #[test]
    fn malformed_headers_are_unauthenticated() {
        for value in [
            "",
            "garbage",
            &format!("v1={VECTOR}"),
            &format!("t={T}"),
            &format!("t={T},v1=nothex"),
            &format!("t={T},t={T},v1={VECTOR}"),
            &format!("t=abc,v1={VECTOR}"),
        ] {
            let err = verifier().verify(&headers(value), BODY, at(T)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{value}");
            assert!(!err.to_string().contains(VECTOR), "{err}");
            assert!(!err.to_string().contains(SECRET), "{err}");
        }
        let many = format!(
            "t={T}{}",
            format!(",v1={VECTOR}").repeat(MAX_SIGNATURES + 1)
        );
        let err = verifier().verify(&headers(&many), BODY, at(T)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }

    #[test]
    fn tolerance_is_configurable() {
        let v = verifier().tolerance(Duration::from_secs(10));
        let value = format!("t={T},v1={VECTOR}");
        assert!(v.verify(&headers(&value), BODY, at(T + 10)).is_ok());
        let err = v.verify(&headers(&value), BODY, at(T + 11)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }

    #[test]
    fn event_without_id_is_invalid_input() {
        let body = br#"{"object":"event"}"#;
        let value = sign_stripe(SECRET, T, body);
        let err = verifier()
            .verify(&headers(&value), body, at(T))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", verifier());
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("REDACTED"));
    }

    #[test]
    fn conformance() {
        suite::run_all(&verifier(), &StripeSigner::new(SECRET));
    }
}
