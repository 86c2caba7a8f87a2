//! The three auth traits: [`TokenVerifier`], [`TokenIssuer`] and
//! [`OAuthProvider`], with their `Dyn` aliases and capabilities.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use plugbay_core::{Error, ErrorKind, Result, SecretString};

use crate::login::{
    AuthorizeRedirect, AuthorizeRequest, Callback, Identity, PendingLogin, ProviderTokens,
};
use crate::types::{Principal, Subject, TokenPair};

/// What a [`TokenVerifier`] backend does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierCapabilities {
    /// Verifies without a network call (local keys or a warm key cache).
    pub offline: bool,
    /// Rejects tokens whose login session was destroyed, before `exp`.
    pub session_check: bool,
}

impl VerifierCapabilities {
    /// Set `offline`.
    pub fn offline(mut self, yes: bool) -> Self {
        self.offline = yes;
        self
    }

    /// Set `session_check`.
    pub fn session_check(mut self, yes: bool) -> Self {
        self.session_check = yes;
        self
    }
}

/// Checks bearer access tokens.
///
/// Backends: the local JWT verifier, and (later) Auth0 / OIDC over a JWKS
/// cache and GitHub's opaque tokens.
#[async_trait]
pub trait TokenVerifier: Send + Sync + fmt::Debug {
    /// What this backend supports.
    fn capabilities(&self) -> VerifierCapabilities;

    /// Verify `token` (the bare token, without `Bearer `) and return the
    /// caller it proves.
    ///
    /// Contract: every reason a token is not acceptable (malformed,
    /// oversized, bad signature, wrong algorithm, expired, not yet valid,
    /// wrong issuer or audience, not an access token, session ended) is
    /// `ErrorKind::Unauthenticated`; the message says which, and never
    /// contains the token. Infrastructure failures (key fetch, session store)
    /// keep their own kinds (`Unavailable`, `Timeout`, ...).
    async fn verify(&self, token: &str) -> Result<Principal>;
}

/// A shared, type-erased [`TokenVerifier`].
pub type DynTokenVerifier = Arc<dyn TokenVerifier>;

/// What a [`TokenIssuer`] backend does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerCapabilities {
    /// `refresh` is supported.
    pub refresh: bool,
    /// Every refresh returns a new refresh token and retires the old one.
    pub rotation: bool,
    /// Presenting a retired refresh token revokes its whole family.
    pub reuse_detection: bool,
    /// `revoke` is supported.
    pub revoke: bool,
    /// `revoke_all` is supported.
    pub revoke_all: bool,
}

impl IssuerCapabilities {
    /// Everything supported.
    pub fn all() -> IssuerCapabilities {
        IssuerCapabilities {
            refresh: true,
            rotation: true,
            reuse_detection: true,
            revoke: true,
            revoke_all: true,
        }
    }
}

/// Issues access/refresh token pairs and manages refresh-token families.
#[async_trait]
pub trait TokenIssuer: Send + Sync + fmt::Debug {
    /// What this backend supports.
    fn capabilities(&self) -> IssuerCapabilities;

    /// Start a new login session for `subject` and issue its first pair.
    ///
    /// Contract: every call creates a new session id and a new refresh-token
    /// family. An empty subject id or a private claim that shadows a
    /// registered one is `InvalidInput`.
    async fn issue(&self, subject: &Subject) -> Result<TokenPair>;

    /// Exchange a refresh token for a new pair (rotation).
    ///
    /// Contract: the presented token is retired; exactly one of several
    /// concurrent calls with the same token succeeds. Presenting a retired
    /// token again (outside the backend's overlap window) is treated as theft:
    /// its whole family and session are revoked, so the newest token stops
    /// working too, and the call fails. Unknown, expired, revoked or reused
    /// tokens are `Unauthenticated`. `Unsupported` if the backend cannot
    /// refresh.
    async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenPair>;

