//! Shared helpers: an in-process app, requests through `oneshot`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use plugbay::Providers;
use plugbay::core::Settings;
use plugbay_server::{AppState, ServerConfig, build_app};
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub const STRIPE_SECRET: &str = "whsec_route_tests_secret";
pub const GITHUB_SECRET: &str = "github-route-tests-secret";

/// Providers on in-memory storage with the test webhook secrets.
pub async fn providers(extra: &[(&str, &str)]) -> Providers {
    // Nothing on disk: the default vectors and memory history would
    // persist under ./data, shared by every test.
    let mut settings = Settings::from_map([
        ("PLUGBAY_STORAGE_URL", "memory://"),
        ("PLUGBAY_VECTOR_URL", "memory://"),
        ("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET),
        ("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET),
    ]);
    for (k, v) in extra {
        settings = settings.with(*k, *v);
    }
    Providers::from_settings(&settings).await.unwrap()
}

pub async fn app_with(config: ServerConfig) -> Router {
    build_app(AppState::new(providers(&[]).await, config))
}

pub async fn app() -> Router {
    app_with(ServerConfig::default()).await
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error kind of a JSON error body.
    pub fn kind(&self) -> String {
        self.json()["error"]["kind"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned()
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

pub fn request(method: Method, uri: &str, token: Option<&str>) -> axum::http::request::Builder {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder
}

pub async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let builder = request(method, uri, token);
    let request = match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    };
    send(app, request).await
}

/// Dev-login `user`; returns the token response.
pub async fn login_pair(app: &Router, user: &str) -> Value {
    let reply = call(
        app,
        Method::POST,
        "/auth/dev-login",
        None,
        Some(json!({"user_id": user, "scopes": ["chat"]})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

pub async fn login(app: &Router, user: &str) -> String {
    login_pair(app, user).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `(event, data)` pairs of an SSE body.
pub fn sse_events(body: &str) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    for block in body.split("\n\n") {
        let mut name = String::from("message");
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if !data.is_empty() {
            events.push((name, serde_json::from_str(&data).unwrap()));
        }
    }
    events
}
