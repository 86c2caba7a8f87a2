//! [`Auth0Config`]: an Auth0 tenant and the application registered in it.

use std::fmt;

use plugbay_core::SecretString;

/// An Auth0 tenant, API and application. `Debug` hides the client secret.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Auth0Config {
    /// The tenant domain (`AUTH0_DOMAIN`), e.g. `example.eu.auth0.com` or a
    /// custom domain; a leading `https://` and trailing `/` are removed.
    pub domain: String,
    /// The API identifier access tokens are issued for (`AUTH0_AUDIENCE`).
    pub audience: Option<String>,
    /// The application's client id (`AUTH0_CLIENT_ID`), for login and M2M.
    pub client_id: Option<String>,
    /// The application's client secret (`AUTH0_CLIENT_SECRET`).
    pub client_secret: Option<SecretString>,
    /// The login redirect URI (`AUTH0_REDIRECT_URI`).
    pub redirect_uri: Option<String>,
    /// The claim holding roles, usually namespaced by an Action
    /// (`AUTH0_ROLES_CLAIM`, e.g. `https://example.com/roles`).
    pub roles_claim: Option<String>,
    /// Replace `https://{domain}` as the base of every URL (tests against
    /// a stub; the issuer becomes `{base_url}/`).
    pub base_url: Option<String>,
}

impl fmt::Debug for Auth0Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth0Config")
            .field("domain", &self.domain)
            .field("audience", &self.audience)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("roles_claim", &self.roles_claim)
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl Auth0Config {
    /// The base URL: `https://{domain}` unless overridden.
    pub fn base(&self) -> String {
        match &self.base_url {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => {
                let domain = self
                    .domain
                    .trim()
                    .trim_start_matches("https://")
                    .trim_end_matches('/');
                format!("https://{domain}")
            }
        }
    }

    /// The issuer: `https://{domain}/`, with the trailing slash Auth0 puts
    /// in `iss`.
    pub fn issuer(&self) -> String {
        format!("{}/", self.base())
    }

    /// The Management API audience: `https://{domain}/api/v2/`.
    pub fn management_audience(&self) -> String {
        format!("{}/api/v2/", self.base())
    }
}
