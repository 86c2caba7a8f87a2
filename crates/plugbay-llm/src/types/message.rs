//! Conversation messages, tools and tool calls.

use plugbay_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// Instructions for the model. OpenAI's newer `developer` role reads as this.
    #[serde(alias = "developer")]
    System,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call, answering an assistant's [`ToolCall`].
    Tool,
}

impl Role {
    /// The wire name (`"system"`, `"user"`, `"assistant"`, `"tool"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The content of a message: plain text, or several parts (text and images).
///
/// Serialises like the OpenAI chat API: a JSON string, or an array of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Several parts, for models that accept images next to text.
    Parts(Vec<ContentPart>),
}

impl Content {
    /// The text of the content; parts are joined with newlines and images
    /// are left out.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Content::Text(text) => std::borrow::Cow::Borrowed(text),
            Content::Parts(parts) => {
                let texts: Vec<&str> = parts
                    .iter()
                    .filter_map(|p| match p {
                        ContentPart::Text { text } => Some(text.as_str()),
                        _ => None,
                    })
                    .collect();
                std::borrow::Cow::Owned(texts.join("\n"))
            }
        }
    }

    /// `true` if any part is an image.
    pub fn has_images(&self) -> bool {
        matches!(self, Content::Parts(parts) if parts.iter().any(|p| matches!(p, ContentPart::ImageUrl { .. })))
    }
}

impl From<String> for Content {
    fn from(text: String) -> Content {
        Content::Text(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Content {
        Content::Text(text.to_owned())
    }
}

/// One part of a multi-part [`Content`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContentPart {
    /// A piece of text.
    Text {
        /// The text.
        text: String,
    },
    /// An image by URL (`https://…` or a `data:` URL).
    ImageUrl {
        /// The image reference.
        image_url: ImageUrl,
    },
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> ContentPart {
        ContentPart::Text { text: text.into() }
    }

    /// An image part from a URL or `data:` URL.
    pub fn image_url(url: impl Into<String>) -> ContentPart {
        ContentPart::ImageUrl {
            image_url: ImageUrl {
                url: url.into(),
                detail: None,
            },
        }
    }
}

/// An image reference inside a [`ContentPart::ImageUrl`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// `https://…` or `data:image/png;base64,…`.
    pub url: String,
    /// Resolution hint (`"low"`, `"high"`, `"auto"`), where the provider has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One message of a conversation.
///
/// Build with [`Message::system`], [`Message::user`], [`Message::assistant`],
/// [`Message::assistant_tool_calls`] or [`Message::tool_result`], then the
/// `with_*` setters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// The content; `None` for an assistant turn that only calls tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// The tool calls an assistant turn made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// An optional participant name (or the tool name for tool results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Message {
    /// A message of `role` with text content.
    pub fn new(role: Role, text: impl Into<String>) -> Message {
        Message {
            role,
            content: Some(Content::Text(text.into())),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
        }
    }

    /// A system (instructions) message.
    pub fn system(text: impl Into<String>) -> Message {
        Message::new(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Message {
        Message::new(Role::User, text)
    }

    /// A user message made of parts (text and images).
    pub fn user_parts(parts: Vec<ContentPart>) -> Message {
        Message {
            content: Some(Content::Parts(parts)),
            ..Message::new(Role::User, "")
        }
    }

    /// An assistant message with text.
    pub fn assistant(text: impl Into<String>) -> Message {
        Message::new(Role::Assistant, text)
    }

    /// An assistant turn that calls tools (no text).
    pub fn assistant_tool_calls(tool_calls: Vec<ToolCall>) -> Message {
        Message {
            role: Role::Assistant,
            content: None,
            tool_calls,
            tool_call_id: None,
            name: None,
        }
    }

    /// The result of the tool call `tool_call_id`, sent back to the model.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            tool_call_id: Some(tool_call_id.into()),
            ..Message::new(Role::Tool, content)
        }
    }

    /// Set the participant (or tool) name.
    pub fn with_name(mut self, name: impl Into<String>) -> Message {
        self.name = Some(name.into());
        self
    }

    /// Replace the content.
    pub fn with_content(mut self, content: impl Into<Content>) -> Message {
        self.content = Some(content.into());
        self
    }

    /// Replace the tool calls.
    pub fn with_tool_calls(mut self, tool_calls: Vec<ToolCall>) -> Message {
        self.tool_calls = tool_calls;
        self
    }

