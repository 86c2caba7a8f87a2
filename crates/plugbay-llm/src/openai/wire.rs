//! The chat-completions and embeddings reply types, tolerant of what
//! compatible servers send.

use std::borrow::Cow;

use plugbay_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::types::{ChatResponse, Embeddings, FinishReason, Message, ToolCall, Usage};

/// A tool call as replies carry it; every part optional, `arguments` a
/// string (or, from some servers, an object).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WireToolCall {
    pub(crate) index: Option<u32>,
    pub(crate) id: Option<String>,
    pub(crate) function: Option<WireFunction>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WireFunction {
    pub(crate) name: Option<String>,
    pub(crate) arguments: Option<Value>,
}

impl WireFunction {
    /// The argument text: a string as sent, an object re-encoded, else "".
    pub(crate) fn arguments_text(&self) -> Cow<'_, str> {
        match &self.arguments {
            Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
            Some(Value::Null) | None => Cow::Borrowed(""),
            Some(other) => Cow::Owned(other.to_string()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAssistant {
    content: Option<Value>,
    refusal: Option<String>,
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireChoice {
    index: Option<u32>,
    message: Option<WireAssistant>,
    finish_reason: Option<FinishReason>,
}

/// A chat completion reply.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WireChatResponse {
    id: Option<String>,
    model: Option<String>,
    choices: Option<Vec<WireChoice>>,
    usage: Option<Usage>,
}

/// Text of a reply `content`: a string, or the text parts of an array.
fn content_text(content: Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.concat())
        }
        _ => None,
    }
}

/// A finish reason that is missing or empty is inferred from the reply.
pub(crate) fn settle_finish(reason: Option<FinishReason>, has_tool_calls: bool) -> FinishReason {
    match reason {
        Some(FinishReason::Other(other)) if other.is_empty() => None,
        other => other,
    }
    .unwrap_or(if has_tool_calls {
        FinishReason::ToolCalls
    } else {
        FinishReason::Stop
    })
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl WireChatResponse {
    /// The [`ChatResponse`] of the first choice. No choice at all is a
    /// `Protocol` error; everything else is tolerated.
    pub(crate) fn into_response(self, requested_model: &str) -> Result<ChatResponse> {
        let choice = self
            .choices
            .unwrap_or_default()
            .into_iter()
            .min_by_key(|c| c.index.unwrap_or(0))
            .ok_or_else(|| Error::protocol("the chat completion has no choices"))?;
        let assistant = choice.message.unwrap_or_default();
        let calls: Vec<ToolCall> = assistant
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, call)| {
                let function = call.function.unwrap_or_default();
                let id = call
                    .id
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| format!("call_{}", call.index.map_or(i, |x| x as usize)));
                let name = function.name.as_deref().unwrap_or_default().to_owned();
                if name.is_empty() {
                    return Err(Error::protocol(format!(
                        "tool call {id} has no function name"
                    )));
                }
                Ok(ToolCall::new(id, name, function.arguments_text()))
            })
            .collect::<Result<_>>()?;
        let text = assistant
            .content
            .and_then(content_text)
            .or(assistant.refusal);
        let finish = settle_finish(choice.finish_reason, !calls.is_empty());
        let mut message = Message::assistant_tool_calls(calls);
        if let Some(text) = text
            && (!text.is_empty() || message.tool_calls.is_empty())
        {
            message = message.with_content(text);
        } else if message.tool_calls.is_empty() {
            message = message.with_content(String::new());
        }
        let mut response = ChatResponse::new(message).with_finish_reason(finish);
        response.id = non_empty(self.id);
        response.model = non_empty(self.model).unwrap_or_else(|| requested_model.to_owned());
        response.usage = self.usage;
        Ok(response)
    }
}

#[derive(Debug, Deserialize)]
struct WireEmbedding {
    #[serde(default)]
    index: Option<usize>,
    embedding: Vec<f32>,
}

/// An embeddings reply.
#[derive(Debug, Deserialize)]
pub(crate) struct WireEmbeddings {
    data: Vec<WireEmbedding>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<Usage>,
}

impl WireEmbeddings {
    /// The vectors in input order (restored by `index`), checked against
    /// the number of inputs.
    pub(crate) fn into_embeddings(
        self,
        expected: usize,
        requested_model: &str,
    ) -> Result<Embeddings> {
        if self.data.len() != expected {
            return Err(Error::protocol(format!(
                "asked for {expected} embeddings, got {}",
                self.data.len()
            )));
        }
        let vectors = if self.data.iter().all(|d| d.index.is_some()) {
            let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
            for item in self.data {
                let index = item.index.unwrap_or(usize::MAX);
                match slots.get_mut(index) {
                    Some(slot @ None) => *slot = Some(item.embedding),
                    _ => {
                        return Err(Error::protocol(format!(
                            "embedding index {index} is out of range or repeated"
                        )));
                    }
                }
            }
            slots.into_iter().flatten().collect()
        } else {
            self.data.into_iter().map(|d| d.embedding).collect()
        };
        let mut out = Embeddings::new(
            vectors,
            non_empty(self.model).unwrap_or_else(|| requested_model.to_owned()),
        );
        out.usage = self.usage;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    #[test]
    fn settle_finish_infers_missing_and_empty_reasons() {
        assert_eq!(settle_finish(None, true), FinishReason::ToolCalls);
        assert_eq!(
            settle_finish(Some(FinishReason::Other(String::new())), false),
            FinishReason::Stop
        );
        assert_eq!(
            settle_finish(Some(FinishReason::Other("eos".into())), false),
            FinishReason::Other("eos".into())
        );
        assert_eq!(
            settle_finish(Some(FinishReason::Length), true),
            FinishReason::Length
        );
    }

    #[test]
    fn embeddings_are_reordered_by_index_and_checked() {
        let wire: WireEmbeddings = serde_json::from_str(
            r#"{"data":[{"index":1,"embedding":[2.0]},{"index":0,"embedding":[1.0]}],"model":"m","usage":{"prompt_tokens":3,"total_tokens":3}}"#,
        )
        .unwrap();
        let out = wire.into_embeddings(2, "asked").unwrap();
        assert_eq!(out.vectors, vec![vec![1.0], vec![2.0]]);
        assert_eq!(out.usage.map(|u| u.input_tokens), Some(3));
        let dup: WireEmbeddings = serde_json::from_str(
            r#"{"data":[{"index":0,"embedding":[2.0]},{"index":0,"embedding":[1.0]}]}"#,
        )
        .unwrap();
        assert_eq!(
            dup.into_embeddings(2, "m").unwrap_err().kind(),
            ErrorKind::Protocol
        );
        let short: WireEmbeddings =
            serde_json::from_str(r#"{"data":[{"embedding":[2.0]}]}"#).unwrap();
        assert_eq!(
            short.into_embeddings(2, "m").unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }
}
