//! What every OAuth 2.0 token endpoint shares: the response shape
//! (RFC 6749 §5.1) and the error mapping (§5.2), including errors that
//! arrive inside HTTP 200 bodies (GitHub).

use std::time::Duration;

use plugbay_core::http::{DefaultErrorMapper, ErrorMapper, ResponseParts};
use plugbay_core::{Error, ErrorKind, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::login::ProviderTokens;

/// Maps OAuth 2.0 error bodies (`{"error": "invalid_grant", ...}`) to
/// kinds: a rejected code or refresh token is `Unauthenticated`, a client
/// misconfiguration is `Config`, `access_denied` is `PermissionDenied`.
/// Statuses without a known code fall back to the default mapper.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OAuthErrorMapper {
    pub(crate) errors_in_200: bool,
}

fn oauth_kind(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "invalid_grant"
        | "bad_verification_code"
        | "bad_refresh_token"
        | "expired_token"
        | "invalid_token"
        | "token_expired" => ErrorKind::Unauthenticated,
        "invalid_client"
        | "unauthorized_client"
        | "incorrect_client_credentials"
        | "redirect_uri_mismatch"
        | "unsupported_grant_type" => ErrorKind::Config,
        "access_denied" | "consent_required" | "interaction_required" => {
            ErrorKind::PermissionDenied
        }
        "invalid_request" | "invalid_scope" | "unsupported_response_type" => {
            ErrorKind::InvalidInput
        }
        "slow_down" => ErrorKind::RateLimited,
        "temporarily_unavailable" => ErrorKind::Unavailable,
        _ => return None,
    })
}

fn oauth_error(parts: &ResponseParts<'_>) -> Option<(String, Option<String>)> {
    let body: Value = serde_json::from_slice(parts.body).ok()?;
    let code = body.get("error")?.as_str()?.to_owned();
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .map(|d| d.chars().take(200).collect());
    Some((code, description))
}

fn build(code: String, description: Option<String>, status: u16, fallback: ErrorKind) -> Error {
    let kind = oauth_kind(&code).unwrap_or(fallback);
    let message = match &description {
        Some(d) => format!("token endpoint refused the request: {code}: {d}"),
        None => format!("token endpoint refused the request: {code}"),
    };
    Error::new(kind, plugbay_core::redact::redact(&message))
        .with_provider_code(code)
        .with_status(status)
}

impl ErrorMapper for OAuthErrorMapper {
    fn map_error(&self, parts: &ResponseParts<'_>) -> Error {
        match oauth_error(parts) {
            Some((code, description)) => build(
                code,
                description,
                parts.status.as_u16(),
                ErrorKind::from_status(parts.status.as_u16()),
            ),
            None => DefaultErrorMapper::new().map_error(parts),
        }
    }

    fn error_in_success(&self, parts: &ResponseParts<'_>) -> Option<Error> {
        if !self.errors_in_200 {
            return None;
        }
        let (code, description) = oauth_error(parts)?;
        Some(
            build(
                code,
                description,
                parts.status.as_u16(),
                ErrorKind::InvalidInput,
            )
            .with_context("error_in", "2xx body"),
        )
    }
}

/// A token endpoint's success body (RFC 6749 §5.1), tolerant of extras.
#[derive(Deserialize)]
pub(crate) struct TokenEndpointResponse {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) token_type: Option<String>,
    #[serde(default)]
    pub(crate) expires_in: Option<Value>,
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
    #[serde(default)]
    pub(crate) id_token: Option<String>,
    #[serde(default)]
    pub(crate) scope: Option<String>,
}

impl TokenEndpointResponse {
    /// Into [`ProviderTokens`]. Scopes are split on spaces and commas
    /// (GitHub writes `repo,gist`). `expires_in` may be a number or a
    /// numeric string (some providers quote it).
    pub(crate) fn into_tokens(self) -> ProviderTokens {
        let mut tokens = ProviderTokens::new(SecretString::from(self.access_token));
        if let Some(t) = self.token_type {
            tokens.token_type = t;
        }
        let expires = match self.expires_in {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        if let Some(secs) = expires {
            tokens = tokens.expires_in(Duration::from_secs(secs));
        }
        if let Some(r) = self.refresh_token.filter(|r| !r.is_empty()) {
            tokens = tokens.refresh_token(SecretString::from(r));
        }
        if let Some(id) = self.id_token.filter(|t| !t.is_empty()) {
            tokens = tokens.id_token(SecretString::from(id));
        }
        if let Some(scope) = self.scope {
            tokens = tokens.scopes(
                scope
                    .split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        }
        tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ExposeSecret as _;
    use plugbay_core::http::{HeaderMap, StatusCode};

    #[test]
    fn oauth_errors_map_to_kinds_in_errors_and_in_200s() {
        let headers = HeaderMap::new();
        let body = br#"{"error":"invalid_grant","error_description":"bad code"}"#;
        let err = OAuthErrorMapper::default().map_error(&ResponseParts::new(
            StatusCode::BAD_REQUEST,
            &headers,
            body,
        ));
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert_eq!(err.provider_code(), Some("invalid_grant"));
        let gh = br#"{"error":"incorrect_client_credentials","error_description":"x"}"#;
        let mapper = OAuthErrorMapper {
            errors_in_200: true,
        };
        let err = mapper
            .error_in_success(&ResponseParts::new(StatusCode::OK, &headers, gh))
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::Config);
        let ok = br#"{"access_token":"a","token_type":"bearer"}"#;
        assert!(
            mapper
                .error_in_success(&ResponseParts::new(StatusCode::OK, &headers, ok))
                .is_none()
        );
        assert!(
            OAuthErrorMapper::default()
                .error_in_success(&ResponseParts::new(StatusCode::OK, &headers, gh))
                .is_none()
        );
    }

    #[test]
    fn token_response_parsing_is_tolerant() {
        let r: TokenEndpointResponse = serde_json::from_value(serde_json::json!({
            "access_token": "a", "token_type": "bearer", "expires_in": "3600",
            "scope": "read:user,user:email", "refresh_token": "", "new_field": 1
        }))
        .unwrap();
        let t = r.into_tokens();
        assert_eq!(t.access_token.expose_secret(), "a");
        assert_eq!(t.expires_in, Some(Duration::from_secs(3600)));
        assert_eq!(t.scopes, ["read:user", "user:email"]);
        assert!(t.refresh_token.is_none(), "empty refresh token is none");
    }
}
