//! Stream helpers every backend reuses: [`ToolCallAccumulator`] and
//! [`collect_stream`].

use std::collections::BTreeMap;

use futures::StreamExt;
use plugbay_core::{Error, ErrorKind, Result};

use crate::types::{ChatEvent, ChatResponse, ChatStream, Message, ToolCall, Usage};

/// Assembles complete [`ToolCall`]s from OpenAI-style streamed fragments.
///
/// Fragments are grouped by `index`. The first fragment of a call normally
/// carries the id and the name and later ones only argument text, but
/// compatible servers sometimes send the id or name late (or repeat them):
/// the first non-empty id and name seen for an index win, and argument text
/// is appended in arrival order. Parallel calls may interleave freely.
///
/// ```
/// use plugbay_llm::ToolCallAccumulator;
/// let mut acc = ToolCallAccumulator::new();
/// acc.push(0, Some("call_1"), Some("weather"), "{\"city\":");
/// acc.push(0, None, None, "\"Oslo\"}");
/// let calls = acc.finish().unwrap();
/// assert_eq!(calls[0].arguments, r#"{"city":"Oslo"}"#);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ToolCallAccumulator {
    partial: BTreeMap<u32, PartialCall>,
}

#[derive(Debug, Clone, Default)]
struct PartialCall {
    id: Option<String>,
    name: Option<String>,
    arguments: String,
}

impl ToolCallAccumulator {
    /// An empty accumulator.
    pub fn new() -> ToolCallAccumulator {
        ToolCallAccumulator::default()
    }

    /// Add one fragment of the call at `index`.
    pub fn push(&mut self, index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) {
        let call = self.partial.entry(index).or_default();
        if let Some(id) = id.filter(|s| !s.is_empty())
            && call.id.is_none()
        {
            call.id = Some(id.to_owned());
        }
        if let Some(name) = name.filter(|s| !s.is_empty())
            && call.name.is_none()
        {
            call.name = Some(name.to_owned());
        }
        call.arguments.push_str(arguments);
    }

    /// Feed a [`ChatEvent::ToolCallDelta`]; other events are ignored.
    /// Returns `true` if the event was a delta.
    pub fn push_event(&mut self, event: &ChatEvent) -> bool {
        match event {
            ChatEvent::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => {
                self.push(*index, id.as_deref(), name.as_deref(), arguments);
                true
            }
            _ => false,
        }
    }

    /// Number of calls seen so far.
    pub fn len(&self) -> usize {
        self.partial.len()
    }

    /// `true` when no fragment was pushed since the last `finish`.
    pub fn is_empty(&self) -> bool {
        self.partial.is_empty()
    }

    /// Take the calls seen so far, complete, in index order, leaving the
    /// accumulator empty (call it when `finish_reason` arrives or the stream
    /// ends).
    ///
    /// A call that never received a name is a `Protocol` error (it cannot be
    /// dispatched). A call without an id gets `call_{index}`, because some
    /// compatible servers omit ids and the id only has to pair the call with
    /// its result.
    pub fn finish(&mut self) -> Result<Vec<ToolCall>> {
        let partial = std::mem::take(&mut self.partial);
        partial
            .into_iter()
            .map(|(index, call)| {
                let name = call.name.ok_or_else(|| {
                    Error::new(
                        ErrorKind::Protocol,
                        format!("streamed tool call {index} never received a name"),
                    )
                    .with_operation("chat_stream")
                })?;
                let id = call.id.unwrap_or_else(|| format!("call_{index}"));
                Ok(ToolCall::new(id, name, call.arguments))
            })
            .collect()
    }
}

