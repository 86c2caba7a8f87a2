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

/// Verify the request's bearer token with `verifier`. `Ok(None)` when the
/// request has no `Authorization` header.
pub async fn authenticate(
    parts: &Parts,
    verifier: &DynTokenVerifier,
) -> Result<Option<Principal>, AuthRejection> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
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

    #[tokio::test]
    async fn verifier_outage_is_500_without_details() {
        let (status, challenge, body) = call("/me", Some("Bearer broken")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(challenge.is_none());
        assert!(!body.contains("key store down"));
    }
}
