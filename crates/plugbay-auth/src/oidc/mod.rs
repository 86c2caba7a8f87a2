//! Generic OpenID Connect login (feature `oidc`): [`OidcProvider`] built by
//! discovery, with presets for Google and Microsoft.

mod client_credentials;
mod config;
mod discovery;
mod id_token;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use plugbay_core::http::{Call, HttpClient, RetryPolicy};
use plugbay_core::{Error, ExposeSecret as _, Result, SecretString};
use serde_json::{Map, Value};

pub use client_credentials::ClientCredentials;
pub use config::{GOOGLE_ISSUER, MICROSOFT_LOGIN, OidcConfig, TokenAuthMethod};
pub use discovery::{ProviderMetadata, discovery_url};

use crate::clock::{DynClock, SystemClock};
use crate::jwks::{IssuerConfig, IssuerRule, JwksCache, JwksVerifier};
use crate::login::{
    AuthorizeRedirect, AuthorizeRequest, Callback, Identity, PendingLogin, ProviderTokens,
};
use crate::oauth::{AuthorizeUrl, validate_callback};
use crate::token_endpoint::{OAuthErrorMapper, TokenEndpointResponse};
use crate::traits::{OAuthCapabilities, OAuthProvider};
use id_token::{IdTokenRules, missing_id_token, verify_id_token};

/// An OpenID Connect provider: authorization code flow with PKCE S256,
/// `state` and `nonce`, ID tokens verified against the provider's JWKS,
/// refresh that keeps the old refresh token when the response omits one.
#[derive(Clone)]
pub struct OidcProvider {
    config: OidcConfig,
    metadata: ProviderMetadata,
    rules: IdTokenRules,
    keys: JwksCache,
    http: HttpClient,
    clock: DynClock,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("id", &self.config.id)
            .field("issuer", &self.metadata.issuer)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

pub(crate) fn token_http() -> Result<HttpClient> {
    // Token endpoints are POSTs that must not be replayed once sent (a code
    // is single use), and must not be redirected.
    HttpClient::builder()
        .timeout(std::time::Duration::from_secs(10))
        .max_redirects(0)
        .retry_policy(RetryPolicy::default().max_retries(1))
        .build()
}

impl OidcProvider {
    /// Discover `issuer_url`'s metadata (`/.well-known/openid-configuration`)
    /// and build a provider for `config`. `Protocol` if the document's
    /// issuer does not match `issuer_url`.
    pub async fn discover(issuer_url: &str, config: OidcConfig) -> Result<OidcProvider> {
        let http = token_http()?;
        let metadata = discovery::discover(&http, &config.id, issuer_url).await?;
        OidcProvider::from_metadata(metadata, config)
    }

    /// Build from known metadata, without any network call.
    pub fn from_metadata(metadata: ProviderMetadata, config: OidcConfig) -> Result<OidcProvider> {
        config.validate()?;
        let keys = JwksCache::builder(metadata.jwks_uri.clone())
            .provider(config.id.clone())
            .algorithms(config.algorithms.clone())
            .build()?;
        OidcProvider::with_keys(metadata, config, keys)
    }

    /// Build from known metadata sharing an existing key cache.
    pub fn with_keys(
        metadata: ProviderMetadata,
        config: OidcConfig,
        keys: JwksCache,
    ) -> Result<OidcProvider> {
        config.validate()?;
        let issuer = IssuerRule {
            alternates: config.alternate_issuers.clone(),
            allowed_tenants: config.allowed_tenants.clone(),
            ..IssuerRule::new(metadata.issuer.clone())
        };
        issuer.validated()?;
        let rules = IdTokenRules {
            issuer,
            client_id: config.client_id.clone(),
            algorithms: config.algorithms.clone(),
            claims: crate::JwtConfig::new(metadata.issuer.clone(), config.client_id.clone())
                .leeway(config.leeway),
        };
        Ok(OidcProvider {
            config,
            metadata,
            rules,
            keys,
            http: token_http()?,
            clock: Arc::new(SystemClock),
        })
    }

    /// Google (`https://accounts.google.com`, also accepting the
    /// `accounts.google.com` spelling of `iss`), by discovery.
    pub async fn google(config: OidcConfig) -> Result<OidcProvider> {
        let config = config.alternate_issuer("accounts.google.com");
        OidcProvider::discover(GOOGLE_ISSUER, config).await
    }

    /// Microsoft identity platform v2.0 for `tenant` (a tenant id, or
    /// `common` / `organizations` with `config.allowed_tenants` listing the
    /// tenant ids accepted), by discovery.
    pub async fn microsoft(tenant: &str, config: OidcConfig) -> Result<OidcProvider> {
        let issuer = format!("{MICROSOFT_LOGIN}/{tenant}/v2.0");
        OidcProvider::discover(&issuer, config).await
    }

    /// Use `clock` for ID-token time checks (tests).
    pub fn with_clock(mut self, clock: DynClock) -> Self {
        self.clock = clock;
        self
    }

    /// The provider metadata.
    pub fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    /// The settings.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The provider's key cache.
    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }

    /// A verifier for this provider's access tokens for `audience` (your
    /// API), sharing this provider's key cache.
    pub fn access_token_verifier(&self, audience: impl Into<String>) -> Result<JwksVerifier> {
        let mut config = IssuerConfig::new(self.metadata.issuer.clone(), audience)
            .algorithms(self.config.algorithms.clone())
            .allowed_tenants(self.config.allowed_tenants.clone())
            .leeway(self.config.leeway);
        for alt in &self.config.alternate_issuers {
            config = config.alternate_issuer(alt.clone());
        }
        JwksVerifier::new(config, self.keys.clone())
    }