    /// Revoke the family (and session) `refresh_token` belongs to: logout.
    ///
    /// Contract: idempotent; an unknown or already revoked token is `Ok`
    /// (RFC 7009 §2.2), so the answer does not reveal whether it existed.
    async fn revoke(&self, refresh_token: &SecretString) -> Result<()>;

    /// Revoke every session and refresh token of `subject` ("log out
    /// everywhere"). Access tokens already issued stay valid until they
    /// expire unless the verifier checks sessions.
    ///
    /// Contract: idempotent; `Ok` for a subject with no sessions.
    async fn revoke_all(&self, subject: &str) -> Result<()>;
}

/// A shared, type-erased [`TokenIssuer`].
pub type DynTokenIssuer = Arc<dyn TokenIssuer>;

/// What an [`OAuthProvider`] does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthCapabilities {
    /// Sends PKCE S256 challenges.
    pub pkce: bool,
    /// OpenID Connect: returns a signed ID token checked against the nonce.
    pub oidc: bool,
    /// `refresh` is supported.
    pub refresh: bool,
}

/// A social / enterprise login provider (authorization code flow).
#[async_trait]
pub trait OAuthProvider: Send + Sync + fmt::Debug {
    /// The provider id: `"auth0"`, `"google"`, `"microsoft"`, `"github"`, ...
    fn id(&self) -> &str;

    /// What this provider supports.
    fn capabilities(&self) -> OAuthCapabilities;

    /// Build the authorize URL with fresh `state`, PKCE challenge and (for
    /// OIDC) `nonce`.
    ///
    /// Contract: the returned [`PendingLogin`] holds everything
    /// [`OAuthProvider::exchange`] needs; nothing secret is in the URL.
    async fn authorize_url(&self, req: AuthorizeRequest) -> Result<AuthorizeRedirect>;

    /// Redeem the callback's code for the user's identity.
    ///
    /// Contract: a `state` that does not match `pending.state` is
    /// `Unauthenticated` and no code is redeemed; a callback carrying
    /// `error` is `PermissionDenied` for `access_denied` and
    /// `Unauthenticated` otherwise; an ID token whose nonce differs from
    /// `pending.nonce` is `Unauthenticated`.
    async fn exchange(&self, callback: Callback, pending: PendingLogin) -> Result<Identity>;

    /// Refresh the provider's own tokens.
    ///
    /// Contract: `Unsupported` when the provider has no refresh grant; a
    /// rejected refresh token is `Unauthenticated`.
    async fn refresh(&self, refresh_token: &SecretString) -> Result<ProviderTokens>;
}

/// A shared, type-erased [`OAuthProvider`].
pub type DynOAuthProvider = Arc<dyn OAuthProvider>;

/// Conveniences over any [`TokenVerifier`].
#[async_trait]
pub trait TokenVerifierExt: TokenVerifier {
    /// Verify the value of an `Authorization` header (`Bearer <token>`,
    /// scheme case-insensitive). A missing or non-bearer value is
    /// `Unauthenticated`.
    async fn verify_bearer(&self, authorization: &str) -> Result<Principal> {
        let token = bearer_token(authorization)?;
        self.verify(token).await
    }

    /// Verify `token` and require every scope in `scopes`; a valid token
    /// lacking one is `PermissionDenied`.
    async fn verify_with_scopes(&self, token: &str, scopes: &[&str]) -> Result<Principal> {
        let principal = self.verify(token).await?;
        require_scopes(&principal, scopes)?;
        Ok(principal)
    }
}

impl<T: TokenVerifier + ?Sized> TokenVerifierExt for T {}

