//! Hugging Face chat against wiremock stubs of the Inference Providers
//! router and of TGI: the conformance suite, the wire details, and the
//! fault suite (kinds and attempt counts, waits recorded not slept).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod hf_support;

use std::time::Duration;

use futures::StreamExt;
use hf_support::{
    ChatStub, STUB_TEXT, TOKEN, attempts, client, context, ms, raw_server, resetting_server,
};
use plugbay_core::http::{RecordingSleeper, RetryPolicy};
use plugbay_core::{Error, ErrorKind};
use plugbay_llm::conformance::chat;
use plugbay_llm::{
    ChatEvent, ChatModel, ChatModelExt, ChatRequest, Fallback, HuggingFaceBuilder, HuggingFaceChat,
    MockChatModel,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "meta-llama/Llama-3.1-8B-Instruct:novita";
const CHAT_PATH: &str = "/v1/chat/completions";

fn router(base: &str, sleeper: &RecordingSleeper) -> HuggingFaceChat {
    HuggingFaceBuilder::default()
        .token(TOKEN)
        .base_url(base)
        .model(MODEL)
        .retry_policy(RetryPolicy::default().jitter(0.0))
        .http_client(client(sleeper, Duration::from_secs(5)))
        .build_chat()
        .unwrap()
}

async fn mount_router(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_partial_json(json!({"model": MODEL})))
        .respond_with(ChatStub { tgi: false })
        .mount(server)
        .await;
}

#[tokio::test]
async fn router_passes_the_chat_suite() {
    let server = MockServer::start().await;
    mount_router(&server).await;
    let model = router(&server.uri(), &RecordingSleeper::new());
    assert_eq!((model.provider(), model.model()), ("huggingface", MODEL));
    assert!(!model.is_tgi());
    chat::run_all(&model).await;
    // Every scenario reached the stub (the empty-messages one must not).
    let requests = server.received_requests().await.unwrap();
    assert!(requests.len() >= 6, "{}", requests.len());
    for request in &requests {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert!(body["messages"].as_array().is_some_and(|m| !m.is_empty()));
        assert!(body.get("max_completion_tokens").is_none());
    }
}

#[tokio::test]
async fn tgi_passes_the_chat_suite_without_a_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .and(body_partial_json(json!({"model": "tgi"})))
        .respond_with(ChatStub { tgi: true })
        .mount(&server)
        .await;
    let model = HuggingFaceBuilder::default()
        .tgi_url(format!("{}/", server.uri()))
        .build_chat()
        .unwrap();
    assert!(model.is_tgi());
    assert!(!model.capabilities().json_schema);
    chat::run_all(&model).await;
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("authorization"))
    );
}

#[tokio::test]
async fn router_chat_needs_a_token() {
    let err = HuggingFaceBuilder::default().build_chat().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("HF_TOKEN"));
}

#[tokio::test]
async fn streams_carry_text_usage_and_finish_in_order() {
    let server = MockServer::start().await;
    Mock::given(path(CHAT_PATH))
        .and(body_partial_json(
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ))
        .respond_with(ChatStub { tgi: false })
        .expect(1)
        .mount(&server)
        .await;
    let model = router(&server.uri(), &RecordingSleeper::new());
    let events: Vec<ChatEvent> = model
        .chat_stream(ChatRequest::from_prompt("hi"))
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await;
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, STUB_TEXT);
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, ChatEvent::TextDelta(_)))
            .count()
            > 3
    );
    assert!(matches!(events.last(), Some(ChatEvent::Finish { .. })));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ChatEvent::Usage(u) if u.total_tokens == 30))
    );
}

// ---- faults -------------------------------------------------------------

async fn once_then_ok(server: &MockServer, first: ResponseTemplate) {
    Mock::given(path(CHAT_PATH))
        .respond_with(first)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
    mount_router(server).await;
}

#[tokio::test]
async fn rate_limits_honour_retry_after_and_retry_after_ms() {
    for (first, wait) in [
        (
            ResponseTemplate::new(429).insert_header("retry-after", "2"),
            ms(2000),
        ),
        (
            ResponseTemplate::new(429).insert_header("retry-after-ms", "250"),
            ms(250),
        ),
        (
            ResponseTemplate::new(429).set_body_json(json!({"error": "Rate limit reached"})),
            ms(500),
        ),
    ] {
        let server = MockServer::start().await;
        once_then_ok(&server, first).await;
        let sleeper = RecordingSleeper::new();
        let model = router(&server.uri(), &sleeper);
        assert_eq!(model.complete("hi").await.unwrap(), STUB_TEXT);
        assert_eq!(sleeper.waits(), vec![wait]);
    }
    // Streams are retried before their first byte too.
    let server = MockServer::start().await;
    once_then_ok(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "1"),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    let reply = router(&server.uri(), &sleeper)
        .chat_streamed(ChatRequest::from_prompt("hi"))
        .await
        .unwrap();
    assert_eq!(reply.text(), STUB_TEXT);
    assert_eq!(sleeper.waits(), vec![ms(1000)]);
}

