use futures::StreamExt;
use serde_json::json;

use super::*;
use crate::model::ChatModelExt;
use crate::types::{FinishReason, Message, ResponseFormat, ToolChoice, ToolSpec, Usage};

async fn drain(stream: ChatStream) -> Vec<Result<ChatEvent>> {
    stream.collect().await
}

#[tokio::test]
async fn default_reply_echoes_the_last_user_message_with_usage() {
    let mock = MockChatModel::new();
    let response = mock
        .chat(ChatRequest::new(vec![
            Message::system("be nice"),
            Message::user("hello there"),
        ]))
        .await
        .unwrap();
    assert_eq!(response.text(), "[mock] hello there");
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(response.model, "mock-chat");
    let usage = response.usage.unwrap();
    assert!(usage.input_tokens > 0 && usage.output_tokens > 0);
    assert_eq!(usage.total_tokens, usage.input_tokens + usage.output_tokens);
}

#[tokio::test]
async fn script_is_fifo_then_falls_back_to_the_responder() {
    let mock = MockChatModel::new().with_responder(|req| {
        Ok(ChatResponse::from_text(format!(
            "responder saw {} messages",
            req.messages.len()
        )))
    });
    mock.push_text("first")
        .push_tool_calls(vec![ToolCall::new("c1", "f", "{}")]);
    assert_eq!(mock.remaining(), 2);
    assert_eq!(mock.complete("a").await.unwrap(), "first");
    let second = mock.chat(ChatRequest::from_prompt("b")).await.unwrap();
    assert_eq!(second.tool_calls()[0].name, "f");
    assert_eq!(second.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        mock.complete("c").await.unwrap(),
        "responder saw 1 messages"
    );
    assert_eq!(mock.remaining(), 0);
}

#[tokio::test]
async fn requests_are_recorded_including_failed_ones() {
    let mock = MockChatModel::new();
    mock.push_error(Error::new(ErrorKind::RateLimited, "slow down"));
    let err = mock
        .chat(ChatRequest::from_prompt("one").model("m1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    let err = mock.chat(ChatRequest::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(mock.request_count(), 2);
    assert_eq!(mock.requests()[0].model.as_deref(), Some("m1"));
    assert!(mock.last_request().unwrap().messages.is_empty());
}

#[tokio::test]
async fn text_reply_streams_as_several_deltas_then_usage_then_finish() {
    let mock = MockChatModel::new();
    mock.push_text("one two three");
    let events: Vec<ChatEvent> = drain(
        mock.chat_stream(ChatRequest::from_prompt("go"))
            .await
            .unwrap(),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    assert_eq!(
        &events[..3],
        &[
            ChatEvent::text("one "),
            ChatEvent::text("two "),
            ChatEvent::text("three")
        ]
    );
    assert!(matches!(events[3], ChatEvent::Usage(_)));
    assert!(matches!(
        &events[4],
        ChatEvent::Finish {
            reason: FinishReason::Stop,
            ..
        }
    ));
    assert_eq!(events.len(), 5);
}

#[tokio::test]
async fn scripted_stream_is_replayed_exactly_and_collects_for_chat() {
    let events = vec![
        ChatEvent::ToolCallDelta {
            index: 0,
            id: Some("c1".into()),
            name: Some("f".into()),
            arguments: "{\"x\"".into(),
        },
        ChatEvent::ToolCallDelta {
            index: 0,
            id: None,
            name: None,
            arguments: ":1}".into(),
        },
        ChatEvent::Usage(Usage::new(5, 1)),
        ChatEvent::finish(FinishReason::ToolCalls),
    ];
    let mock = MockChatModel::new();
    mock.push_stream(events.clone()).push_stream(events.clone());
    let streamed: Vec<ChatEvent> = drain(
        mock.chat_stream(ChatRequest::from_prompt("x"))
            .await
            .unwrap(),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    assert_eq!(streamed, events);
    let folded = mock.chat(ChatRequest::from_prompt("x")).await.unwrap();
    assert_eq!(
        folded.tool_calls(),
        &[ToolCall::new("c1", "f", r#"{"x":1}"#)]
    );
    assert_eq!(
        folded.usage,
        Some(Usage::new(5, 1)),
        "scripted usage is kept"
    );
}

#[tokio::test]
async fn stream_failures_before_and_during_the_stream() {
    let mock = MockChatModel::new();
    mock.push_error(Error::new(ErrorKind::Unauthenticated, "bad key"));
    mock.push_stream_error(
        vec![ChatEvent::text("par")],
        Error::new(ErrorKind::Unavailable, "reset"),
    );
    let err = mock
        .chat_stream(ChatRequest::from_prompt("x"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let items = drain(
        mock.chat_stream(ChatRequest::from_prompt("x"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap(), &ChatEvent::text("par"));
    assert_eq!(
        items[1].as_ref().unwrap_err().kind(),
        ErrorKind::Unavailable
    );
}

#[tokio::test]
async fn default_tool_call_streams_as_deltas_and_a_complete_call() {
    let mock = MockChatModel::new();
    let request = ChatRequest::from_prompt("weather in Oslo?")
        .tool(ToolSpec::new(
            "get_weather",
            "Weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        ))
        .tool_choice(ToolChoice::Required);
    let direct = mock.chat(request.clone()).await.unwrap();
    let streamed = mock.chat_streamed(request).await.unwrap();
    assert_eq!(direct.tool_calls()[0].name, "get_weather");
    assert_eq!(direct.tool_calls()[0].arguments, r#"{"city":"mock"}"#);
    assert_eq!(streamed.tool_calls()[0].name, direct.tool_calls()[0].name);
    assert_eq!(
        streamed.tool_calls()[0].arguments,
        direct.tool_calls()[0].arguments
    );
    assert_eq!(streamed.finish_reason, FinishReason::ToolCalls);
}

#[tokio::test]
async fn chat_json_sets_json_mode_and_parses() {
    let mock = MockChatModel::new();
    let value: serde_json::Value = mock
        .chat_json(ChatRequest::from_prompt("as JSON please"))
        .await
        .unwrap();
    assert_eq!(value, json!({"reply": "[mock] as JSON please"}));
    assert_eq!(
        mock.last_request().unwrap().response_format,
        Some(ResponseFormat::JsonObject)
    );

    mock.push_text("not json");
    let err = mock
        .chat_json::<serde_json::Value>(ChatRequest::from_prompt("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
}

#[tokio::test]
async fn streaming_can_be_turned_off() {
    let mock = MockChatModel::new().with_capabilities(ChatCapabilities::none().tools(true));
    mock.push_text("kept for chat");
    let err = mock
        .chat_stream(ChatRequest::from_prompt("x"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(!mock.capabilities().streaming);
    assert_eq!(mock.complete("x").await.unwrap(), "kept for chat");
}

#[tokio::test]
async fn request_model_overrides_the_default_and_is_shared_through_dyn() {
    let mock: crate::DynChatModel = Arc::new(MockChatModel::new().with_model("base"));
    assert_eq!(mock.complete("x").await.unwrap(), "[mock] x");
    let response = mock
        .chat(ChatRequest::from_prompt("x").model("other"))
        .await
        .unwrap();
    assert_eq!(response.model, "other");
    assert_eq!(mock.model(), "base");
    assert_eq!(mock.provider(), "mock");
}
