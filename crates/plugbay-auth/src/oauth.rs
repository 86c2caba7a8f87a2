//! Building blocks shared by every [`OAuthProvider`]: the authorize URL,
//! single-use pending logins, callback checks, and the
//! [`OAuthProviderExt::begin_login`] / [`OAuthProviderExt::complete_login`]
//! pair that ties them together.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use plugbay_cache::{DynKeyValue, KeyValue};
use plugbay_core::{Error, ErrorKind, Result, SecretString};
use url::Url;

use crate::clock::{DynClock, SystemClock};
use crate::crypto::constant_time_eq;
use crate::login::{AuthorizeRequest, Callback, Identity, PendingLogin};
use crate::pkce::{
    CODE_CHALLENGE_METHOD, PkceVerifier, challenge_s256, generate_nonce, generate_state,
};
use crate::traits::OAuthProvider;
use plugbay_core::ExposeSecret as _;

/// Default lifetime of a pending login: 10 minutes.
pub const DEFAULT_PENDING_TTL: Duration = Duration::from_secs(600);

/// Parameters the builder owns; extra parameters may not override them.
const RESERVED_PARAMS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
];

impl PendingLogin {
    /// A new pending login for `provider` with fresh `state`, PKCE verifier
    /// and, when `oidc`, `nonce`.
    pub fn generate(
        provider: impl Into<String>,
        redirect_uri: impl Into<String>,
        oidc: bool,
        now: SystemTime,
    ) -> Result<PendingLogin> {
        let verifier = PkceVerifier::generate()?.into_secret();
        let pending = PendingLogin::new(provider, generate_state()?, verifier, redirect_uri, now);
        Ok(if oidc {
            pending.nonce(generate_nonce()?)
        } else {
            pending
        })
    }
}

/// Builds an authorization-code request URL (RFC 6749 §4.1.1 + PKCE + OIDC).
///
/// ```
/// use plugbay_auth::AuthorizeUrl;
/// let url = AuthorizeUrl::new("https://github.com/login/oauth/authorize", "client-1", "https://app/cb")
///     .scopes(["read:user", "user:email"])
///     .state("xyz")
///     .code_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
///     .build()
///     .unwrap();
/// assert!(url.as_str().contains("code_challenge_method=S256"));
/// ```
#[derive(Debug, Clone)]
pub struct AuthorizeUrl {
    endpoint: String,
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    nonce: Option<String>,
    params: Vec<(String, String)>,
}

impl AuthorizeUrl {
    /// Start a URL for `endpoint` (the provider's authorize endpoint).
    pub fn new(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> AuthorizeUrl {
        AuthorizeUrl {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            state: None,
            code_challenge: None,
            nonce: None,
            params: Vec::new(),
        }
    }

    /// Scopes, sent space separated.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The CSRF `state`.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// The S256 PKCE challenge.
    pub fn code_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.code_challenge = Some(challenge.into());
        self
    }

    /// The OIDC nonce.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Take `state`, PKCE challenge and nonce from `pending`.
    pub fn for_pending(mut self, pending: &PendingLogin) -> Self {
        self.state = Some(pending.state.clone());
        self.code_challenge = Some(challenge_s256(pending.pkce_verifier.expose_secret()));
        self.nonce = pending.nonce.clone();
        self
    }

    /// Add an extra parameter (`audience`, `prompt`, `access_type`, ...).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Add the request's `prompt`, `login_hint` and extra parameters.
    pub fn request(mut self, req: &AuthorizeRequest) -> Self {
        if let Some(prompt) = &req.prompt {
            self = self.param("prompt", prompt.clone());
        }
        if let Some(hint) = &req.login_hint {
            self = self.param("login_hint", hint.clone());
        }
        for (k, v) in &req.extra_params {
            self = self.param(k.clone(), v.clone());
        }
        self
    }

    /// The URL. `Config` error for a bad endpoint (not https, except on
    /// loopback for tests); `InvalidInput` when `state` is missing or an
    /// extra parameter tries to override one the builder owns.
    pub fn build(self) -> Result<Url> {
        let mut url = Url::parse(&self.endpoint)
            .map_err(|e| Error::config("invalid authorize endpoint URL").with_source(e))?;
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(Error::config("the authorize endpoint must use https"));
        }
        let state = self
            .state
            .ok_or_else(|| Error::invalid_input("an authorize URL needs a state"))?;
        if let Some((name, _)) = self
            .params
            .iter()
            .find(|(k, _)| RESERVED_PARAMS.contains(&k.as_str()))
        {
            return Err(Error::invalid_input(format!(
                "parameter `{name}` cannot be overridden"
            )));
        }
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", &self.client_id);
            q.append_pair("redirect_uri", &self.redirect_uri);
            if !self.scopes.is_empty() {
                q.append_pair("scope", &self.scopes.join(" "));
            }
            q.append_pair("state", &state);
            if let Some(challenge) = &self.code_challenge {
                q.append_pair("code_challenge", challenge);
                q.append_pair("code_challenge_method", CODE_CHALLENGE_METHOD);
            }
            if let Some(nonce) = &self.nonce {
                q.append_pair("nonce", nonce);
            }
            for (k, v) in &self.params {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }
}

