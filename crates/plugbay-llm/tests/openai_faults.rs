//! Fault suite: every failure gives the right kind after the right number
//! of attempts, with waits recorded (never slept) by a `RecordingSleeper`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod openai_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use openai_support::{
    OpenAiStub, attempts, builder, context, fixture, raw_server, resetting_server,
};
use plugbay_core::ErrorKind;
use plugbay_core::http::RecordingSleeper;
use plugbay_llm::openai::OpenAiChatModel;
use plugbay_llm::{ChatEvent, ChatModel, ChatModelExt, ChatRequest, EmbeddingModel};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn model(server: &MockServer, sleeper: &RecordingSleeper) -> OpenAiChatModel {
    builder(&format!("{}/v1", server.uri()), sleeper)
        .build_chat()
        .unwrap()
}

/// `first` once, then the cooperative stub.
async fn flaky(first: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(OpenAiStub::default())
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

async fn always(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn hits(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn rate_limited() -> ResponseTemplate {
    ResponseTemplate::new(429)
        .set_body_raw(fixture("error_429_rate_limit.json"), "application/json")
        .insert_header("x-request-id", "req_429")
        .insert_header("x-ratelimit-remaining-requests", "0")
        .insert_header("x-ratelimit-reset-requests", "6m0s")
}

#[tokio::test]
async fn rate_limit_honours_retry_after_seconds() {
    let server = flaky(rate_limited().insert_header("retry-after", "2")).await;
    let sleeper = RecordingSleeper::new();
    let reply = model(&server, &sleeper).complete("hi").await.unwrap();
    assert_eq!(reply, "Echo: hi");
    assert_eq!(sleeper.waits(), vec![Duration::from_secs(2)]);
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn rate_limit_honours_retry_after_ms_first() {
    let server = flaky(
        rate_limited()
            .insert_header("retry-after-ms", "1500")
            .insert_header("retry-after", "9"),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    model(&server, &sleeper).complete("hi").await.unwrap();
    assert_eq!(sleeper.waits(), vec![Duration::from_millis(1500)]);
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn x_should_retry_overrides_the_status() {
    // A 400 is normally final; the server says it is worth another go.
    let server = flaky(
        ResponseTemplate::new(400)
            .set_body_raw(fixture("error_400_context_length.json"), "application/json")
            .insert_header("x-should-retry", "true"),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    model(&server, &sleeper).complete("hi").await.unwrap();
    assert_eq!(hits(&server).await, 2);
    assert_eq!(sleeper.waits().len(), 1);

    // And a 500 the server marks final is not retried.
    let server = always(
        ResponseTemplate::new(500)
            .set_body_raw(fixture("error_500_server_error.json"), "application/json")
            .insert_header("x-should-retry", "false"),
    )
    .await;
    let err = model(&server, &sleeper).complete("hi").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(attempts(&err), Some(1));
    assert_eq!(hits(&server).await, 1);
}

#[tokio::test]
async fn persistent_rate_limit_gives_up_with_context() {
    let server = always(rate_limited().insert_header("retry-after", "1")).await;
    let sleeper = RecordingSleeper::new();
    let err = model(&server, &sleeper).complete("hi").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.provider(), Some("openai"));
    assert_eq!(err.operation(), Some("chat"));
    assert_eq!(err.provider_code(), Some("rate_limit_exceeded"));
    assert_eq!(err.request_id(), Some("req_429"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(context(&err, "x-ratelimit-remaining-requests"), Some("0"));
    assert_eq!(context(&err, "x-ratelimit-reset-requests"), Some("6m0s"));
    assert_eq!(attempts(&err), Some(3), "1 + 2 retries");
    assert_eq!(hits(&server).await, 3);
    assert_eq!(sleeper.waits().len(), 2);
}

#[tokio::test]
async fn insufficient_quota_is_not_retried() {
    let server = always(
        ResponseTemplate::new(429)
            .set_body_raw(
                fixture("error_429_insufficient_quota.json"),
                "application/json",
            )
            .insert_header("retry-after", "1"),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    let err = model(&server, &sleeper).complete("hi").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    assert!(!err.is_retryable());
    assert_eq!(attempts(&err), Some(1));
    assert_eq!(hits(&server).await, 1);
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn server_errors_500_and_503_are_retried_with_backoff() {
    for status in [500u16, 503] {
        let server = always(
            ResponseTemplate::new(status)
                .set_body_raw(fixture("error_500_server_error.json"), "application/json"),
        )
        .await;
        let sleeper = RecordingSleeper::new();
        let err = model(&server, &sleeper).complete("hi").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{status}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(attempts(&err), Some(3));
        assert_eq!(hits(&server).await, 3);
        let waits = sleeper.waits();
        assert_eq!(waits.len(), 2);
        assert!(
            waits[0] <= Duration::from_millis(500) && waits[1] <= Duration::from_secs(1),
            "{waits:?}"
        );
    }
    // One 503, then success.
    let server = flaky(ResponseTemplate::new(503)).await;
    let reply = model(&server, &RecordingSleeper::new())
        .complete("again")
        .await
        .unwrap();
    assert_eq!(reply, "Echo: again");
}

#[tokio::test]
async fn conflict_409_is_retried_for_openai() {
    let server = flaky(ResponseTemplate::new(409).set_body_raw(
        r#"{"error":{"message":"Another request is in progress","type":"invalid_request_error","param":null,"code":null}}"#,
        "application/json",
    ))
    .await;
    let reply = model(&server, &RecordingSleeper::new())
        .complete("x")
        .await
        .unwrap();
    assert_eq!(reply, "Echo: x");
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn client_errors_map_to_kinds_without_retry() {
    let cases = [
        (
            400,
            "error_400_context_length.json",
            ErrorKind::InvalidInput,
        ),
        (
            401,
            "error_401_invalid_api_key.json",
            ErrorKind::Unauthenticated,
        ),
        (404, "error_404_model_not_found.json", ErrorKind::NotFound),
    ];
    for (status, file, kind) in cases {
        let server =
            always(ResponseTemplate::new(status).set_body_raw(fixture(file), "application/json"))
                .await;
        let err = model(&server, &RecordingSleeper::new())
            .complete("x")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{file}");
        assert_eq!(attempts(&err), Some(1), "{file}");
        assert_eq!(hits(&server).await, 1);
    }
}

#[tokio::test]
async fn connection_reset_is_unavailable_after_retries() {
    let (base, seen) = resetting_server().await;
    let sleeper = RecordingSleeper::new();
    let chat = builder(&base, &sleeper).build_chat().unwrap();
    let err = chat.complete("hi").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(attempts(&err), Some(3));
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    // Streams are retried the same way before their first byte.
    let err = chat
        .chat_stream(ChatRequest::from_prompt("hi"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(seen.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn timeout_is_retried_then_reported() {
    let server = always(ResponseTemplate::new(200).set_delay(Duration::from_secs(10))).await;
    let chat = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .timeout(Duration::from_millis(200))
        .max_retries(1)
        .build_chat()
        .unwrap();
    let err = chat.complete("hi").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(attempts(&err), Some(2));
}

#[tokio::test]
async fn malformed_and_truncated_bodies_are_protocol_errors() {
    let server =
        always(ResponseTemplate::new(200).set_body_raw("<html>gateway</html>", "text/html")).await;
    let err = model(&server, &RecordingSleeper::new())
        .complete("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert_eq!(attempts(&err), Some(1));

    let server = always(ResponseTemplate::new(200).set_body_raw(
        r#"{"id":"chatcmpl-1","choices":[{"index":0,"mess"#,
        "application/json",
    ))
    .await;
    let err = model(&server, &RecordingSleeper::new())
        .complete("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.message().contains("truncated"), "{err}");

    // The connection closes before the announced length arrived.
    let (base, seen) = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{\"id\":\"chatcmpl-1\",\"choices\":[",
    )
    .await;
    let err = builder(&base, &RecordingSleeper::new())
        .build_chat()
        .unwrap()
        .complete("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn empty_choices_are_a_protocol_error() {
    let server = always(ResponseTemplate::new(200).set_body_raw(
        r#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}}"#,
        "application/json",
    ))
    .await;
    let err = model(&server, &RecordingSleeper::new())
        .complete("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.message().contains("no choices"), "{err}");
    assert_eq!(attempts(&err), Some(1));
}

fn sse(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_owned(), "text/event-stream")
}

async fn stream_items(server: &MockServer) -> Vec<plugbay_core::Result<ChatEvent>> {
    model(server, &RecordingSleeper::new())
        .chat_stream(ChatRequest::from_prompt("hi"))
        .await
        .unwrap()
        .collect()
        .await
}

#[tokio::test]
async fn a_stream_cut_before_done_ends_in_a_protocol_error() {
    let text = fixture("stream_text.sse");
    let cut = &text[..text.find("data: [DONE]").unwrap()];
    let server = always(sse(cut)).await;
    let items = stream_items(&server).await;
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.kind(), ErrorKind::Protocol);
    assert_eq!(last.provider(), Some("openai"));
    assert_eq!(last.operation(), Some("chat_stream"));
    assert!(items[..items.len() - 1].iter().all(Result::is_ok));
    assert_eq!(
        hits(&server).await,
        1,
        "streams are not retried after the first byte"
    );

    // Cut mid-line, too.
    let server = always(sse(&text[..120])).await;
    let err = model(&server, &RecordingSleeper::new())
        .chat_streamed(ChatRequest::from_prompt("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
}

#[tokio::test]
async fn a_mid_stream_error_event_is_a_typed_error_item() {
    let body = concat!(
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
        "data: {\"error\":{\"message\":\"Rate limit reached for tokens\",\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}\n\n",
    );
    let server = always(sse(body)).await;
    let items = stream_items(&server).await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap(), &ChatEvent::text("Hel"));
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.provider_code(), Some("rate_limit_exceeded"));

    let server = always(sse(
        "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n",
    ))
    .await;
    let err = model(&server, &RecordingSleeper::new())
        .chat_streamed(ChatRequest::from_prompt("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn streams_fail_fast_on_error_statuses_with_retries_before_the_first_byte() {
    let server = flaky(rate_limited().insert_header("retry-after-ms", "250")).await;
    let sleeper = RecordingSleeper::new();
    let reply = model(&server, &sleeper)
        .chat_streamed(ChatRequest::from_prompt("hi"))
        .await
        .unwrap();
    assert_eq!(reply.text(), "Echo: hi");
    assert_eq!(sleeper.waits(), vec![Duration::from_millis(250)]);

    let server = always(ResponseTemplate::new(401).set_body_raw(
        fixture("error_401_invalid_api_key.json"),
        "application/json",
    ))
    .await;
    let err = model(&server, &RecordingSleeper::new())
        .chat_stream(ChatRequest::from_prompt("hi"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.operation(), Some("chat_stream"));
}

#[tokio::test]
async fn embedding_faults() {
    let server = flaky(rate_limited().insert_header("retry-after", "1")).await;
    let sleeper = RecordingSleeper::new();
    let embed = builder(&format!("{}/v1", server.uri()), &sleeper)
        .build_embedding()
        .unwrap();
    let out = embed
        .embed(&["a b".to_owned(), "c d".to_owned()])
        .await
        .unwrap();
    assert_eq!(out.vectors.len(), 2);
    assert_eq!(sleeper.waits(), vec![Duration::from_secs(1)]);

    let err = embed
        .embed(&["ok".to_owned(), String::new()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let server = always(ResponseTemplate::new(200).set_body_raw(
        r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1.0]}],"model":"m"}"#,
        "application/json",
    ))
    .await;
    let embed = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .build_embedding()
        .unwrap();
    let err = embed
        .embed(&["a".to_owned(), "b".to_owned()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "one vector for two inputs");
    assert_eq!(err.operation(), Some("embeddings"));
}
