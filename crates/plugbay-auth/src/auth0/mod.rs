//! Auth0 (feature `auth0`): API access-token verification, login with the
//! authorization code flow + PKCE, refresh with rotation, and cached
//! client-credentials tokens for the Management API.
//!
//! ```no_run
//! # async fn demo() -> plugbay_core::Result<()> {
//! use plugbay_auth::auth0::Auth0Builder;
//! use plugbay_auth::TokenVerifier as _;
//! let settings = plugbay_core::Settings::from_env()?;
//! let auth0 = Auth0Builder::from_settings(&settings).await?.build()?;
//! let who = auth0.verifier()?.verify("eyJ...").await?;
//! let roles = &who.roles; // from the namespaced roles claim
//! # let _ = roles; Ok(()) }
//! ```

mod config;

use plugbay_core::{Error, Result, SecretString, Settings};

pub use config::Auth0Config;

use crate::jwks::{IssuerConfig, JwksCache, JwksVerifier};
use crate::oidc::{ClientCredentials, OidcConfig, OidcProvider, ProviderMetadata};

/// Builds an [`Auth0`].
#[derive(Debug, Clone, Default)]
pub struct Auth0Builder {
    config: Auth0Config,
}

impl Auth0Builder {
    /// Read `AUTH0_DOMAIN` (required), `AUTH0_AUDIENCE`, `AUTH0_CLIENT_ID`,
    /// `AUTH0_CLIENT_SECRET` (a secret; may be a secret reference),
    /// `AUTH0_REDIRECT_URI` and `AUTH0_ROLES_CLAIM`. A domain given as an
    /// `http://` URL is taken as the base URL (a local stub or emulator).
    pub async fn from_settings(settings: &Settings) -> Result<Auth0Builder> {
        let text = |k: &str| {
            settings
                .get(k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let domain = settings.require("AUTH0_DOMAIN")?.trim().to_owned();
        let base_url = domain.starts_with("http://").then(|| domain.clone());
        Ok(Auth0Builder {
            config: Auth0Config {
                domain,
                audience: text("AUTH0_AUDIENCE"),
                client_id: text("AUTH0_CLIENT_ID"),
                client_secret: settings.secret("AUTH0_CLIENT_SECRET").await?,
                redirect_uri: text("AUTH0_REDIRECT_URI"),
                roles_claim: text("AUTH0_ROLES_CLAIM"),
                base_url,
            },
        })
    }

    /// Set the tenant domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.config.domain = domain.into();
        self
    }

    /// Set the API audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.config.audience = Some(audience.into());
        self
    }

    /// Set the application's client id and secret.
    pub fn client(mut self, client_id: impl Into<String>, secret: SecretString) -> Self {
        self.config.client_id = Some(client_id.into());
        self.config.client_secret = Some(secret);
        self
    }

    /// Set the login redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.config.redirect_uri = Some(uri.into());
        self
    }

    /// Set the (namespaced) roles claim.
    pub fn roles_claim(mut self, claim: impl Into<String>) -> Self {
        self.config.roles_claim = Some(claim.into());
        self
    }

    /// Replace `https://{domain}` (tests against a stub server).
    pub fn base_url(mut self, base: impl Into<String>) -> Self {
        self.config.base_url = Some(base.into());
        self
    }

    /// Build; `Config` without a domain. No network call is made: Auth0's
    /// endpoints are fixed, so discovery is not needed.
    pub fn build(self) -> Result<Auth0> {
        let config = self.config;
        if config.domain.trim().is_empty() && config.base_url.is_none() {
            return Err(Error::config("AUTH0_DOMAIN is required"));
        }
        let base = config.base();
        let keys = JwksCache::builder(format!("{base}/.well-known/jwks.json"))
            .provider("auth0")
            .build()?;
        Ok(Auth0 { config, keys })
    }
}

/// An Auth0 tenant: see the module docs.
#[derive(Debug, Clone)]
pub struct Auth0 {
    config: Auth0Config,
    keys: JwksCache,
}

impl Auth0 {
    /// The settings.
    pub fn config(&self) -> &Auth0Config {
        &self.config
    }

