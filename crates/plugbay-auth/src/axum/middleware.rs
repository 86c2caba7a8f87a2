//! The route-group middleware: [`AuthPolicy`] and [`require_auth`].

use axum::response::{IntoResponse, Response};

#[cfg(doc)]
use super::Authenticated;
use super::{AuthCookie, AuthRejection, authenticate, missing, require_roles};
use crate::traits::{DynTokenVerifier, require_scopes};
#[cfg(doc)]
use crate::types::Principal;

/// What [`require_auth`] enforces on a group of routes: a verifier, an
/// optional session cookie, and scopes / roles every request needs.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, middleware, routing::get};
/// use plugbay_auth::axum::{AuthPolicy, Authenticated, require_auth};
/// use plugbay_auth::DynTokenVerifier;
///
/// fn admin(verifier: DynTokenVerifier) -> Router {
///     let policy = AuthPolicy::new(verifier.clone())
///         .scopes(["admin:read"])
///         .roles(["admin"])
///         .cookie("__Host-session");
///     Router::new()
///         .route("/admin", get(|Authenticated(p): Authenticated| async move { p.subject }))
///         .layer(middleware::from_fn_with_state(policy, require_auth))
///         .with_state(verifier)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    verifier: DynTokenVerifier,
    scopes: Vec<String>,
    roles: Vec<String>,
    cookie: Option<AuthCookie>,
}

impl AuthPolicy {
    /// Require a valid token checked by `verifier`.
    pub fn new(verifier: DynTokenVerifier) -> AuthPolicy {
        AuthPolicy {
            verifier,
            scopes: Vec::new(),
            roles: Vec::new(),
            cookie: None,
        }
    }

    /// Also require every scope in `scopes` (403 `insufficient_scope`).
    pub fn scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Also require every role in `roles` (403).
    pub fn roles<I, T>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Also accept the token from cookie `name` (see [`AuthCookie`]).
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(AuthCookie::new(name));
        self
    }
}

/// Middleware for `axum::middleware::from_fn_with_state(policy, require_auth)`:
/// verifies the caller per [`AuthPolicy`], answers 401/403 like the
/// extractors, and hands the [`Principal`] to handlers as a request
/// extension (which [`Authenticated`] picks up without verifying again).
pub async fn require_auth(
    axum::extract::State(policy): axum::extract::State<AuthPolicy>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Some(cookie) = &policy.cookie {
        parts.extensions.insert(cookie.clone());
    }
    let principal = match authenticate(&parts, &policy.verifier).await {
        Ok(Some(p)) => p,
        Ok(None) => return missing().into_response(),
        Err(rejection) => return rejection.into_response(),
    };
    let scopes: Vec<&str> = policy.scopes.iter().map(String::as_str).collect();
    if let Err(error) = require_scopes(&principal, &scopes) {
        // The challenge lists the scopes; they are owned by the policy.
        let listed: Vec<&'static str> = Vec::new();
        let mut rejection = AuthRejection {
            error,
            missing_header: false,
            scopes: listed,
        };
        rejection.error = rejection
            .error
            .with_context("required_scopes", policy.scopes.join(" "));
        return rejection.into_response();
    }
    let roles: Vec<&str> = policy.roles.iter().map(String::as_str).collect();
    if let Err(error) = require_roles(&principal, &roles) {
        return AuthRejection::from(error).into_response();
    }
    parts.extensions.insert(principal);
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}
