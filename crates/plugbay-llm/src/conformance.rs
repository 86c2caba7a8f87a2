//! Conformance suites every backend runs: [`chat`] for [`ChatModel`]s and
//! [`embedding`] for [`EmbeddingModel`]s.
//!
//! Each scenario is a public `async fn` taking the backend as a trait
//! object, and each module has a `run_all`. Scenarios that need a capability
//! the backend lacks are skipped with a printed reason. The chat suite
//! assumes a deterministic backend (the mock, or wiremock stubs): it
//! compares a streamed reply with a non-streamed one.
//!
//! [`ChatModel`]: crate::ChatModel
//! [`EmbeddingModel`]: crate::EmbeddingModel
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

fn skip(scenario: &str, reason: &str) {
    eprintln!("conformance: skipping `{scenario}`: {reason}");
}

/// Scenarios for [`ChatModel`](crate::ChatModel).
pub mod chat {
    use futures::StreamExt;
    use plugbay_core::ErrorKind;
    use serde_json::{Value, json};

    use super::skip;
    use crate::{
        ChatEvent, ChatModel, ChatModelExt, ChatRequest, FinishReason, Message, ResponseFormat,
        ToolChoice, ToolSpec, collect_stream,
    };

    fn greeting() -> ChatRequest {
        ChatRequest::new(vec![
            Message::system("You are a test fixture. Answer in one short sentence."),
            Message::user("Say hello to the conformance suite."),
        ])
        .temperature(0.0)
        .seed(7)
    }

    fn weather_tool() -> ToolSpec {
        ToolSpec::new(
            "get_weather",
            "Current weather for a city",
            json!({
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name"}},
                "required": ["city"],
                "additionalProperties": false
            }),
        )
    }

    /// A plain request returns text, usage and a `Stop` finish.
    pub async fn simple_chat(model: &dyn ChatModel) {
        let response = model.chat(greeting()).await.expect("simple chat");
        assert!(!response.text().trim().is_empty(), "reply text is empty");
        assert!(response.tool_calls().is_empty(), "no tools were offered");
        assert_eq!(response.finish_reason, FinishReason::Stop);
        let usage = response.usage.expect("usage is reported");
        assert!(usage.input_tokens > 0, "input tokens: {usage:?}");
        assert!(usage.output_tokens > 0, "output tokens: {usage:?}");
        assert!(
            usage.total_tokens >= usage.input_tokens + usage.output_tokens,
            "{usage:?}"
        );
    }

    /// Streaming yields text deltas, at most one usage event, and exactly one
    /// `Finish` as the last event; the deltas concatenate to the reply that
    /// `chat` gives for the same request.
    pub async fn streaming_matches_chat(model: &dyn ChatModel) {
        if !model.capabilities().streaming {
            return skip("streaming_matches_chat", "backend does not stream");
        }
        let whole = model.chat(greeting()).await.expect("chat");
        let stream = model.chat_stream(greeting()).await.expect("chat_stream");
        let events: Vec<ChatEvent> = stream
            .map(|item| item.expect("stream item"))
            .collect()
            .await;

        let deltas: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                ChatEvent::TextDelta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert!(!deltas.is_empty(), "no text deltas in {events:?}");
        assert_eq!(
            deltas.concat(),
            whole.text(),
            "streamed text differs from chat"
        );

        let finishes = events
            .iter()
            .filter(|e| matches!(e, ChatEvent::Finish { .. }))
            .count();
        assert_eq!(finishes, 1, "exactly one Finish: {events:?}");
        assert!(
            matches!(events.last(), Some(ChatEvent::Finish { .. })),
            "Finish is last"
        );
        let usages = events
            .iter()
            .filter(|e| matches!(e, ChatEvent::Usage(_)))
            .count();
        assert!(usages <= 1, "at most one Usage: {events:?}");
        if model.capabilities().streaming_usage {
            assert_eq!(usages, 1, "streaming_usage promised a Usage event");
        }

        let collected = collect_stream(futures::stream::iter(events.into_iter().map(Ok)).boxed())
            .await
            .expect("collect");
        assert_eq!(collected.text(), whole.text());
        assert_eq!(collected.finish_reason, whole.finish_reason);
    }

