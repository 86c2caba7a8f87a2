use std::sync::Arc;

use axum::http::{Method, StatusCode};
use plugbay::ProvidersBuilder;
use plugbay::core::Settings;
use plugbay::storage::InMemoryStore;
use plugbay_server::{AppState, ServerConfig, build_app};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn dev_login_issues_a_pair_that_opens_v1() {
    let app = app().await;
    let pair = login_pair(&app, "alice").await;
    assert_eq!(pair["token_type"], "Bearer");
    assert!(pair["expires_in"].as_u64().unwrap() > 0);
    let token = pair["access_token"].as_str().unwrap();
    let reply = call(&app, Method::GET, "/v1/memories", Some(token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    for bad in [
        json!({"user_id": ""}),
        json!({"user_id": "a/b"}),
        json!({"user_id": ".."}),
        json!({"scopes": []}),
    ] {
        let reply = call(
            &app,
            Method::POST,
            "/auth/dev-login",
            None,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.kind(), "invalid_input");
    }
}

async fn refresh(app: &axum::Router, token: &str) -> Reply {
    call(
        app,
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = app().await;
    let first = login_pair(&app, "bob").await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let second = refresh(&app, r1).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    let second = second.json();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "rotation gives a new refresh token");
    let third = refresh(&app, r2).await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.text());
    let third = third.json();
    let r3 = third["refresh_token"].as_str().unwrap();

    // The issuer tolerates a quick retry of the immediately previous token
    // only; r1 is two rotations old, so presenting it is reuse: 401, and
    // the whole family and its session are revoked.
    let reuse = refresh(&app, r1).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED, "{}", reuse.text());
    assert_eq!(reuse.kind(), "unauthenticated");
    let after = refresh(&app, r3).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the family's newest token dies too"
    );
    let access = third["access_token"].as_str().unwrap();
    let locked_out = call(&app, Method::GET, "/v1/memories", Some(access), None).await;
    assert_eq!(
        locked_out.status,
        StatusCode::UNAUTHORIZED,
        "and so does the session's access token"
    );
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = app().await;
    let pair = login_pair(&app, "carol").await;
    let refresh = pair["refresh_token"].as_str().unwrap();
    let out = call(
        &app,
        Method::POST,
        "/auth/logout",
        None,
        Some(json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text());
    let again = call(
        &app,
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn dev_login_is_404_when_disabled_or_without_a_local_issuer() {
    let disabled = app_with(ServerConfig::default().with_dev_login(false)).await;
    let reply = call(
        &disabled,
        Method::POST,
        "/auth/dev-login",
        None,
        Some(json!({"user_id": "x"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let base = providers(&[]).await;
    let settings = Settings::from_map([("PLUGBAY_VECTOR_URL", "memory://")]);
    let external = ProvidersBuilder::from_settings(&settings)
        .storage(Arc::new(InMemoryStore::new()))
        .auth(None, base.token_verifier().clone())
        .build()
        .await
        .unwrap();
    let app = build_app(AppState::new(external, ServerConfig::default()));
    for (path, body) in [
        ("/auth/dev-login", json!({"user_id": "x"})),
        ("/auth/refresh", json!({"refresh_token": "y"})),
        ("/auth/logout", json!({"refresh_token": "y"})),
    ] {
        let reply = call(&app, Method::POST, path, None, Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.text()
        );
    }
}
