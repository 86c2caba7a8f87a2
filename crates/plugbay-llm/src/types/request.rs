//! [`ChatRequest`] and [`ResponseFormat`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::message::{Message, ToolChoice, ToolSpec};

/// The shape the model's reply must take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseFormat {
    /// Free text (the default).
    Text,
    /// Any JSON object ("JSON mode"). Most providers also want the word
    /// "JSON" somewhere in the messages.
    JsonObject,
    /// JSON matching a schema ("structured outputs").
    JsonSchema {
        /// A name for the schema (`[a-zA-Z0-9_-]`, at most 64 characters on OpenAI).
        name: String,
        /// The JSON Schema.
        schema: Value,
        /// Ask the provider to enforce the schema exactly.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
}

impl ResponseFormat {
    /// A strict JSON Schema format.
    pub fn json_schema(name: impl Into<String>, schema: Value) -> ResponseFormat {
        ResponseFormat::JsonSchema {
            name: name.into(),
            schema,
            strict: Some(true),
        }
    }
}

/// One chat completion request, independent of the provider.
///
/// `#[non_exhaustive]`: build it with [`ChatRequest::new`] or `Default` and
/// the setters. Fields a backend cannot honour are ignored unless the
/// backend documents otherwise; provider-specific parameters go in
/// [`ChatRequest::extra`], which OpenAI-compatible backends merge into the
/// request body as is.
///
/// ```
/// use plugbay_llm::{ChatRequest, Message};
/// let req = ChatRequest::new(vec![Message::system("Be brief."), Message::user("Hi")])
///     .temperature(0.2)
///     .max_tokens(64);
/// assert_eq!(req.messages.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The model to use; `None` means the backend's configured model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The conversation, oldest first. Must not be empty.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Whether and which tool to call; `None` leaves it to the provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Text, JSON mode or a JSON Schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Upper bound on generated tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Seed for best-effort deterministic sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// An end-user id for the provider's abuse monitoring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Allow several tool calls in one turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Provider-specific parameters, passed through unchanged.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// A request for these messages, everything else default.
    pub fn new(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            messages,
            ..ChatRequest::default()
        }
    }

    /// A request with one user message.
    pub fn from_prompt(prompt: impl Into<String>) -> ChatRequest {
        ChatRequest::new(vec![Message::user(prompt)])
    }

    /// Set the model.
    pub fn model(mut self, model: impl Into<String>) -> ChatRequest {
        self.model = Some(model.into());
        self
    }

    /// Replace the messages.
    pub fn messages(mut self, messages: Vec<Message>) -> ChatRequest {
        self.messages = messages;
        self
    }

    /// Append one message.
    pub fn message(mut self, message: Message) -> ChatRequest {
        self.messages.push(message);
        self
    }

    /// Replace the tools.
    pub fn tools(mut self, tools: Vec<ToolSpec>) -> ChatRequest {
        self.tools = tools;
        self
    }

    /// Append one tool.
    pub fn tool(mut self, tool: ToolSpec) -> ChatRequest {
        self.tools.push(tool);
        self
    }

    /// Set the tool choice.
    pub fn tool_choice(mut self, choice: ToolChoice) -> ChatRequest {
        self.tool_choice = Some(choice);
        self
    }

    /// Set the response format.
    pub fn response_format(mut self, format: ResponseFormat) -> ChatRequest {
        self.response_format = Some(format);
        self
    }

    /// Set the temperature.
    pub fn temperature(mut self, temperature: f32) -> ChatRequest {
        self.temperature = Some(temperature);
        self
    }

    /// Set top-p.
    pub fn top_p(mut self, top_p: f32) -> ChatRequest {
        self.top_p = Some(top_p);
        self
    }

    /// Set the maximum number of generated tokens.
    pub fn max_tokens(mut self, max_tokens: u32) -> ChatRequest {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Replace the stop sequences.
    pub fn stop<I, S>(mut self, stop: I) -> ChatRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.stop = stop.into_iter().map(Into::into).collect();
        self
    }

    /// Set the seed.
    pub fn seed(mut self, seed: u64) -> ChatRequest {
        self.seed = Some(seed);
        self
    }

    /// Set the end-user id.
    pub fn user(mut self, user: impl Into<String>) -> ChatRequest {
        self.user = Some(user.into());
        self
    }

    /// Allow or forbid parallel tool calls.
    pub fn parallel_tool_calls(mut self, allow: bool) -> ChatRequest {
        self.parallel_tool_calls = Some(allow);
        self
    }

    /// Add one provider-specific parameter.
    pub fn extra(mut self, key: impl Into<String>, value: Value) -> ChatRequest {
        self.extra.insert(key.into(), value);
        self
    }

    /// The text of the last user message, if any.
    pub fn last_user_text(&self) -> Option<String> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == super::message::Role::User)
            .map(|m| m.text().into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_fill_the_fields() {
        let req = ChatRequest::from_prompt("hi")
            .model("gpt-x")
            .stop(["\n\n"])
            .seed(7)
            .parallel_tool_calls(false)
            .extra("top_k", serde_json::json!(40));
        assert_eq!(req.model.as_deref(), Some("gpt-x"));
        assert_eq!(req.stop, vec!["\n\n".to_owned()]);
        assert_eq!(req.seed, Some(7));
        assert_eq!(req.parallel_tool_calls, Some(false));
        assert_eq!(req.extra["top_k"], 40);
        assert_eq!(req.last_user_text().as_deref(), Some("hi"));
    }

    #[test]
    fn request_round_trips_through_json_and_skips_unset_fields() {
        let req = ChatRequest::from_prompt("hi").response_format(ResponseFormat::json_schema(
            "answer",
            serde_json::json!({"type": "object"}),
        ));
        let json = serde_json::to_value(&req).unwrap();
        assert!(json.get("temperature").is_none());
        assert_eq!(json["response_format"]["type"], "json_schema");
        let back: ChatRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, req);
        let minimal: ChatRequest = serde_json::from_str(r#"{"messages":[]}"#).unwrap();
        assert!(minimal.messages.is_empty());
    }
}