/// Check a callback against its pending login and return the code.
///
/// `state` is compared in constant time; a mismatch or a missing code is
/// `Unauthenticated`; a provider `error` is `PermissionDenied` for
/// `access_denied` (the user said no) and `Unauthenticated` otherwise.
pub fn validate_callback(callback: &Callback, pending: &PendingLogin) -> Result<SecretString> {
    let state_ok = callback
        .state
        .as_deref()
        .is_some_and(|s| constant_time_eq(s, &pending.state));
    if let Some(error) = &callback.error {
        let kind = if error == "access_denied" {
            ErrorKind::PermissionDenied
        } else {
            ErrorKind::Unauthenticated
        };
        // Provider text is echoed for operators, bounded and redacted.
        let description = callback.error_description.as_deref().unwrap_or("");
        let description: String = description.chars().take(200).collect();
        return Err(Error::new(
            kind,
            format!("login failed at the provider: {error} {description}")
                .trim_end()
                .to_owned(),
        )
        .with_provider(pending.provider.clone())
        .with_operation("callback")
        .with_provider_code(error.clone()));
    }
    if !state_ok {
        return Err(
            Error::new(ErrorKind::Unauthenticated, "login state does not match")
                .with_provider(pending.provider.clone())
                .with_operation("callback"),
        );
    }
    match &callback.code {
        Some(code) if !code.is_empty() => Ok(SecretString::from(code.clone())),
        _ => Err(Error::new(
            ErrorKind::Unauthenticated,
            "the callback carries no authorization code",
        )
        .with_provider(pending.provider.clone())
        .with_operation("callback")),
    }
}

/// Pending logins in a [`KeyValue`] store under `{prefix}login:{state}`,
/// each usable once (consumed with an atomic `take`).
#[derive(Clone)]
pub struct PendingLoginStore {
    kv: DynKeyValue,
    prefix: String,
    ttl: Duration,
    clock: DynClock,
}

impl fmt::Debug for PendingLoginStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLoginStore")
            .field("backend", &self.kv.backend())
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl PendingLoginStore {
    /// A store in `kv` with the `auth:` prefix and a 10-minute lifetime.
    pub fn new(kv: DynKeyValue) -> PendingLoginStore {
        PendingLoginStore {
            kv,
            prefix: "auth:".to_owned(),
            ttl: DEFAULT_PENDING_TTL,
            clock: Arc::new(SystemClock),
        }
    }

    /// Set the key prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Set how long a login may stay pending.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Use `clock` for the age check.
    pub fn clock(mut self, clock: DynClock) -> Self {
        self.clock = clock;
        self
    }

    fn key(&self, state: &str) -> String {
        format!("{}login:{state}", self.prefix)
    }

    /// Remember `pending` until its callback. `AlreadyExists` if its state
    /// is already pending.
    pub async fn save(&self, pending: &PendingLogin) -> Result<()> {
        let bytes = Bytes::from(pending.to_stored_json()?);
        if self
            .kv
            .set_if_absent(&self.key(&pending.state), bytes, Some(self.ttl))
            .await?
        {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::AlreadyExists,
                "a login with this state is already pending",
            ))
        }
    }

    /// Consume the pending login for `state`. `Unauthenticated` if it is
    /// unknown, already used or older than the lifetime.
    pub async fn take(&self, state: &str) -> Result<PendingLogin> {
        let unknown = || {
            Error::new(
                ErrorKind::Unauthenticated,
                "login state is unknown, used or expired",
            )
        };
        // States we generate are base64url; anything else never hits the store.
        if state.is_empty()
            || state.len() > 128
            || !state
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(unknown());
        }
        let bytes = self.kv.take(&self.key(state)).await?.ok_or_else(unknown)?;
        let pending = PendingLogin::from_stored_json(&bytes)?;
        let age = self
            .clock
            .now()
            .duration_since(pending.created_at)
            .unwrap_or(Duration::ZERO);
        if age > self.ttl {
            return Err(unknown());
        }
        Ok(pending)
    }
}

