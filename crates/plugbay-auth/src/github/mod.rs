//! GitHub OAuth login (feature `github`). GitHub is plain OAuth 2.0, not
//! OIDC: there is no ID token, so the user comes from the REST API
//! (`/user`, `/user/emails`) with the access token.
//!
//! Wire facts: the token exchange answers JSON only with
//! `Accept: application/json`, and reports errors (`bad_verification_code`,
//! `incorrect_client_credentials`, ...) as HTTP 200 bodies with an `error`
//! field; the API requires a `User-Agent`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use plugbay_core::http::{Call, HttpClient, RetryPolicy};
use plugbay_core::{Error, ErrorKind, ExposeSecret as _, Result, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::clock::{DynClock, SystemClock};
use crate::login::{
    AuthorizeRedirect, AuthorizeRequest, Callback, Identity, PendingLogin, ProviderTokens,
};
use crate::oauth::{AuthorizeUrl, validate_callback};
use crate::token_endpoint::{OAuthErrorMapper, TokenEndpointResponse};
use crate::traits::{OAuthCapabilities, OAuthProvider};

/// GitHub's authorize endpoint.
pub const GITHUB_AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
/// GitHub's token endpoint.
pub const GITHUB_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
/// GitHub's REST API.
pub const GITHUB_API_URL: &str = "https://api.github.com";

/// A GitHub OAuth (or GitHub App) client. `Debug` hides the secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct GithubConfig {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
    /// The callback URL registered for the app.
    pub redirect_uri: String,
    /// Scopes requested by default (`read:user user:email`).
    pub scopes: Vec<String>,
    /// The authorize endpoint (overridable for tests).
    pub authorize_url: String,
    /// The token endpoint (overridable for tests).
    pub token_url: String,
    /// The REST API base (overridable for tests and GitHub Enterprise).
    pub api_url: String,
}

impl fmt::Debug for GithubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl GithubConfig {
    /// A client with GitHub's public endpoints.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretString,
        redirect_uri: impl Into<String>,
    ) -> GithubConfig {
        GithubConfig {
            client_id: client_id.into(),
            client_secret,
            redirect_uri: redirect_uri.into(),
            scopes: vec!["read:user".to_owned(), "user:email".to_owned()],
            authorize_url: GITHUB_AUTHORIZE_URL.to_owned(),
            token_url: GITHUB_TOKEN_URL.to_owned(),
            api_url: GITHUB_API_URL.to_owned(),
        }
    }

    /// Replace `https://github.com` (authorize and token endpoints) and
    /// `https://api.github.com` (tests, GitHub Enterprise Server).
    pub fn base_urls(mut self, web: &str, api: &str) -> Self {
        let web = web.trim_end_matches('/');
        self.authorize_url = format!("{web}/login/oauth/authorize");
        self.token_url = format!("{web}/login/oauth/access_token");
        self.api_url = api.trim_end_matches('/').to_owned();
        self
    }

    /// Set the default scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

/// GitHub login: see the module docs.
#[derive(Clone)]
pub struct GithubProvider {
    config: GithubConfig,
    http: HttpClient,
    clock: DynClock,
}

impl fmt::Debug for GithubProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

