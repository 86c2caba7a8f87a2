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

use std::marker::PhantomData;

use axum::Json;
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use plugbay_core::{Error, ErrorKind};
use serde_json::json;

use crate::traits::{DynTokenVerifier, bearer_token, require_scopes};
use crate::types::Principal;

/// The verified caller of a request (`Authorization: Bearer <token>`).
///
/// As `Option<Authenticated>` a missing header yields `None`, while a
/// present but invalid token is still rejected.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

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

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    DynTokenVerifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Already verified by the `require_auth` middleware.
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(Authenticated(principal.clone()));
        }
        let verifier = DynTokenVerifier::from_ref(state);
        authenticate(parts, &verifier)
            .await?
            .map(Authenticated)
            .ok_or_else(missing)
    }
}

impl<S> OptionalFromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    DynTokenVerifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let verifier = DynTokenVerifier::from_ref(state);
        Ok(authenticate(parts, &verifier).await?.map(Authenticated))
    }
}

/// A set of scopes a route requires, named by a type:
///
/// ```
/// use plugbay_auth::axum::{RequiredScopes, RequireScope};
/// struct WriteItems;
/// impl RequiredScopes for WriteItems {
///     const SCOPES: &'static [&'static str] = &["write:items"];
/// }
/// async fn create(RequireScope(who, ..): RequireScope<WriteItems>) {}
/// ```
pub trait RequiredScopes: Send + Sync + 'static {
    /// Every scope listed is required.
    const SCOPES: &'static [&'static str];
}

/// Like [`Authenticated`], but also requires `R::SCOPES`; a valid token
/// lacking one is answered 403 `insufficient_scope`.
#[derive(Debug)]
pub struct RequireScope<R: RequiredScopes>(pub Principal, pub PhantomData<R>);

impl<S, R> FromRequestParts<S> for RequireScope<R>
where
    S: Send + Sync,
    R: RequiredScopes,
    DynTokenVerifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authenticated(principal) =
            <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        require_scopes(&principal, R::SCOPES).map_err(|error| AuthRejection {
            error,
            missing_header: false,
            scopes: R::SCOPES.to_vec(),
        })?;
        Ok(RequireScope(principal, PhantomData))
    }
}

/// A set of roles a route requires, named by a type (see [`RequiredScopes`]).
pub trait RequiredRoles: Send + Sync + 'static {
    /// Every role listed is required.
    const ROLES: &'static [&'static str];
}

/// Like [`Authenticated`], but also requires `R::ROLES`; a valid token
/// lacking one is answered 403.
#[derive(Debug)]
pub struct RequireRole<R: RequiredRoles>(pub Principal, pub PhantomData<R>);

fn require_roles(principal: &Principal, roles: &[&str]) -> Result<(), Error> {
    match roles.iter().find(|r| !principal.has_role(r)) {
        None => Ok(()),
        Some(missing) => Err(Error::new(
            ErrorKind::PermissionDenied,
            format!("missing required role `{missing}`"),
        )),
    }
}

