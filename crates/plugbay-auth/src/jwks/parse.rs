//! Turning a JWK Set document (RFC 7517) into verification keys, keeping
//! only what an issuer may sign access tokens with.
//!
//! Parsing is per key and tolerant: a key we cannot or must not use (an
//! encryption key, a symmetric `oct` key, an algorithm the issuer is not
//! pinned to, a malformed entry) is skipped, never fatal, so a provider
//! adding a new key type does not take verification down.

use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use plugbay_core::{Error, Result};
use serde_json::Value;

use crate::keys::{JwtAlgorithm, JwtKey, validate_kid};

/// Largest JWKS document accepted (real ones are a few KiB).
pub(crate) const MAX_JWKS_BYTES: usize = 256 * 1024;

fn str_field<'a>(key: &'a Value, name: &str) -> Option<&'a str> {
    key.get(name).and_then(Value::as_str)
}

/// The algorithm a key may verify, or `None` when it must be skipped.
fn key_algorithm(key: &Value, pinned: &[JwtAlgorithm]) -> Option<JwtAlgorithm> {
    // `use` is optional (RFC 7517 §4.2); when present only `sig` qualifies.
    if let Some(usage) = key.get("use")
        && usage.as_str() != Some("sig")
    {
        return None;
    }
    if let Some(ops) = key.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return None;
        }
    }
    let inferred = match (str_field(key, "kty")?, str_field(key, "crv")) {
        ("RSA", _) => JwtAlgorithm::RS256,
        ("EC", Some("P-256")) => JwtAlgorithm::ES256,
        ("OKP", Some("Ed25519")) => JwtAlgorithm::EdDSA,
        // `oct` (shared secrets) and everything else: never from a JWKS.
        _ => return None,
    };
    let algorithm = match key.get("alg") {
        None => inferred,
        Some(Value::String(alg)) => {
            let alg: JwtAlgorithm = alg.parse().ok()?;
            // The declared alg must fit the key type (no RS256 label on an EC key).
            if alg != inferred {
                return None;
            }
            alg
        }
        Some(_) => return None,
    };
    (pinned.contains(&algorithm) && !algorithm.is_symmetric()).then_some(algorithm)
}

fn decoding_key(key: &Value, algorithm: JwtAlgorithm) -> Option<DecodingKey> {
    match algorithm {
        JwtAlgorithm::RS256 => {
            DecodingKey::from_rsa_components(str_field(key, "n")?, str_field(key, "e")?).ok()
        }
        JwtAlgorithm::ES256 => {
            DecodingKey::from_ec_components(str_field(key, "x")?, str_field(key, "y")?).ok()
        }
        JwtAlgorithm::EdDSA => DecodingKey::from_ed_components(str_field(key, "x")?).ok(),
        JwtAlgorithm::HS256 => None,
    }
}

/// The usable keys of a JWKS document. `Protocol` if the body is not a JWK
/// Set at all; individual unusable keys are skipped.
pub(crate) fn parse_jwks(body: &[u8], pinned: &[JwtAlgorithm]) -> Result<Vec<Arc<JwtKey>>> {
    if body.len() > MAX_JWKS_BYTES {
        return Err(Error::protocol("the JWKS document is too large"));
    }
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| Error::protocol("the JWKS document is not JSON").with_source(e))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::protocol("the JWKS document has no `keys` array"))?;
    let mut out = Vec::new();
    for key in keys {
        let Some(algorithm) = key_algorithm(key, pinned) else {
            continue;
        };
        let kid = match key.get("kid") {
            None => None,
            Some(Value::String(kid)) if validate_kid(kid).is_ok() => Some(kid.clone()),
            // A kid we would refuse in a token header can never match: skip.
            Some(_) => continue,
        };
        let Some(decoding) = decoding_key(key, algorithm) else {
            tracing::warn!(kid = ?kid, "skipping a malformed JWKS key");
            continue;
        };
        out.push(Arc::new(JwtKey::from_jwk_parts(algorithm, kid, decoding)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;
    use serde_json::json;

    // RFC 7517 Appendix A.1 RSA public key (modulus shortened is invalid, so
    // use a real one).
    const N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn rsa(extra: Value) -> Value {
        let mut k = json!({"kty": "RSA", "n": N, "e": "AQAB", "kid": "r1"});
        for (name, v) in extra.as_object().unwrap() {
            k[name] = v.clone();
        }
        k
    }

    fn parse(keys: Vec<Value>, pinned: &[JwtAlgorithm]) -> Vec<Arc<JwtKey>> {
        let body = serde_json::to_vec(&json!({ "keys": keys })).unwrap();
        parse_jwks(&body, pinned).unwrap()
    }

    #[test]
    fn only_signature_keys_of_pinned_algorithms_are_kept() {
        let rs = [JwtAlgorithm::RS256];
        assert_eq!(parse(vec![rsa(json!({}))], &rs).len(), 1);
        assert_eq!(
            parse(vec![rsa(json!({"use": "sig", "alg": "RS256"}))], &rs).len(),
            1
        );
        for skipped in [
            rsa(json!({"use": "enc"})),
            rsa(json!({"alg": "RS512"})),
            rsa(json!({"alg": "ES256"})),
            rsa(json!({"key_ops": ["encrypt"]})),
            rsa(json!({"kid": "bad kid\u{0}"})),
            rsa(json!({"n": "not-a-modulus!"})),
            json!({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256", "kid": "h"}),
        ] {
            assert!(parse(vec![skipped.clone()], &rs).is_empty(), "{skipped}");
        }
        // HS256 pinned by mistake still never yields a key from a JWKS.
        let hs = [JwtAlgorithm::HS256];
        assert!(
            parse(
                vec![json!({"kty": "oct", "k": "c2VjcmV0", "kid": "h"})],
                &hs
            )
            .is_empty()
        );
        // RS256 keys are refused when only ES256 is pinned.
        assert!(parse(vec![rsa(json!({}))], &[JwtAlgorithm::ES256]).is_empty());
        let keys = parse(vec![rsa(json!({}))], &rs);
        assert_eq!(keys[0].kid(), Some("r1"));
        assert!(!keys[0].can_sign());
    }

    #[test]
    fn documents_that_are_not_jwk_sets_are_protocol_errors() {
        for body in [&b"<html>"[..], b"{}", b"{\"keys\": 5}"] {
            let err = parse_jwks(body, &[JwtAlgorithm::RS256]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol);
        }
        let big = vec![b' '; MAX_JWKS_BYTES + 1];
        assert_eq!(
            parse_jwks(&big, &[JwtAlgorithm::RS256]).unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }
}
