//! OpenID Connect Discovery 1.0: `/.well-known/openid-configuration`.

use plugbay_core::http::{Call, HttpClient};
use plugbay_core::{Error, Result};
use serde::Deserialize;

use crate::jwks::TENANT_PLACEHOLDER;

/// The provider metadata fields plugbay uses (OIDC Discovery §3); unknown
/// fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier (`iss` of its tokens; may be a `{tenantid}`
    /// template for Microsoft's multi-tenant endpoints).
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are redeemed.
    pub token_endpoint: String,
    /// The signing keys.
    pub jwks_uri: String,
    /// The UserInfo endpoint.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// RP-initiated logout.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// Token revocation (RFC 7009).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// ID token algorithms the provider signs with.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// PKCE methods supported (absent on many providers that do support S256).
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// Scopes supported.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

impl ProviderMetadata {
    /// Metadata with the three required endpoints (for providers configured
    /// without discovery).
    pub fn new(
        issuer: impl Into<String>,
        authorization_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
        jwks_uri: impl Into<String>,
    ) -> ProviderMetadata {
        ProviderMetadata {
            issuer: issuer.into(),
            authorization_endpoint: authorization_endpoint.into(),
            token_endpoint: token_endpoint.into(),
            jwks_uri: jwks_uri.into(),
            ..ProviderMetadata::default()
        }
    }

    /// Set the UserInfo endpoint.
    pub fn userinfo_endpoint(mut self, url: impl Into<String>) -> Self {
        self.userinfo_endpoint = Some(url.into());
        self
    }
}

/// The discovery URL of `issuer`.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Whether the metadata's `issuer` is acceptable for a document fetched
/// for `requested` (OIDC Discovery §4.3: they must be identical). The one
/// exception is Microsoft's multi-tenant documents, whose issuer is a
/// `{tenantid}` template standing for the requested `common` /
/// `organizations` / `consumers` segment.
pub(crate) fn issuer_matches(requested: &str, published: &str) -> bool {
    let norm = |s: &str| s.trim_end_matches('/').to_owned();
    if norm(requested) == norm(published) {
        // Trailing-slash differences matter for `iss` (Auth0 keeps the
        // slash), so the published value is the one used afterwards.
        return true;
    }
    if published.contains(TENANT_PLACEHOLDER) {
        return ["common", "organizations", "consumers"]
            .iter()
            .any(|t| norm(&published.replace(TENANT_PLACEHOLDER, t)) == norm(requested));
    }
    false
}

/// Fetch and check the discovery document of `issuer`.
pub(crate) async fn discover(
    http: &HttpClient,
    provider: &str,
    issuer: &str,
) -> Result<ProviderMetadata> {
    let url = discovery_url(issuer);
    let call = Call::new(provider.to_owned(), "discovery");
    let metadata: ProviderMetadata = http.execute_json(&call, |c| c.get(&url)).await?;
    if !issuer_matches(issuer, &metadata.issuer) {
        return Err(Error::protocol(format!(
            "discovery document issuer `{}` does not match `{issuer}`",
            metadata.issuer
        ))
        .with_provider(provider.to_owned())
        .with_operation("discovery"));
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_matching() {
        assert!(issuer_matches("https://a.test", "https://a.test/"));
        assert!(!issuer_matches("https://a.test", "https://evil.test"));
        let ms = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(issuer_matches(
            "https://login.microsoftonline.com/common/v2.0",
            ms
        ));
        assert!(issuer_matches(
            "https://login.microsoftonline.com/organizations/v2.0",
            ms
        ));
        assert!(!issuer_matches(
            "https://login.microsoftonline.com/evil/v2.0",
            ms
        ));
        assert_eq!(
            discovery_url("https://x.test/"),
            "https://x.test/.well-known/openid-configuration"
        );
    }
}
