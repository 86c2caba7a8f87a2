//! Scriptable test doubles: [`MockChatModel`] and [`MockEmbeddingModel`].

mod embedding;
mod reply;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use futures::StreamExt;
use plugbay_core::{Error, ErrorKind, Result};

pub use embedding::MockEmbeddingModel;

use crate::model::ChatModel;
use crate::stream::collect_stream;
use crate::types::{ChatCapabilities, ChatEvent, ChatRequest, ChatResponse, ChatStream, ToolCall};

/// One scripted answer of a [`MockChatModel`].
#[derive(Debug)]
#[non_exhaustive]
pub enum MockReply {
    /// A text reply.
    Text(String),
    /// A reply calling these tools.
    ToolCalls(Vec<ToolCall>),
    /// A complete response, as given (missing usage, id and model are filled in).
    Response(Box<ChatResponse>),
    /// A stream of exactly these events. `chat` folds them with
    /// [`collect_stream`].
    Stream(Vec<ChatEvent>),
    /// A stream that yields `events` and then fails with `error` mid-stream.
    /// `chat` returns the error.
    StreamError {
        /// Events before the failure.
        events: Vec<ChatEvent>,
        /// The failure, as an `Err` item.
        error: Error,
    },
    /// Fail the call before any reply (for `chat_stream`: before the stream starts).
    Error(Error),
}

type Responder = dyn Fn(&ChatRequest) -> Result<ChatResponse> + Send + Sync;

/// A scriptable [`ChatModel`] for tests: no network, deterministic.
///
/// Each call takes the next [`MockReply`] from a FIFO script. When the script
/// is empty it asks the responder closure, if one is set; otherwise it
/// answers by these rules, so it works with no setup:
/// - a request with tools, a user message last and `tool_choice` not `None`
///   calls the named tool (or the first one) with arguments generated from
///   its schema;
/// - a tool result last is acknowledged: `"[mock] tool result: …"`;
/// - a JSON Schema response format gets a JSON value generated from the
///   schema; JSON mode gets `{"reply": "[mock] …"}`;
/// - otherwise it echoes the last user message as `"[mock] <text>"`.
///
/// Usage is always present (whitespace token counts). Every request is
/// recorded, even ones that fail, for assertions. A request without messages
/// is `InvalidInput`, like every backend.
///
/// ```
/// use plugbay_llm::{ChatModelExt, MockChatModel};
/// # futures::executor::block_on(async {
/// let mock = MockChatModel::new();
/// mock.push_text("scripted");
/// assert_eq!(mock.complete("hi").await.unwrap(), "scripted");
/// assert_eq!(mock.complete("hello").await.unwrap(), "[mock] hello");
/// assert_eq!(mock.request_count(), 2);
/// # });
/// ```
pub struct MockChatModel {
    model: String,
    capabilities: ChatCapabilities,
    script: Mutex<VecDeque<MockReply>>,
    responder: Option<Arc<Responder>>,
    requests: Mutex<Vec<ChatRequest>>,
    calls: AtomicU64,
}

impl std::fmt::Debug for MockChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockChatModel")
            .field("model", &self.model)
            .field("scripted", &lock(&self.script).len())
            .field("responder", &self.responder.is_some())
            .field("requests", &lock(&self.requests).len())
            .finish()
    }
}

