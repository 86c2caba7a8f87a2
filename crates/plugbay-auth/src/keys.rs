//! Signing and verification keys for the local JWT issuer, each pinned to
//! one algorithm.

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use plugbay_core::{Error, ExposeSecret as _, Result, SecretString};

/// Shortest HMAC secret accepted: 256 bits, the HS256 output size
/// (RFC 7518 §3.2 requires at least the hash size).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// Longest `kid` accepted, in bytes.
pub const MAX_KID_LEN: usize = 128;

/// The algorithms the local issuer signs with. `none` and every algorithm
/// not listed here are unrepresentable, so they cannot be configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret.
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl JwtAlgorithm {
    /// The JOSE name (`"RS256"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::HS256 => "HS256",
            JwtAlgorithm::RS256 => "RS256",
            JwtAlgorithm::ES256 => "ES256",
            JwtAlgorithm::EdDSA => "EdDSA",
        }
    }

    /// Whether this is a shared-secret (HMAC) algorithm.
    pub fn is_symmetric(self) -> bool {
        matches!(self, JwtAlgorithm::HS256)
    }

    pub(crate) fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            JwtAlgorithm::HS256 => Algorithm::HS256,
            JwtAlgorithm::RS256 => Algorithm::RS256,
            JwtAlgorithm::ES256 => Algorithm::ES256,
            JwtAlgorithm::EdDSA => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JwtAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<JwtAlgorithm> {
        // Exact, case-sensitive names (RFC 7518 §3.1): `none`, `hs256` and
        // friends are refused rather than normalised.
        match s {
            "HS256" => Ok(JwtAlgorithm::HS256),
            "RS256" => Ok(JwtAlgorithm::RS256),
            "ES256" => Ok(JwtAlgorithm::ES256),
            "EdDSA" => Ok(JwtAlgorithm::EdDSA),
            _ => Err(Error::config(format!("unsupported JWT algorithm `{s}`"))),
        }
    }
}

/// A key pinned to one [`JwtAlgorithm`], with an optional `kid`.
///
/// Signing keys hold the private half and the public half (checked to
/// match at construction); verify-only keys hold the public half.
/// `Debug` never shows key material.
#[derive(Clone)]
pub struct JwtKey {
    algorithm: JwtAlgorithm,
    kid: Option<String>,
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

impl JwtKey {
    /// An HS256 key from a shared secret of at least
    /// [`MIN_HMAC_SECRET_BYTES`] bytes; shorter is a `Config` error.
    pub fn hs256(secret: &SecretString) -> Result<JwtKey> {
        ensure_crypto_provider();
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < MIN_HMAC_SECRET_BYTES {
            return Err(Error::config(format!(
                "the HS256 secret must be at least {MIN_HMAC_SECRET_BYTES} bytes (got {})",
                bytes.len()
            )));
        }
        Ok(JwtKey {
            algorithm: JwtAlgorithm::HS256,
            kid: None,
            encoding: Some(EncodingKey::from_secret(bytes)),
            decoding: DecodingKey::from_secret(bytes),
        })
    }

    /// A signing key from PEM: PKCS#8 (`PRIVATE KEY`) or, for RSA, PKCS#1
    /// private key, plus the matching SPKI (`PUBLIC KEY`) public key.
    /// `HS256` is refused here (use [`JwtKey::hs256`]).
    pub fn from_pem(
        algorithm: JwtAlgorithm,
        private_pem: &[u8],
        public_pem: &[u8],
    ) -> Result<JwtKey> {
        ensure_crypto_provider();
        let encoding = match algorithm {
            JwtAlgorithm::RS256 => EncodingKey::from_rsa_pem(private_pem),
            JwtAlgorithm::ES256 => EncodingKey::from_ec_pem(private_pem),
            JwtAlgorithm::EdDSA => EncodingKey::from_ed_pem(private_pem),
            JwtAlgorithm::HS256 => return Err(hs_from_pem()),
        }
        .map_err(|e| key_error(algorithm, "private", e))?;
        let mut key = JwtKey::public_pem(algorithm, public_pem)?;
        key.encoding = Some(encoding);
        key.check_pair()?;
        Ok(key)
    }

