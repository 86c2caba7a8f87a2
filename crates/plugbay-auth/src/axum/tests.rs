//! Tests for the extractors and the [`require_auth`](super::require_auth)
//! middleware.

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
