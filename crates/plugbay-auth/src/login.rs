//! Types of the OAuth 2.0 / OpenID Connect login flow, shared by every
//! [`crate::OAuthProvider`] (Auth0, Google, Microsoft, GitHub, generic OIDC).

use std::fmt;
use std::time::{Duration, SystemTime};

use plugbay_core::{Error, ExposeSecret as _, Result, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::clock::{from_unix_millis, unix_millis};

/// The user a provider vouched for after a successful login.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Identity {
    /// The provider id (`"auth0"`, `"google"`, `"github"`, ...).
    pub provider: String,
    /// The provider's stable user id (`sub`, or GitHub's numeric `id`).
    pub subject: String,
    /// The e-mail address, if the provider shared one.
    pub email: Option<String>,
    /// Whether the provider verified `email`. Never link accounts by an
    /// unverified address.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub picture: Option<String>,
    /// The provider's raw claims or user object.
    pub claims: Map<String, Value>,
    /// The provider's tokens, for calling its APIs on the user's behalf.
    pub tokens: Option<ProviderTokens>,
}

impl Identity {
    /// An identity for `subject` at `provider`.
    pub fn new(provider: impl Into<String>, subject: impl Into<String>) -> Identity {
        Identity {
            provider: provider.into(),
            subject: subject.into(),
            ..Identity::default()
        }
    }

    /// Set the e-mail address and whether it is verified.
    pub fn email(mut self, email: impl Into<String>, verified: bool) -> Self {
        self.email = Some(email.into());
        self.email_verified = verified;
        self
    }

    /// Set the display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Set the avatar URL.
    pub fn picture(mut self, picture: impl Into<String>) -> Self {
        self.picture = Some(picture.into());
        self
    }

    /// Set the raw claims.
    pub fn claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = claims;
        self
    }

    /// Set the provider tokens.
    pub fn tokens(mut self, tokens: ProviderTokens) -> Self {
        self.tokens = Some(tokens);
        self
    }
}

/// Tokens a provider's token endpoint returned. `Debug` hides them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderTokens {
    /// The provider access token.
    pub access_token: SecretString,
    /// A refresh token, when one was granted. Providers such as Google omit
    /// it on refresh: keep the old one then.
    pub refresh_token: Option<SecretString>,
    /// The OIDC ID token, when one was returned.
    pub id_token: Option<SecretString>,
    /// `token_type`, usually `"Bearer"`.
    pub token_type: String,
    /// Access token lifetime, when stated.
    pub expires_in: Option<Duration>,
    /// Granted scopes, when stated.
    pub scopes: Vec<String>,
}

impl ProviderTokens {
    /// Bearer tokens with only an access token.
    pub fn new(access_token: SecretString) -> ProviderTokens {
        ProviderTokens {
            access_token,
            refresh_token: None,
            id_token: None,
            token_type: "Bearer".to_owned(),
            expires_in: None,
            scopes: Vec::new(),
        }
    }

    /// Set the refresh token.
    pub fn refresh_token(mut self, token: SecretString) -> Self {
        self.refresh_token = Some(token);
        self
    }

    /// Set the ID token.
    pub fn id_token(mut self, token: SecretString) -> Self {
        self.id_token = Some(token);
        self
    }

    /// Set the access token lifetime.
    pub fn expires_in(mut self, expires_in: Duration) -> Self {
        self.expires_in = Some(expires_in);
        self
    }

    /// Set the granted scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

/// What the application asks for when it starts a login.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AuthorizeRequest {
    /// Where the provider sends the user back; the provider's configured
    /// default when `None`.
    pub redirect_uri: Option<String>,
    /// Scopes to request; the provider's defaults when empty.
    pub scopes: Vec<String>,
    /// OIDC `prompt` (`login`, `consent`, `select_account`, `none`).
    pub prompt: Option<String>,
    /// OIDC `login_hint`.
    pub login_hint: Option<String>,
    /// Where the application wants to land after login (kept in the
    /// [`PendingLogin`], never sent to the provider).
    pub return_to: Option<String>,
    /// Extra query parameters (`audience`, `connection`, `organization`, ...).
    pub extra_params: Vec<(String, String)>,
}

impl AuthorizeRequest {
    /// An empty request (provider defaults).
    pub fn new() -> AuthorizeRequest {
        AuthorizeRequest::default()
    }

    /// Set the redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
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

    /// Set `prompt`.
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// Set `login_hint`.
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// Set the post-login landing path.
    pub fn return_to(mut self, return_to: impl Into<String>) -> Self {
        self.return_to = Some(return_to.into());
        self
    }

    /// Add an extra query parameter.
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }
}

/// Where to send the browser, and what to remember until it comes back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthorizeRedirect {
    /// The provider's authorize URL with every parameter set.
    pub url: Url,
    /// The `state` value in `url` (also `pending.state`).
    pub state: String,
    /// Save this (e.g. in [`crate::PendingLoginStore`]) and hand it back to
    /// [`crate::OAuthProvider::exchange`].
    pub pending: PendingLogin,
}

impl AuthorizeRedirect {
    /// A redirect to `url` for `pending`.
    pub fn new(url: Url, pending: PendingLogin) -> AuthorizeRedirect {
        AuthorizeRedirect {
            url,
            state: pending.state.clone(),
            pending,
        }
    }
}