    /// A verify-only key from an SPKI (`PUBLIC KEY`) PEM (or PKCS#1
    /// `RSA PUBLIC KEY` for RS256).
    pub fn public_pem(algorithm: JwtAlgorithm, public_pem: &[u8]) -> Result<JwtKey> {
        ensure_crypto_provider();
        let decoding = match algorithm {
            JwtAlgorithm::RS256 => DecodingKey::from_rsa_pem(public_pem),
            JwtAlgorithm::ES256 => DecodingKey::from_ec_pem(public_pem),
            JwtAlgorithm::EdDSA => DecodingKey::from_ed_pem(public_pem),
            JwtAlgorithm::HS256 => return Err(hs_from_pem()),
        }
        .map_err(|e| key_error(algorithm, "public", e))?;
        Ok(JwtKey {
            algorithm,
            kid: None,
            encoding: None,
            decoding,
        })
    }

    /// Set the key id written to (and looked up from) the `kid` header.
    /// Must pass [`validate_kid`].
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<JwtKey> {
        let kid = kid.into();
        validate_kid(&kid).map_err(|_| {
            Error::config("invalid key id: use 1-128 characters of A-Z a-z 0-9 - _ . : + / =")
        })?;
        self.kid = Some(kid);
        Ok(self)
    }

    /// A verify-only key from a JWKS entry: the caller already checked that
    /// `algorithm` is pinned for the issuer and is not HMAC.
    #[cfg(feature = "jwks")]
    pub(crate) fn from_jwk_parts(
        algorithm: JwtAlgorithm,
        kid: Option<String>,
        decoding: DecodingKey,
    ) -> JwtKey {
        ensure_crypto_provider();
        JwtKey {
            algorithm,
            kid,
            encoding: None,
            decoding,
        }
    }

    /// The pinned algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// The key id, if set.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether this key can sign (holds private material).
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    pub(crate) fn encoding(&self) -> Option<&EncodingKey> {
        self.encoding.as_ref()
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// Sign and verify a probe so a private key paired with the wrong public
    /// key fails at startup instead of on every request.
    fn check_pair(&self) -> Result<()> {
        let Some(encoding) = &self.encoding else {
            return Ok(());
        };
        let alg = self.algorithm.to_jsonwebtoken();
        let probe = b"plugbay-auth key pair check";
        let signature = jsonwebtoken::crypto::sign(probe, encoding, alg)
            .map_err(|e| key_error(self.algorithm, "private", e))?;
        let ok = jsonwebtoken::crypto::verify(&signature, probe, &self.decoding, alg)
            .map_err(|e| key_error(self.algorithm, "public", e))?;
        if ok {
            Ok(())
        } else {
            Err(Error::config(format!(
                "the {} private and public keys do not belong together",
                self.algorithm
            )))
        }
    }
}

/// Check a `kid` before using it as a map key: 1 to [`MAX_KID_LEN`] bytes of
/// `A-Z a-z 0-9 - _ . : + / =` (base64, base64url and thumbprint ids fit).
/// Anything else is `Unauthenticated`, as it comes from an untrusted header.
pub fn validate_kid(kid: &str) -> Result<()> {
    let ok = !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':' | b'+' | b'/' | b'=')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            plugbay_core::ErrorKind::Unauthenticated,
            "token key id (kid) is malformed",
        ))
    }
}

fn hs_from_pem() -> Error {
    Error::config("HS256 keys are shared secrets, not PEM: use JwtKey::hs256")
}

fn key_error(algorithm: JwtAlgorithm, half: &'static str, e: jsonwebtoken::errors::Error) -> Error {
    Error::config(format!("invalid {algorithm} {half} key")).with_source(e)
}

