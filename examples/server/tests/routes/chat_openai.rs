//! `/v1/chat` on a real LLM backend: OpenAI selected by `OPENAI_API_KEY`,
//! answered by a wiremock stub of the documented wire format (JSON and
//! SSE), memories inferred by the model.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    })
}

fn chunk(delta: Value, finish: Value) -> String {
    let chunk = json!({
        "id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": null
    });
    format!("data: {chunk}\n\n")
}

async fn openai_stub() -> MockServer {
    let server = MockServer::start().await;
    let mut sse = String::new();
    sse.push_str(&chunk(
        json!({"role": "assistant", "content": "You live "}),
        Value::Null,
    ));
    sse.push_str(&chunk(json!({"content": "in Lyon."}), Value::Null));
    sse.push_str(&chunk(json!({}), json!("stop")));
    let usage = json!({
        "id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1,
        "model": "gpt-4o-mini", "choices": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
    });
    sse.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("\"stream\":true"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .with_priority(1)
        .mount(&server)
        .await;
    // The memory engine's fact extraction (JSON mode).
    let facts = json!({"memory": [{"id": "new", "text": "Lives in Lyon", "event": "ADD"}]});
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("response_format"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(&facts.to_string())))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion("You live in Lyon.")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []})),
        )
        .mount(&server)
        .await;
    server
}

async fn openai_app(server: &MockServer) -> axum::Router {
    let base = format!("{}/v1", server.uri());
    let providers = providers(&[
        ("OPENAI_API_KEY", "sk-route-test-0000000000000000"),
        ("OPENAI_BASE_URL", base.as_str()),
        ("OPENAI_MAX_RETRIES", "0"),
    ])
    .await;
    plugbay_server::build_app(plugbay_server::AppState::new(
        providers,
        plugbay_server::ServerConfig::default(),
    ))
}

async fn extraction_calls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("response_format"))
        .count()
}

#[tokio::test]
async fn chat_json_goes_to_openai_and_memories_are_inferred() {
    let server = openai_stub().await;
    let app = openai_app(&server).await;
    let token = login(&app, "olga").await;

    let ready = call(&app, Method::GET, "/readyz", None, None).await.json();
    let llm = ready["concerns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["concern"] == "llm")
        .unwrap()
        .clone();
    assert_eq!(
        (llm["backend"].clone(), llm["ready"].clone()),
        (json!("openai"), json!(true))
    );

    let reply = call(
        &app,
        Method::POST,
        "/v1/chat",
        Some(&token),
        Some(json!({"messages": [{"role": "user", "content": "I moved to Lyon last year"}]})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["backend"], "openai");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["message"]["content"], "You live in Lyon.");
    assert_eq!(body["usage"]["input_tokens"], 12);
    assert_eq!(body["stored"], 1);
    assert_eq!(
        extraction_calls(&server).await,
        1,
        "infer: true with a real LLM"
    );

    // The stored memory is the model's fact, not the verbatim message.
    let listed = call(&app, Method::GET, "/v1/memories", Some(&token), None)
        .await
        .json();
    let texts: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Lives in Lyon"]);
}

#[tokio::test]
async fn chat_streams_openai_server_sent_events() {
    let server = openai_stub().await;
    let app = openai_app(&server).await;
    let token = login(&app, "pablo").await;
    let reply = call(
        &app,
        Method::POST,
        "/v1/chat",
        Some(&token),
        Some(
            json!({"stream": true, "messages": [{"role": "user", "content": "Where do I live?"}]}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let events = sse_events(&reply.text());
    let text: String = events
        .iter()
        .filter(|(name, _)| name == "delta")
        .map(|(_, data)| data["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "You live in Lyon.");
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    let usage = events.iter().find(|(n, _)| n == "usage").unwrap();
    assert_eq!(usage.1["output_tokens"], 4);
    let done = &events.last().unwrap().1;
    assert_eq!(
        (
            done["backend"].clone(),
            done["finish_reason"].clone(),
            done["model"].clone()
        ),
        (json!("openai"), json!("stop"), json!("gpt-4o-mini"))
    );
    assert_eq!(done["stored"], 1);
    assert_eq!(extraction_calls(&server).await, 1);
}
