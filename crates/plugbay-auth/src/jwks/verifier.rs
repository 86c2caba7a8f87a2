//! [`JwksVerifier`]: access tokens of one external issuer (Auth0, Okta,
//! Keycloak, Microsoft, any OIDC provider), checked against its JWKS.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plugbay_core::{Error, Result};
use serde_json::{Map, Value};

use super::cache::JwksCache;
use crate::clock::{DynClock, SystemClock};
use crate::jwt::claims::{check_claims, string_claim, unauthenticated};
use crate::jwt::{JwtConfig, MAX_LEEWAY, core};
use crate::keys::{JwtAlgorithm, validate_kid};
use crate::traits::{TokenVerifier, VerifierCapabilities};
use crate::types::Principal;

/// The placeholder Microsoft's multi-tenant discovery puts in `issuer`.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Which `iss` values an issuer's tokens may carry.
///
/// An exact issuer plus alternate spellings (Google signs with both
/// `https://accounts.google.com` and `accounts.google.com`), or a template
/// containing `{tenantid}` (Microsoft `common` / `organizations`), which
/// is filled from the token's `tid` claim, and only for tenants on the
/// allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerRule {
    /// The issuer (or the `{tenantid}` template).
    pub issuer: String,
    /// Other accepted spellings.
    pub alternates: Vec<String>,
    /// Tenant ids accepted when `issuer` is a template.
    pub allowed_tenants: Vec<String>,
}

impl IssuerRule {
    /// A rule for `issuer`.
    pub fn new(issuer: impl Into<String>) -> IssuerRule {
        IssuerRule {
            issuer: issuer.into(),
            alternates: Vec::new(),
            allowed_tenants: Vec::new(),
        }
    }

    /// Whether `issuer` is a `{tenantid}` template.
    pub fn is_template(&self) -> bool {
        self.issuer.contains(TENANT_PLACEHOLDER)
    }

    /// Whether a token with `iss` and `claims` comes from this issuer.
    pub fn accepts(&self, iss: &str, claims: &Map<String, Value>) -> bool {
        if self.is_template() {
            let Some(tid) = claims.get("tid").and_then(Value::as_str) else {
                return false;
            };
            return self.allowed_tenants.iter().any(|t| t == tid)
                && self.issuer.replace(TENANT_PLACEHOLDER, tid) == iss;
        }
        iss == self.issuer || self.alternates.iter().any(|a| a == iss)
    }

    pub(crate) fn validated(&self) -> Result<()> {
        if self.issuer.trim().is_empty() {
            return Err(Error::config("the issuer must not be empty"));
        }
        if self.is_template() && self.allowed_tenants.is_empty() {
            return Err(Error::config(
                "a multi-tenant issuer ({tenantid}) needs an allow-list of tenant ids",
            ));
        }
        Ok(())
    }
}

/// Settings for verifying one issuer's access tokens.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IssuerConfig {
    /// Which `iss` values are accepted.
    pub issuer: IssuerRule,
    /// The API audiences; an access token must name one. Required.
    pub audience: Vec<String>,
    /// The algorithms accepted, pinned here, never read from a token
    /// (default RS256). HS256 is refused.
    pub algorithms: Vec<JwtAlgorithm>,
    /// Clock-skew allowance, capped at 30 s (default 10 s).
    pub leeway: Duration,
    /// The claim holding roles (Auth0: a namespaced claim such as
    /// `https://example.com/roles`).
    pub roles_claim: String,
    /// Require `typ: at+jwt` (RFC 9068). Off by default because Auth0 and
    /// Microsoft do not set it; the API audience (and the refusal of tokens
    /// carrying ID-token claims) then tells access tokens from ID tokens.
    pub require_access_token_type: bool,
}

