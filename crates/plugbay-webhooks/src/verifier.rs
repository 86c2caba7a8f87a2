//! The [`WebhookVerifier`] trait, the [`VerifiedEvent`] it yields, and the
//! checks every scheme shares (header lookup, timestamp tolerance, limits).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use plugbay_core::{Error, ErrorKind, Result};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The default clock-skew tolerance of timestamped schemes (Stripe, Standard
/// Webhooks): five minutes, as both providers' own libraries use.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The longest signature header value a verifier reads. Longer values are
/// rejected before any parsing, so a hostile sender cannot make us allocate
/// or hash without bound.
pub const MAX_SIGNATURE_HEADER_LEN: usize = 8 * 1024;

/// The most signatures one header may carry (Stripe and Standard Webhooks
/// send several during secret rotation; real headers carry two or three).
pub const MAX_SIGNATURES: usize = 16;

/// The longest event id accepted as a dedupe key.
pub const MAX_EVENT_ID_LEN: usize = 256;

/// An incoming webhook whose signature (or token) checked out.
///
/// The payload is parsed only after the check, so nothing here came from an
/// unauthenticated sender — except, for schemes that do not sign their
/// headers (GitHub's `X-GitHub-Delivery`), the values read from those
/// headers; see each verifier's docs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedEvent {
    /// The verifier's provider name (`"stripe"`, `"github"`, ...).
    pub provider: String,
    /// The provider's id for this event: the key to dedupe deliveries on.
    pub event_id: String,
    /// The provider's event type (`"invoice.paid"`, `"push"`, ...); empty
    /// when the provider's payload carries none.
    pub event_type: String,
    /// When the provider signed the delivery, for schemes that sign a
    /// timestamp.
    pub timestamp: Option<SystemTime>,
    /// The JSON body.
    pub payload: serde_json::Value,
}

impl VerifiedEvent {
    /// A verified event; used by verifiers and by tests of code that
    /// consumes events.
    pub fn new(
        provider: impl Into<String>,
        event_id: impl Into<String>,
        event_type: impl Into<String>,
        payload: serde_json::Value,
    ) -> VerifiedEvent {
        VerifiedEvent {
            provider: provider.into(),
            event_id: event_id.into(),
            event_type: event_type.into(),
            timestamp: None,
            payload,
        }
    }

    /// Set the signed timestamp.
    pub fn with_timestamp(mut self, timestamp: SystemTime) -> VerifiedEvent {
        self.timestamp = Some(timestamp);
        self
    }
}

/// What a verification scheme checks, so callers and the conformance suite
/// know which attacks it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VerifierCapabilities {
    /// The signature covers the body: a changed body is rejected.
    pub signs_body: bool,
    /// A signed timestamp is checked against a tolerance: an old delivery
    /// replayed later is rejected even without a dedupe store.
    pub signs_timestamp: bool,
    /// Several signatures may be sent at once (secret rotation).
    pub multiple_signatures: bool,
}

impl VerifierCapabilities {
    /// Capabilities with every flag off.
    pub fn new() -> VerifierCapabilities {
        VerifierCapabilities::default()
    }

    /// Set [`VerifierCapabilities::signs_body`].
    pub fn signs_body(mut self, yes: bool) -> VerifierCapabilities {
        self.signs_body = yes;
        self
    }

    /// Set [`VerifierCapabilities::signs_timestamp`].
    pub fn signs_timestamp(mut self, yes: bool) -> VerifierCapabilities {
        self.signs_timestamp = yes;
        self
    }

    /// Set [`VerifierCapabilities::multiple_signatures`].
    pub fn multiple_signatures(mut self, yes: bool) -> VerifierCapabilities {
        self.multiple_signatures = yes;
        self
    }
}

/// Checks that an incoming webhook really comes from its provider.
///
/// Verification is CPU-only and synchronous. `now` is passed in so tests
/// (and servers that read the clock once per request) control time.
///
/// Contract, shared by every implementation:
/// - a missing, malformed or oversized signature header, a signature that
///   does not match, or a timestamp further than the tolerance from `now`
///   (either direction) is [`ErrorKind::Unauthenticated`];
/// - a valid signature over a body that is not the JSON the provider sends
///   (or lacks the event id) is [`ErrorKind::InvalidInput`];
/// - MACs and tokens are compared in constant time;
/// - no error message contains the secret or the signature that was sent.
pub trait WebhookVerifier: Send + Sync + fmt::Debug {
    /// The provider name put in [`VerifiedEvent::provider`] and in errors.
    fn provider(&self) -> &str;

    /// What this scheme checks.
    fn capabilities(&self) -> VerifierCapabilities;

    /// Verify `body` against `headers` at time `now` and parse the event.
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<VerifiedEvent>;
}

/// A shared, type-erased [`WebhookVerifier`].
pub type DynWebhookVerifier = Arc<dyn WebhookVerifier>;

macro_rules! forward_verifier {
    ($ty:ty) => {
        impl<T: WebhookVerifier + ?Sized> WebhookVerifier for $ty {
            fn provider(&self) -> &str {
                (**self).provider()
            }
            fn capabilities(&self) -> VerifierCapabilities {
                (**self).capabilities()
            }
            fn verify(
                &self,
                headers: &HeaderMap,
                body: &[u8],
                now: SystemTime,
            ) -> Result<VerifiedEvent> {
                (**self).verify(headers, body, now)
            }
        }
    };
}

forward_verifier!(Arc<T>);
forward_verifier!(Box<T>);