/// Fold a [`ChatStream`] into the [`ChatResponse`] it describes.
///
/// Text deltas are concatenated; completed [`ChatEvent::ToolCall`]s are
/// used when the stream has them, otherwise the calls are assembled from
/// the deltas; the last `Usage` wins; `Finish` gives the reason, id and
/// model. The first `Err` item is returned. A stream that ends without a
/// `Finish` event was cut short: `Protocol` error.
pub async fn collect_stream(mut stream: ChatStream) -> Result<ChatResponse> {
    let mut text = String::new();
    let mut completed: Vec<ToolCall> = Vec::new();
    let mut deltas = ToolCallAccumulator::new();
    let mut usage: Option<Usage> = None;
    let mut finish = None;

    while let Some(item) = stream.next().await {
        match item? {
            ChatEvent::TextDelta(delta) => text.push_str(&delta),
            event @ ChatEvent::ToolCallDelta { .. } => {
                deltas.push_event(&event);
            }
            ChatEvent::ToolCall(call) => completed.push(call),
            ChatEvent::Usage(u) => usage = Some(u),
            ChatEvent::Finish {
                reason,
                response_id,
                model,
            } => finish = Some((reason, response_id, model)),
        }
    }

    let Some((reason, response_id, model)) = finish else {
        return Err(Error::new(
            ErrorKind::Protocol,
            "the reply stream ended before its finish event",
        )
        .with_operation("chat_stream"));
    };
    let tool_calls = if completed.is_empty() {
        deltas.finish()?
    } else {
        completed
    };
    let mut message = Message::assistant_tool_calls(tool_calls);
    if !text.is_empty() || message.tool_calls.is_empty() {
        message = message.with_content(text);
    }
    let mut response = ChatResponse::new(message).with_finish_reason(reason);
    response.id = response_id;
    response.model = model.unwrap_or_default();
    response.usage = usage;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::FinishReason;
    use futures::stream;

    #[test]
    fn interleaved_parallel_calls_come_out_in_index_order() {
        let mut acc = ToolCallAccumulator::new();
        acc.push(1, Some("call_b"), Some("time"), "");
        acc.push(0, Some("call_a"), Some("weather"), "{\"ci");
        acc.push(1, None, None, "{\"tz\":\"UTC\"}");
        acc.push(0, None, None, "ty\":\"Oslo\"}");
        assert_eq!(acc.len(), 2);
        let calls = acc.finish().unwrap();
        assert_eq!(
            calls,
            vec![
                ToolCall::new("call_a", "weather", r#"{"city":"Oslo"}"#),
                ToolCall::new("call_b", "time", r#"{"tz":"UTC"}"#),
            ]
        );
        assert!(acc.is_empty(), "finish drains the accumulator");
    }

    #[test]
    fn late_name_and_repeated_id_are_tolerated() {
        let mut acc = ToolCallAccumulator::new();
        acc.push(0, Some("call_1"), None, "{\"q\":");
        acc.push(0, Some(""), Some("search"), "\"rust\"");
        acc.push(0, Some("call_1"), Some("search"), "}");
        let calls = acc.finish().unwrap();
        assert_eq!(
            calls,
            vec![ToolCall::new("call_1", "search", r#"{"q":"rust"}"#)]
        );
    }

    #[test]
    fn missing_id_is_synthesised_and_missing_name_is_protocol() {
        let mut acc = ToolCallAccumulator::new();
        acc.push(2, None, Some("now"), "{}");
        assert_eq!(acc.finish().unwrap()[0].id, "call_2");

        acc.push(0, Some("c"), None, "{}");
        assert_eq!(acc.finish().unwrap_err().kind(), ErrorKind::Protocol);
    }

    fn boxed(items: Vec<Result<ChatEvent>>) -> ChatStream {
        stream::iter(items).boxed()
    }

    #[tokio::test]
    async fn collect_folds_text_deltas_usage_and_finish() {
        let response = collect_stream(boxed(vec![
            Ok(ChatEvent::text("Hel")),
            Ok(ChatEvent::ToolCallDelta {
                index: 0,
                id: Some("c1".into()),
                name: Some("f".into()),
                arguments: "{\"a\":".into(),
            }),
            Ok(ChatEvent::text("lo")),
            Ok(ChatEvent::ToolCallDelta {
                index: 0,
                id: None,
                name: None,
                arguments: "1}".into(),
            }),
            Ok(ChatEvent::Usage(Usage::new(3, 2))),
            Ok(ChatEvent::Finish {
                reason: FinishReason::ToolCalls,
                response_id: Some("r1".into()),
                model: Some("m".into()),
            }),
        ]))
        .await
        .unwrap();
        assert_eq!(response.text(), "Hello");
        assert_eq!(
            response.tool_calls(),
            &[ToolCall::new("c1", "f", r#"{"a":1}"#)]
        );
        assert_eq!(response.usage, Some(Usage::new(3, 2)));
        assert_eq!(response.finish_reason, FinishReason::ToolCalls);
        assert_eq!(response.id.as_deref(), Some("r1"));
        assert_eq!(response.model, "m");
    }

    #[tokio::test]
    async fn completed_tool_calls_take_precedence_over_deltas() {
        let call = ToolCall::new("c1", "f", "{}");
        let response = collect_stream(boxed(vec![
            Ok(ChatEvent::ToolCallDelta {
                index: 0,
                id: Some("c1".into()),
                name: Some("f".into()),
                arguments: "{}".into(),
            }),
            Ok(ChatEvent::ToolCall(call.clone())),
            Ok(ChatEvent::finish(FinishReason::ToolCalls)),
        ]))
        .await
        .unwrap();
        assert_eq!(response.tool_calls(), &[call]);
        assert!(response.message.content.is_none());
    }

    #[tokio::test]
    async fn collect_reports_errors_and_truncation() {
        let err = collect_stream(boxed(vec![
            Ok(ChatEvent::text("a")),
            Err(Error::new(ErrorKind::Unavailable, "connection reset")),
        ]))
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);

        let err = collect_stream(boxed(vec![Ok(ChatEvent::text("a"))]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
    }
}