impl IssuerConfig {
    /// Settings for tokens from `issuer` for `audience`, RS256.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> IssuerConfig {
        IssuerConfig {
            issuer: IssuerRule::new(issuer),
            audience: vec![audience.into()],
            algorithms: vec![JwtAlgorithm::RS256],
            leeway: Duration::from_secs(10),
            roles_claim: "roles".to_owned(),
            require_access_token_type: false,
        }
    }

    /// Replace the accepted audiences.
    pub fn audiences<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// Also accept `issuer` spelled this way.
    pub fn alternate_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer.alternates.push(issuer.into());
        self
    }

    /// Tenant ids accepted by a `{tenantid}` issuer template.
    pub fn allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.issuer.allowed_tenants = tenants.into_iter().map(Into::into).collect();
        self
    }

    /// Pin the accepted algorithms.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = JwtAlgorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Set the leeway (capped at 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY);
        self
    }

    /// Set the roles claim.
    pub fn roles_claim(mut self, claim: impl Into<String>) -> Self {
        self.roles_claim = claim.into();
        self
    }

    /// Require `typ: at+jwt`.
    pub fn require_access_token_type(mut self, yes: bool) -> Self {
        self.require_access_token_type = yes;
        self
    }

    fn validated(mut self) -> Result<IssuerConfig> {
        self.issuer.validated()?;
        if self.audience.is_empty() || self.audience.iter().any(|a| a.trim().is_empty()) {
            return Err(Error::config(
                "access-token verification needs at least one API audience",
            ));
        }
        if self.algorithms.is_empty() || self.algorithms.iter().any(|a| a.is_symmetric()) {
            return Err(Error::config(
                "pin at least one asymmetric algorithm; HMAC never comes from a JWKS",
            ));
        }
        if self.roles_claim.is_empty() {
            return Err(Error::config("roles claim name must not be empty"));
        }
        self.leeway = self.leeway.min(MAX_LEEWAY);
        Ok(self)
    }

    pub(crate) fn claim_config(&self) -> JwtConfig {
        JwtConfig::new(self.issuer.issuer.clone(), "")
            .audiences(self.audience.clone())
            .leeway(self.leeway)
            .roles_claim(self.roles_claim.clone())
    }
}

/// Verifies access tokens of one issuer against its JWKS.
///
/// ```no_run
/// # async fn demo() -> plugbay_core::Result<()> {
/// use plugbay_auth::{IssuerConfig, JwksCache, JwksVerifier, TokenVerifier};
/// let keys = JwksCache::builder("https://tenant.eu.auth0.com/.well-known/jwks.json").build()?;
/// let verifier = JwksVerifier::new(
///     IssuerConfig::new("https://tenant.eu.auth0.com/", "https://api.example.com"),
///     keys,
/// )?;
/// let who = verifier.verify("eyJ...").await?;
/// # let _ = who; Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksVerifier {
    config: IssuerConfig,
    claims: JwtConfig,
    keys: JwksCache,
    clock: DynClock,
}

impl fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("issuer", &self.config.issuer.issuer)
            .field("audience", &self.config.audience)
            .field("algorithms", &self.config.algorithms)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl JwksVerifier {
    /// A verifier for `config` with keys from `keys`. `Config` error for
    /// unusable settings. The verifier only uses keys whose algorithm is
    /// pinned in both `config` and `keys`.
    pub fn new(config: IssuerConfig, keys: JwksCache) -> Result<JwksVerifier> {
        let config = config.validated()?;
        let claims = config.claim_config();
        Ok(JwksVerifier {
            config,
            claims,
            keys,
            clock: Arc::new(SystemClock),
        })
    }

    /// Use `clock` for `exp` / `nbf` / `iat`.
    pub fn with_clock(mut self, clock: DynClock) -> Self {
        self.clock = clock;
        self
    }

    /// The settings in use.
    pub fn config(&self) -> &IssuerConfig {
        &self.config
    }

    /// The key cache.
    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }

    /// Verify `token` as an access token of this issuer.
    pub async fn verify_access_token(&self, token: &str) -> Result<Principal> {
        let parsed = core::parse(token)?;
        let at_jwt = parsed.header.is_access_token_type();
        if self.config.require_access_token_type && !at_jwt {
            return Err(unauthenticated(
                "not_access_token",
                "not an access token (typ must be at+jwt)",
            ));
        }
        let (claims, _) = verify_signature(&parsed, &self.config.algorithms, &self.keys).await?;
        if !at_jwt && looks_like_id_token(&claims) {
            return Err(unauthenticated(
                "not_access_token",
                "not an access token (it carries ID token claims)",
            ));
        }
        check_claims(
            claims,
            &self.claims,
            &|iss, claims| self.config.issuer.accepts(iss, claims),
            self.clock.now(),
        )
    }
}

