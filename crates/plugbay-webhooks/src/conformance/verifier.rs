//! Conformance scenarios for [`WebhookVerifier`], generic over a
//! [`WebhookSigner`] for the same scheme and secret.
//!
//! Scenarios that a scheme cannot run (a forged body against a static
//! token, a stale timestamp against an untimestamped scheme) are skipped by
//! [`crate::VerifierCapabilities`], with a printed reason. The stale and
//! future scenarios assume the verifier's tolerance is under one hour.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use plugbay_core::{Error, ErrorKind};

use super::signers::WebhookSigner;
use crate::verifier::WebhookVerifier;

/// The time every scenario signs at.
pub const SIGNED_AT_SECS: u64 = 1_700_000_000;

/// A body every scheme accepts: it carries an `id` (Stripe), a `log_id`
/// (Auth0) and a `type`.
pub const SAMPLE_BODY: &[u8] =
    br#"{"id":"evt_conformance","log_id":"log_conformance","type":"conformance.test","data":{"n":1}}"#;

fn signed_at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(SIGNED_AT_SECS)
}

fn skip(v: &dyn WebhookVerifier, scenario: &str, reason: &str) {
    println!("skipping {scenario} for {}: {reason}", v.provider());
}

/// Assert `result` failed with `kind`, and that its message shows neither
/// the signature header value nor anything secret-looking the signer sent.
fn assert_rejected(
    result: plugbay_core::Result<crate::VerifiedEvent>,
    kind: ErrorKind,
    sent: &HeaderMap,
    signer: &dyn WebhookSigner,
    scenario: &str,
) -> Error {
    let err = match result {
        Ok(event) => panic!("{scenario}: expected {kind}, got {event:?}"),
        Err(err) => err,
    };
    assert_eq!(err.kind(), kind, "{scenario}: {err}");
    if let Some(value) = sent.get(signer.signature_header()) {
        let value = value.to_str().unwrap_or_default();
        let shown = format!("{err:#} {err:?}");
        assert!(
            value.len() < 8 || !shown.contains(value),
            "{scenario}: error shows the signature"
        );
    }
    err
}

/// A correctly signed delivery is accepted and parsed.
pub fn accepts_valid(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    let headers = s.sign(SAMPLE_BODY, signed_at());
    let event = v
        .verify(&headers, SAMPLE_BODY, signed_at() + Duration::from_secs(5))
        .unwrap();
    assert_eq!(event.provider, v.provider());
    assert!(!event.event_id.is_empty());
    assert_eq!(event.payload["data"]["n"], 1);
    if v.capabilities().signs_timestamp {
        assert_eq!(event.timestamp, Some(signed_at()));
    }
}

/// Changing one byte of the body breaks the signature.
pub fn rejects_forged_body(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    if !v.capabilities().signs_body {
        return skip(
            v,
            "rejects_forged_body",
            "the scheme does not sign the body",
        );
    }
    let headers = s.sign(SAMPLE_BODY, signed_at());
    let mut forged = SAMPLE_BODY.to_vec();
    let at = forged.iter().position(|b| *b == b'1').unwrap();
    forged[at] = b'2';
    assert_rejected(
        v.verify(&headers, &forged, signed_at()),
        ErrorKind::Unauthenticated,
        &headers,
        s,
        "rejects_forged_body",
    );
}

/// A delivery signed an hour ago is rejected as outside the tolerance.
pub fn rejects_stale(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    if !v.capabilities().signs_timestamp {
        return skip(v, "rejects_stale", "the scheme signs no timestamp");
    }
    let headers = s.sign(SAMPLE_BODY, signed_at());
    let err = assert_rejected(
        v.verify(
            &headers,
            SAMPLE_BODY,
            signed_at() + Duration::from_secs(3600),
        ),
        ErrorKind::Unauthenticated,
        &headers,
        s,
        "rejects_stale",
    );
    assert!(
        err.to_string().contains("timestamp outside tolerance"),
        "{err}"
    );
}

/// A delivery signed an hour in the future is rejected too.
pub fn rejects_future(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    if !v.capabilities().signs_timestamp {
        return skip(v, "rejects_future", "the scheme signs no timestamp");
    }
    let headers = s.sign(SAMPLE_BODY, signed_at() + Duration::from_secs(3600));
    let err = assert_rejected(
        v.verify(&headers, SAMPLE_BODY, signed_at()),
        ErrorKind::Unauthenticated,
        &headers,
        s,
        "rejects_future",
    );
    assert!(
        err.to_string().contains("timestamp outside tolerance"),
        "{err}"
    );
}

/// No signature header: `Unauthenticated`.
pub fn rejects_missing_header(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    let mut headers = s.sign(SAMPLE_BODY, signed_at());
    headers.remove(s.signature_header());
    assert_rejected(
        v.verify(&headers, SAMPLE_BODY, signed_at()),
        ErrorKind::Unauthenticated,
        &headers,
        s,
        "rejects_missing_header",
    );
}

/// A signature header that is not in the scheme's format: `Unauthenticated`.
pub fn rejects_malformed_header(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    for garbage in ["garbage", "v1=", "t=,v1,,", "sha256="] {
        let mut headers = s.sign(SAMPLE_BODY, signed_at());
        headers.insert(s.signature_header(), garbage.parse().unwrap());
        assert_rejected(
            v.verify(&headers, SAMPLE_BODY, signed_at()),
            ErrorKind::Unauthenticated,
            &headers,
            s,
            "rejects_malformed_header",
        );
    }
}

/// Two signatures of which only the second is valid: accepted.
pub fn accepts_second_of_two_signatures(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    if !v.capabilities().multiple_signatures {
        return skip(
            v,
            "accepts_second_of_two_signatures",
            "the scheme takes one signature",
        );
    }
    let Some(headers) = s.sign_second_of_two(SAMPLE_BODY, signed_at()) else {
        return skip(
            v,
            "accepts_second_of_two_signatures",
            "the signer cannot send two",
        );
    };
    let event = v.verify(&headers, SAMPLE_BODY, signed_at()).unwrap();
    assert_eq!(event.payload["data"]["n"], 1);
}

/// A delivery signed with another secret: `Unauthenticated`.
pub fn rejects_wrong_secret(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    let headers = s.sign_with_wrong_secret(SAMPLE_BODY, signed_at());
    assert_rejected(
        v.verify(&headers, SAMPLE_BODY, signed_at()),
        ErrorKind::Unauthenticated,
        &headers,
        s,
        "rejects_wrong_secret",
    );
}

/// A correctly signed body that is not JSON: `InvalidInput`.
pub fn rejects_non_json_body(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    let body = b"\xff\xfe not json";
    let headers = s.sign(body, signed_at());
    assert_rejected(
        v.verify(&headers, body, signed_at()),
        ErrorKind::InvalidInput,
        &headers,
        s,
        "rejects_non_json_body",
    );
}

/// Run every verifier scenario.
pub fn run_all(v: &dyn WebhookVerifier, s: &dyn WebhookSigner) {
    accepts_valid(v, s);
    rejects_forged_body(v, s);
    rejects_stale(v, s);
    rejects_future(v, s);
    rejects_missing_header(v, s);
    rejects_malformed_header(v, s);
    accepts_second_of_two_signatures(v, s);
    rejects_wrong_secret(v, s);
    rejects_non_json_body(v, s);
}
