//! The values that flow through [`crate::TokenVerifier`] and
//! [`crate::TokenIssuer`]: who is calling ([`Principal`]), who to issue for
//! ([`Subject`]) and what is handed out ([`TokenPair`]).

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, SystemTime};

use plugbay_core::{ExposeSecret as _, SecretString};
use serde::ser::SerializeStruct as _;
use serde_json::{Map, Value};

/// A verified caller: the claims of an access token that passed every check.
///
/// Built by a [`crate::TokenVerifier`]; applications read it in handlers
/// (see the `axum` feature) and make authorization decisions with
/// [`Principal::has_scope`] / [`Principal::has_role`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Principal {
    /// The `sub` claim: the stable id of the user or client.
    pub subject: String,
    /// The `iss` claim: who issued the token.
    pub issuer: String,
    /// The `aud` claim, normalised to a list.
    pub audience: Vec<String>,
    /// Scopes, from `scope` (space separated) or the `scp` / `permissions` arrays.
    pub scopes: BTreeSet<String>,
    /// Roles, from the configured roles claim (`roles` by default).
    pub roles: BTreeSet<String>,
    /// The `sid` claim: the login session this token belongs to.
    pub session_id: Option<String>,
    /// The `jti` claim, when present.
    pub token_id: Option<String>,
    /// When the token expires (`exp`).
    pub expires_at: Option<SystemTime>,
    /// Every claim of the token, including the ones lifted into fields above.
    pub claims: Map<String, Value>,
}

impl Principal {
    /// A principal for `subject` with nothing else set (tests, custom verifiers).
    pub fn new(subject: impl Into<String>) -> Principal {
        Principal {
            subject: subject.into(),
            issuer: String::new(),
            audience: Vec::new(),
            scopes: BTreeSet::new(),
            roles: BTreeSet::new(),
            session_id: None,
            token_id: None,
            expires_at: None,
            claims: Map::new(),
        }
    }

    /// Set the issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// Set the audience list.
    pub fn audience<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// Set the scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Set the roles.
    pub fn roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Set the session id.
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Set the expiry.
    pub fn expires_at(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Set the raw claims.
    pub fn claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = claims;
        self
    }

    /// Whether the token granted `scope` (exact match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// Whether the token carries `role` (exact match).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// Whether every scope in `scopes` was granted.
    pub fn has_all_scopes<'a>(&self, scopes: impl IntoIterator<Item = &'a str>) -> bool {
        scopes.into_iter().all(|s| self.has_scope(s))
    }

    /// Whether `audience` is among the token's audiences.
    pub fn has_audience(&self, audience: &str) -> bool {
        self.audience.iter().any(|a| a == audience)
    }
}

/// Who a [`crate::TokenIssuer`] issues tokens for, and what they may do.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Subject {
    /// The stable user or client id, written to `sub`.
    pub id: String,
    /// Scopes granted, written space separated to `scope`.
    pub scopes: BTreeSet<String>,
    /// Roles, written to the roles claim.
    pub roles: BTreeSet<String>,
    /// Extra private claims. Registered names (`sub`, `exp`, `iss`, ...) are
    /// rejected at issue time so they cannot override the issuer's own.
    pub claims: Map<String, Value>,
}

impl Subject {
    /// A subject with the given id and no scopes, roles or claims.
    pub fn new(id: impl Into<String>) -> Subject {
        Subject {
            id: id.into(),
            ..Subject::default()
        }
    }

    /// Set the scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Set the roles.
    pub fn roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Add one private claim.
    pub fn claim(mut self, name: impl Into<String>, value: Value) -> Self {
        self.claims.insert(name.into(), value);
        self
    }
}

/// An access token and its refresh token, as returned by login and refresh.
///
/// `Debug` never shows the tokens. To send the pair to a client, serialize
/// [`TokenPair::to_response`], which deliberately exposes them in the
/// RFC 6749 §5.1 shape.
#[derive(Clone)]
#[non_exhaustive]
pub struct TokenPair {
    /// The bearer access token (a JWT for the local issuer).
    pub access_token: SecretString,
    /// The opaque refresh token; single use, rotated on every refresh.
    pub refresh_token: SecretString,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Lifetime of the access token.
    pub expires_in: Duration,
    /// Lifetime of the refresh token.
    pub refresh_expires_in: Duration,
    /// The login session both tokens belong to.
    pub session_id: String,
}

impl TokenPair {
    /// A bearer token pair.
    pub fn new(
        access_token: SecretString,
        refresh_token: SecretString,
        expires_in: Duration,
        refresh_expires_in: Duration,
        session_id: impl Into<String>,
    ) -> TokenPair {
        TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer".to_owned(),
            expires_in,
            refresh_expires_in,
            session_id: session_id.into(),
        }
    }

    /// The token endpoint response body for this pair. Serializing it
    /// writes the tokens in clear: do that only into the HTTP response.
    pub fn to_response(&self) -> TokenResponse<'_> {
        TokenResponse { pair: self }
    }
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// The OAuth 2.0 token response (RFC 6749 §5.1) for a [`TokenPair`]:
/// `access_token`, `token_type`, `expires_in`, `refresh_token`,
/// `refresh_expires_in` (seconds).
///
/// This is the one place tokens are written out in clear.
pub struct TokenResponse<'a> {
    pair: &'a TokenPair,
}

impl fmt::Debug for TokenResponse<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("pair", self.pair)
            .finish()
    }
}

impl serde::Serialize for TokenResponse<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let pair = self.pair;
        let mut s = serializer.serialize_struct("TokenResponse", 5)?;
        s.serialize_field("access_token", pair.access_token.expose_secret())?;
        s.serialize_field("token_type", &pair.token_type)?;
        s.serialize_field("expires_in", &pair.expires_in.as_secs())?;
        s.serialize_field("refresh_token", pair.refresh_token.expose_secret())?;
        s.serialize_field("refresh_expires_in", &pair.refresh_expires_in.as_secs())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> TokenPair {
        TokenPair::new(
            SecretString::from("access-secret-value"),
            SecretString::from("refresh-secret-value"),
            Duration::from_secs(900),
            Duration::from_secs(3600),
            "sess-1",
        )
    }

    #[test]
    fn debug_hides_both_tokens() {
        let p = pair();
        for text in [format!("{p:?}"), format!("{:?}", p.to_response())] {
            assert!(!text.contains("access-secret-value"), "{text}");
            assert!(!text.contains("refresh-secret-value"), "{text}");
            assert!(text.contains("sess-1"));
        }
    }

    #[test]
    fn response_serialization_exposes_tokens_in_rfc6749_shape() {
        let json = serde_json::to_value(pair().to_response()).unwrap();
        assert_eq!(json["access_token"], "access-secret-value");
        assert_eq!(json["refresh_token"], "refresh-secret-value");
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], 900);
        assert_eq!(json["refresh_expires_in"], 3600);
    }

    #[test]
    fn principal_scope_and_role_checks_are_exact() {
        let p = Principal::new("u1")
            .scopes(["read:items", "write:items"])
            .roles(["admin"])
            .audience(["api"]);
        assert!(p.has_scope("read:items"));
        assert!(!p.has_scope("read"));
        assert!(p.has_all_scopes(["read:items", "write:items"]));
        assert!(!p.has_all_scopes(["read:items", "delete:items"]));
        assert!(p.has_role("admin"));
        assert!(!p.has_role("Admin"));
        assert!(p.has_audience("api"));
    }
}