/// The whole login round trip over any [`OAuthProvider`].
#[async_trait]
pub trait OAuthProviderExt: OAuthProvider {
    /// Build the authorize URL, remember the pending login in `store`, and
    /// return the URL to redirect the browser to.
    async fn begin_login(&self, req: AuthorizeRequest, store: &PendingLoginStore) -> Result<Url> {
        let redirect = self.authorize_url(req).await?;
        store.save(&redirect.pending).await?;
        Ok(redirect.url)
    }

    /// Consume the pending login named by the callback's `state` and
    /// exchange the code. `Unauthenticated` for an unknown or reused state
    /// or one started with another provider.
    async fn complete_login(
        &self,
        callback: Callback,
        store: &PendingLoginStore,
    ) -> Result<Identity> {
        let state = callback.state.clone().ok_or_else(|| {
            Error::new(ErrorKind::Unauthenticated, "the callback carries no state")
        })?;
        let pending = store.take(&state).await?;
        if pending.provider != self.id() {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "login was started with another provider",
            )
            .with_provider(self.id().to_owned()));
        }
        self.exchange(callback, pending).await
    }
}

impl<T: OAuthProvider + ?Sized> OAuthProviderExt for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock as _, ManualClock};
    use plugbay_cache::InMemoryKeyValue;

    fn pending(state: &str) -> PendingLogin {
        PendingLogin::new(
            "p",
            state,
            SecretString::from("v".repeat(43)),
            "https://app/cb",
            SystemTime::now(),
        )
    }

    #[test]
    fn authorize_url_encodes_everything_and_protects_reserved_params() {
        let p = PendingLogin::generate("p", "https://app/cb?x=1", true, SystemTime::now()).unwrap();
        let url = AuthorizeUrl::new(
            "https://idp.test/authorize?tenant=t",
            "cid",
            &p.redirect_uri,
        )
        .scopes(["openid", "profile"])
        .for_pending(&p)
        .param("login_hint", "a b&c")
        .build()
        .unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("tenant"), Some("t"), "existing query kept");
        assert_eq!(get("redirect_uri"), Some("https://app/cb?x=1"));
        assert_eq!(get("login_hint"), Some("a b&c"));
        assert_eq!(get("state"), Some(p.state.as_str()));
        assert_eq!(get("nonce"), p.nonce.as_deref());
        assert_eq!(
            get("code_challenge").map(str::to_owned),
            Some(challenge_s256(p.pkce_verifier.expose_secret()))
        );
        assert!(
            !url.as_str().contains(p.pkce_verifier.expose_secret()),
            "verifier never in the URL"
        );

        let err = AuthorizeUrl::new("https://idp.test/a", "c", "r")
            .state("s")
            .param("state", "x")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = AuthorizeUrl::new("https://idp.test/a", "c", "r")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "state is required");
        let err = AuthorizeUrl::new("http://idp.test/a", "c", "r")
            .state("s")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "plain http is refused");
        assert!(
            AuthorizeUrl::new("http://127.0.0.1:8080/a", "c", "r")
                .state("s")
                .build()
                .is_ok()
        );
    }

    #[tokio::test]
    async fn pending_logins_are_single_use_and_expire() {
        let clock = ManualClock::default();
        let store = PendingLoginStore::new(InMemoryKeyValue::new().into_dyn())
            .ttl(Duration::from_secs(600))
            .clock(Arc::new(clock.clone()));
        let mut p = pending("state-1");
        p.created_at = clock.now();
        store.save(&p).await.unwrap();
        assert_eq!(
            store.save(&p).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        let back = store.take("state-1").await.unwrap();
        assert_eq!(
            back.pkce_verifier.expose_secret(),
            p.pkce_verifier.expose_secret()
        );
        assert_eq!(
            store.take("state-1").await.unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );

        let mut old = pending("state-2");
        old.created_at = clock.now();
        store.save(&old).await.unwrap();
        clock.advance(Duration::from_secs(601));
        assert_eq!(
            store.take("state-2").await.unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            store.take("bad state!").await.unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );
    }

    #[test]
    fn callback_validation() {
        let p = pending("s1");
        assert_eq!(
            validate_callback(&Callback::new("code", "s1"), &p)
                .unwrap()
                .expose_secret(),
            "code"
        );
        assert_eq!(
            validate_callback(&Callback::new("code", "s2"), &p)
                .unwrap_err()
                .kind(),
            ErrorKind::Unauthenticated
        );
        let no_code = Callback {
            code: None,
            state: Some("s1".into()),
            ..Callback::default()
        };
        assert_eq!(
            validate_callback(&no_code, &p).unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );
        let denied = Callback::error("access_denied", None, Some("s1".into()));
        let err = validate_callback(&denied, &p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert_eq!(err.provider_code(), Some("access_denied"));
    }
}
