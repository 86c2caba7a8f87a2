//! `POST /v1/chat`: memory-augmented chat, as JSON or as Server-Sent Events.
//!
//! The caller's memories closest to the last user message go into a system
//! message; after the reply, the turn's new user messages are stored as
//! memories (verbatim with the mock LLM, inferred by a real one).
//!
//! SSE events: `delta` `{"text"}`, `tool_call` (a complete call), `usage`,
//! `done` `{"finish_reason", "backend", "model", "memories", "stored"}` and
//! `error` `{"error": {"kind", "message"}}`. The model stream is driven by
//! a task of its own, so a client that disconnects only stops forwarding:
//! nothing panics, and the memories of the turn are still stored.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::StreamExt as _;
use plugbay::core::{Error, ErrorKind};
use plugbay::llm::{ChatEvent, ChatModel as _, ChatRequest, FinishReason, Message, Role, Usage};
use plugbay::memory::{AddOptions, Memory as _, Scope, ScoredMemory, SearchOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::AppState;
use crate::error::{ApiError, ApiJson, ApiResult, error_body};
use crate::middleware::AuthUser;

/// The chat route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/chat", post(chat))
}

const MEMORIES_IN_PROMPT: usize = 5;
const MAX_MESSAGES: usize = 200;

/// One message of a chat or memory request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InMessage {
    /// `system`, `user` or `assistant`.
    pub role: Role,
    /// The text.
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatBody {
    messages: Vec<InMessage>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    max_tokens: Option<u32>,
}

/// A memory as shown in chat answers.
#[derive(Debug, Clone, Serialize)]
struct UsedMemory {
    id: String,
    text: String,
    score: f32,
}

/// Validate and convert request messages.
pub fn to_messages(messages: Vec<InMessage>) -> ApiResult<Vec<Message>> {
    if messages.is_empty() {
        return Err(ApiError::invalid("`messages` must not be empty"));
    }
    if messages.len() > MAX_MESSAGES {
        return Err(ApiError::invalid(format!(
            "at most {MAX_MESSAGES} messages"
        )));
    }
    messages
        .into_iter()
        .map(|m| match m.role {
            Role::System | Role::User | Role::Assistant => Ok(Message::new(m.role, m.content)),
            _ => Err(ApiError::invalid(
                "a message role must be system, user or assistant",
            )),
        })
        .collect()
}

/// The user messages after the last assistant message: what is new in
/// this turn.
fn new_user_messages(messages: &[Message]) -> Vec<Message> {
    let start = messages
        .iter()
        .rposition(|m| m.role == Role::Assistant)
        .map_or(0, |i| i + 1);
    messages[start..]
        .iter()
        .filter(|m| m.role == Role::User && !m.text().trim().is_empty())
        .cloned()
        .collect()
}

struct Turn {
    state: AppState,
    scope: Scope,
    request: ChatRequest,
    new_messages: Vec<Message>,
    memories: Vec<UsedMemory>,
}

impl Turn {
    /// Remember this turn; a failure is logged, never the caller's problem.
    async fn remember(&self, reply: Option<&str>) -> usize {
        if self.new_messages.is_empty() {
            return 0;
        }
        let mock = self.state.providers.llm_is_mock();
        let mut messages = self.new_messages.clone();
        if let (false, Some(reply)) = (mock, reply) {
            messages.push(Message::assistant(reply));
        }
        let opts = AddOptions::new().infer(!mock);
        match self
            .state
            .providers
            .memory()
            .add(&messages, &self.scope, opts)
            .await
        {
            Ok(events) => events.len(),
            Err(e) => {
                tracing::warn!(error = %e, "storing chat memories failed");
                0
            }
        }
    }

    fn done(&self, finish: &FinishReason, model: &str, stored: usize) -> Value {
        json!({
            "finish_reason": finish.as_str(),
            "backend": self.state.providers.chat_model().provider(),
            "model": model,
            "memories": self.memories,
            "stored": stored,
        })
    }
}

async fn chat(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChatBody>,
) -> ApiResult<Response> {
    let messages = to_messages(body.messages)?;
    let query = messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.text().into_owned())
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("the conversation needs a non-empty user message"))?;
    let scope = Scope::user(user.subject());
    let memories = recall(&state, &query, &scope).await;
    let new_messages = new_user_messages(&messages);

    let mut all = Vec::with_capacity(messages.len() + 1);
    if !memories.is_empty() {
        let facts: Vec<String> = memories.iter().map(|m| format!("- {}", m.text)).collect();
        all.push(Message::system(format!(
            "What you remember about this user:\n{}",
            facts.join("\n")
        )));
    }
    all.extend(messages);
    let mut request = ChatRequest::new(all).user(user.subject());
    if let Some(model) = body.model {
        request = request.model(model);
    }
    if let Some(t) = body.temperature {
        request = request.temperature(t);
    }
    if let Some(n) = body.max_tokens {
        request = request.max_tokens(n);
    }
    let turn = Turn {
        state,
        scope,
        request,
        new_messages,
        memories,
    };
    let wants_sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if body.stream || wants_sse {
        Ok(stream_reply(turn).into_response())
    } else {
        whole_reply(turn).await
    }
}