    /// The text of the content (empty when there is none).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match &self.content {
            Some(content) => content.text(),
            None => std::borrow::Cow::Borrowed(""),
        }
    }
}

/// A tool the model may call, described by a JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolSpec {
    /// The function name (`[a-zA-Z0-9_-]`, at most 64 characters on OpenAI).
    pub name: String,
    /// What the tool does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments object.
    #[serde(default = "empty_object_schema")]
    pub parameters: Value,
    /// Ask the provider to enforce the schema exactly (OpenAI `strict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

fn empty_object_schema() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}

impl ToolSpec {
    /// A tool with a name, a description and a JSON Schema for its arguments.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            description: Some(description.into()),
            parameters,
            strict: None,
        }
    }

    /// Ask for strict schema adherence.
    pub fn strict(mut self, strict: bool) -> ToolSpec {
        self.strict = Some(strict);
        self
    }
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This tool, by name.
    Tool(String),
}

/// A complete tool call made by the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id; a [`Message::tool_result`] answers it.
    pub id: String,
    /// The tool name.
    pub name: String,
    /// The arguments as the model wrote them: JSON text, not yet validated.
    pub arguments: String,
}

impl ToolCall {
    /// A tool call.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    /// Parse the arguments into `T`.
    ///
    /// Empty arguments read as `{}` (some servers send `""` for tools without
    /// parameters). Text that is not JSON is a `Protocol` error (the model
    /// produced something unreadable); JSON that does not fit `T` is
    /// `InvalidInput` (the call does not match the tool's schema; a caller
    /// usually reports this back to the model).
    pub fn parse_arguments<T: DeserializeOwned>(&self) -> Result<T> {
        let text = if self.arguments.trim().is_empty() {
            "{}"
        } else {
            self.arguments.as_str()
        };
        serde_json::from_str(text).map_err(|err| {
            let kind = match err.classify() {
                serde_json::error::Category::Data => ErrorKind::InvalidInput,
                _ => ErrorKind::Protocol,
            };
            Error::new(
                kind,
                format!(
                    "arguments of tool call `{}` ({}) do not parse: {err}",
                    self.name, self.id
                ),
            )
            .with_operation("parse_tool_arguments")
            .with_source(err)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_serialises_like_the_chat_api() {
        let msg = Message::tool_result("call_1", "42").with_name("calc");
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"role": "tool", "content": "42", "tool_call_id": "call_1", "name": "calc"})
        );
        let back: Message = serde_json::from_value(json).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn multi_part_content_round_trips_and_yields_text() {
        let msg = Message::user_parts(vec![
            ContentPart::text("what is"),
            ContentPart::image_url("data:image/png;base64,AAAA"),
            ContentPart::text("this?"),
        ]);
        let json = serde_json::to_string(&msg).unwrap();
        assert!(json.contains(r#""type":"image_url""#), "{json}");
        let back: Message = serde_json::from_str(&json).unwrap();
        assert_eq!(back.text(), "what is\nthis?");
        assert!(back.content.as_ref().unwrap().has_images());
    }

    #[test]
    fn developer_role_reads_as_system() {
        let msg: Message =
            serde_json::from_str(r#"{"role":"developer","content":"be brief"}"#).unwrap();
        assert_eq!(msg.role, Role::System);
        assert_eq!(msg.text(), "be brief");
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Weather {
        city: String,
    }

    #[test]
    fn parse_arguments_distinguishes_bad_json_from_wrong_shape() {
        let ok = ToolCall::new("c1", "weather", r#"{"city":"Oslo"}"#);
        assert_eq!(ok.parse_arguments::<Weather>().unwrap().city, "Oslo");

        let broken = ToolCall::new("c2", "weather", r#"{"city":"Os"#);
        assert_eq!(
            broken.parse_arguments::<Weather>().unwrap_err().kind(),
            ErrorKind::Protocol
        );

        let wrong = ToolCall::new("c3", "weather", r#"{"town":"Oslo"}"#);
        assert_eq!(
            wrong.parse_arguments::<Weather>().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn empty_arguments_read_as_an_empty_object() {
        let call = ToolCall::new("c1", "now", "");
        let value: serde_json::Map<String, Value> = call.parse_arguments().unwrap();
        assert!(value.is_empty());
    }

    #[test]
    fn tool_choice_serialises_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&ToolChoice::Required).unwrap(),
            r#""required""#
        );
        assert_eq!(
            serde_json::to_string(&ToolChoice::Tool("x".into())).unwrap(),
            r#"{"tool":"x"}"#
        );
    }
}