/// The server-side half of a login in progress: everything needed to check
/// the callback. Store it keyed by `state`; it is good for one use.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PendingLogin {
    /// The CSRF `state` sent to the provider.
    pub state: String,
    /// The OIDC `nonce` the ID token must echo (`None` for plain OAuth).
    pub nonce: Option<String>,
    /// The PKCE code verifier (RFC 7636).
    pub pkce_verifier: SecretString,
    /// The redirect URI used; the token exchange must repeat it exactly.
    pub redirect_uri: String,
    /// The provider id.
    pub provider: String,
    /// When the login started.
    pub created_at: SystemTime,
    /// Where to land after login.
    pub return_to: Option<String>,
}

impl PendingLogin {
    /// A pending login.
    pub fn new(
        provider: impl Into<String>,
        state: impl Into<String>,
        pkce_verifier: SecretString,
        redirect_uri: impl Into<String>,
        created_at: SystemTime,
    ) -> PendingLogin {
        PendingLogin {
            state: state.into(),
            nonce: None,
            pkce_verifier,
            redirect_uri: redirect_uri.into(),
            provider: provider.into(),
            created_at,
            return_to: None,
        }
    }

    /// Set the OIDC nonce.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Set the post-login landing path.
    pub fn return_to(mut self, return_to: impl Into<String>) -> Self {
        self.return_to = Some(return_to.into());
        self
    }

    /// Encode for a server-side store (includes the PKCE verifier in clear:
    /// never put this in a cookie or a URL).
    pub(crate) fn to_stored_json(&self) -> Result<Vec<u8>> {
        let stored = StoredPendingLogin {
            state: self.state.clone(),
            nonce: self.nonce.clone(),
            pkce_verifier: self.pkce_verifier.expose_secret().to_owned(),
            redirect_uri: self.redirect_uri.clone(),
            provider: self.provider.clone(),
            created_at_ms: unix_millis(self.created_at),
            return_to: self.return_to.clone(),
        };
        Ok(serde_json::to_vec(&stored)?)
    }

    /// Decode what [`PendingLogin::to_stored_json`] wrote.
    pub(crate) fn from_stored_json(bytes: &[u8]) -> Result<PendingLogin> {
        let s: StoredPendingLogin = serde_json::from_slice(bytes)
            .map_err(|e| Error::internal("stored pending login is corrupt").with_source(e))?;
        Ok(PendingLogin {
            state: s.state,
            nonce: s.nonce,
            pkce_verifier: SecretString::from(s.pkce_verifier),
            redirect_uri: s.redirect_uri,
            provider: s.provider,
            created_at: from_unix_millis(s.created_at_ms),
            return_to: s.return_to,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct StoredPendingLogin {
    state: String,
    nonce: Option<String>,
    pkce_verifier: String,
    redirect_uri: String,
    provider: String,
    created_at_ms: u64,
    return_to: Option<String>,
}

/// The query of the provider's redirect back to the application.
///
/// Deserializes straight from the callback query string
/// (`?code=..&state=..` or `?error=..&error_description=..&state=..`).
#[derive(Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct Callback {
    /// The authorization code (absent when the provider reports an error).
    pub code: Option<String>,
    /// The `state` echoed back.
    pub state: Option<String>,
    /// OAuth error code (`access_denied`, ...).
    pub error: Option<String>,
    /// Human-readable error text from the provider.
    pub error_description: Option<String>,
}

impl Callback {
    /// A successful callback.
    pub fn new(code: impl Into<String>, state: impl Into<String>) -> Callback {
        Callback {
            code: Some(code.into()),
            state: Some(state.into()),
            ..Callback::default()
        }
    }

    /// A callback reporting a provider error.
    pub fn error(
        error: impl Into<String>,
        description: Option<String>,
        state: Option<String>,
    ) -> Callback {
        Callback {
            code: None,
            state,
            error: Some(error.into()),
            error_description: description,
        }
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The code is a bearer credential until redeemed.
        f.debug_struct("Callback")
            .field("code", &self.code.as_ref().map(|_| "[REDACTED]"))
            .field("state", &self.state)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_login_round_trips_through_storage_form() {
        let p = PendingLogin::new(
            "github",
            "st",
            SecretString::from("verifier-value"),
            "https://app/cb",
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_234),
        )
        .nonce("n1")
        .return_to("/home");
        let back = PendingLogin::from_stored_json(&p.to_stored_json().unwrap()).unwrap();
        assert_eq!(back.state, "st");
        assert_eq!(back.nonce.as_deref(), Some("n1"));
        assert_eq!(back.pkce_verifier.expose_secret(), "verifier-value");
        assert_eq!(back.redirect_uri, "https://app/cb");
        assert_eq!(back.created_at, p.created_at);
        assert_eq!(back.return_to.as_deref(), Some("/home"));
        assert!(!format!("{p:?}").contains("verifier-value"));
    }

    #[test]
    fn callback_debug_hides_the_code() {
        let cb = Callback::new("the-code-123", "st");
        assert!(!format!("{cb:?}").contains("the-code-123"));
        let parsed: Callback =
            serde_json::from_value(serde_json::json!({"error": "access_denied", "state": "s"}))
                .unwrap();
        assert_eq!(parsed.error.as_deref(), Some("access_denied"));
        assert!(parsed.code.is_none());
    }

    #[test]
    fn corrupt_stored_login_is_internal() {
        let err = PendingLogin::from_stored_json(b"{").unwrap_err();
        assert_eq!(err.kind(), plugbay_core::ErrorKind::Internal);
    }
}