    /// The model calls an offered tool, the caller answers with a tool
    /// result, and the model replies with text. Streaming, when supported,
    /// gives the same call.
    pub async fn tool_call_round_trip(model: &dyn ChatModel) {
        if !model.capabilities().tools {
            return skip("tool_call_round_trip", "backend has no tool calls");
        }
        let request = ChatRequest::new(vec![Message::user(
            "What is the weather in Oslo? Use the tool.",
        )])
        .tool(weather_tool())
        .tool_choice(ToolChoice::Required)
        .temperature(0.0);
        let response = model.chat(request.clone()).await.expect("tool call");
        assert_eq!(response.finish_reason, FinishReason::ToolCalls);
        let calls = response.tool_calls().to_vec();
        assert!(!calls.is_empty(), "no tool call");
        for call in &calls {
            assert_eq!(call.name, "get_weather");
            assert!(!call.id.is_empty(), "tool call id is empty");
            let args: Value = call.parse_arguments().expect("arguments are JSON");
            assert!(
                args.get("city").is_some_and(Value::is_string),
                "arguments: {args}"
            );
        }

        if model.capabilities().streaming {
            let streamed = model
                .chat_streamed(request.clone())
                .await
                .expect("streamed tool call");
            assert_eq!(streamed.finish_reason, FinishReason::ToolCalls);
            let names: Vec<&str> = streamed
                .tool_calls()
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            assert!(
                !names.is_empty() && names.iter().all(|n| *n == "get_weather"),
                "{names:?}"
            );
        }

        let mut follow_up = request
            .message(Message::assistant_tool_calls(calls.clone()))
            .tool_choice(ToolChoice::None);
        for call in &calls {
            follow_up =
                follow_up.message(Message::tool_result(&call.id, r#"{"temperature_c": 12}"#));
        }
        let answer = model
            .chat(follow_up)
            .await
            .expect("answer after tool result");
        assert!(
            answer.tool_calls().is_empty(),
            "tool_choice none yet called a tool"
        );
        assert!(
            !answer.text().trim().is_empty(),
            "no text after tool result"
        );
        assert_eq!(answer.finish_reason, FinishReason::Stop);
    }

    /// A JSON Schema response format gives JSON matching the schema.
    pub async fn structured_output(model: &dyn ChatModel) {
        if !model.capabilities().json_schema {
            return skip("structured_output", "backend has no JSON Schema output");
        }
        let schema = json!({
            "type": "object",
            "properties": {
                "answer": {"type": "string"},
                "confidence": {"type": "number"}
            },
            "required": ["answer", "confidence"],
            "additionalProperties": false
        });
        let request = ChatRequest::from_prompt("Is water wet? Answer as JSON.")
            .response_format(ResponseFormat::json_schema("verdict", schema))
            .temperature(0.0);
        let value: Value = model.chat_json(request).await.expect("structured output");
        assert!(value["answer"].is_string(), "answer: {value}");
        assert!(value["confidence"].is_number(), "confidence: {value}");
    }

    /// A request without messages is `InvalidInput`, for `chat` and
    /// `chat_stream` alike.
    pub async fn empty_messages_are_invalid(model: &dyn ChatModel) {
        let err = model
            .chat(ChatRequest::default())
            .await
            .expect_err("empty messages");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        if model.capabilities().streaming {
            let err = model
                .chat_stream(ChatRequest::default())
                .await
                .err()
                .expect("empty messages (stream)");
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        }
    }

    /// Every chat scenario.
    pub async fn run_all(model: &dyn ChatModel) {
        simple_chat(model).await;
        streaming_matches_chat(model).await;
        tool_call_round_trip(model).await;
        structured_output(model).await;
        empty_messages_are_invalid(model).await;
    }
}

/// Scenarios for [`EmbeddingModel`](crate::EmbeddingModel).
pub mod embedding {
    use super::skip;
    use crate::{EmbeddingModel, EmbeddingModelExt};

    /// Largest batch the suite sends to exceed `max_batch`.
    const MAX_TEST_BATCH: usize = 2048;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    }

    fn assert_same(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths differ");
        let sim = cosine(a, b);
        assert!(sim > 0.999, "{what}: cosine {sim}");
    }

    /// Every vector has the advertised length and finite values.
    pub async fn dimensions_match(model: &dyn EmbeddingModel) {
        let inputs = vec![
            "hello world".to_owned(),
            "a second, longer input text".to_owned(),
        ];
        let out = model.embed(&inputs).await.expect("embed");
        assert_eq!(out.vectors.len(), 2);
        let len = out.vectors[0].len();
        assert!(len > 0, "empty vector");
        if let Some(dims) = model.dimensions() {
            assert_eq!(len, dims, "vector length vs dimensions()");
        }
        for vector in &out.vectors {
            assert_eq!(vector.len(), len, "vectors of one call differ in length");
            assert!(vector.iter().all(|x| x.is_finite()), "non-finite value");
        }
    }

    /// More inputs than `max_batch` in one call still gives one vector per
    /// input, each equal to embedding that input alone.
    pub async fn batch_larger_than_max_batch(model: &dyn EmbeddingModel) {
        let max = model.max_batch();
        if max >= MAX_TEST_BATCH {
            return skip(
                "batch_larger_than_max_batch",
                "max_batch is too large to exceed in a test",
            );
        }
        let inputs: Vec<String> = (0..=max)
            .map(|i| format!("input number {i} about topic {}", i % 7))
            .collect();
        let out = model.embed(&inputs).await.expect("large batch");
        assert_eq!(out.vectors.len(), inputs.len());
        for i in [0, max / 2, max] {
            let alone = model.embed_one(&inputs[i]).await.expect("embed_one");
            assert_same(&out.vectors[i], &alone, &format!("input {i}"));
        }
    }

    /// Vectors come back in input order.
    pub async fn order_preserved(model: &dyn EmbeddingModel) {
        let forward = vec![
            "alpha apples orchard".to_owned(),
            "beta bananas plantation".to_owned(),
            "gamma grapes vineyard".to_owned(),
        ];
        let backward: Vec<String> = forward.iter().rev().cloned().collect();
        let a = model.embed(&forward).await.expect("embed forward");
        let b = model.embed(&backward).await.expect("embed backward");
        for i in 0..forward.len() {
            assert_same(
                &a.vectors[i],
                &b.vectors[forward.len() - 1 - i],
                &forward[i],
            );
        }
        let first_vs_second = cosine(&a.vectors[0], &a.vectors[1]);
        assert!(
            first_vs_second < 0.999,
            "different texts gave the same vector"
        );
    }

    /// An empty input list gives an empty result, not an error.
    pub async fn empty_input(model: &dyn EmbeddingModel) {
        let out = model.embed(&[]).await.expect("empty input");
        assert!(out.vectors.is_empty());
    }

    /// Every embedding scenario.
    pub async fn run_all(model: &dyn EmbeddingModel) {
        dimensions_match(model).await;
        batch_larger_than_max_batch(model).await;
        order_preserved(model).await;
        empty_input(model).await;
    }
}

#[cfg(test)]
mod tests {
    use crate::{ChatCapabilities, HashingEmbedder, MockChatModel, MockEmbeddingModel};

    #[tokio::test]
    async fn default_mock_passes_the_chat_suite() {
        super::chat::run_all(&MockChatModel::new()).await;
    }

    #[tokio::test]
    async fn a_mock_without_capabilities_passes_by_skipping() {
        let mock = MockChatModel::new().with_capabilities(ChatCapabilities::none());
        super::chat::run_all(&mock).await;
        // Only the plain chat and the invalid request reached it.
        assert_eq!(mock.request_count(), 2);
    }

    #[tokio::test]
    #[should_panic(expected = "streamed text differs")]
    async fn the_suite_catches_a_stream_that_disagrees_with_chat() {
        let mock = MockChatModel::new();
        mock.push_text("one answer").push_text("another answer");
        super::chat::streaming_matches_chat(&mock).await;
    }

    #[tokio::test]
    async fn embedders_pass_the_embedding_suite() {
        super::embedding::run_all(&HashingEmbedder::default()).await;
        let mock = MockEmbeddingModel::new().with_max_batch(4);
        super::embedding::run_all(&mock).await;
        assert!(
            mock.calls().iter().any(|c| c.len() == 5),
            "the suite exceeded max_batch"
        );
    }
}
