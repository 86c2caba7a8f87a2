//! Local JWT access tokens: [`JwtConfig`], [`JwtSigner`] and the hardened
//! [`JwtVerifier`].

pub(crate) mod claims;
pub(crate) mod core;
mod sign;
mod verify;

use std::time::Duration;

use plugbay_core::{Error, Result};

pub use sign::JwtSigner;
pub use verify::JwtVerifier;

/// Tokens longer than this are refused before any parsing (8 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The largest clock-skew allowance accepted; larger settings are capped.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Settings shared by the signer and the verifier.
///
/// The algorithm is not a setting here: it is pinned by the [`crate::JwtKey`],
/// never read from a token header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtConfig {
    /// `iss` written to and required in tokens.
    pub issuer: String,
    /// Accepted audiences; tokens must name at least one. Issued tokens
    /// carry all of them.
    pub audience: Vec<String>,
    /// Access token lifetime (default 15 minutes).
    pub access_ttl: Duration,
    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 10 s,
    /// capped at [`MAX_LEEWAY`]).
    pub leeway: Duration,
    /// The claim holding roles (default `roles`; Auth0 setups often use a
    /// namespaced claim such as `https://example.com/roles`).
    pub roles_claim: String,
    /// Require `typ: at+jwt` so an ID token cannot pass as an access token
    /// (default `true`; turn off only for issuers that cannot set it, and then
    /// rely on a dedicated API audience).
    pub require_access_token_type: bool,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            issuer: String::new(),
            audience: Vec::new(),
            access_ttl: Duration::from_secs(15 * 60),
            leeway: Duration::from_secs(10),
            roles_claim: "roles".to_owned(),
            require_access_token_type: true,
        }
    }
}

impl JwtConfig {
    /// Settings for `issuer` and one `audience`, other values default.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> JwtConfig {
        JwtConfig {
            issuer: issuer.into(),
            audience: vec![audience.into()],
            ..JwtConfig::default()
        }
    }

    /// Replace the accepted audiences.
    pub fn audiences<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// Set the access token lifetime.
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// Set the leeway; values above [`MAX_LEEWAY`] are capped.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY);
        self
    }

    /// Set the roles claim name.
    pub fn roles_claim(mut self, claim: impl Into<String>) -> Self {
        self.roles_claim = claim.into();
        self
    }

    /// Set whether `typ: at+jwt` is required.
    pub fn require_access_token_type(mut self, yes: bool) -> Self {
        self.require_access_token_type = yes;
        self
    }

    /// `Config` error unless the settings are usable. Also caps the leeway,
    /// in case the field was set directly.
    pub(crate) fn validated(mut self) -> Result<JwtConfig> {
        if self.issuer.trim().is_empty() {
            return Err(Error::config("JWT issuer must not be empty"));
        }
        if self.audience.is_empty() || self.audience.iter().any(|a| a.trim().is_empty()) {
            return Err(Error::config(
                "JWT audience must name at least one non-empty audience",
            ));
        }
        if self.access_ttl.is_zero() {
            return Err(Error::config("access token lifetime must be positive"));
        }
        if self.roles_claim.is_empty() {
            return Err(Error::config("roles claim name must not be empty"));
        }
        self.leeway = self.leeway.min(MAX_LEEWAY);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    #[test]
    fn leeway_is_capped_and_config_validated() {
        let c = JwtConfig::new("iss", "aud").leeway(Duration::from_secs(600));
        assert_eq!(c.leeway, MAX_LEEWAY);
        let mut raw = JwtConfig::new("iss", "aud");
        raw.leeway = Duration::from_secs(3600);
        assert_eq!(raw.validated().unwrap().leeway, MAX_LEEWAY);
        for bad in [
            JwtConfig::new("", "aud"),
            JwtConfig::new("iss", ""),
            JwtConfig::new("iss", "aud").audiences(Vec::<String>::new()),
            JwtConfig::new("iss", "aud").access_ttl(Duration::ZERO),
        ] {
            assert_eq!(bad.validated().unwrap_err().kind(), ErrorKind::Config);
        }
    }

    #[test]
    fn defaults_are_conservative() {
        let c = JwtConfig::default();
        assert_eq!(c.access_ttl, Duration::from_secs(900));
        assert!(c.leeway <= MAX_LEEWAY);
        assert!(c.require_access_token_type);
    }
}