/// An `Unauthenticated` error tagged with the provider and `verify`.
pub(crate) fn unauthenticated(provider: &str, message: &'static str) -> Error {
    Error::new(ErrorKind::Unauthenticated, message)
        .with_provider(provider.to_owned())
        .with_operation("verify")
}

/// An `InvalidInput` error tagged with the provider and `verify`.
pub(crate) fn invalid(provider: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message.into())
        .with_provider(provider.to_owned())
        .with_operation("verify")
}

/// The single value of header `name` as text, or `None` if absent.
///
/// A header sent twice, one that is not visible ASCII, or one over
/// [`MAX_SIGNATURE_HEADER_LEN`] is an `Unauthenticated` error: an honest
/// provider never does that, and guessing which copy counts invites bypasses.
pub(crate) fn header<'a>(
    provider: &str,
    headers: &'a HeaderMap,
    name: &str,
) -> Result<Option<&'a str>> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(unauthenticated(
            provider,
            "webhook header sent more than once",
        ));
    }
    if value.len() > MAX_SIGNATURE_HEADER_LEN {
        return Err(unauthenticated(provider, "webhook header is too long"));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| unauthenticated(provider, "webhook header is not visible ASCII"))
}

/// Like [`header`], but absence is an `Unauthenticated` error.
pub(crate) fn required_header<'a>(
    provider: &str,
    headers: &'a HeaderMap,
    name: &str,
    missing: &'static str,
) -> Result<&'a str> {
    header(provider, headers, name)?.ok_or_else(|| unauthenticated(provider, missing))
}

/// Parse a decimal Unix timestamp and check it lies within `tolerance` of
/// `now`, in either direction.
pub(crate) fn check_timestamp(
    provider: &str,
    raw: &str,
    now: SystemTime,
    tolerance: Duration,
) -> Result<SystemTime> {
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unauthenticated(provider, "malformed webhook timestamp"));
    }
    let secs: u64 = raw
        .parse()
        .map_err(|_| unauthenticated(provider, "malformed webhook timestamp"))?;
    let signed_at = UNIX_EPOCH + Duration::from_secs(secs);
    let skew = match now.duration_since(signed_at) {
        Ok(age) => age,
        Err(ahead) => ahead.duration(),
    };
    if skew > tolerance {
        return Err(unauthenticated(
            provider,
            "webhook timestamp outside tolerance",
        ));
    }
    Ok(signed_at)
}

/// HMAC-SHA256 of the concatenated `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32]> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|_| Error::internal("HMAC key rejected"))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// Whether any candidate equals `expected`, compared in constant time.
/// Every candidate is compared (no early exit), so timing does not reveal
/// which one matched.
pub(crate) fn any_matches<'a>(
    expected: &[u8],
    candidates: impl IntoIterator<Item = &'a [u8]>,
) -> bool {
    let mut matched = subtle::Choice::from(0);
    for candidate in candidates {
        matched |= expected.ct_eq(candidate);
    }
    matched.into()
}

/// Parse a JSON body that arrived under a valid signature.
pub(crate) fn parse_json(provider: &str, body: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(body).map_err(|_| invalid(provider, "webhook body is not valid JSON"))
}

/// Check an event id is usable as a dedupe key.
pub(crate) fn check_event_id(provider: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(invalid(provider, "webhook event id is empty"));
    }
    if id.len() > MAX_EVENT_ID_LEN {
        return Err(invalid(provider, "webhook event id is too long"));
    }
    if id.chars().any(char::is_control) {
        return Err(invalid(
            provider,
            "webhook event id contains control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_tolerance_is_symmetric() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let tol = Duration::from_secs(300);
        assert!(check_timestamp("t", "999700", now, tol).is_ok());
        assert!(check_timestamp("t", "1000300", now, tol).is_ok());
        for raw in ["999699", "1000301"] {
            let err = check_timestamp("t", raw, now, tol).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated);
            assert!(err.to_string().contains("outside tolerance"), "{err}");
        }
        for raw in ["", "-5", "12a", "1e9", "99999999999999999999"] {
            let err = check_timestamp("t", raw, now, tol).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{raw}");
        }
    }

    #[test]
    fn duplicate_and_oversized_headers_are_rejected() {
        let mut headers = HeaderMap::new();
        headers.append("x-sig", "a".parse().unwrap());
        headers.append("x-sig", "b".parse().unwrap());
        let err = header("t", &headers, "x-sig").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);

        let mut headers = HeaderMap::new();
        let long = "a".repeat(MAX_SIGNATURE_HEADER_LEN + 1);
        headers.insert("x-sig", long.parse().unwrap());
        assert_eq!(
            header("t", &headers, "x-sig").unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );
        assert_eq!(header("t", &headers, "absent").unwrap(), None);
    }

    #[test]
    fn any_matches_checks_every_candidate() {
        let expected = [1u8, 2, 3];
        assert!(any_matches(&expected, [&[9u8, 9, 9][..], &[1, 2, 3][..]]));
        assert!(!any_matches(&expected, [&[1u8, 2][..], &[1, 2, 4][..]]));
        assert!(!any_matches(&expected, std::iter::empty()));
    }

    #[test]
    fn event_ids_are_validated() {
        assert!(check_event_id("t", "evt_1").is_ok());
        for bad in ["", "a\nb"] {
            assert_eq!(
                check_event_id("t", bad).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
        let long = "x".repeat(MAX_EVENT_ID_LEN + 1);
        assert_eq!(
            check_event_id("t", &long).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
