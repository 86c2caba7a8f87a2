//! The mock's default answers: echo text, tool calls and JSON generated from
//! schemas, and whitespace token counts.

use plugbay_core::{Error, ErrorKind, Result};
use serde_json::{Map, Value};

use crate::types::{
    ChatRequest, ChatResponse, Message, ResponseFormat, Role, ToolCall, ToolChoice, Usage,
};

/// Recursion bound for self-similar schemas.
const MAX_DEPTH: usize = 16;

/// What the mock answers when neither a script nor a responder says
/// otherwise (see [`MockChatModel`](super::MockChatModel) for the rules).
pub(super) fn default_reply(request: &ChatRequest, call_id: &str) -> Result<ChatResponse> {
    let last = request.messages.last();
    let wants_tool = !request.tools.is_empty()
        && request.tool_choice != Some(ToolChoice::None)
        && last.is_some_and(|m| m.role == Role::User);
    if wants_tool {
        let tool = match &request.tool_choice {
            Some(ToolChoice::Tool(name)) => request
                .tools
                .iter()
                .find(|t| &t.name == name)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("tool_choice names `{name}`, which is not in tools"),
                    )
                    .with_provider("mock")
                    .with_operation("chat")
                })?,
            _ => &request.tools[0],
        };
        let arguments = example_for_schema(&tool.parameters, 0).to_string();
        return Ok(ChatResponse::from_tool_calls(vec![ToolCall::new(
            call_id, &tool.name, arguments,
        )]));
    }

    let echo = match last {
        Some(m) if m.role == Role::Tool => format!("[mock] tool result: {}", m.text()),
        _ => match request.last_user_text() {
            Some(text) => format!("[mock] {text}"),
            None => "[mock] (no user message)".to_owned(),
        },
    };
    let text = match &request.response_format {
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            example_for_schema(schema, 0).to_string()
        }
        Some(ResponseFormat::JsonObject) => serde_json::json!({ "reply": echo }).to_string(),
        _ => echo,
    };
    Ok(ChatResponse::from_text(text))
}

/// A small value that satisfies common JSON Schemas: first `const`, `enum`
/// or `default`; all object properties; one array item; minimums for
/// numbers; `"mock"` for strings.
pub(super) fn example_for_schema(schema: &Value, depth: usize) -> Value {
    let Some(obj) = schema.as_object() else {
        return Value::Null;
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(value) = obj.get("const").or_else(|| obj.get("default")) {
        return value.clone();
    }
    if let Some(first) = obj
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = obj
            .get(key)
            .and_then(Value::as_array)
            .and_then(|v| v.first())
        {
            return example_for_schema(first, depth + 1);
        }
    }
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if obj.contains_key("properties") => "object",
        _ if obj.contains_key("items") => "array",
        _ => "null",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    out.insert(name.clone(), example_for_schema(prop, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => match obj.get("items") {
            Some(items) => Value::Array(vec![example_for_schema(items, depth + 1)]),
            None => Value::Array(Vec::new()),
        },
        "string" => Value::String("mock".to_owned()),
        "integer" => obj.get("minimum").cloned().unwrap_or(Value::from(0)),
        "number" => obj.get("minimum").cloned().unwrap_or(Value::from(0.0)),
        "boolean" => Value::Bool(false),
        _ => Value::Null,
    }
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

fn message_tokens(message: &Message) -> u64 {
    // One for the role, as real tokenizers count per-message overhead; it
    // also keeps usage non-zero for empty content.
    1 + words(&message.text())
        + message
            .tool_calls
            .iter()
            .map(|c| words(&c.arguments) + 1)
            .sum::<u64>()
}

/// Whitespace token counts: every message of the request in, the reply out.
pub(super) fn usage_for(request: &ChatRequest, reply: &Message) -> Usage {
    let input = request.messages.iter().map(message_tokens).sum();
    Usage::new(input, message_tokens(reply))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ToolSpec;
    use serde_json::json;

    #[test]
    fn schema_examples_cover_common_shapes() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer", "minimum": 18},
                "score": {"type": ["number", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "kind": {"enum": ["a", "b"]},
                "nested": {"properties": {"ok": {"type": "boolean"}}},
                "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]}
            }
        });
        assert_eq!(
            example_for_schema(&schema, 0),
            json!({"name": "mock", "age": 18, "score": 0.0, "tags": ["mock"], "kind": "a",
                   "nested": {"ok": false}, "either": "mock"})
        );
    }

    #[test]
    fn named_tool_choice_must_exist() {
        let request = ChatRequest::from_prompt("hi")
            .tool(ToolSpec::new("a", "a tool", json!({"type": "object"})))
            .tool_choice(ToolChoice::Tool("b".into()));
        let err = default_reply(&request, "c").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn tool_result_is_acknowledged_as_text() {
        let request = ChatRequest::from_prompt("weather?")
            .tool(ToolSpec::new("w", "weather", json!({"type": "object"})))
            .message(Message::assistant_tool_calls(vec![ToolCall::new(
                "c1", "w", "{}",
            )]))
            .message(Message::tool_result("c1", "sunny"));
        let reply = default_reply(&request, "c2").unwrap();
        assert_eq!(reply.text(), "[mock] tool result: sunny");
        assert!(reply.tool_calls().is_empty());
    }

    #[test]
    fn usage_counts_words_per_message() {
        let request = ChatRequest::new(vec![
            Message::system("be brief"),
            Message::user("hello there world"),
        ]);
        let usage = usage_for(&request, &Message::assistant("[mock] hi"));
        // Words plus one per message: (1 + 2) + (1 + 3) in, 1 + 2 out.
        assert_eq!(
            (usage.input_tokens, usage.output_tokens, usage.total_tokens),
            (7, 3, 10)
        );
    }
}