/// The caller's closest memories; a failing memory backend degrades the
/// answer instead of failing it.
async fn recall(state: &AppState, query: &str, scope: &Scope) -> Vec<UsedMemory> {
    let opts = SearchOptions::new().top_k(MEMORIES_IN_PROMPT);
    match state.providers.memory().search(query, scope, opts).await {
        Ok(found) => found.into_iter().map(used).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "memory search failed; answering without memories");
            Vec::new()
        }
    }
}

fn used(m: ScoredMemory) -> UsedMemory {
    UsedMemory {
        id: m.item.id,
        text: m.item.text,
        score: m.score,
    }
}

async fn whole_reply(turn: Turn) -> ApiResult<Response> {
    let chat = turn.state.providers.chat_model().clone();
    let response = chat.chat(turn.request.clone()).await?;
    let text = response.text().into_owned();
    let stored = turn.remember(Some(&text)).await;
    let mut body = turn.done(&response.finish_reason, &response.model, stored);
    body["message"] = json!({"role": "assistant", "content": text});
    body["tool_calls"] = json!(response.tool_calls());
    body["usage"] = json!(response.usage);
    Ok(Json(body).into_response())
}

fn event(name: &str, data: &Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

fn error_event(error: &Error) -> Event {
    let message = if error.kind() == ErrorKind::Internal {
        "internal error".to_owned()
    } else {
        plugbay::core::redact::redact(error.message())
    };
    event("error", &error_body(error.kind(), &message))
}

fn stream_reply(turn: Turn) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel::<Event>(32);
    tokio::spawn(drive(turn, tx));
    let events = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Run the model stream, forwarding events while the client listens.
async fn drive(turn: Turn, tx: mpsc::Sender<Event>) {
    let chat = turn.state.providers.chat_model().clone();
    let mut stream = match chat.chat_stream(turn.request.clone()).await {
        Ok(stream) => stream,
        Err(e) => {
            tracing::warn!(error = %e, "chat stream failed to start");
            let _ = tx.send(error_event(&e)).await;
            return;
        }
    };
    let mut text = String::new();
    let mut finish = FinishReason::Stop;
    let mut model = chat.model().to_owned();
    let mut usage: Option<Usage> = None;
    let mut listening = true;
    while let Some(item) = stream.next().await {
        let outgoing = match item {
            Ok(ChatEvent::TextDelta(delta)) => {
                text.push_str(&delta);
                Some(event("delta", &json!({"text": delta})))
            }
            Ok(ChatEvent::ToolCall(call)) => Some(event("tool_call", &json!(call))),
            Ok(ChatEvent::Usage(u)) => {
                usage = Some(u);
                None
            }
            Ok(ChatEvent::Finish {
                reason,
                model: finished_by,
                ..
            }) => {
                finish = reason;
                if let Some(m) = finished_by {
                    model = m;
                }
                None
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "chat stream failed");
                let _ = tx.send(error_event(&e)).await;
                return;
            }
        };
        if let Some(outgoing) = outgoing
            && tx.send(outgoing).await.is_err()
        {
            // The client left: stop paying for tokens nobody reads.
            listening = false;
            break;
        }
    }
    let stored = turn.remember(listening.then_some(text.as_str())).await;
    if !listening {
        tracing::debug!("chat client disconnected before the end of the reply");
        return;
    }
    if let Some(usage) = usage {
        let _ = tx.send(event("usage", &json!(usage))).await;
    }
    let _ = tx
        .send(event("done", &turn.done(&finish, &model, stored)))
        .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn msg(role: Role, text: &str) -> InMessage {
        InMessage {
            role,
            content: text.to_owned(),
        }
    }

    #[test]
    fn only_this_turns_user_messages_are_new() {
        let messages = to_messages(vec![
            msg(Role::User, "I live in Lyon"),
            msg(Role::Assistant, "Nice"),
            msg(Role::User, "I like tea"),
            msg(Role::User, "  "),
        ])
        .unwrap();
        let new: Vec<String> = new_user_messages(&messages)
            .iter()
            .map(|m| m.text().into_owned())
            .collect();
        assert_eq!(new, ["I like tea"]);
    }

    #[test]
    fn empty_and_tool_messages_are_refused() {
        assert_eq!(to_messages(vec![]).unwrap_err().status(), 400);
        let err = to_messages(vec![msg(Role::Tool, "x")]).unwrap_err();
        assert_eq!(err.error().kind(), ErrorKind::InvalidInput);
    }
}