/// jsonwebtoken picks its crypto provider from crate features and panics if
/// feature unification ever enables two; installing ours explicitly removes
/// that failure mode. A provider someone else installed first is fine too.
pub(crate) fn ensure_crypto_provider() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    const RSA_PRIVATE: &[u8] = include_bytes!("../tests/fixtures/rsa_private.pem");
    const RSA_PUBLIC: &[u8] = include_bytes!("../tests/fixtures/rsa_public.pem");
    const RSA2_PUBLIC: &[u8] = include_bytes!("../tests/fixtures/rsa2_public.pem");
    const EC_PRIVATE: &[u8] = include_bytes!("../tests/fixtures/ec_private.pem");
    const EC_PUBLIC: &[u8] = include_bytes!("../tests/fixtures/ec_public.pem");
    const ED_PRIVATE: &[u8] = include_bytes!("../tests/fixtures/ed_private.pem");
    const ED_PUBLIC: &[u8] = include_bytes!("../tests/fixtures/ed_public.pem");

    #[test]
    fn short_hmac_secret_is_a_config_error() {
        let err = JwtKey::hs256(&SecretString::from("too-short")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let key = JwtKey::hs256(&SecretString::from("x".repeat(32))).unwrap();
        assert_eq!(key.algorithm(), JwtAlgorithm::HS256);
        assert!(key.can_sign());
    }

    #[test]
    fn pem_keys_load_for_each_asymmetric_algorithm() {
        for (alg, private, public) in [
            (JwtAlgorithm::RS256, RSA_PRIVATE, RSA_PUBLIC),
            (JwtAlgorithm::ES256, EC_PRIVATE, EC_PUBLIC),
            (JwtAlgorithm::EdDSA, ED_PRIVATE, ED_PUBLIC),
        ] {
            let key = JwtKey::from_pem(alg, private, public).unwrap();
            assert!(key.can_sign(), "{alg}");
            assert!(!JwtKey::public_pem(alg, public).unwrap().can_sign());
        }
    }

    #[test]
    fn mismatched_or_wrong_family_keys_are_config_errors() {
        let err = JwtKey::from_pem(JwtAlgorithm::RS256, RSA_PRIVATE, RSA2_PUBLIC).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("do not belong together"), "{err}");
        let err = JwtKey::from_pem(JwtAlgorithm::ES256, RSA_PRIVATE, RSA_PUBLIC).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let err = JwtKey::public_pem(JwtAlgorithm::HS256, RSA_PUBLIC).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = JwtKey::hs256(&SecretString::from("s".repeat(40))).unwrap();
        let text = format!("{key:?}");
        assert!(!text.contains("ssss"), "{text}");
        assert!(text.contains("HS256"));
    }

    #[test]
    fn kid_rules() {
        assert!(validate_kid("key-2024_01.a:b+c/d=").is_ok());
        assert!(validate_kid(&"k".repeat(128)).is_ok());
        for bad in ["", "has space", "quote\"", "ünï", "a\nb", &"k".repeat(129)] {
            assert_eq!(
                validate_kid(bad).unwrap_err().kind(),
                ErrorKind::Unauthenticated
            );
        }
        assert_eq!(
            JwtKey::hs256(&SecretString::from("s".repeat(32)))
                .unwrap()
                .with_kid("bad kid")
                .unwrap_err()
                .kind(),
            ErrorKind::Config
        );
    }

    #[test]
    fn algorithm_names_are_exact() {
        assert_eq!(
            "RS256".parse::<JwtAlgorithm>().unwrap(),
            JwtAlgorithm::RS256
        );
        for bad in ["none", "None", "rs256", "HS512", ""] {
            assert_eq!(
                bad.parse::<JwtAlgorithm>().unwrap_err().kind(),
                ErrorKind::Config
            );
        }
    }
}
