//! PKCE (RFC 7636, S256 only), `state` and `nonce` generation.

use std::fmt;

use plugbay_core::{Error, ExposeSecret as _, Result, SecretString};

use crate::crypto::{random_token, sha256_b64};

/// The PKCE method we send. `plain` is never used: every provider we target
/// supports S256, and `plain` leaks the verifier through the URL.
pub const CODE_CHALLENGE_METHOD: &str = "S256";

/// A PKCE code verifier: 43-128 characters of `A-Z a-z 0-9 - . _ ~`.
#[derive(Clone)]
pub struct PkceVerifier(SecretString);

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([REDACTED])")
    }
}

impl PkceVerifier {
    /// A fresh verifier from 256 random bits (43 characters).
    pub fn generate() -> Result<PkceVerifier> {
        Ok(PkceVerifier(SecretString::from(random_token(32)?)))
    }

    /// Wrap an existing verifier; `InvalidInput` unless it has 43-128
    /// unreserved characters (RFC 7636 §4.1).
    pub fn new(verifier: SecretString) -> Result<PkceVerifier> {
        let v = verifier.expose_secret();
        let ok = (43..=128).contains(&v.len())
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~'));
        if ok {
            Ok(PkceVerifier(verifier))
        } else {
            Err(Error::invalid_input(
                "PKCE verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~",
            ))
        }
    }

    /// The S256 challenge: `base64url(sha256(verifier))`.
    pub fn challenge(&self) -> String {
        challenge_s256(self.0.expose_secret())
    }

    /// The verifier, for the token request.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    /// Unwrap the verifier.
    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

/// The S256 code challenge of `verifier`.
pub fn challenge_s256(verifier: &str) -> String {
    sha256_b64(verifier.as_bytes())
}

/// A fresh OAuth `state` (256 random bits, base64url).
pub fn generate_state() -> Result<String> {
    random_token(32)
}

/// A fresh OIDC `nonce` (256 random bits, base64url).
pub fn generate_nonce() -> Result<String> {
    random_token(32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    #[test]
    fn rfc7636_appendix_b_vector() {
        // RFC 7636 Appendix B: the verifier is base64url of the 32 octets
        // listed there, and its S256 challenge.
        let v = PkceVerifier::new(SecretString::from(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ))
        .unwrap();
        assert_eq!(v.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_verifiers_are_valid_and_distinct() {
        let a = PkceVerifier::generate().unwrap();
        let b = PkceVerifier::generate().unwrap();
        assert_eq!(a.secret().expose_secret().len(), 43);
        assert!(PkceVerifier::new(a.secret().clone()).is_ok());
        assert_ne!(a.challenge(), b.challenge());
        assert!(!format!("{a:?}").contains(a.secret().expose_secret()));
        assert_ne!(generate_state().unwrap(), generate_state().unwrap());
        assert_eq!(generate_nonce().unwrap().len(), 43);
    }

    #[test]
    fn verifier_rules() {
        for bad in [
            "short".to_owned(),
            "a".repeat(129),
            format!("{}!", "a".repeat(43)),
        ] {
            let err = PkceVerifier::new(SecretString::from(bad)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
        }
        assert!(PkceVerifier::new(SecretString::from("a~._-".repeat(9))).is_ok());
        assert!(PkceVerifier::new(SecretString::from("a".repeat(128))).is_ok());
    }
}