impl GithubProvider {
    /// A provider for `config`.
    pub fn new(config: GithubConfig) -> Result<GithubProvider> {
        if config.client_id.is_empty() || config.redirect_uri.is_empty() {
            return Err(Error::config(
                "GitHub login needs a client id and a redirect URI",
            ));
        }
        let http = HttpClient::builder()
            .user_agent(concat!("plugbay-auth/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(10))
            .max_redirects(0)
            .retry_policy(RetryPolicy::default().max_retries(1))
            .build()?;
        Ok(GithubProvider {
            config,
            http,
            clock: Arc::new(SystemClock),
        })
    }

    async fn token_request(
        &self,
        operation: &'static str,
        mut form: Vec<(&'static str, String)>,
    ) -> Result<ProviderTokens> {
        form.push(("client_id", self.config.client_id.clone()));
        form.push((
            "client_secret",
            self.config.client_secret.expose_secret().to_owned(),
        ));
        let call = Call::new("github", operation)
            .idempotent(false)
            .with_error_mapper(OAuthErrorMapper {
                errors_in_200: true,
            });
        let url = self.config.token_url.clone();
        let response: TokenEndpointResponse = self
            .http
            .execute_json(&call, |c| {
                c.post(&url)
                    .header("accept", "application/json")
                    .form(&form)
            })
            .await?;
        Ok(response.into_tokens())
    }

    async fn api<T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &str,
        token: &SecretString,
    ) -> Result<T> {
        let url = format!("{}{path}", self.config.api_url);
        let call = Call::new("github", operation);
        self.http
            .execute_json(&call, |c| {
                c.get(&url)
                    .bearer_auth(token.expose_secret())
                    .header("accept", "application/vnd.github+json")
                    .header("x-github-api-version", "2022-11-28")
            })
            .await
    }

    /// The user behind `token`: `/user`, plus the primary verified address
    /// from `/user/emails` (the `/user` email is the public one, which may
    /// be absent or unverified).
    pub async fn user(&self, token: &SecretString) -> Result<Identity> {
        let user: Map<String, Value> = self.api("user", "/user", token).await?;
        let subject = match user.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(Error::protocol("GitHub user has no numeric id")
                    .with_provider("github")
                    .with_operation("user"));
            }
        };
        let mut identity = Identity::new("github", subject);
        let text = |name: &str| user.get(name).and_then(Value::as_str).map(str::to_owned);
        if let Some(name) = text("name").or_else(|| text("login")) {
            identity = identity.name(name);
        }
        if let Some(avatar) = text("avatar_url") {
            identity = identity.picture(avatar);
        }
        // Without the `user:email` scope this is 403/404: the login still
        // works, just without a verified address.
        match self
            .api::<Vec<GithubEmail>>("user_emails", "/user/emails", token)
            .await
        {
            Ok(emails) => {
                if let Some(e) = emails.into_iter().find(|e| e.primary && e.verified) {
                    identity = identity.email(e.email, true);
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::NotFound) => {}
            Err(e) => return Err(e),
        }
        Ok(identity.claims(user))
    }
}

#[async_trait]
impl OAuthProvider for GithubProvider {
    fn id(&self) -> &str {
        "github"
    }

    fn capabilities(&self) -> OAuthCapabilities {
        OAuthCapabilities {
            pkce: true,
            oidc: false,
            refresh: true,
        }
    }

    async fn authorize_url(&self, req: AuthorizeRequest) -> Result<AuthorizeRedirect> {
        let redirect_uri = req
            .redirect_uri
            .clone()
            .unwrap_or_else(|| self.config.redirect_uri.clone());
        let mut pending =
            PendingLogin::generate("github", redirect_uri.clone(), false, self.clock.now())?;
        pending.return_to = req.return_to.clone();
        let scopes = if req.scopes.is_empty() {
            self.config.scopes.clone()
        } else {
            req.scopes.clone()
        };
        let url = AuthorizeUrl::new(
            self.config.authorize_url.clone(),
            self.config.client_id.clone(),
            redirect_uri,
        )
        .scopes(scopes)
        .for_pending(&pending)
        .request(&req)
        .build()?;
        Ok(AuthorizeRedirect::new(url, pending))
    }

    async fn exchange(&self, callback: Callback, pending: PendingLogin) -> Result<Identity> {
        let code = validate_callback(&callback, &pending)?;
        let tokens = self
            .token_request(
                "exchange",
                vec![
                    ("code", code.expose_secret().to_owned()),
                    ("redirect_uri", pending.redirect_uri.clone()),
                    (
                        "code_verifier",
                        pending.pkce_verifier.expose_secret().to_owned(),
                    ),
                ],
            )
            .await?;
        let identity = self.user(&tokens.access_token).await?;
        Ok(identity.tokens(tokens))
    }

    async fn refresh(&self, refresh_token: &SecretString) -> Result<ProviderTokens> {
        // Only GitHub Apps with expiring user tokens have a refresh grant;
        // for OAuth apps GitHub answers an error, mapped like any other.
        let mut tokens = self
            .token_request(
                "refresh",
                vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", refresh_token.expose_secret().to_owned()),
                ],
            )
            .await?;
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(refresh_token.clone());
        }
        Ok(tokens)
    }
}
