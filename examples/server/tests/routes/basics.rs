use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use plugbay_server::ServerConfig;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn healthz_and_readyz_report_every_concern() {
    let app = app().await;
    let health = call(&app, Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    assert!(health.headers.contains_key("x-request-id"));

    let ready = call(&app, Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    let body = ready.json();
    assert_eq!(body["status"], "ready");
    let concerns = body["concerns"].as_array().unwrap();
    let llm = concerns.iter().find(|c| c["concern"] == "llm").unwrap();
    assert_eq!(llm["backend"], "mock");
    assert_eq!(llm["ready"], true);
    assert!(llm["note"].as_str().unwrap().contains("mock"));
    let storage = concerns.iter().find(|c| c["concern"] == "storage").unwrap();
    assert_eq!(
        (storage["backend"].clone(), storage["is_default"].clone()),
        (json!("memory"), json!(false))
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = app().await;
    let missing = call(&app, Method::GET, "/nope", None, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.kind(), "not_found");
    let wrong = call(&app, Method::DELETE, "/healthz", None, None).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.kind(), "invalid_input");
}

#[tokio::test]
async fn v1_needs_a_valid_bearer_token() {
    let app = app().await;
    for token in [None, Some("not-a-jwt")] {
        let reply = call(&app, Method::GET, "/v1/memories", token, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(reply.kind(), "unauthenticated");
        let challenge = reply.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert_eq!(
            challenge.contains("invalid_token"),
            token.is_some(),
            "{challenge}"
        );
    }
    let basic = send(
        &app,
        request(Method::GET, "/v1/memories", None)
            .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_json_is_answered_with_typed_errors() {
    let app = app_with(ServerConfig::default().with_max_body_bytes(1024)).await;
    let token = login(&app, "alice").await;

    let malformed = send(
        &app,
        request(Method::POST, "/v1/memories/search", Some(&token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"query\": "))
            .unwrap(),
    )
    .await;
    assert_eq!(
        malformed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        malformed.text()
    );
    assert_eq!(malformed.kind(), "invalid_input");

    let wrong_type = send(
        &app,
        request(Method::POST, "/v1/memories/search", Some(&token))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("{\"query\": \"x\"}"))
            .unwrap(),
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(wrong_type.kind(), "invalid_input");

    let missing_field = call(
        &app,
        Method::POST,
        "/v1/memories/search",
        Some(&token),
        Some(json!({"top_k": 3})),
    )
    .await;
    assert_eq!(
        missing_field.status,
        StatusCode::BAD_REQUEST,
        "{}",
        missing_field.text()
    );
    assert!(
        missing_field.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("query")
    );

    let huge = call(
        &app,
        Method::POST,
        "/v1/memories",
        Some(&token),
        Some(json!({"text": "x".repeat(4096)})),
    )
    .await;
    assert_eq!(
        huge.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        huge.text()
    );
    assert_eq!(huge.kind(), "payload_too_large");
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let app = app_with(ServerConfig::default().with_rate_limit_per_minute(2)).await;
    let token = login(&app, "busy").await;
    for _ in 0..2 {
        let ok = call(&app, Method::GET, "/v1/memories", Some(&token), None).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
        assert_eq!(ok.headers["x-ratelimit-limit"], "2");
    }
    let limited = call(&app, Method::GET, "/v1/memories", Some(&token), None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.kind(), "rate_limited");
    let wait: u64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another user has a quota of their own.
    let other = login(&app, "calm").await;
    assert_eq!(
        call(&app, Method::GET, "/v1/memories", Some(&other), None)
            .await
            .status,
        StatusCode::OK
    );
}
