//! Tests of the fallback wrappers, on scripted mocks.

use std::sync::Mutex;

use super::*;
use crate::{ChatModelExt, FinishReason, MockChatModel, collect_stream};

fn err(kind: ErrorKind) -> Error {
    Error::new(kind, format!("scripted {kind}"))
}

fn pair() -> Fallback<MockChatModel, MockChatModel> {
    Fallback::new(
        MockChatModel::new().with_model("one"),
        MockChatModel::new().with_model("two"),
    )
}

#[tokio::test]
async fn falls_back_on_transient_errors_only() {
    let cases = [
        (ErrorKind::RateLimited, true),
        (ErrorKind::QuotaExceeded, true),
        (ErrorKind::Unavailable, true),
        (ErrorKind::Timeout, true),
        (ErrorKind::Protocol, true),
        (ErrorKind::InvalidInput, false),
        (ErrorKind::Unauthenticated, false),
        (ErrorKind::PermissionDenied, false),
        (ErrorKind::Config, false),
    ];
    for (kind, falls_back) in cases {
        let model = pair();
        model.get_ref().0.push_error(err(kind));
        let result = model.complete("hi").await;
        assert_eq!(result.is_ok(), falls_back, "{kind}: {result:?}");
        if let Err(error) = result {
            assert_eq!(error.kind(), kind);
        }
        let secondary_calls = model.get_ref().1.request_count();
        assert_eq!(secondary_calls, usize::from(falls_back), "{kind}");
    }
}

#[tokio::test]
async fn secondary_gets_the_request_without_the_model_override() {
    let model = pair();
    model.get_ref().0.push_error(err(ErrorKind::Unavailable));
    let reply = model
        .chat(ChatRequest::from_prompt("hi").model("gpt-x"))
        .await
        .unwrap();
    assert_eq!(reply.model, "two");
    let (one, two) = model.into_inner();
    assert_eq!(one.last_request().unwrap().model.as_deref(), Some("gpt-x"));
    assert_eq!(two.last_request().unwrap().model, None);
}

#[tokio::test]
async fn custom_condition_and_layer() {
    let layer = FallbackLayer::new(Arc::new(MockChatModel::new().with_model("backup")))
        .with_condition(|e| e.kind() == ErrorKind::InvalidInput);
    let model = layer.layer(MockChatModel::new());
    model.get_ref().0.push_error(err(ErrorKind::InvalidInput));
    assert_eq!(
        model
            .chat(ChatRequest::from_prompt("a"))
            .await
            .unwrap()
            .model,
        "backup"
    );
    model.get_ref().0.push_error(err(ErrorKind::RateLimited));
    let error = model.complete("b").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
}

#[tokio::test]
async fn streams_fall_back_only_before_the_first_event() {
    // Fails when the stream is opened.
    let model = pair();
    model.get_ref().0.push_error(err(ErrorKind::RateLimited));
    let reply = collect_stream(
        model
            .chat_stream(ChatRequest::from_prompt("a"))
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(reply.model, "two");

    // Fails as the first item.
    let model = pair();
    model
        .get_ref()
        .0
        .push_stream_error(vec![], err(ErrorKind::Unavailable));
    let reply = model
        .chat_streamed(ChatRequest::from_prompt("b"))
        .await
        .unwrap();
    assert_eq!(
        (reply.text().as_ref(), reply.model.as_str()),
        ("[mock] b", "two")
    );

    // Ends without any event.
    let model = pair();
    model.get_ref().0.push_stream(vec![]);
    let reply = model
        .chat_streamed(ChatRequest::from_prompt("c"))
        .await
        .unwrap();
    assert_eq!(reply.model, "two");

    // Fails after a delta: the caller sees the primary's failure.
    let model = pair();
    model
        .get_ref()
        .0
        .push_stream_error(vec![ChatEvent::text("Hel")], err(ErrorKind::Unavailable));
    let items: Vec<Result<ChatEvent>> = model
        .chat_stream(ChatRequest::from_prompt("d"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap(), &ChatEvent::text("Hel"));
    assert_eq!(
        items[1].as_ref().unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    assert_eq!(model.get_ref().1.request_count(), 0);
}

#[tokio::test]
async fn non_streaming_models_are_replayed_as_events() {
    let plain = MockChatModel::new()
        .with_model("plain")
        .with_capabilities(ChatCapabilities::none().tools(true));
    let model = Fallback::new(MockChatModel::new(), plain);
    model.get_ref().0.push_error(err(ErrorKind::Timeout));
    let reply = model
        .chat_streamed(ChatRequest::from_prompt("x"))
        .await
        .unwrap();
    assert_eq!(reply.text(), "[mock] x");
    assert_eq!(reply.finish_reason, FinishReason::Stop);
    assert!(reply.usage.is_some());
    let caps = model.capabilities();
    assert!(caps.streaming && caps.tools && !caps.vision && !caps.streaming_usage);
}

#[tokio::test]
async fn chain_tries_in_order_and_reports_how_many() {
    let models: Vec<Arc<MockChatModel>> = (0..3)
        .map(|i| Arc::new(MockChatModel::new().with_model(format!("m{i}"))))
        .collect();
    let chain = FallbackChain::new(models.iter().map(|m| m.clone() as DynChatModel).collect());
    models[0].push_error(err(ErrorKind::RateLimited));
    models[1].push_error(err(ErrorKind::QuotaExceeded));
    let reply = chain.chat(ChatRequest::from_prompt("q")).await.unwrap();
    assert_eq!(reply.model, "m2");

    for model in &models {
        model.push_error(err(ErrorKind::Unavailable));
    }
    let error = chain.complete("q").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    let tried = error.context().find(|(k, _)| *k == "fallback_tried");
    assert_eq!(tried.map(|(_, v)| v), Some("3"));
    assert_eq!(models.iter().map(|m| m.request_count()).sum::<usize>(), 6);

    let empty = FallbackChain::new(Vec::new());
    assert_eq!(
        empty.complete("q").await.unwrap_err().kind(),
        ErrorKind::Config
    );
    let stream_err = empty.chat_stream(ChatRequest::from_prompt("q")).await.err();
    assert_eq!(stream_err.map(|e| e.kind()), Some(ErrorKind::Config));
}

/// Captures the `fallback.answered_by` values recorded on spans.
#[derive(Clone, Default)]
struct Answers(Arc<Mutex<Vec<String>>>);

impl tracing::field::Visit for Answers {
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "fallback.answered_by" {
            self.0.lock().unwrap().push(value.to_owned());
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Answers {
    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        values.record(&mut self.clone());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_span_records_which_model_answered() {
    use tracing_subscriber::layer::SubscriberExt;
    let answers = Answers::default();
    let subscriber = tracing_subscriber::registry().with(answers.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let model = pair();
    model.complete("first").await.unwrap();
    model.get_ref().0.push_error(err(ErrorKind::RateLimited));
    model
        .chat_streamed(ChatRequest::from_prompt("second"))
        .await
        .unwrap();
    assert_eq!(*answers.0.lock().unwrap(), vec!["mock/one", "mock/two"]);
}