impl<S, R> FromRequestParts<S> for RequireRole<R>
where
    S: Send + Sync,
    R: RequiredRoles,
    DynTokenVerifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authenticated(principal) =
            <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        require_roles(&principal, R::ROLES)?;
        Ok(RequireRole(principal, PhantomData))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use async_trait::async_trait;
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use crate::traits::{TokenVerifier, VerifierCapabilities};

    #[derive(Debug)]
    struct Fixed;

    #[async_trait]
    impl TokenVerifier for Fixed {
        fn capabilities(&self) -> VerifierCapabilities {
            VerifierCapabilities::default()
        }
        async fn verify(&self, token: &str) -> plugbay_core::Result<Principal> {
            match token {
                "reader" => Ok(Principal::new("u1").scopes(["read"])),
                "writer" => Ok(Principal::new("u2").scopes(["read", "write"])),
                "broken" => Err(Error::internal("key store down")),
                _ => Err(Error::new(ErrorKind::Unauthenticated, "token expired")),
            }
        }
    }

    struct Write;
    impl RequiredScopes for Write {
        const SCOPES: &'static [&'static str] = &["write"];
    }

    fn app() -> Router {
        let verifier: DynTokenVerifier = Arc::new(Fixed);
        Router::new()
            .route(
                "/me",
                get(|Authenticated(p): Authenticated| async move { p.subject }),
            )
            .route(
                "/maybe",
                get(|p: Option<Authenticated>| async move {
                    p.map_or("anonymous".to_owned(), |a| a.0.subject)
                }),
            )
            .route(
                "/write",
                get(|RequireScope(p, _): RequireScope<Write>| async move { p.subject }),
            )
            .with_state(verifier)
    }

    async fn call(path: &str, auth: Option<&str>) -> (StatusCode, Option<String>, String) {
        let mut req = Request::get(path);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        let res = app()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let challenge = res
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body =
            String::from_utf8(to_bytes(res.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap();
        (status, challenge, body)
    }

    #[tokio::test]
    async fn valid_token_reaches_the_handler() {
        let (status, _, body) = call("/me", Some("Bearer reader")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "u1");
    }

    #[tokio::test]
    async fn missing_token_is_a_bare_bearer_challenge() {
        let (status, challenge, body) = call("/me", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(challenge.as_deref(), Some("Bearer"));
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["kind"], "unauthenticated");
    }

    #[tokio::test]
    async fn invalid_token_is_401_invalid_token_without_echoing_it() {
        let (status, challenge, body) = call("/me", Some("Bearer sekrit-garbage")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let challenge = challenge.unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
        assert!(challenge.contains("token expired"));
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["message"], "token expired");
        assert!(!body.contains("sekrit-garbage") && !challenge.contains("sekrit-garbage"));
        let (status, _, _) = call("/me", Some("Basic dXNlcjpwYXNz")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn optional_extractor_allows_anonymous_but_not_bad_tokens() {
        assert_eq!(call("/maybe", None).await.2, "anonymous");
        assert_eq!(call("/maybe", Some("Bearer reader")).await.2, "u1");
        assert_eq!(
            call("/maybe", Some("Bearer nope")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn require_scope_answers_403_insufficient_scope() {
        let (status, challenge, body) = call("/write", Some("Bearer reader")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            challenge.as_deref(),
            Some("Bearer error=\"insufficient_scope\", scope=\"write\"")
        );
        assert!(body.contains("permission_denied"));
        assert_eq!(call("/write", Some("Bearer writer")).await.2, "u2");
        assert_eq!(call("/write", None).await.0, StatusCode::UNAUTHORIZED);
    }

    struct Admin;
    impl RequiredRoles for Admin {
        const ROLES: &'static [&'static str] = &["admin"];
    }

    #[tokio::test]
    async fn cookie_is_accepted_only_when_configured() {
        let verifier: DynTokenVerifier = Arc::new(Fixed);
        let handler = get(|Authenticated(p): Authenticated| async move { p.subject });
        let plain = Router::new()
            .route("/me", handler.clone())
            .with_state(verifier.clone());
        let with_cookie = Router::new()
            .route("/me", handler)
            .layer(axum::Extension(AuthCookie::new("sess")))
            .with_state(verifier);
        let req = || {
            Request::get("/me")
                .header("cookie", "other=1; sess=reader")
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(
            plain.oneshot(req()).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
        let res = with_cookie.clone().oneshot(req()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let bad = Request::get("/me")
            .header("cookie", "sess=garbage")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            with_cookie.oneshot(bad).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn middleware_enforces_scopes_and_roles() {
        let verifier: DynTokenVerifier = Arc::new(Fixed);
        let policy = AuthPolicy::new(verifier.clone()).scopes(["write"]);
        let app = Router::new()
            .route(
                "/w",
                get(|Authenticated(p): Authenticated| async move { p.subject }),
            )
            .route(
                "/admin",
                get(|RequireRole(p, _): RequireRole<Admin>| async move { p.subject }),
            )
            .layer(axum::middleware::from_fn_with_state(policy, require_auth))
            .with_state(verifier);
        let call = |path: &'static str, token: Option<&'static str>| {
            let app = app.clone();
            async move {
                let mut req = Request::get(path);
                if let Some(t) = token {
                    req = req.header(AUTHORIZATION, format!("Bearer {t}"));
                }
                app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
            }
        };
        assert_eq!(call("/w", Some("writer")).await.status(), StatusCode::OK);
        assert_eq!(
            call("/w", Some("reader")).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(call("/w", None).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            call("/w", Some("nope")).await.status(),
            StatusCode::UNAUTHORIZED
        );
        // writer has the scope but not the role.
        assert_eq!(
            call("/admin", Some("writer")).await.status(),
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn verifier_outage_is_500_without_details() {
        let (status, challenge, body) = call("/me", Some("Bearer broken")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(challenge.is_none());
        assert!(!body.contains("key store down"));
    }
}
