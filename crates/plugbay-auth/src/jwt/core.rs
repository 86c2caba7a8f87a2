//! The one hardened JWS path shared by every verifier in the crate (local
//! keys and JWKS): shape and size checks, the JOSE header read once, the
//! signature checked with the key's pinned algorithm, the claims decoded
//! once.
//!
//! Doing this by hand rather than through `jsonwebtoken::decode` avoids
//! decoding the header and the claims twice, and keeps every check (types
//! of `exp`/`iss`/`aud`, the injectable clock) in [`super::claims`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use plugbay_core::Result;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::claims::unauthenticated;
use super::{ACCESS_TOKEN_TYPE, MAX_TOKEN_BYTES};
use crate::keys::JwtKey;

/// The JOSE header fields we read. Everything else (`jku`, `x5u`, `jwk`,
/// `x5c`, ...) is ignored by construction: it is never deserialized.
#[derive(Debug, Deserialize)]
pub(crate) struct JoseHeader {
    #[serde(default)]
    pub(crate) alg: Option<Value>,
    #[serde(default)]
    pub(crate) typ: Option<Value>,
    #[serde(default)]
    pub(crate) kid: Option<Value>,
    #[serde(default)]
    crit: Option<Value>,
}

impl JoseHeader {
    /// Whether `typ` says RFC 9068 access token (`at+jwt`, with or without
    /// the `application/` prefix, case-insensitive).
    pub(crate) fn is_access_token_type(&self) -> bool {
        let typ = self.typ.as_ref().and_then(Value::as_str).unwrap_or("");
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
    }
}

/// A token split into its parts, with the header decoded and screened.
#[derive(Debug)]
pub(crate) struct ParsedToken<'a> {
    pub(crate) header: JoseHeader,
    pub(crate) alg: String,
    signing_input: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn malformed() -> plugbay_core::Error {
    unauthenticated("malformed", "token is malformed")
}

fn is_b64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// Size, shape and header checks: oversized tokens, anything but three
/// base64url parts, a header without `alg`, `alg: none` and `crit` are
/// refused here, before any key is looked up.
pub(crate) fn parse(token: &str) -> Result<ParsedToken<'_>> {
    // Size first: nothing below runs on attacker-sized input.
    if token.len() > MAX_TOKEN_BYTES {
        return Err(unauthenticated("too_large", "token is too large"));
    }
    let mut parts = token.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    if !(is_b64url(header) && is_b64url(payload) && is_b64url(signature)) {
        return Err(malformed());
    }
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| malformed())?;
    let header: JoseHeader = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    let alg = match &header.alg {
        Some(Value::String(alg)) => alg.clone(),
        _ => {
            return Err(unauthenticated(
                "malformed",
                "token header has no algorithm",
            ));
        }
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(unauthenticated(
            "alg_none",
            "unsigned tokens (alg none) are not accepted",
        ));
    }
    // We implement no critical extensions, so any `crit` must be refused
    // (RFC 7515 §4.1.11).
    if header.crit.is_some() {
        return Err(unauthenticated(
            "crit",
            "token uses unsupported critical header parameters",
        ));
    }
    let signing_input = &token[..header_len(token, payload)];
    Ok(ParsedToken {
        header,
        alg,
        signing_input,
        payload,
        signature,
    })
}

/// Length of `header.payload` within `token`.
fn header_len(token: &str, payload: &str) -> usize {
    // header + '.' + payload; both are ASCII so byte lengths are exact.
    token.find('.').map_or(0, |i| i + 1 + payload.len())
}

impl ParsedToken<'_> {
    /// Check the signature with `key` and return the decoded claims.
    ///
    /// The key's pinned algorithm must equal the header's `alg`; the
    /// header never chooses the algorithm.
    pub(crate) fn verify_with(&self, key: &JwtKey) -> Result<Map<String, Value>> {
        if key.algorithm().as_str() != self.alg {
            return Err(unauthenticated(
                "algorithm",
                "token algorithm is not accepted",
            ));
        }
        let ok = jsonwebtoken::crypto::verify(
            self.signature,
            self.signing_input.as_bytes(),
            key.decoding(),
            key.algorithm().to_jsonwebtoken(),
        )
        .map_err(|_| unauthenticated("signature", "token signature is invalid"))?;
        if !ok {
            return Err(unauthenticated("signature", "token signature is invalid"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| malformed())?;
        serde_json::from_slice(&bytes).map_err(|_| malformed())
    }

    /// The claims WITHOUT any signature check: only for routing a token to
    /// the verifier of its issuer, never for a decision.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn unverified_claims(&self) -> Result<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| malformed())?;
        serde_json::from_slice(&bytes).map_err(|_| malformed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn header_screening() {
        let body = b64(&serde_json::json!({"sub": "u"}));
        let ok = format!(
            "{}.{body}.c2ln",
            b64(&serde_json::json!({"alg": "RS256", "typ": "at+jwt", "jku": "https://x"}))
        );
        let parsed = parse(&ok).unwrap();
        assert_eq!(parsed.alg, "RS256");
        assert!(parsed.header.is_access_token_type());
        assert_eq!(parsed.unverified_claims().unwrap()["sub"], "u");
        assert_eq!(parsed.signing_input, &ok[..ok.len() - 5]);
        for (header, reason) in [
            (serde_json::json!({"alg": "none"}), "alg none"),
            (serde_json::json!({"typ": "JWT"}), "no algorithm"),
            (serde_json::json!({"alg": 5}), "no algorithm"),
            (
                serde_json::json!({"alg": "RS256", "crit": ["b64"]}),
                "critical",
            ),
        ] {
            let err = parse(&format!("{}.{body}.c2ln", b64(&header))).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated);
            assert!(err.message().contains(reason), "{err}");
        }
    }
}
