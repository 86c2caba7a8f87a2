//! The wire format: request bodies and headers as OpenAI documents them,
//! every recorded reply and stream fixture, first-event latency, and the
//! GenAI span attributes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod openai_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use openai_support::{KEY, OpenAiStub, builder, fixture, http};
use plugbay_core::http::RecordingSleeper;
use plugbay_llm::openai::{MaxTokensField, OpenAiBuilder};
use plugbay_llm::{
    ChatEvent, ChatModel, ChatModelExt, ChatRequest, ContentPart, EmbeddingModel, FinishReason,
    Message, ResponseFormat, ToolCall, ToolChoice, ToolSpec, Usage,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn stub_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(OpenAiStub::default())
        .mount(&server)
        .await;
    server
}

async fn last_body(server: &MockServer) -> Value {
    let requests = server.received_requests().await.unwrap();
    serde_json::from_slice(&requests.last().unwrap().body).unwrap()
}

fn weather() -> ToolSpec {
    ToolSpec::new(
        "get_weather",
        "Weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
    .strict(true)
}

#[tokio::test]
async fn chat_body_carries_tools_choice_format_and_sampling() {
    let server = stub_server().await;
    let model = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .default_param("temperature", json!(1.0))
        .default_param("service_tier", json!("flex"))
        .build_chat()
        .unwrap();
    let request = ChatRequest::new(vec![
        Message::system("Be brief."),
        Message::user("Weather in Oslo?").with_name("ada"),
        Message::assistant_tool_calls(vec![ToolCall::new(
            "call_1",
            "get_weather",
            r#"{"city":"Oslo"}"#,
        )]),
        Message::tool_result("call_1", r#"{"c":12}"#),
    ])
    .model("gpt-4.1")
    .tool(weather())
    .tool_choice(ToolChoice::Tool("get_weather".into()))
    .parallel_tool_calls(false)
    .temperature(0.2)
    .top_p(0.9)
    .max_tokens(64)
    .stop(["END"])
    .seed(7)
    .user("user-1")
    .extra("logprobs", json!(true));
    model.chat(request).await.unwrap();
    let body = last_body(&server).await;
    assert_eq!(body["model"], "gpt-4.1");
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            "strict": true}}])
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "function": {"name": "get_weather"}})
    );
    assert_eq!(body["parallel_tool_calls"], false);
    assert_eq!(
        body["temperature"],
        json!(0.2),
        "request beats default, no f32 noise"
    );
    assert_eq!(body["top_p"], json!(0.9));
    assert_eq!(body["max_completion_tokens"], 64);
    assert!(body.get("max_tokens").is_none());
    assert_eq!(body["stop"], json!(["END"]));
    assert_eq!(
        (body["seed"].clone(), body["user"].clone()),
        (json!(7), json!("user-1"))
    );
    assert_eq!(body["logprobs"], true);
    assert_eq!(body["service_tier"], "flex", "defaults fill the gaps");
    assert!(body.get("stream").is_none());
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(
        messages[1],
        json!({"role": "user", "content": "Weather in Oslo?", "name": "ada"})
    );
    assert_eq!(
        messages[2],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]})
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "content": "{\"c\":12}", "tool_call_id": "call_1"})
    );
}

#[tokio::test]
async fn image_parts_use_the_content_array_shape() {
    let server = stub_server().await;
    let model = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .build_chat()
        .unwrap();
    assert!(model.capabilities().vision);
    let reply = model
        .chat(ChatRequest::new(vec![Message::user_parts(vec![
            ContentPart::text("What is this?"),
            ContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
        ])]))
        .await
        .unwrap();
    assert_eq!(reply.text(), "Echo: What is this?");
    assert_eq!(
        last_body(&server).await["messages"][0],
        json!({"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
        ]})
    );
}

