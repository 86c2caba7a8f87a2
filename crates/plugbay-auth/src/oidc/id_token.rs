//! ID token validation (OIDC Core §3.1.3.7): signature with a JWKS key of a
//! pinned algorithm, `iss` (with alternates and tenant templates), `aud`
//! containing our client id, `azp` when several audiences, `exp`/`iat`,
//! and the `nonce` of the login.

use std::time::SystemTime;

use plugbay_core::{Error, ErrorKind, Result};
use serde_json::{Map, Value};

use crate::crypto::constant_time_eq;
use crate::jwks::{IssuerRule, JwksCache, verify_signature};
use crate::jwt::claims::{check_claims, string_claim, string_or_list, unauthenticated};
use crate::jwt::{JwtConfig, core};
use crate::keys::JwtAlgorithm;

/// What an ID token must satisfy.
#[derive(Debug, Clone)]
pub(crate) struct IdTokenRules {
    pub(crate) issuer: IssuerRule,
    pub(crate) client_id: String,
    pub(crate) algorithms: Vec<JwtAlgorithm>,
    pub(crate) claims: JwtConfig,
}

fn id_error(reason: &'static str, message: &'static str) -> Error {
    Error::new(ErrorKind::Unauthenticated, message)
        .with_operation("id_token")
        .with_context("reason", reason)
}

/// Verify `token` and return its claims. `nonce` is the login's nonce:
/// `Some` requires an equal `nonce` claim; `None` (a refresh) requires the
/// claim to be absent or is not checked, per OIDC Core §12.2.
pub(crate) async fn verify_id_token(
    token: &str,
    rules: &IdTokenRules,
    keys: &JwksCache,
    nonce: Option<&str>,
    now: SystemTime,
) -> Result<Map<String, Value>> {
    let parsed = core::parse(token)?;
    let (claims, _) = verify_signature(&parsed, &rules.algorithms, keys).await?;
    let principal = check_claims(
        claims,
        &rules.claims,
        &|iss, claims| rules.issuer.accepts(iss, claims),
        now,
    )?;
    let claims = principal.claims;
    let audience = string_or_list(&claims, "aud")?;
    // §3.1.3.7 items 4-5: several audiences need azp, and azp must be us.
    let azp = string_claim(&claims, "azp")?;
    if audience.len() > 1 && azp.is_none() {
        return Err(id_error(
            "azp",
            "ID token has several audiences but no authorized party (azp)",
        ));
    }
    if let Some(azp) = azp
        && azp != rules.client_id
    {
        return Err(id_error(
            "azp",
            "ID token was issued to another client (azp)",
        ));
    }
    if let Some(expected) = nonce {
        let got = string_claim(&claims, "nonce")?;
        if !got.is_some_and(|got| constant_time_eq(&got, expected)) {
            return Err(id_error("nonce", "ID token nonce does not match the login"));
        }
    }
    Ok(claims)
}

/// `Unauthenticated` with the check's name when a token endpoint omitted
/// the ID token an OIDC login needs.
pub(crate) fn missing_id_token() -> Error {
    unauthenticated("missing_id_token", "the token response has no ID token")
}
