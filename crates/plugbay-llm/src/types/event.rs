//! Streaming events: [`ChatEvent`] and [`ChatStream`].

use futures::stream::BoxStream;
use plugbay_core::Result;
use serde::{Deserialize, Serialize};

use super::message::ToolCall;
use super::response::{FinishReason, Usage};

/// One event of a streamed chat reply.
///
/// A backend's stream yields, in this order: any number of `TextDelta` and
/// `ToolCallDelta` events (interleaved as the provider sends them); one
/// `ToolCall` per completed call, in index order, once the provider says the
/// calls are done; at most one `Usage`; then exactly one `Finish`, which is
/// the last item. A stream cut short by the transport ends with an `Err`
/// item instead of `Finish`. Consumers that only want the final reply use
/// [`collect_stream`](crate::collect_stream).
///
/// Serialised adjacently tagged: `{"type": "text_delta", "data": "Hel"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChatEvent {
    /// A piece of reply text.
    TextDelta(String),
    /// A fragment of a tool call, as providers stream them: the first
    /// fragment of a call usually carries `id` and `name`, later ones only
    /// more `arguments` text. `index` says which call a fragment belongs to.
    ToolCallDelta {
        /// Position of the call in this turn.
        index: u32,
        /// The call id, when this fragment carries it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The tool name, when this fragment carries it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// More argument text (may be empty).
        #[serde(default)]
        arguments: String,
    },
    /// A tool call, complete (emitted after its deltas).
    ToolCall(ToolCall),
    /// Token counts for the whole call.
    Usage(Usage),
    /// The end of the reply.
    Finish {
        /// Why the model stopped.
        reason: FinishReason,
        /// The provider's response id, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_id: Option<String>,
        /// The model that answered, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
    },
}

impl ChatEvent {
    /// A text delta.
    pub fn text(text: impl Into<String>) -> ChatEvent {
        ChatEvent::TextDelta(text.into())
    }

    /// A `Finish` event with only a reason.
    pub fn finish(reason: FinishReason) -> ChatEvent {
        ChatEvent::Finish {
            reason,
            response_id: None,
            model: None,
        }
    }
}

/// A streamed chat reply: a boxed stream of [`ChatEvent`]s.
pub type ChatStream = BoxStream<'static, Result<ChatEvent>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_adjacently_tagged() {
        let json = serde_json::to_value(ChatEvent::text("Hel")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "text_delta", "data": "Hel"})
        );
        let finish = ChatEvent::Finish {
            reason: FinishReason::Length,
            response_id: Some("r1".into()),
            model: None,
        };
        let text = serde_json::to_string(&finish).unwrap();
        assert_eq!(serde_json::from_str::<ChatEvent>(&text).unwrap(), finish);
        let delta: ChatEvent = serde_json::from_str(
            r#"{"type":"tool_call_delta","data":{"index":1,"arguments":"{\"a"}}"#,
        )
        .unwrap();
        assert_eq!(
            delta,
            ChatEvent::ToolCallDelta {
                index: 1,
                id: None,
                name: None,
                arguments: "{\"a".into()
            }
        );
    }
}
