//! Access-token claims: what the signer writes and how the verifier reads
//! them back into a [`Principal`].

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugbay_core::{Error, ErrorKind, Result};
use serde_json::{Map, Value};

use super::JwtConfig;
use crate::types::{Principal, Subject};

/// Claims the issuer owns; a [`Subject`] may not set them.
const REGISTERED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "sid",
    "scope",
    "scp",
    "permissions",
    "typ",
    "azp",
    "client_id",
    "auth_time",
    "nonce",
];

/// Longest subject id accepted at issue time, in bytes.
const MAX_SUBJECT_LEN: usize = 255;

pub(crate) fn unauthenticated(reason: &'static str, message: &'static str) -> Error {
    Error::new(ErrorKind::Unauthenticated, message)
        .with_provider("jwt")
        .with_operation("verify")
        .with_context("reason", reason)
}

/// Check a subject before signing for it.
pub(super) fn validate_subject(subject: &Subject, config: &JwtConfig) -> Result<()> {
    if subject.id.is_empty() || subject.id.len() > MAX_SUBJECT_LEN {
        return Err(Error::invalid_input(format!(
            "subject id must be 1-{MAX_SUBJECT_LEN} bytes"
        )));
    }
    if subject.id.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            "subject id must not contain control characters",
        ));
    }
    // RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`.
    let bad_scope = subject.scopes.iter().find(|s| {
        s.is_empty()
            || !s
                .bytes()
                .all(|c| c == 0x21 || (0x23..=0x5B).contains(&c) || (0x5D..=0x7E).contains(&c))
    });
    if let Some(scope) = bad_scope {
        return Err(Error::invalid_input(format!(
            "invalid scope token {scope:?}"
        )));
    }
    if let Some(name) = subject
        .claims
        .keys()
        .find(|k| REGISTERED.contains(&k.as_str()) || **k == config.roles_claim)
    {
        return Err(Error::invalid_input(format!(
            "private claim `{name}` would shadow a registered claim"
        )));
    }
    Ok(())
}

/// The claims of an access token for `subject`.
pub(super) fn access_claims(
    subject: &Subject,
    config: &JwtConfig,
    session_id: &str,
    token_id: &str,
    issued_at: u64,
    expires_at: u64,
) -> Map<String, Value> {
    let mut claims = subject.claims.clone();
    claims.insert("iss".into(), config.issuer.clone().into());
    claims.insert("sub".into(), subject.id.clone().into());
    let aud = match config.audience.as_slice() {
        [one] => Value::from(one.clone()),
        many => Value::from(many.to_vec()),
    };
    claims.insert("aud".into(), aud);
    claims.insert("iat".into(), issued_at.into());
    claims.insert("exp".into(), expires_at.into());
    claims.insert("jti".into(), token_id.into());
    claims.insert("sid".into(), session_id.into());
    if !subject.scopes.is_empty() {
        let scope = subject
            .scopes
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        claims.insert("scope".into(), scope.into());
    }
    if !subject.roles.is_empty() {
        let roles: Vec<Value> = subject.roles.iter().cloned().map(Value::from).collect();
        claims.insert(config.roles_claim.clone(), roles.into());
    }
    claims
}

/// Read a verified claim set into a [`Principal`], checking issuer,
/// audience and the time claims against our clock and refusing wrongly
/// typed claims.
pub(crate) fn principal_from_claims(
    claims: Map<String, Value>,
    config: &JwtConfig,
    now: SystemTime,
) -> Result<Principal> {
    check_claims(claims, config, &|iss, _| iss == config.issuer, now)
}

fn missing_or_wrong(name: &'static str) -> Error {
    let message = match name {
        "exp" => "token claim `exp` is missing or has the wrong type",
        "iss" => "token claim `iss` is missing or has the wrong type",
        "aud" => "token claim `aud` is missing or has the wrong type",
        _ => "token claim `sub` is missing or has the wrong type",
    };
    unauthenticated("missing_claim", message)
}