#[tokio::test]
async fn should_retry_false_payment_and_auth_are_not_retried() {
    let cases = [
        (
            ResponseTemplate::new(429).insert_header("x-should-retry", "false"),
            ErrorKind::RateLimited,
        ),
        (
            ResponseTemplate::new(402).set_body_json(json!({"error": "You have exceeded your monthly included credits for Inference Providers."})),
            ErrorKind::QuotaExceeded,
        ),
        (
            ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid credentials in Authorization header"})),
            ErrorKind::Unauthenticated,
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "model not supported by provider", "type": "invalid_request_error"}})),
            ErrorKind::InvalidInput,
        ),
    ];
    for (response, kind) in cases {
        let server = MockServer::start().await;
        Mock::given(path(CHAT_PATH))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let sleeper = RecordingSleeper::new();
        let err = router(&server.uri(), &sleeper)
            .complete("hi")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(attempts(&err), Some(1), "{kind}");
        assert!(!err.is_retryable() || kind == ErrorKind::RateLimited);
        assert!(!format!("{err} {err:?}").contains(TOKEN));
    }
}

#[tokio::test]
async fn server_errors_and_cold_starts_give_up_after_three_attempts() {
    for (response, cold) in [
        (ResponseTemplate::new(500).set_body_json(json!({"error": "Internal Server Error"})), false),
        (
            ResponseTemplate::new(503).set_body_json(json!({"error": format!("Model {MODEL} is currently loading"), "estimated_time": 42.0})),
            true,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(path(CHAT_PATH)).respond_with(response).expect(3).mount(&server).await;
        let sleeper = RecordingSleeper::new();
        let err = router(&server.uri(), &sleeper).complete("hi").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(attempts(&err), Some(3));
        assert_eq!(sleeper.waits(), vec![ms(500), ms(1000)]);
        assert_eq!(context(&err, "cold_start").is_some(), cold);
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn resets_and_timeouts_are_retried_then_reported() {
    let (url, accepted) = resetting_server().await;
    let err = router(&url, &RecordingSleeper::new())
        .complete("hi")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:#}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);

    let server = MockServer::start().await;
    Mock::given(path(CHAT_PATH))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .expect(3)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let model = HuggingFaceBuilder::default()
        .token(TOKEN)
        .base_url(server.uri())
        .timeout(ms(200))
        .retry_policy(RetryPolicy::default().jitter(0.0))
        .http_client(client(&sleeper, ms(200)))
        .build_chat()
        .unwrap();
    let err = model.complete("hi").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:#}");
    assert_eq!(attempts(&err), Some(3));
}

#[tokio::test]
async fn malformed_and_truncated_replies_are_protocol_errors() {
    let server = MockServer::start().await;
    Mock::given(path(CHAT_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("{\"choices\": [", "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = router(&server.uri(), &RecordingSleeper::new())
        .complete("hi")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert_eq!(attempts(&err), Some(1));

    let (url, _) = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{\"id\":\"x\",\"choices\":[",
    )
    .await;
    let err = router(&url, &RecordingSleeper::new())
        .complete("hi")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err:#}");
}

/// Collect a stream's items, keeping errors.
async fn drain(model: &HuggingFaceChat) -> Vec<Result<ChatEvent, Error>> {
    model
        .chat_stream(ChatRequest::from_prompt("hi"))
        .await
        .unwrap()
        .collect()
        .await
}

#[tokio::test]
async fn a_cut_stream_ends_with_a_protocol_error() {
    // Two deltas, then the connection closes without a finish or [DONE].
    let (url, _) = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n\
data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
    )
    .await;
    let items = drain(&router(&url, &RecordingSleeper::new())).await;
    let texts: Vec<&ChatEvent> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
    assert_eq!(texts, vec![&ChatEvent::text("Hel"), &ChatEvent::text("lo")]);
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.kind(), ErrorKind::Protocol, "{last:#}");
    assert_eq!(last.provider(), Some("huggingface"));
}

#[tokio::test]
async fn an_error_event_mid_stream_ends_the_stream() {
    let server = MockServer::start().await;
    let body = concat!(
        "data: {\"object\":\"chat.completion.chunk\",\"model\":\"tgi\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Par\"},\"finish_reason\":null}]}\n\n",
        "data: {\"error\":\"Request failed during generation: Server error: CUDA out of memory\",\"error_type\":\"generation\"}\n\n",
    );
    Mock::given(path(CHAT_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(body),
        )
        .expect(1)
        .mount(&server)
        .await;
    let model = HuggingFaceBuilder::default()
        .tgi_url(server.uri())
        .build_chat()
        .unwrap();
    let items = drain(&model).await;
    assert_eq!(items[0].as_ref().unwrap(), &ChatEvent::text("Par"));
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:#}");
    assert!(err.message().contains("out of memory"), "{err}");
    assert_eq!(items.len(), 2, "nothing after the error");
}

#[tokio::test]
async fn a_rate_limited_router_falls_back_to_another_model() {
    let server = MockServer::start().await;
    Mock::given(path(CHAT_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .expect(3)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let model = Fallback::new(
        router(&server.uri(), &sleeper),
        MockChatModel::new().with_model("backup"),
    );
    let reply = model
        .chat(ChatRequest::from_prompt("hi").model("x/y"))
        .await
        .unwrap();
    assert_eq!(reply.model, "backup");
    assert_eq!(reply.text(), "[mock] hi");
    assert_eq!(sleeper.waits(), vec![ms(1000), ms(1000)]);
    // Invalid input is the caller's mistake: no fallback.
    let err = model.chat(ChatRequest::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(model.get_ref().1.request_count(), 1);
}