#[tokio::test]
async fn tool_choice_and_response_format_shapes() {
    let server = stub_server().await;
    let model = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .build_chat()
        .unwrap();
    for (choice, wire) in [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::None, json!("none")),
        (ToolChoice::Required, json!("required")),
    ] {
        model
            .chat(
                ChatRequest::from_prompt("x")
                    .tool(weather())
                    .tool_choice(choice),
            )
            .await
            .unwrap();
        assert_eq!(last_body(&server).await["tool_choice"], wire);
    }
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"], "additionalProperties": false});
    let reply: Value = model
        .chat_json(
            ChatRequest::from_prompt("x")
                .response_format(ResponseFormat::json_schema("verdict", schema.clone())),
        )
        .await
        .unwrap();
    assert_eq!(reply, json!({"answer": "Oslo"}));
    assert_eq!(
        last_body(&server).await["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": true}})
    );
    // chat_json without a format asks for JSON mode; parallel_tool_calls
    // without tools is not sent (OpenAI rejects it).
    let _ = model
        .chat_json::<Value>(ChatRequest::from_prompt("x").parallel_tool_calls(true))
        .await;
    let body = last_body(&server).await;
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert!(body.get("parallel_tool_calls").is_none());
}

#[tokio::test]
async fn streaming_requests_ask_for_usage_unless_disabled() {
    let server = stub_server().await;
    let base = format!("{}/v1", server.uri());
    let model = builder(&base, &RecordingSleeper::new())
        .build_chat()
        .unwrap();
    let reply = model
        .chat_streamed(ChatRequest::from_prompt("count"))
        .await
        .unwrap();
    assert_eq!(reply.text(), "Echo: count");
    assert!(reply.usage.is_some());
    let body = last_body(&server).await;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));

    let quiet = builder(&base, &RecordingSleeper::new())
        .stream_usage(false)
        .max_tokens_field(MaxTokensField::MaxTokens)
        .build_chat()
        .unwrap();
    assert!(!quiet.capabilities().streaming_usage);
    let reply = quiet
        .chat_streamed(ChatRequest::from_prompt("count").max_tokens(5))
        .await
        .unwrap();
    assert!(reply.usage.is_none());
    let body = last_body(&server).await;
    assert!(body.get("stream_options").is_none());
    assert_eq!(body["max_tokens"], 5);
    assert!(body.get("max_completion_tokens").is_none());
}

#[tokio::test]
async fn organization_project_and_auth_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("openai-organization", "org-42"))
        .and(header("openai-project", "proj_7"))
        .and(header("content-type", "application/json"))
        .respond_with(OpenAiStub::default())
        .expect(2)
        .mount(&server)
        .await;
    let model = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .organization("org-42")
        .project("proj_7")
        .build_chat()
        .unwrap();
    assert_eq!(model.complete("hi").await.unwrap(), "Echo: hi");
    let streamed = model
        .chat_streamed(ChatRequest::from_prompt("hi"))
        .await
        .unwrap();
    assert_eq!(streamed.text(), "Echo: hi");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[1].headers.get("accept").unwrap(),
        "text/event-stream"
    );
}

#[tokio::test]
async fn azure_url_and_api_key_header() {
    let server = stub_server().await;
    let model = OpenAiBuilder::azure(format!("{}/", server.uri()))
        .api_key(KEY)
        .model("my gpt4o")
        .http_client(http(&RecordingSleeper::new()))
        .build_chat()
        .unwrap();
    model.complete("hi").await.unwrap();
    model
        .chat(ChatRequest::from_prompt("hi").model("other-dep"))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].url.path(),
        "/openai/deployments/my%20gpt4o/chat/completions"
    );
    assert_eq!(requests[0].url.query(), Some("api-version=2024-10-21"));
    assert_eq!(requests[0].headers.get("api-key").unwrap(), KEY);
    assert!(requests[0].headers.get("authorization").is_none());
    assert_eq!(
        requests[1].url.path(),
        "/openai/deployments/other-dep/chat/completions"
    );
}

async fn replying(body: String, content_type: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, content_type))
        .mount(&server)
        .await;
    server
}

async fn chat_fixture(name: &str) -> plugbay_llm::ChatResponse {
    let server = replying(fixture(name), "application/json").await;
    builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .build_chat()
        .unwrap()
        .chat(ChatRequest::from_prompt("x"))
        .await
        .unwrap()
}