/// [`principal_from_claims`] with a custom issuer rule (several spellings,
/// tenant templates): `issuer_ok(iss, claims)`.
pub(crate) fn check_claims(
    claims: Map<String, Value>,
    config: &JwtConfig,
    issuer_ok: &dyn Fn(&str, &Map<String, Value>) -> bool,
    now: SystemTime,
) -> Result<Principal> {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let leeway = config.leeway.min(super::MAX_LEEWAY).as_secs();

    let subject = string_claim(&claims, "sub")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing_or_wrong("sub"))?;
    let issuer = string_claim(&claims, "iss")?.ok_or_else(|| missing_or_wrong("iss"))?;
    if !issuer_ok(&issuer, &claims) {
        return Err(unauthenticated("issuer", "token issuer is not accepted"));
    }
    let audience = string_or_list(&claims, "aud")?;
    if audience.is_empty() {
        return Err(missing_or_wrong("aud"));
    }
    if !audience.iter().any(|a| config.audience.contains(a)) {
        return Err(unauthenticated(
            "audience",
            "token audience is not accepted",
        ));
    }

    let exp = time_claim(&claims, "exp")?.ok_or_else(|| missing_or_wrong("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(unauthenticated("expired", "token expired"));
    }
    if let Some(nbf) = time_claim(&claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(unauthenticated(
            "not_yet_valid",
            "token is not valid yet (nbf)",
        ));
    }
    if let Some(iat) = time_claim(&claims, "iat")?
        && iat > now.saturating_add(leeway)
    {
        return Err(unauthenticated(
            "issued_in_future",
            "token was issued in the future (iat)",
        ));
    }

    let mut scopes: BTreeSet<String> = BTreeSet::new();
    if let Some(scope) = string_claim(&claims, "scope")? {
        scopes.extend(scope.split_whitespace().map(str::to_owned));
    }
    // Microsoft writes `scp` as a space-separated string, others as an array.
    for name in ["scp", "permissions"] {
        for value in string_or_list(&claims, name)? {
            scopes.extend(value.split_whitespace().map(str::to_owned));
        }
    }
    let roles: BTreeSet<String> = string_or_list(&claims, &config.roles_claim)?
        .into_iter()
        .collect();
    let session_id = string_claim(&claims, "sid")?;
    let token_id = string_claim(&claims, "jti")?;

    Ok(Principal {
        subject,
        issuer,
        audience,
        scopes,
        roles,
        session_id,
        token_id,
        expires_at: Some(UNIX_EPOCH + Duration::from_secs(exp)),
        claims,
    })
}

fn wrong_type(name: &str) -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        format!("token claim `{name}` is missing or has the wrong type"),
    )
    .with_provider("jwt")
    .with_operation("verify")
    .with_context("reason", "claim_type")
}

pub(crate) fn string_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(name)),
    }
}

pub(crate) fn string_or_list(claims: &Map<String, Value>, name: &str) -> Result<Vec<String>> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| wrong_type(name))
            })
            .collect(),
        Some(_) => Err(wrong_type(name)),
    }
}

/// A NumericDate (RFC 7519 §2): a non-negative JSON number, fractions
/// truncated. Strings are refused, closing the claim-type bypass.
pub(crate) fn time_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(v) = n.as_u64() {
                return Ok(Some(v));
            }
            match n.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 && f < u64::MAX as f64 => Ok(Some(f as u64)),
                _ => Err(wrong_type(name)),
            }
        }
        Some(_) => Err(wrong_type(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> JwtConfig {
        JwtConfig::new("iss", "api")
    }

    fn base(now: u64) -> Map<String, Value> {
        json!({"sub": "u1", "iss": "iss", "aud": "api", "exp": now + 60, "iat": now})
            .as_object()
            .unwrap()
            .clone()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn scopes_come_from_scope_scp_and_permissions() {
        let mut c = base(1000);
        c.insert("scope".into(), json!("a b"));
        c.insert("scp".into(), json!("c d"));
        c.insert("permissions".into(), json!(["e"]));
        c.insert("roles".into(), json!(["admin"]));
        let p = principal_from_claims(c, &config(), at(1000)).unwrap();
        assert_eq!(
            p.scopes.iter().map(String::as_str).collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e"]
        );
        assert!(p.has_role("admin"));
        assert_eq!(p.expires_at, Some(at(1060)));
    }

    #[test]
    fn time_checks_use_the_leeway() {
        let cfg = config().leeway(Duration::from_secs(10));
        let mut c = base(1000);
        c.insert("iat".into(), json!(1009));
        assert!(principal_from_claims(c.clone(), &cfg, at(1000)).is_ok());
        c.insert("iat".into(), json!(1011));
        let err = principal_from_claims(c, &cfg, at(1000)).unwrap_err();
        assert!(err.message().contains("issued in the future"));
        let err = principal_from_claims(base(1000), &cfg, at(1070)).unwrap_err();
        assert_eq!(err.message(), "token expired");
    }

    #[test]
    fn wrongly_typed_claims_are_refused() {
        for (name, value) in [
            ("exp", json!("9999999999")),
            ("iat", json!(-5)),
            ("sub", json!(42)),
            ("aud", json!([1])),
            ("scope", json!(["a"])),
            ("iss", json!(["iss"])),
        ] {
            let mut c = base(1000);
            c.insert(name.into(), value);
            let err = principal_from_claims(c, &config(), at(1000)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{name}");
        }
    }

    #[test]
    fn subject_validation() {
        let cfg = config();
        assert!(validate_subject(&Subject::new("u1").scopes(["read:x"]), &cfg).is_ok());
        for bad in [
            Subject::new(""),
            Subject::new("a\nb"),
            Subject::new("u").scopes(["two words"]),
            Subject::new("u").claim("exp", json!(1)),
            Subject::new("u").claim("roles", json!(["x"])),
        ] {
            assert_eq!(
                validate_subject(&bad, &cfg).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }
}