    /// The tenant's key cache (shared by the verifier and the login).
    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }

    /// The issuer, `https://{domain}/`.
    pub fn issuer(&self) -> String {
        self.config.issuer()
    }

    /// The OIDC metadata of the tenant (fixed Auth0 paths).
    pub fn metadata(&self) -> ProviderMetadata {
        let base = self.config.base();
        ProviderMetadata::new(
            self.issuer(),
            format!("{base}/authorize"),
            format!("{base}/oauth/token"),
            format!("{base}/.well-known/jwks.json"),
        )
        .userinfo_endpoint(format!("{base}/userinfo"))
    }

    /// A verifier for access tokens issued for `AUTH0_AUDIENCE`: RS256,
    /// `iss` = `https://{domain}/`, `aud` containing the audience (Auth0
    /// sends an array when `openid` was requested too), roles from the
    /// configured namespaced claim; `scope` and `permissions` become the
    /// principal's scopes. `Config` without an audience.
    pub fn verifier(&self) -> Result<JwksVerifier> {
        let audience =
            self.config.audience.clone().ok_or_else(|| {
                Error::config("AUTH0_AUDIENCE is required to verify access tokens")
            })?;
        let mut config = IssuerConfig::new(self.issuer(), audience);
        if let Some(claim) = &self.config.roles_claim {
            config = config.roles_claim(claim.clone());
        }
        JwksVerifier::new(config, self.keys.clone())
    }

    /// The login provider (authorization code + PKCE; `audience` is sent so
    /// the access token is for your API). Refresh keeps the rotated refresh
    /// token Auth0 returns. `Config` without client id or redirect URI.
    pub fn login(&self) -> Result<OidcProvider> {
        let client_id = self
            .config
            .client_id
            .clone()
            .ok_or_else(|| Error::config("AUTH0_CLIENT_ID is required for login"))?;
        let redirect = self
            .config
            .redirect_uri
            .clone()
            .ok_or_else(|| Error::config("AUTH0_REDIRECT_URI is required for login"))?;
        let mut oidc = OidcConfig::new("auth0", client_id, redirect)
            .scopes(["openid", "profile", "email", "offline_access"])
            .token_auth(crate::oidc::TokenAuthMethod::ClientSecretPost);
        if let Some(secret) = &self.config.client_secret {
            oidc = oidc.client_secret(secret.clone());
        }
        if let Some(audience) = &self.config.audience {
            oidc = oidc.authorize_param("audience", audience.clone());
        }
        OidcProvider::with_keys(self.metadata(), oidc, self.keys.clone())
    }

    /// Client-credentials tokens for the Management API
    /// (`audience=https://{domain}/api/v2/`), cached until a minute before
    /// expiry, single flight. `Config` without client id and secret.
    pub fn management(&self) -> Result<ClientCredentials> {
        self.client_credentials(self.config.management_audience())
    }

    /// Client-credentials tokens for any API `audience` of the tenant.
    pub fn client_credentials(&self, audience: impl Into<String>) -> Result<ClientCredentials> {
        let (Some(id), Some(secret)) = (&self.config.client_id, &self.config.client_secret) else {
            return Err(Error::config(
                "AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET are required for client credentials",
            ));
        };
        Ok(ClientCredentials::new(
            "auth0",
            format!("{}/oauth/token", self.config.base()),
            id.clone(),
            secret.clone(),
        )?
        .audience(audience))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    #[tokio::test]
    async fn settings_and_urls() {
        let settings = Settings::from_map([
            ("AUTH0_DOMAIN", "https://tenant.eu.auth0.com/"),
            ("AUTH0_AUDIENCE", "https://api.example.com"),
            ("AUTH0_CLIENT_ID", "cid"),
            ("AUTH0_CLIENT_SECRET", "very-secret-value"),
        ]);
        let auth0 = Auth0Builder::from_settings(&settings)
            .await
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(auth0.issuer(), "https://tenant.eu.auth0.com/");
        assert_eq!(
            auth0.config().management_audience(),
            "https://tenant.eu.auth0.com/api/v2/"
        );
        assert!(!format!("{auth0:?}").contains("very-secret-value"));
        assert_eq!(
            auth0.metadata().token_endpoint,
            "https://tenant.eu.auth0.com/oauth/token"
        );
        assert!(auth0.verifier().is_ok());
        assert_eq!(
            auth0.login().unwrap_err().kind(),
            ErrorKind::Config,
            "no redirect URI"
        );
        let stub = Settings::from_map([("AUTH0_DOMAIN", "http://127.0.0.1:9/")]);
        let stub = Auth0Builder::from_settings(&stub)
            .await
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            stub.issuer(),
            "http://127.0.0.1:9/",
            "http:// is a base URL"
        );
        assert_eq!(
            stub.metadata().jwks_uri,
            "http://127.0.0.1:9/.well-known/jwks.json"
        );
        let missing = Settings::from_map([("AUTH0_AUDIENCE", "x")]);
        assert_eq!(
            Auth0Builder::from_settings(&missing)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::Config
        );
    }
}
