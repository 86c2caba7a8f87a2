//! Axum extractors (feature `axum`): [`Authenticated`] and
//! [`RequireScope`], answering RFC 6750 errors.
//!
//! The verifier comes from the router state: any state `S` with
//! `DynTokenVerifier: FromRef<S>` works, including a bare
//! [`DynTokenVerifier`] as the state.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use plugbay_auth::axum::Authenticated;
//! use plugbay_auth::DynTokenVerifier;
//!
//! async fn me(Authenticated(who): Authenticated) -> String {
//!     who.subject
//! }
//!
//! fn app(verifier: DynTokenVerifier) -> Router {
//!     Router::new().route("/me", get(me)).with_state(verifier)
//! }
//! ```

use axum::Json;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use plugbay_core::{Error, ErrorKind};
use serde_json::json;

use crate::traits::{DynTokenVerifier, bearer_token};
use crate::types::Principal;

mod extract;
mod middleware;
#[cfg(test)]
mod tests;

pub use extract::{Authenticated, RequireRole, RequireScope, RequiredRoles, RequiredScopes};
pub use middleware::{AuthPolicy, require_auth};

/// Why a request was not let through. Answers 401 with
/// `WWW-Authenticate: Bearer ...` (RFC 6750 §3), 403 with
/// `error="insufficient_scope"` for missing scopes, and the error kind's
/// status otherwise; the body is `{"error": {"kind", "message"}}`.
#[derive(Debug)]
pub struct AuthRejection {
    error: Error,
    missing_header: bool,
    scopes: Vec<&'static str>,
}

impl AuthRejection {
    /// The underlying error.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl From<Error> for AuthRejection {
    fn from(error: Error) -> Self {
        AuthRejection {
            error,
            missing_header: false,
            scopes: Vec::new(),
        }
    }
}

/// Make `text` safe inside a quoted header parameter (RFC 6750 §3 allows
/// printable ASCII except `"` and `\`).
fn quoted_safe(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\')
        .take(200)
        .collect()
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let kind = self.error.kind();
        let status =
            StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match kind {
            // Server-side failures stay server-side.
            ErrorKind::Internal | ErrorKind::Config => "authentication is unavailable".to_owned(),
            _ => self.error.message().to_owned(),
        };
        let challenge = match kind {
            // No credentials at all: a bare challenge, no error code (§3.1).
            ErrorKind::Unauthenticated if self.missing_header => Some("Bearer".to_owned()),
            ErrorKind::Unauthenticated => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                quoted_safe(&message)
            )),
            ErrorKind::PermissionDenied => Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                quoted_safe(&self.scopes.join(" "))
            )),
            _ => None,
        };
        let body = Json(json!({"error": {"kind": kind.as_str(), "message": message}}));
        let mut response = (status, body).into_response();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Accept the access token from a cookie too, when the request has no
/// `Authorization` header. Add it as a request extension:
/// `router.layer(axum::Extension(AuthCookie::new("__Host-session")))`.
///
/// Set the cookie `HttpOnly; Secure; SameSite=Lax` (or `Strict`), with
/// `Path=/` and, ideally, the `__Host-` prefix; since browsers send cookies
/// on cross-site requests with `SameSite=Lax` for top-level GETs, keep
/// state-changing routes on POST/PUT/DELETE (or add a CSRF token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCookie {
    name: String,
}

impl AuthCookie {
    /// Read the token from the cookie `name`.
    pub fn new(name: impl Into<String>) -> AuthCookie {
        AuthCookie { name: name.into() }
    }

    /// The cookie name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cookie's value in `parts`, if present and non-empty.
    fn read<'a>(&self, parts: &'a Parts) -> Option<&'a str> {
        parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == self.name)
            .map(|(_, v)| v.trim().trim_matches('"'))
            .filter(|v| !v.is_empty())
    }
}

/// Verify the request's bearer token with `verifier`, or the token in the
/// [`AuthCookie`] when one is configured and no `Authorization` header is
/// present. `Ok(None)` when the request carries neither.
pub async fn authenticate(
    parts: &Parts,
    verifier: &DynTokenVerifier,
) -> Result<Option<Principal>, AuthRejection> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        let cookie = parts
            .extensions
            .get::<AuthCookie>()
            .and_then(|c| c.read(parts));
        return match cookie {
            Some(token) => Ok(Some(verifier.verify(token).await?)),
            None => Ok(None),
        };
    };
    let value = value.to_str().map_err(|_| {
        Error::new(
            ErrorKind::Unauthenticated,
            "authorization header is not text",
        )
    })?;
    let token = bearer_token(value)?;
    Ok(Some(verifier.verify(token).await?))
}

fn missing() -> AuthRejection {
    AuthRejection {
        error: Error::new(ErrorKind::Unauthenticated, "missing bearer token"),
        missing_header: true,
        scopes: Vec::new(),
    }
}

fn require_roles(principal: &Principal, roles: &[&str]) -> Result<(), Error> {
    match roles.iter().find(|r| !principal.has_role(r)) {
        None => Ok(()),
        Some(missing) => Err(Error::new(
            ErrorKind::PermissionDenied,
            format!("missing required role `{missing}`"),
        )),
    }
}
