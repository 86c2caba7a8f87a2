//! [`SocialLogin`]: the whole social-login round trip, ending in a local
//! session and token pair.
//!
//! `begin` builds the provider's authorize URL (PKCE S256, `state`,
//! `nonce`) and stores the pending login server-side (single use, short
//! lived); `complete` consumes it by `state`, lets the provider check the
//! callback, the code and the ID token's nonce, maps the identity to a
//! [`Subject`] and issues a fresh session (a new random id, so nothing an
//! attacker planted before login survives it) with a new refresh family.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use plugbay_core::{Error, ErrorKind, Result};
use url::Url;

use crate::login::{AuthorizeRequest, Callback, Identity};
use crate::oauth::{OAuthProviderExt as _, PendingLoginStore};
use crate::traits::{DynOAuthProvider, DynTokenIssuer};
use crate::types::{Subject, TokenPair};

/// Maps a provider identity to the local subject tokens are issued for.
pub type SubjectMapper = Arc<dyn Fn(&Identity) -> Result<Subject> + Send + Sync>;

/// The result of a completed login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginOutcome {
    /// Who the provider vouched for (with the provider's tokens).
    pub identity: Identity,
    /// The local session's tokens.
    pub tokens: TokenPair,
    /// Where the application wanted to land, from the pending login.
    pub return_to: Option<String>,
}

/// Social login over any set of [`crate::OAuthProvider`]s.
#[derive(Clone)]
pub struct SocialLogin {
    providers: HashMap<String, DynOAuthProvider>,
    pending: PendingLoginStore,
    issuer: DynTokenIssuer,
    mapper: SubjectMapper,
}

impl fmt::Debug for SocialLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.providers.keys().collect();
        ids.sort();
        f.debug_struct("SocialLogin")
            .field("providers", &ids)
            .field("pending", &self.pending)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The default subject: `{provider}|{provider subject}` (Auth0's
/// convention), so ids from two providers never collide.
pub fn default_subject(identity: &Identity) -> Result<Subject> {
    if identity.subject.is_empty() {
        return Err(Error::new(
            ErrorKind::Unauthenticated,
            "the provider returned no subject",
        ));
    }
    Ok(Subject::new(format!(
        "{}|{}",
        identity.provider, identity.subject
    )))
}

impl SocialLogin {
    /// Logins kept in `pending`, sessions issued by `issuer`.
    pub fn new(pending: PendingLoginStore, issuer: DynTokenIssuer) -> SocialLogin {
        SocialLogin {
            providers: HashMap::new(),
            pending,
            issuer,
            mapper: Arc::new(default_subject),
        }
    }

    /// Offer `provider` (keyed by its id).
    pub fn provider(mut self, provider: DynOAuthProvider) -> Self {
        self.providers.insert(provider.id().to_owned(), provider);
        self
    }

    /// Map identities to subjects yourself (look up or create the user,
    /// attach roles).
    pub fn subject_mapper(mut self, mapper: SubjectMapper) -> Self {
        self.mapper = mapper;
        self
    }

    /// The ids of the login providers, sorted.
    pub fn provider_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.providers.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    /// Whether `provider` is one of the login providers.
    pub fn has_provider(&self, provider: &str) -> bool {
        self.providers.contains_key(provider)
    }

    fn get(&self, provider: &str) -> Result<&DynOAuthProvider> {
        self.providers.get(provider).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "unknown login provider")
                .with_context("provider", provider.to_owned())
        })
    }

    /// The URL to send the browser to. `NotFound` for an unknown provider.
    pub async fn begin(&self, provider: &str, req: AuthorizeRequest) -> Result<Url> {
        self.get(provider)?.begin_login(req, &self.pending).await
    }

    /// Finish the login from the provider's callback: state (single use),
    /// code exchange with the PKCE verifier, ID-token nonce, then a new
    /// session and token pair.
    pub async fn complete(&self, provider: &str, callback: Callback) -> Result<LoginOutcome> {
        let provider = self.get(provider)?;
        let state = callback.state.clone().ok_or_else(|| {
            Error::new(ErrorKind::Unauthenticated, "the callback carries no state")
        })?;
        // Read `return_to` before the provider consumes the pending login.
        let pending = self.pending.take(&state).await?;
        if pending.provider != provider.id() {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "login was started with another provider",
            ));
        }
        let return_to = pending.return_to.clone();
        let identity = provider.exchange(callback, pending).await?;
        let subject = (self.mapper)(&identity)?;
        let tokens = self.issuer.issue(&subject).await?;
        Ok(LoginOutcome {
            identity,
            tokens,
            return_to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockOAuthProvider;
    use crate::{JwtConfig, JwtKey, LocalJwt, TokenVerifier as _};
    use plugbay_cache::InMemoryKeyValue;
    use plugbay_core::{ExposeSecret as _, SecretString};

    #[tokio::test]
    async fn login_creates_a_fresh_session_and_state_is_single_use() {
        let kv = InMemoryKeyValue::new().into_dyn();
        let key = JwtKey::hs256(&SecretString::from("s".repeat(32))).unwrap();
        let local = Arc::new(
            LocalJwt::builder(JwtConfig::new("https://app", "app"), key, kv.clone())
                .session_check(true)
                .build()
                .unwrap(),
        );
        let mock = MockOAuthProvider::new("google");
        mock.add_code("c1", Identity::new("", "g-1"));
        mock.add_code("c2", Identity::new("", "g-1"));
        let login =
            SocialLogin::new(PendingLoginStore::new(kv), local.clone()).provider(Arc::new(mock));
        let state_of = |url: &Url| {
            url.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        let url = login
            .begin("google", AuthorizeRequest::new().return_to("/home"))
            .await
            .unwrap();
        let state = state_of(&url);
        let out = login
            .complete("google", Callback::new("c1", state.clone()))
            .await
            .unwrap();
        assert_eq!(out.return_to.as_deref(), Some("/home"));
        let who = local
            .verify(out.tokens.access_token.expose_secret())
            .await
            .unwrap();
        assert_eq!(who.subject, "google|g-1");
        let err = login
            .complete("google", Callback::new("c2", state))
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Unauthenticated,
            "state is single use"
        );

        assert_eq!(login.provider_ids(), ["google"]);
        assert!(login.has_provider("google") && !login.has_provider("nope"));
        let second = login
            .begin("google", AuthorizeRequest::new())
            .await
            .unwrap();
        let again = login
            .complete("google", Callback::new("c2", state_of(&second)))
            .await
            .unwrap();
        assert_ne!(again.tokens.session_id, out.tokens.session_id);
        assert_eq!(
            login
                .begin("nope", AuthorizeRequest::new())
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
    }
}
