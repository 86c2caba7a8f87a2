use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use plugbay::webhooks::conformance::signers::{sign_github, sign_stripe};
use serde_json::json;

use crate::common::*;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn stripe(app_body: &str, signature: &str) -> axum::http::Request<Body> {
    request(Method::POST, "/api/webhooks/stripe", None)
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(Body::from(app_body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn stripe_events_are_verified_and_deduplicated() {
    let app = app().await;
    let body = json!({"id": "evt_route_1", "type": "invoice.paid", "data": {}}).to_string();
    let signature = sign_stripe(STRIPE_SECRET, now(), body.as_bytes());

    let first = send(&app, stripe(&body, &signature)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.json()["duplicate"], false);
    assert_eq!(first.json()["type"], "invoice.paid");

    let replay = send(&app, stripe(&body, &signature)).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.text());
    assert_eq!(replay.json()["duplicate"], true);

    let forged = sign_stripe("whsec_someone_else", now(), body.as_bytes());
    let reply = send(&app, stripe(&body, &forged)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.kind(), "unauthenticated");

    let stale = sign_stripe(STRIPE_SECRET, now() - 3600, body.as_bytes());
    assert_eq!(
        send(&app, stripe(&body, &stale)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let tampered = body.replace("invoice.paid", "invoice.void");
    assert_eq!(
        send(&app, stripe(&tampered, &signature)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn github_events_are_verified() {
    let app = app().await;
    let body = json!({"zen": "Keep it logically awesome."}).to_string();
    let request = |signature: String| {
        request(Method::POST, "/api/webhooks/github", None)
            .header("x-hub-signature-256", signature)
            .header("x-github-event", "ping")
            .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let ok = send(&app, request(sign_github(GITHUB_SECRET, body.as_bytes()))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.json()["type"], "ping");
    let forged = send(&app, request(sign_github("wrong", body.as_bytes()))).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unconfigured_or_oversized_webhooks_are_refused() {
    let app = app().await;
    for provider in ["auth0", "paypal"] {
        let reply = call(
            &app,
            Method::POST,
            &format!("/api/webhooks/{provider}"),
            None,
            Some(json!({})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{provider}");
        assert_eq!(reply.json()["error"]["message"], "webhook not configured");
    }
    let big = "x".repeat(1024 * 1024 + 1);
    let reply = send(&app, stripe(&big, "t=1,v1=00")).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.kind(), "payload_too_large");
}