#[tokio::test]
async fn recorded_replies_parse() {
    let r = chat_fixture("chat_completion.json").await;
    assert_eq!(r.text(), "Hello! How can I assist you today?");
    assert_eq!(
        r.id.as_deref(),
        Some("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT")
    );
    assert_eq!(r.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(
        r.usage,
        Some(
            Usage::new(19, 10)
                .with_cached_input_tokens(0)
                .with_reasoning_tokens(0)
        )
    );

    let r = chat_fixture("chat_tool_calls.json").await;
    assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    assert!(r.message.content.is_none());
    let args: Value = r.tool_calls()[0].parse_arguments().unwrap();
    assert_eq!(args["location"], "Boston, MA");

    let r = chat_fixture("chat_parallel_tool_calls.json").await;
    let ids: Vec<&str> = r.tool_calls().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_1", "call_2", "call_3"]);
    assert_eq!(r.tool_calls()[2].name, "get_time");

    let r = chat_fixture("chat_structured_output.json").await;
    let v: Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(v["confidence"], 0.92);
    assert_eq!(r.usage.unwrap().cached_input_tokens, Some(64));

    // No id, empty model and finish reason, `usage: {}`, object arguments,
    // unknown fields: all tolerated.
    let r = chat_fixture("chat_tolerant_compat.json").await;
    assert_eq!(r.id, None);
    assert_eq!(r.model, "gpt-4o-mini", "falls back to the requested model");
    assert_eq!(
        r.finish_reason,
        FinishReason::ToolCalls,
        "inferred from the calls"
    );
    assert_eq!(r.usage, Some(Usage::default()));
    assert_eq!(
        r.tool_calls(),
        &[ToolCall::new("call_0", "lookup", r#"{"q":"rust"}"#)]
    );
}

#[tokio::test]
async fn recorded_embeddings_are_put_back_in_order() {
    let server = replying(fixture("embeddings.json"), "application/json").await;
    let out = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .build_embedding()
        .unwrap()
        .embed(&["first".to_owned(), "second".to_owned()])
        .await
        .unwrap();
    assert_eq!(out.vectors[1], vec![0.5, -0.25, 0.125]);
    assert_eq!(out.usage.map(|u| u.input_tokens), Some(8));
    assert_eq!(out.model, "text-embedding-3-small");
    let body = last_body(&server).await;
    assert_eq!(
        body,
        json!({"model": "text-embedding-3-small", "input": ["first", "second"], "encoding_format": "float"})
    );
}

async fn stream_fixture(name: &str) -> Vec<ChatEvent> {
    let server = replying(fixture(name), "text/event-stream").await;
    builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .build_chat()
        .unwrap()
        .chat_stream(ChatRequest::from_prompt("x"))
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await
}

fn text_of(events: &[ChatEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn recorded_streams_fold_into_the_event_contract() {
    let events = stream_fixture("stream_text.sse").await;
    assert_eq!(text_of(&events), "Hello! How can I help? é😀");
    assert_eq!(
        events[events.len() - 2],
        ChatEvent::Usage(
            Usage::new(9, 7)
                .with_cached_input_tokens(0)
                .with_reasoning_tokens(0)
        )
    );
    assert_eq!(
        events.last().unwrap(),
        &ChatEvent::Finish {
            reason: FinishReason::Stop,
            response_id: Some("chatcmpl-123".into()),
            model: Some("gpt-4o-mini".into())
        }
    );

    let events = stream_fixture("stream_tool_calls.sse").await;
    let calls: Vec<&ToolCall> = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::ToolCall(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            &ToolCall::new(
                "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                "get_weather",
                r#"{"city": "Paris"}"#
            ),
            &ToolCall::new("call_2", "get_time", r#"{"tz": "CET"}"#)
        ]
    );
    let deltas = events
        .iter()
        .filter(|e| matches!(e, ChatEvent::ToolCallDelta { .. }))
        .count();
    assert_eq!(deltas, 5, "deltas are passed on as they arrive");
    assert!(matches!(events[events.len() - 2], ChatEvent::Usage(u) if u.total_tokens == 108));

    let events = stream_fixture("stream_vllm_usage.sse").await;
    assert_eq!(text_of(&events), "Hi there");
    let usages: Vec<&ChatEvent> = events
        .iter()
        .filter(|e| matches!(e, ChatEvent::Usage(_)))
        .collect();
    assert_eq!(
        usages,
        [&ChatEvent::Usage(Usage::new(12, 2))],
        "one Usage, the last one"
    );

    let events = stream_fixture("stream_azure.sse").await;
    assert_eq!(text_of(&events), "Hi");
    assert!(
        matches!(events.last().unwrap(), ChatEvent::Finish { response_id: Some(id), .. } if id == "chatcmpl-az")
    );
}

#[tokio::test]
async fn a_server_that_ignores_stream_true_is_replayed_as_events() {
    let server = replying(fixture("chat_completion.json"), "application/json").await;
    let reply = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .build_chat()
        .unwrap()
        .chat_streamed(ChatRequest::from_prompt("x"))
        .await
        .unwrap();
    assert_eq!(reply.text(), "Hello! How can I assist you today?");
    assert_eq!(reply.usage.map(|u| u.output_tokens), Some(10));
}

#[tokio::test]
async fn the_first_event_arrives_before_the_stream_is_complete() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let _ = socket.read(&mut buf).await.unwrap();
        let first = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"early\"}}]}\n\n";
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        socket
            .write_all(format!("{:x}\r\n{first}\r\n", first.len()).as_bytes())
            .await
            .unwrap();
        socket.flush().await.unwrap();
        // Hold the rest back until the client has seen the first event.
        let _ = release_rx.await;
        let rest = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        socket
            .write_all(format!("{:x}\r\n{rest}\r\n0\r\n\r\n", rest.len()).as_bytes())
            .await
            .unwrap();
    });
    let model = OpenAiBuilder::compatible("local", format!("http://{addr}/v1"))
        .http_client(http(&RecordingSleeper::new()))
        .build_chat()
        .unwrap();
    let mut stream = model
        .chat_stream(ChatRequest::from_prompt("x"))
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the first event must not wait for the rest of the body");
    assert_eq!(first.unwrap().unwrap(), ChatEvent::text("early"));
    release_tx.send(()).unwrap();
    let rest: Vec<ChatEvent> = stream.map(Result::unwrap).collect().await;
    assert_eq!(rest, vec![ChatEvent::finish(FinishReason::Stop)]);
}

/// Captures what the test's own thread logs. A process-wide subscriber
/// avoids the callsite-interest races of thread-local ones when other tests
/// run in parallel; their output (other threads) is dropped.
#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>, std::thread::ThreadId);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::thread::current().id() == self.1 {
            self.0.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn spans_carry_the_gen_ai_attributes() {
    let captured = Captured(Arc::default(), std::thread::current().id());
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let server = stub_server().await;
    let base = format!("{}/v1", server.uri());
    let chat = builder(&base, &RecordingSleeper::new())
        .build_chat()
        .unwrap();
    chat.complete("hello there").await.unwrap();
    chat.chat_streamed(ChatRequest::from_prompt("streamed"))
        .await
        .unwrap();
    builder(&base, &RecordingSleeper::new())
        .build_embedding()
        .unwrap()
        .embed(&["a".to_owned()])
        .await
        .unwrap();
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for needle in [
        "gen_ai.operation.name=\"chat\"",
        "gen_ai.provider.name=\"openai\"",
        "gen_ai.request.model=\"gpt-4o-mini\"",
        "gen_ai.response.model=\"gpt-4o-mini-2024-07-18\"",
        "gen_ai.response.id=\"chatcmpl-stub\"",
        "gen_ai.usage.input_tokens=2",
        "gen_ai.usage.output_tokens=3",
        "gen_ai.response.finish_reasons=\"stop\"",
        "gen_ai.request.stream=true",
        "ratelimit.remaining_requests=\"499\"",
        "gen_ai.operation.name=\"embeddings\"",
    ] {
        assert!(log.contains(needle), "missing {needle} in:\n{log}");
    }
}