/// Pinned algorithm, key lookup by kid, signature: the part shared with the
/// ID-token verifier. Returns the claims and the algorithm.
pub(crate) async fn verify_signature(
    parsed: &core::ParsedToken<'_>,
    algorithms: &[JwtAlgorithm],
    keys: &JwksCache,
) -> Result<(Map<String, Value>, JwtAlgorithm)> {
    // Decided before any key lookup, so a token with a foreign algorithm
    // (HS256, none, PS512) can never cause a fetch.
    let Some(alg) = algorithms
        .iter()
        .copied()
        .find(|a| a.as_str() == parsed.alg)
    else {
        return Err(unauthenticated(
            "algorithm",
            "token algorithm is not accepted",
        ));
    };
    let kid = match &parsed.header.kid {
        None | Some(Value::Null) => None,
        Some(Value::String(kid)) => {
            validate_kid(kid)
                .map_err(|_| unauthenticated("malformed", "token key id (kid) is malformed"))?;
            Some(kid.as_str())
        }
        Some(_) => {
            return Err(unauthenticated(
                "malformed",
                "token key id (kid) is malformed",
            ));
        }
    };
    let key = keys.key(kid, alg).await?;
    Ok((parsed.verify_with(&key)?, alg))
}

/// ID tokens carry `nonce` / `at_hash` / `c_hash`; access tokens never do.
fn looks_like_id_token(claims: &Map<String, Value>) -> bool {
    ["nonce", "at_hash", "c_hash"]
        .iter()
        .any(|c| claims.contains_key(*c))
}

#[async_trait]
impl TokenVerifier for JwksVerifier {
    fn capabilities(&self) -> VerifierCapabilities {
        VerifierCapabilities::default().offline(self.keys.is_loaded())
    }

    async fn verify(&self, token: &str) -> Result<Principal> {
        self.verify_access_token(token).await
    }
}

/// The unverified `iss` of a token, for routing only.
pub(crate) fn unverified_issuer(token: &str) -> Result<(String, Map<String, Value>)> {
    let parsed = core::parse(token)?;
    let claims = parsed.unverified_claims()?;
    let iss = string_claim(&claims, "iss")?.ok_or_else(|| {
        unauthenticated(
            "missing_claim",
            "token claim `iss` is missing or has the wrong type",
        )
    })?;
    Ok((iss, claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn issuer_rules() {
        let google = IssuerRule {
            alternates: vec!["accounts.google.com".into()],
            ..IssuerRule::new("https://accounts.google.com")
        };
        let none = Map::new();
        assert!(google.accepts("https://accounts.google.com", &none));
        assert!(google.accepts("accounts.google.com", &none));
        assert!(!google.accepts("https://accounts.google.com/", &none));

        let ms = IssuerRule {
            allowed_tenants: vec!["t1".into()],
            ..IssuerRule::new("https://login.microsoftonline.com/{tenantid}/v2.0")
        };
        let t1 = json!({"tid": "t1"}).as_object().unwrap().clone();
        let t2 = json!({"tid": "t2"}).as_object().unwrap().clone();
        assert!(ms.accepts("https://login.microsoftonline.com/t1/v2.0", &t1));
        assert!(!ms.accepts("https://login.microsoftonline.com/t2/v2.0", &t2));
        assert!(!ms.accepts("https://login.microsoftonline.com/t2/v2.0", &t1));
        assert!(!ms.accepts("https://login.microsoftonline.com/t1/v2.0", &none));
        let open = IssuerRule::new("https://login.microsoftonline.com/{tenantid}/v2.0");
        assert!(open.validated().is_err(), "templates need an allow-list");
    }

    #[test]
    fn config_validation() {
        let ok = IssuerConfig::new("https://i/", "api");
        assert!(ok.clone().validated().is_ok());
        for bad in [
            ok.clone().audiences(Vec::<String>::new()),
            ok.clone().algorithms([JwtAlgorithm::HS256]),
            ok.clone().algorithms([]),
            IssuerConfig::new("", "api"),
        ] {
            assert_eq!(
                bad.validated().unwrap_err().kind(),
                plugbay_core::ErrorKind::Config
            );
        }
        assert_eq!(ok.leeway(Duration::from_secs(99)).leeway, MAX_LEEWAY);
    }
}