impl Default for MockChatModel {
    fn default() -> MockChatModel {
        MockChatModel::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not poison the mock for the others.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MockChatModel {
    /// A mock with an empty script, model `"mock-chat"` and every capability
    /// turned on.
    pub fn new() -> MockChatModel {
        MockChatModel {
            model: "mock-chat".to_owned(),
            capabilities: ChatCapabilities::none()
                .tools(true)
                .parallel_tool_calls(true)
                .streaming(true)
                .streaming_usage(true)
                .json_schema(true)
                .json_object(true)
                .vision(true)
                .seed(true),
            script: Mutex::new(VecDeque::new()),
            responder: None,
            requests: Mutex::new(Vec::new()),
            calls: AtomicU64::new(0),
        }
    }

    /// Use this model name.
    pub fn with_model(mut self, model: impl Into<String>) -> MockChatModel {
        self.model = model.into();
        self
    }

    /// Report these capabilities (turning `streaming` off makes
    /// `chat_stream` return `Unsupported`).
    pub fn with_capabilities(mut self, capabilities: ChatCapabilities) -> MockChatModel {
        self.capabilities = capabilities;
        self
    }

    /// Answer with `responder` when the script is empty.
    pub fn with_responder<F>(mut self, responder: F) -> MockChatModel
    where
        F: Fn(&ChatRequest) -> Result<ChatResponse> + Send + Sync + 'static,
    {
        self.responder = Some(Arc::new(responder));
        self
    }

    /// Append a reply to the script.
    pub fn push(&self, reply: MockReply) -> &MockChatModel {
        lock(&self.script).push_back(reply);
        self
    }

    /// Append a text reply.
    pub fn push_text(&self, text: impl Into<String>) -> &MockChatModel {
        self.push(MockReply::Text(text.into()))
    }

    /// Append a reply calling these tools.
    pub fn push_tool_calls(&self, calls: Vec<ToolCall>) -> &MockChatModel {
        self.push(MockReply::ToolCalls(calls))
    }

    /// Append a complete response.
    pub fn push_response(&self, response: ChatResponse) -> &MockChatModel {
        self.push(MockReply::Response(Box::new(response)))
    }

    /// Append a stream of exactly these events.
    pub fn push_stream(&self, events: Vec<ChatEvent>) -> &MockChatModel {
        self.push(MockReply::Stream(events))
    }

    /// Append a stream that fails with `error` after `events`.
    pub fn push_stream_error(&self, events: Vec<ChatEvent>, error: Error) -> &MockChatModel {
        self.push(MockReply::StreamError { events, error })
    }

    /// Append a failure of the whole call.
    pub fn push_error(&self, error: Error) -> &MockChatModel {
        self.push(MockReply::Error(error))
    }

    /// Scripted replies not used yet.
    pub fn remaining(&self) -> usize {
        lock(&self.script).len()
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        lock(&self.requests).clone()
    }

    /// The most recent request.
    pub fn last_request(&self) -> Option<ChatRequest> {
        lock(&self.requests).last().cloned()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        lock(&self.requests).len()
    }

    /// Record, validate and take the next scripted reply.
    fn begin(&self, request: &ChatRequest, operation: &'static str) -> Result<Option<MockReply>> {
        lock(&self.requests).push(request.clone());
        if request.messages.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a chat request needs at least one message",
            )
            .with_provider("mock")
            .with_operation(operation));
        }
        // Checked before taking a reply so a refused stream leaves the script intact.
        if operation == "chat_stream" && !self.capabilities.streaming {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "streaming is turned off on this mock",
            )
            .with_provider("mock")
            .with_operation(operation));
        }
        Ok(lock(&self.script).pop_front())
    }

    /// Produce a complete response for a non-stream reply (or no reply).
    async fn respond(
        &self,
        request: &ChatRequest,
        reply: Option<MockReply>,
    ) -> Result<ChatResponse> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let response = match reply {
            Some(MockReply::Text(text)) => ChatResponse::from_text(text),
            Some(MockReply::ToolCalls(calls)) => ChatResponse::from_tool_calls(calls),
            Some(MockReply::Response(response)) => *response,
            Some(MockReply::Stream(events)) => {
                collect_stream(futures::stream::iter(events.into_iter().map(Ok)).boxed()).await?
            }
            Some(MockReply::StreamError { error, .. }) | Some(MockReply::Error(error)) => {
                return Err(error);
            }
            None => match &self.responder {
                Some(responder) => responder(request)?,
                None => reply::default_reply(request, &format!("call_mock_{n}"))?,
            },
        };
        Ok(self.fill(request, response, n))
    }

    fn fill(&self, request: &ChatRequest, mut response: ChatResponse, n: u64) -> ChatResponse {
        if response.id.is_none() {
            response.id = Some(format!("mock-{n}"));
        }
        if response.model.is_empty() {
            response.model = request.model.clone().unwrap_or_else(|| self.model.clone());
        }
        if response.usage.is_none() {
            response.usage = Some(reply::usage_for(request, &response.message));
        }
        response
    }
}

/// The events a streaming backend would send for `response`.
fn events_for(response: ChatResponse) -> Vec<ChatEvent> {
    let mut events: Vec<ChatEvent> = response
        .text()
        .split_inclusive(' ')
        .map(ChatEvent::text)
        .collect();
    for (index, call) in response.message.tool_calls.iter().enumerate() {
        // Two fragments per call, as OpenAI streams them: id and name first,
        // then the rest of the arguments.
        let index = index as u32;
        let mid = call
            .arguments
            .char_indices()
            .nth(call.arguments.chars().count() / 2);
        let (head, tail) = call.arguments.split_at(mid.map_or(0, |(i, _)| i));
        events.push(ChatEvent::ToolCallDelta {
            index,
            id: Some(call.id.clone()),
            name: Some(call.name.clone()),
            arguments: head.to_owned(),
        });
        events.push(ChatEvent::ToolCallDelta {
            index,
            id: None,
            name: None,
            arguments: tail.to_owned(),
        });
    }
    events.extend(
        response
            .message
            .tool_calls
            .into_iter()
            .map(ChatEvent::ToolCall),
    );
    if let Some(usage) = response.usage {
        events.push(ChatEvent::Usage(usage));
    }
    events.push(ChatEvent::Finish {
        reason: response.finish_reason,
        response_id: response.id,
        model: Some(response.model),
    });
    events
}

#[async_trait]
impl ChatModel for MockChatModel {
    fn provider(&self) -> &str {
        "mock"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn capabilities(&self) -> ChatCapabilities {
        self.capabilities.clone()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let reply = self.begin(&request, "chat")?;
        self.respond(&request, reply).await
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let reply = self.begin(&request, "chat_stream")?;
        let items: Vec<Result<ChatEvent>> = match reply {
            Some(MockReply::Stream(events)) => events.into_iter().map(Ok).collect(),
            Some(MockReply::StreamError { events, error }) => events
                .into_iter()
                .map(Ok)
                .chain(std::iter::once(Err(error)))
                .collect(),
            Some(MockReply::Error(error)) => return Err(error),
            other => events_for(self.respond(&request, other).await?)
                .into_iter()
                .map(Ok)
                .collect(),
        };
        Ok(futures::stream::iter(items).boxed())
    }
}

#[cfg(test)]
mod tests;
