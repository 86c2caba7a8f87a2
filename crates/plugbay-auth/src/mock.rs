//! [`MockOAuthProvider`]: a scripted login provider for tests of login
//! flows, which really checks `state`, single-use codes and PKCE.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use plugbay_core::{Error, ErrorKind, ExposeSecret as _, Result, SecretString};

use crate::clock::{DynClock, SystemClock};
use crate::login::{
    AuthorizeRedirect, AuthorizeRequest, Callback, Identity, PendingLogin, ProviderTokens,
};
use crate::oauth::{AuthorizeUrl, validate_callback};
use crate::pkce::challenge_s256;
use crate::traits::{OAuthCapabilities, OAuthProvider};

/// The authorize endpoint the mock puts in its URLs.
pub const MOCK_AUTHORIZE_ENDPOINT: &str = "https://mock-oauth.invalid/authorize";

#[derive(Debug, Default)]
struct MockState {
    /// code -> identity; removed when redeemed.
    codes: HashMap<String, Identity>,
    /// state -> PKCE challenge sent in the authorize URL.
    challenges: HashMap<String, String>,
}

/// A login provider for tests: register codes with
/// [`MockOAuthProvider::add_code`], start a login with `authorize_url`,
/// then `exchange` a [`Callback`] carrying that code.
///
/// Like a real server it refuses a reused code, a wrong `state` and a PKCE
/// verifier that does not match the challenge of the authorize URL.
#[derive(Debug, Clone)]
pub struct MockOAuthProvider {
    id: String,
    oidc: bool,
    default_redirect_uri: String,
    state: Arc<Mutex<MockState>>,
    clock: DynClock,
}

impl MockOAuthProvider {
    /// A mock answering as provider `id` (OIDC style, with nonces).
    pub fn new(id: impl Into<String>) -> MockOAuthProvider {
        MockOAuthProvider {
            id: id.into(),
            oidc: true,
            default_redirect_uri: "http://localhost/callback".to_owned(),
            state: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Behave like plain OAuth 2.0 (no nonce), as GitHub does.
    pub fn plain_oauth(mut self) -> Self {
        self.oidc = false;
        self
    }

    /// Set the redirect URI used when a request names none.
    pub fn default_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.default_redirect_uri = uri.into();
        self
    }

    /// Make `code` redeemable (once) for `identity`.
    pub fn add_code(&self, code: impl Into<String>, identity: Identity) {
        self.lock().codes.insert(code.into(), identity);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl OAuthProvider for MockOAuthProvider {
    fn id(&self) -> &str {
        &self.id
    }

    fn capabilities(&self) -> OAuthCapabilities {
        OAuthCapabilities {
            pkce: true,
            oidc: self.oidc,
            refresh: false,
        }
    }

    async fn authorize_url(&self, req: AuthorizeRequest) -> Result<AuthorizeRedirect> {
        let redirect_uri = req
            .redirect_uri
            .clone()
            .unwrap_or_else(|| self.default_redirect_uri.clone());
        let mut pending = PendingLogin::generate(
            self.id.clone(),
            redirect_uri.clone(),
            self.oidc,
            self.clock.now(),
        )?;
        pending.return_to = req.return_to.clone();
        let scopes = if req.scopes.is_empty() {
            vec!["openid".to_owned()]
        } else {
            req.scopes.clone()
        };
        let url = AuthorizeUrl::new(MOCK_AUTHORIZE_ENDPOINT, "mock-client", redirect_uri)
            .scopes(scopes)
            .for_pending(&pending)
            .request(&req)
            .build()?;
        let challenge = challenge_s256(pending.pkce_verifier.expose_secret());
        self.lock()
            .challenges
            .insert(pending.state.clone(), challenge);
        Ok(AuthorizeRedirect::new(url, pending))
    }

    async fn exchange(&self, callback: Callback, pending: PendingLogin) -> Result<Identity> {
        let code = validate_callback(&callback, &pending)?;
        let mut state = self.lock();
        let expected = state.challenges.remove(&pending.state);
        if expected.as_deref()
            != Some(challenge_s256(pending.pkce_verifier.expose_secret()).as_str())
        {
            return Err(
                Error::new(ErrorKind::Unauthenticated, "PKCE verification failed")
                    .with_provider(self.id.clone())
                    .with_provider_code("invalid_grant"),
            );
        }
        let mut identity = state.codes.remove(code.expose_secret()).ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthenticated,
                "authorization code is invalid or used",
            )
            .with_provider(self.id.clone())
            .with_provider_code("invalid_grant")
        })?;
        identity.provider = self.id.clone();
        if identity.tokens.is_none() {
            identity.tokens = Some(ProviderTokens::new(SecretString::from(format!(
                "mock-access-{}",
                pending.state
            ))));
        }
        Ok(identity)
    }