/// The token of a `Bearer` authorization value (RFC 6750 §2.1).
pub fn bearer_token(authorization: &str) -> Result<&str> {
    let (scheme, token) = authorization
        .trim()
        .split_once(' ')
        .ok_or_else(|| Error::new(ErrorKind::Unauthenticated, "expected a Bearer token"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(Error::new(
            ErrorKind::Unauthenticated,
            "expected a Bearer token",
        ));
    }
    Ok(token)
}

/// `PermissionDenied` unless `principal` has every scope in `scopes`.
pub fn require_scopes(principal: &Principal, scopes: &[&str]) -> Result<()> {
    match scopes.iter().find(|s| !principal.has_scope(s)) {
        None => Ok(()),
        Some(missing) => Err(Error::new(
            ErrorKind::PermissionDenied,
            format!("missing required scope `{missing}`"),
        )
        .with_context("scope", *missing)),
    }
}

macro_rules! forward_auth_traits {
    ($ty:ty) => {
        #[async_trait]
        impl<T: TokenVerifier + ?Sized> TokenVerifier for $ty {
            fn capabilities(&self) -> VerifierCapabilities {
                (**self).capabilities()
            }
            async fn verify(&self, token: &str) -> Result<Principal> {
                (**self).verify(token).await
            }
        }

        #[async_trait]
        impl<T: TokenIssuer + ?Sized> TokenIssuer for $ty {
            fn capabilities(&self) -> IssuerCapabilities {
                (**self).capabilities()
            }
            async fn issue(&self, subject: &Subject) -> Result<TokenPair> {
                (**self).issue(subject).await
            }
            async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenPair> {
                (**self).refresh(refresh_token).await
            }
            async fn revoke(&self, refresh_token: &SecretString) -> Result<()> {
                (**self).revoke(refresh_token).await
            }
            async fn revoke_all(&self, subject: &str) -> Result<()> {
                (**self).revoke_all(subject).await
            }
        }

        #[async_trait]
        impl<T: OAuthProvider + ?Sized> OAuthProvider for $ty {
            fn id(&self) -> &str {
                (**self).id()
            }
            fn capabilities(&self) -> OAuthCapabilities {
                (**self).capabilities()
            }
            async fn authorize_url(&self, req: AuthorizeRequest) -> Result<AuthorizeRedirect> {
                (**self).authorize_url(req).await
            }
            async fn exchange(
                &self,
                callback: Callback,
                pending: PendingLogin,
            ) -> Result<Identity> {
                (**self).exchange(callback, pending).await
            }
            async fn refresh(&self, refresh_token: &SecretString) -> Result<ProviderTokens> {
                (**self).refresh(refresh_token).await
            }
        }
    };
}

forward_auth_traits!(Arc<T>);
forward_auth_traits!(Box<T>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_parsing() {
        assert_eq!(bearer_token("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer_token("bearer   abc ").unwrap(), "abc");
        for bad in ["", "Bearer", "Bearer ", "Basic abc", "abc"] {
            let err = bearer_token(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{bad:?}");
        }
    }

    #[test]
    fn require_scopes_names_the_missing_scope() {
        let p = Principal::new("u").scopes(["a"]);
        assert!(require_scopes(&p, &["a"]).is_ok());
        let err = require_scopes(&p, &["a", "b"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.message().contains("`b`"));
    }

    #[derive(Debug)]
    struct Fixed;

    #[async_trait]
    impl TokenVerifier for Fixed {
        fn capabilities(&self) -> VerifierCapabilities {
            VerifierCapabilities::default().offline(true)
        }
        async fn verify(&self, token: &str) -> Result<Principal> {
            if token == "good" {
                Ok(Principal::new("u").scopes(["read"]))
            } else {
                Err(Error::new(ErrorKind::Unauthenticated, "bad token"))
            }
        }
    }

    #[tokio::test]
    async fn ext_methods_work_through_arc_and_box() {
        let arc: DynTokenVerifier = Arc::new(Fixed);
        let boxed: Box<dyn TokenVerifier> = Box::new(Fixed);
        assert_eq!(arc.verify_bearer("Bearer good").await.unwrap().subject, "u");
        assert!(boxed.capabilities().offline);
        let err = boxed
            .verify_with_scopes("good", &["write"])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        let err = arc.verify_bearer("Bearer bad").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }
}
