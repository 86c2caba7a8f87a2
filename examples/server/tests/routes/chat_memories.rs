use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn memories_add_list_search_and_delete_are_per_user() {
    let app = app().await;
    let alice = login(&app, "alice").await;
    let bob = login(&app, "bob").await;

    let added = call(
        &app,
        Method::POST,
        "/v1/memories",
        Some(&alice),
        Some(json!({"text": "I am allergic to peanuts"})),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let events = added.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    let id = events[0]["memory_id"].as_str().unwrap().to_owned();
    let added = call(
        &app,
        Method::POST,
        "/v1/memories",
        Some(&alice),
        Some(json!({"messages": [{"role": "user", "content": "My cat is called Miso"}]})),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());

    let listed = call(
        &app,
        Method::GET,
        "/v1/memories?limit=1",
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    let page = listed.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let next = call(
        &app,
        Method::GET,
        &format!("/v1/memories?limit=1&cursor={cursor}"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(next.json()["items"].as_array().unwrap().len(), 1);
    assert!(
        call(&app, Method::GET, "/v1/memories", Some(&bob), None)
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let found = call(
        &app,
        Method::POST,
        "/v1/memories/search",
        Some(&alice),
        Some(json!({"query": "peanuts allergy", "top_k": 1})),
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    assert_eq!(
        found.json()["results"][0]["text"],
        "I am allergic to peanuts"
    );
    let bobs = call(
        &app,
        Method::POST,
        "/v1/memories/search",
        Some(&bob),
        Some(json!({"query": "peanuts"})),
    )
    .await;
    assert!(bobs.json()["results"].as_array().unwrap().is_empty());

    // Bob cannot see or delete Alice's memory: it is simply not there.
    let uri = format!("/v1/memories/{id}");
    assert_eq!(
        call(&app, Method::DELETE, &uri, Some(&bob), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, Method::GET, &uri, Some(&bob), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, Method::GET, &uri, Some(&alice), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, Method::DELETE, &uri, Some(&alice), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&app, Method::DELETE, &uri, Some(&alice), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    for bad in [
        json!({}),
        json!({"text": "a", "messages": []}),
        json!({"text": " "}),
    ] {
        let reply = call(
            &app,
            Method::POST,
            "/v1/memories",
            Some(&alice),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn chat_json_uses_and_stores_memories() {
    let app = app().await;
    let token = login(&app, "dana").await;
    call(
        &app,
        Method::POST,
        "/v1/memories",
        Some(&token),
        Some(json!({"text": "I live in Lyon"})),
    )
    .await;

    let reply = call(
        &app,
        Method::POST,
        "/v1/chat",
        Some(&token),
        Some(json!({"messages": [{"role": "user", "content": "Where do I live?"}]})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["backend"], "mock");
    assert_eq!(body["message"]["content"], "[mock] Where do I live?");
    assert_eq!(body["memories"][0]["text"], "I live in Lyon");
    assert_eq!(body["stored"], 1);
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);

    let listed = call(&app, Method::GET, "/v1/memories", Some(&token), None)
        .await
        .json();
    let texts: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"Where do I live?"), "{texts:?}");
}

#[tokio::test]
async fn chat_streams_server_sent_events() {
    let app = app().await;
    let token = login(&app, "erin").await;
    call(
        &app,
        Method::POST,
        "/v1/memories",
        Some(&token),
        Some(json!({"text": "My favourite colour is green"})),
    )
    .await;

    // `Accept: text/event-stream` asks for a stream as well as `"stream": true`.
    let request = request(Method::POST, "/v1/chat", Some(&token))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "text/event-stream")
        .body(Body::from(
            json!({"messages": [{"role": "user", "content": "what colour do I like"}]}).to_string(),
        ))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse_events(&reply.text());
    let text: String = events
        .iter()
        .filter(|(name, _)| name == "delta")
        .map(|(_, data)| data["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "[mock] what colour do I like");
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert!(names.contains(&"usage"), "{names:?}");
    let done = &events.last().unwrap().1;
    assert_eq!(done["backend"], "mock");
    assert_eq!(done["finish_reason"], "stop");
    assert_eq!(done["memories"][0]["text"], "My favourite colour is green");
}

#[tokio::test]
async fn chat_refuses_bad_conversations() {
    let app = app().await;
    let token = login(&app, "finn").await;
    for bad in [
        json!({"messages": []}),
        json!({"messages": [{"role": "assistant", "content": "hi"}]}),
        json!({"messages": [{"role": "tool", "content": "x"}]}),
        json!({"messages": [{"role": "wizard", "content": "x"}]}),
        json!({"messages": "hello"}),
    ] {
        let reply = call(
            &app,
            Method::POST,
            "/v1/chat",
            Some(&token),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.text()
        );
        assert_eq!(reply.kind(), "invalid_input");
    }
}

async fn app_with_mock(mock: std::sync::Arc<plugbay::llm::MockChatModel>) -> axum::Router {
    let settings = plugbay::core::Settings::from_map([
        ("PLUGBAY_STORAGE_URL", "memory://"),
        ("PLUGBAY_VECTOR_URL", "memory://"),
    ]);
    let providers = plugbay::ProvidersBuilder::from_settings(&settings)
        .chat_model(mock)
        .build()
        .await
        .unwrap();
    plugbay_server::build_app(plugbay_server::AppState::new(
        providers,
        plugbay_server::ServerConfig::default(),
    ))
}

#[tokio::test]
async fn memories_reach_the_model_as_a_system_message() {
    let mock = std::sync::Arc::new(plugbay::llm::MockChatModel::new());
    let app = app_with_mock(mock.clone()).await;
    let token = login(&app, "gina").await;
    call(
        &app,
        Method::POST,
        "/v1/memories",
        Some(&token),
        Some(json!({"text": "I work as a baker"})),
    )
    .await;
    let reply = call(
        &app,
        Method::POST,
        "/v1/chat",
        Some(&token),
        Some(json!({"messages": [{"role": "user", "content": "what is my work"}]})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let sent = mock.last_request().unwrap();
    assert_eq!(sent.messages[0].role, plugbay::llm::Role::System);
    assert!(
        sent.messages[0].text().contains("I work as a baker"),
        "{:?}",
        sent.messages[0]
    );
    assert_eq!(sent.user.as_deref(), Some("gina"));
}

#[tokio::test]
async fn model_failures_are_typed_errors_in_json_and_sse() {
    use plugbay::core::{Error, ErrorKind};
    use plugbay::llm::ChatEvent;

    let mock = std::sync::Arc::new(plugbay::llm::MockChatModel::new());
    let app = app_with_mock(mock.clone()).await;
    let token = login(&app, "hugo").await;
    let body = json!({"messages": [{"role": "user", "content": "hello"}]});

    mock.push_error(Error::new(ErrorKind::Unavailable, "upstream is down"));
    let json_reply = call(
        &app,
        Method::POST,
        "/v1/chat",
        Some(&token),
        Some(body.clone()),
    )
    .await;
    assert_eq!(json_reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(json_reply.kind(), "unavailable");

    mock.push_stream_error(
        vec![ChatEvent::text("partial ")],
        Error::new(ErrorKind::Timeout, "the model stopped answering"),
    );
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let reply = call(&app, Method::POST, "/v1/chat", Some(&token), Some(streamed)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let events = sse_events(&reply.text());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["delta", "error"], "{events:?}");
    assert_eq!(events[1].1["error"]["kind"], "timeout");
}

#[tokio::test]
async fn a_client_leaving_mid_stream_breaks_nothing() {
    use futures::StreamExt as _;

    let app = app().await;
    let token = login(&app, "ivan").await;
    let request = request(Method::POST, "/v1/chat", Some(&token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"stream": true, "messages": [{"role": "user", "content": "I collect stamps"}]})
                .to_string(),
        ))
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body().into_data_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(body);

    // The turn is still remembered, and the server keeps serving.
    let mut remembered = false;
    for _ in 0..200 {
        let listed = call(&app, Method::GET, "/v1/memories", Some(&token), None)
            .await
            .json();
        if listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["text"] == "I collect stamps")
        {
            remembered = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        remembered,
        "the memory of an abandoned stream was not stored"
    );
}