    async fn refresh(&self, _refresh_token: &SecretString) -> Result<ProviderTokens> {
        Err(Error::unsupported("the mock provider has no refresh grant")
            .with_provider(self.id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::{OAuthProviderExt as _, PendingLoginStore};
    use crate::traits::DynOAuthProvider;
    use plugbay_cache::InMemoryKeyValue;
    use url::Url;

    fn query(url: &Url, name: &str) -> Option<String> {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    #[tokio::test]
    async fn full_login_round_trip_through_the_pending_store() {
        let mock = MockOAuthProvider::new("mock");
        mock.add_code(
            "code-1",
            Identity::new("", "user-42").email("a@b.test", true),
        );
        let provider: DynOAuthProvider = Arc::new(mock);
        let store = PendingLoginStore::new(InMemoryKeyValue::new().into_dyn());
        let url = provider
            .begin_login(
                AuthorizeRequest::new()
                    .scopes(["openid", "email"])
                    .extra_param("audience", "api"),
                &store,
            )
            .await
            .unwrap();
        assert_eq!(query(&url, "response_type").as_deref(), Some("code"));
        assert_eq!(query(&url, "scope").as_deref(), Some("openid email"));
        assert_eq!(
            query(&url, "code_challenge_method").as_deref(),
            Some("S256")
        );
        assert_eq!(query(&url, "audience").as_deref(), Some("api"));
        assert!(query(&url, "nonce").is_some());
        let state = query(&url, "state").unwrap();

        let identity = provider
            .complete_login(Callback::new("code-1", state.clone()), &store)
            .await
            .unwrap();
        assert_eq!(identity.subject, "user-42");
        assert_eq!(identity.provider, "mock");
        assert!(identity.email_verified);

        // The state works once.
        let err = provider
            .complete_login(Callback::new("code-1", state), &store)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }

    #[tokio::test]
    async fn wrong_state_wrong_verifier_and_reused_code_are_refused() {
        let mock = MockOAuthProvider::new("mock").plain_oauth();
        mock.add_code("c", Identity::new("", "u"));
        let redirect = mock.authorize_url(AuthorizeRequest::new()).await.unwrap();
        assert!(redirect.pending.nonce.is_none());
        assert!(query(&redirect.url, "nonce").is_none());

        let err = mock
            .exchange(Callback::new("c", "other-state"), redirect.pending.clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);

        let mut forged = redirect.pending.clone();
        forged.pkce_verifier = SecretString::from("x".repeat(43));
        let err = mock
            .exchange(Callback::new("c", redirect.state.clone()), forged)
            .await
            .unwrap_err();
        assert_eq!(err.message(), "PKCE verification failed");

        let again = mock.authorize_url(AuthorizeRequest::new()).await.unwrap();
        mock.exchange(Callback::new("c", again.state.clone()), again.pending)
            .await
            .unwrap();
        let third = mock.authorize_url(AuthorizeRequest::new()).await.unwrap();
        let err = mock
            .exchange(Callback::new("c", third.state.clone()), third.pending)
            .await
            .unwrap_err();
        assert_eq!(err.provider_code(), Some("invalid_grant"));
    }

    #[tokio::test]
    async fn provider_errors_and_refresh() {
        let mock = MockOAuthProvider::new("mock");
        let r = mock.authorize_url(AuthorizeRequest::new()).await.unwrap();
        let denied = Callback::error(
            "access_denied",
            Some("user said no".into()),
            Some(r.state.clone()),
        );
        let err = mock.exchange(denied, r.pending.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        let other = Callback::error("server_error", None, Some(r.state.clone()));
        assert_eq!(
            mock.exchange(other, r.pending).await.unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );
        let err = mock.refresh(&SecretString::from("r")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }
}
