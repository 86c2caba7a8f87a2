//! Randomness and hashing shared by refresh tokens, sessions, PKCE and state.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use plugbay_core::{Error, Result};
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// `bytes` random bytes from the operating system, base64url without padding.
///
/// Secrets come straight from the OS generator rather than a userspace PRNG
/// so that a fork or snapshot cannot replay them.
pub(crate) fn random_token(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    OsRng.try_fill_bytes(&mut buf).map_err(|e| {
        Error::internal("the operating system random generator failed").with_source(e)
    })?;
    Ok(URL_SAFE_NO_PAD.encode(&buf))
}

/// SHA-256 of `input`, base64url without padding.
pub(crate) fn sha256_b64(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(input))
}

/// Compare two strings without leaking where they differ through timing.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_have_the_requested_entropy_and_differ() {
        let a = random_token(32).unwrap();
        let b = random_token(32).unwrap();
        assert_eq!(a.len(), 43, "32 bytes are 43 base64url characters");
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        // SHA-256("abc") from FIPS 180-2, base64url.
        assert_eq!(
            sha256_b64(b"abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
