//! Standard Webhooks signatures (the scheme Svix, Resend, Clerk and others
//! send): `webhook-id`, `webhook-timestamp`, `webhook-signature`.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderMap;
use plugbay_core::secrecy::SecretSlice;
use plugbay_core::{Error, ExposeSecret, Result, SecretString};

use crate::verifier::{
    DEFAULT_TOLERANCE, MAX_SIGNATURES, VerifiedEvent, VerifierCapabilities, WebhookVerifier,
    any_matches, check_event_id, check_timestamp, header, hmac_sha256, invalid, parse_json,
    required_header, unauthenticated,
};

const PROVIDER: &str = "standard-webhooks";

/// The secret prefix Standard Webhooks secrets are shown with.
const SECRET_PREFIX: &str = "whsec_";

/// Verifies Standard Webhooks (and Svix) deliveries.
///
/// `webhook-signature` is a space-separated list of `v1,<base64>`
/// signatures; each is an HMAC-SHA256 over `"{id}.{timestamp}.{body}"`
/// keyed with the base64-decoded part of the secret after `whsec_`. Any
/// `v1` may match; other versions (`v1a`, asymmetric) are ignored. The
/// timestamp must lie within the tolerance (300 s by default) of `now`.
///
/// Svix's older header names (`svix-id`, `svix-timestamp`,
/// `svix-signature`) are accepted when `webhook-signature` is absent; the
/// three headers are always read from the same family.
///
/// The event id is the `webhook-id` header (it is signed), the type the
/// body's `type` field (empty if absent).
pub struct StandardWebhooksVerifier {
    key: SecretSlice<u8>,
    tolerance: Duration,
}

impl StandardWebhooksVerifier {
    /// A verifier for a `whsec_<base64>` secret (the prefix is optional).
    ///
    /// A secret that is not valid base64 after the prefix is a `Config`
    /// error.
    pub fn new(secret: &SecretString) -> Result<StandardWebhooksVerifier> {
        let text = secret.expose_secret();
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let key = BASE64.decode(encoded).map_err(|_| {
            Error::config("Standard Webhooks secret is not base64 after `whsec_`")
                .with_provider(PROVIDER)
        })?;
        if key.is_empty() {
            return Err(Error::config("Standard Webhooks secret is empty").with_provider(PROVIDER));
        }
        Ok(StandardWebhooksVerifier {
            key: SecretSlice::from(key),
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Accept timestamps up to `tolerance` away from `now` (default 300 s).
    pub fn tolerance(mut self, tolerance: Duration) -> StandardWebhooksVerifier {
        self.tolerance = tolerance;
        self
    }
}

impl fmt::Debug for StandardWebhooksVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardWebhooksVerifier")
            .field("key", &"[REDACTED]")
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl WebhookVerifier for StandardWebhooksVerifier {
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
        let family = if header(PROVIDER, headers, "webhook-signature")?.is_some() {
            "webhook"
        } else {
            "svix"
        };
        let missing = "missing webhook-id, webhook-timestamp or webhook-signature header";
        let value = required_header(PROVIDER, headers, &format!("{family}-signature"), missing)?;
        let id = required_header(PROVIDER, headers, &format!("{family}-id"), missing)?;
        let raw_ts = required_header(PROVIDER, headers, &format!("{family}-timestamp"), missing)?;

        let mut signatures: Vec<Vec<u8>> = Vec::new();
        for (i, item) in value.split(' ').filter(|s| !s.is_empty()).enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(unauthenticated(
                    PROVIDER,
                    "webhook-signature has too many items",
                ));
            }
            let Some((version, sig)) = item.split_once(',') else {
                return Err(unauthenticated(
                    PROVIDER,
                    "malformed webhook-signature header",
                ));
            };
            if version == "v1" {
                // Undecodable signatures can never match; skip them.
                if let Ok(bytes) = BASE64.decode(sig) {
                    signatures.push(bytes);
                }
            }
        }
        if signatures.is_empty() {
            return Err(unauthenticated(
                PROVIDER,
                "webhook-signature has no v1 signature",
            ));
        }
        let expected = hmac_sha256(
            self.key.expose_secret(),
            &[id.as_bytes(), b".", raw_ts.as_bytes(), b".", body],
        )?;
        if !any_matches(&expected, signatures.iter().map(Vec::as_slice)) {
            return Err(unauthenticated(
                PROVIDER,
                "webhook signature does not match",
            ));
        }
        let signed_at = check_timestamp(PROVIDER, raw_ts, now, self.tolerance)?;
        check_event_id(PROVIDER, id)?;

        let payload = parse_json(PROVIDER, body)?;
        if !payload.is_object() {
            return Err(invalid(PROVIDER, "webhook body is not a JSON object"));
        }
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
    use crate::conformance::signers::{StandardWebhooksSigner, sign_standard};
    use crate::conformance::verifier as suite;
    use plugbay_core::ErrorKind;
    use std::time::UNIX_EPOCH;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: u64 = 1_649_367_553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const VECTOR: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn verifier() -> StandardWebhooksVerifier {
        StandardWebhooksVerifier::new(&SecretString::from(SECRET)).unwrap()
    }

    fn headers(prefix: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::HeaderName::try_from(format!("{prefix}-id")).unwrap(),
            ID.parse().unwrap(),
        );
        h.insert(
            http::HeaderName::try_from(format!("{prefix}-timestamp")).unwrap(),
            TS.to_string().parse().unwrap(),
        );
        h.insert(
            http::HeaderName::try_from(format!("{prefix}-signature")).unwrap(),
            sig.parse().unwrap(),
        );
        h
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn published_vector_verifies() {
        assert_eq!(sign_standard(SECRET, ID, TS, BODY).unwrap(), VECTOR);
        let event = verifier()
            .verify(&headers("webhook", VECTOR), BODY, at(TS))
            .unwrap();
        assert_eq!(event.event_id, ID);
        assert_eq!(event.provider, "standard-webhooks");
        assert_eq!(event.timestamp, Some(at(TS)));
        assert_eq!(event.payload["username"], "test_user");
    }

    #[test]
    fn svix_header_names_are_accepted() {
        assert!(
            verifier()
                .verify(&headers("svix", VECTOR), BODY, at(TS))
                .is_ok()
        );
    }

    #[test]
    fn prefixless_secret_and_other_versions() {
        let v =
            StandardWebhooksVerifier::new(&SecretString::from(SECRET.trim_start_matches("whsec_")))
                .unwrap();
        let sig = format!("v1a,abcd v2,xyz {VECTOR}");
        assert!(v.verify(&headers("webhook", &sig), BODY, at(TS)).is_ok());
    }

    #[test]
    fn bad_secret_is_config_error() {
        let err = StandardWebhooksVerifier::new(&SecretString::from("whsec_!!!")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains("!!!"));
    }

    #[test]
    fn malformed_signature_lists_are_unauthenticated() {
        for sig in ["v1", "tZ1I4", "v1a,abc", "v1,not base64 at all!"] {
            let err = verifier()
                .verify(&headers("webhook", sig), BODY, at(TS))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{sig}");
        }
        let many = vec![VECTOR; MAX_SIGNATURES + 1].join(" ");
        let err = verifier()
            .verify(&headers("webhook", &many), BODY, at(TS))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }

    #[test]
    fn debug_hides_the_key() {
        assert!(!format!("{:?}", verifier()).contains("C2FV"));
    }

    #[test]
    fn conformance() {
        suite::run_all(&verifier(), &StandardWebhooksSigner::new(SECRET));
    }
}