    /// Verify an ID token of this provider for our client; `nonce` is the
    /// login's nonce (`None` skips the nonce check). Returns its claims.
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<Map<String, Value>> {
        verify_id_token(id_token, &self.rules, &self.keys, nonce, self.clock.now())
            .await
            .map_err(|e| e.with_provider(self.config.id.clone()))
    }

    async fn token_request(
        &self,
        operation: &'static str,
        form: Vec<(&'static str, String)>,
    ) -> Result<ProviderTokens> {
        let call = Call::new(self.config.id.clone(), operation)
            .idempotent(false)
            .with_error_mapper(OAuthErrorMapper::default());
        let mut form = form;
        let secret = self.config.client_secret.as_ref();
        let basic = match (secret, self.config.token_auth) {
            (Some(secret), TokenAuthMethod::ClientSecretBasic) => {
                // RFC 6749 §2.3.1: form-encode both before Basic encoding.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                Some((enc(&self.config.client_id), enc(secret.expose_secret())))
            }
            (Some(secret), _) => {
                form.push(("client_id", self.config.client_id.clone()));
                form.push(("client_secret", secret.expose_secret().to_owned()));
                None
            }
            (None, _) => {
                form.push(("client_id", self.config.client_id.clone()));
                None
            }
        };
        let endpoint = self.metadata.token_endpoint.clone();
        let response: TokenEndpointResponse = self
            .http
            .execute_json(&call, |c| {
                let request = c
                    .post(&endpoint)
                    .header("accept", "application/json")
                    .form(&form);
                match &basic {
                    Some((id, secret)) => request.basic_auth(id, Some(secret)),
                    None => request,
                }
            })
            .await?;
        Ok(response.into_tokens())
    }
}

fn identity_from_claims(provider: &str, claims: Map<String, Value>) -> Identity {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let subject = text("sub").unwrap_or_default();
    let mut identity = Identity::new(provider, subject);
    if let Some(email) = text("email") {
        // Google sends `email_verified` as a bool; some IdPs as "true".
        let verified = match claims.get("email_verified") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        identity = identity.email(email, verified);
    }
    if let Some(name) = text("name") {
        identity = identity.name(name);
    }
    if let Some(picture) = text("picture") {
        identity = identity.picture(picture);
    }
    identity.claims(claims)
}

#[async_trait]
impl OAuthProvider for OidcProvider {
    fn id(&self) -> &str {
        &self.config.id
    }

    fn capabilities(&self) -> OAuthCapabilities {
        OAuthCapabilities {
            pkce: true,
            oidc: true,
            refresh: true,
        }
    }

    async fn authorize_url(&self, req: AuthorizeRequest) -> Result<AuthorizeRedirect> {
        let redirect_uri = req
            .redirect_uri
            .clone()
            .unwrap_or_else(|| self.config.redirect_uri.clone());
        let mut pending = PendingLogin::generate(
            self.config.id.clone(),
            redirect_uri.clone(),
            true,
            self.clock.now(),
        )?;
        pending.return_to = req.return_to.clone();
        let scopes = if req.scopes.is_empty() {
            self.config.scopes.clone()
        } else {
            req.scopes.clone()
        };
        let mut url = AuthorizeUrl::new(
            self.metadata.authorization_endpoint.clone(),
            self.config.client_id.clone(),
            redirect_uri,
        )
        .scopes(scopes)
        .for_pending(&pending);
        for (k, v) in &self.config.authorize_params {
            url = url.param(k.clone(), v.clone());
        }
        let url = url.request(&req).build()?;
        Ok(AuthorizeRedirect::new(url, pending))
    }

    async fn exchange(&self, callback: Callback, pending: PendingLogin) -> Result<Identity> {
        let code = validate_callback(&callback, &pending)?;
        let tokens = self
            .token_request(
                "exchange",
                vec![
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code.expose_secret().to_owned()),
                    ("redirect_uri", pending.redirect_uri.clone()),
                    (
                        "code_verifier",
                        pending.pkce_verifier.expose_secret().to_owned(),
                    ),
                ],
            )
            .await?;
        let id_token = tokens
            .id_token
            .as_ref()
            .ok_or_else(|| missing_id_token().with_provider(self.config.id.clone()))?;
        // A login nonce is always generated; require it back.
        let nonce = pending.nonce.as_deref().ok_or_else(|| {
            Error::invalid_input("the pending login has no nonce")
                .with_provider(self.config.id.clone())
        })?;
        let claims = self
            .verify_id_token(id_token.expose_secret(), Some(nonce))
            .await?;
        Ok(identity_from_claims(&self.config.id, claims).tokens(tokens))
    }

    async fn refresh(&self, refresh_token: &SecretString) -> Result<ProviderTokens> {
        let mut tokens = self
            .token_request(
                "refresh",
                vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", refresh_token.expose_secret().to_owned()),
                ],
            )
            .await?;
        if let Some(id_token) = &tokens.id_token {
            self.verify_id_token(id_token.expose_secret(), None).await?;
        }
        // Rotating providers (Auth0) return a new refresh token: keep it.
        // Others (Google) omit it: the old one stays valid.
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(refresh_token.clone());
        }
        Ok(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_reads_standard_claims() {
        let claims = serde_json::json!({
            "sub": "123", "email": "a@b.test", "email_verified": "true",
            "name": "A", "picture": "https://p"
        });
        let id = identity_from_claims("google", claims.as_object().unwrap().clone());
        assert_eq!(id.subject, "123");
        assert!(id.email_verified);
        assert_eq!(id.name.as_deref(), Some("A"));
        let unverified = serde_json::json!({"sub": "1", "email": "x@y"});
        let id = identity_from_claims("g", unverified.as_object().unwrap().clone());
        assert!(!id.email_verified);
    }
}
