//! [`OidcConfig`]: the client registration an [`super::OidcProvider`] uses.

use std::fmt;
use std::time::Duration;

use plugbay_core::{Error, Result, SecretString};

use crate::keys::JwtAlgorithm;

/// Google's issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Microsoft identity platform's login host.
pub const MICROSOFT_LOGIN: &str = "https://login.microsoftonline.com";

/// How the client authenticates at the token endpoint (OIDC Core §9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenAuthMethod {
    /// HTTP Basic with the form-encoded id and secret (the OIDC default).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// A client registered at an OpenID Connect provider. `Debug` hides the
/// client secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct OidcConfig {
    /// The provider id reported by [`crate::OAuthProvider::id`] (`"google"`,
    /// `"microsoft"`, `"auth0"`, `"oidc"`).
    pub id: String,
    /// The OAuth client id (the ID token audience).
    pub client_id: String,
    /// The client secret (`None` for public clients relying on PKCE).
    pub client_secret: Option<SecretString>,
    /// The redirect URI registered at the provider.
    pub redirect_uri: String,
    /// Scopes requested by default (`openid email profile`).
    pub scopes: Vec<String>,
    /// Extra authorize parameters sent on every login (`audience`,
    /// `access_type=offline`, ...).
    pub authorize_params: Vec<(String, String)>,
    /// Other spellings of the issuer accepted in `iss`.
    pub alternate_issuers: Vec<String>,
    /// Tenant ids accepted when the issuer is a `{tenantid}` template.
    pub allowed_tenants: Vec<String>,
    /// ID-token algorithms accepted (default RS256).
    pub algorithms: Vec<JwtAlgorithm>,
    /// Clock-skew allowance (default 10 s, capped at 30 s).
    pub leeway: Duration,
    /// Token endpoint client authentication (default `client_secret_basic`).
    pub token_auth: TokenAuthMethod,
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("allowed_tenants", &self.allowed_tenants)
            .finish_non_exhaustive()
    }
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            id: "oidc".to_owned(),
            client_id: String::new(),
            client_secret: None,
            redirect_uri: String::new(),
            scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
            authorize_params: Vec::new(),
            alternate_issuers: Vec::new(),
            allowed_tenants: Vec::new(),
            algorithms: vec![JwtAlgorithm::RS256],
            leeway: Duration::from_secs(10),
            token_auth: TokenAuthMethod::default(),
        }
    }
}

impl OidcConfig {
    /// A client `client_id` redirecting to `redirect_uri`, reported as `id`.
    pub fn new(
        id: impl Into<String>,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> OidcConfig {
        OidcConfig {
            id: id.into(),
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            ..OidcConfig::default()
        }
    }

    /// Set the client secret.
    pub fn client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
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

    /// Add an authorize parameter sent on every login.
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.push((name.into(), value.into()));
        self
    }

    /// Accept another spelling of the issuer.
    pub fn alternate_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.alternate_issuers.push(issuer.into());
        self
    }

    /// Tenant ids accepted by a `{tenantid}` issuer (Microsoft `common` /
    /// `organizations`).
    pub fn allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_tenants = tenants.into_iter().map(Into::into).collect();
        self
    }

    /// Pin the ID-token algorithms.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = JwtAlgorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Set the leeway (capped at 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(crate::jwt::MAX_LEEWAY);
        self
    }

    /// Set the token endpoint client authentication.
    pub fn token_auth(mut self, method: TokenAuthMethod) -> Self {
        self.token_auth = method;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.client_id.trim().is_empty() {
            return Err(Error::config("the OIDC client id must not be empty"));
        }
        if self.redirect_uri.trim().is_empty() {
            return Err(Error::config("the OIDC redirect URI must not be empty"));
        }
        if self.algorithms.is_empty() || self.algorithms.iter().any(|a| a.is_symmetric()) {
            return Err(Error::config(
                "pin at least one asymmetric ID-token algorithm",
            ));
        }
        Ok(())
    }
}
