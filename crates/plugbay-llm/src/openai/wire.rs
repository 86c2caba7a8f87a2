//! The chat-completions and embeddings wire format: request bodies written
//! straight from plugbay's types, and tolerant reply types.

use std::borrow::Cow;

use plugbay_core::{Error, ErrorKind, Result};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::config::OpenAiConfig;
use crate::types::{
    ChatRequest, ChatResponse, Embeddings, FinishReason, Message, ResponseFormat, Role, ToolCall,
    ToolChoice, ToolSpec, Usage,
};

/// `f32` → JSON number by its shortest decimal form (`0.2`, not
/// `0.20000000298023224`).
fn float(value: f32) -> Value {
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn response_format(format: &ResponseFormat) -> Value {
    match format {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            let mut inner = json!({"name": name, "schema": schema});
            if let Some(strict) = strict {
                inner["strict"] = json!(strict);
            }
            json!({"type": "json_schema", "json_schema": inner})
        }
    }
}

/// The small parameters of a chat request, in precedence order: configured
/// defaults, then the request's fields, then the request's `extra`.
fn chat_params(
    config: &OpenAiConfig,
    model: &str,
    req: &ChatRequest,
    stream: bool,
) -> Map<String, Value> {
    let mut params = config.default_params.clone();
    params.insert("model".into(), json!(model));
    if let Some(choice) = &req.tool_choice {
        params.insert("tool_choice".into(), tool_choice(choice));
    }
    // OpenAI rejects parallel_tool_calls without tools.
    if let Some(parallel) = req.parallel_tool_calls
        && !req.tools.is_empty()
    {
        params.insert("parallel_tool_calls".into(), json!(parallel));
    }
    if let Some(format) = &req.response_format {
        params.insert("response_format".into(), response_format(format));
    }
    if let Some(t) = req.temperature {
        params.insert("temperature".into(), float(t));
    }
    if let Some(p) = req.top_p {
        params.insert("top_p".into(), float(p));
    }
    if let Some(max) = req.max_tokens {
        params.insert(config.max_tokens_field.as_str().into(), json!(max));
    }
    if !req.stop.is_empty() {
        params.insert("stop".into(), json!(req.stop));
    }
    if let Some(seed) = req.seed {
        params.insert("seed".into(), json!(seed));
    }
    if let Some(user) = &req.user {
        params.insert("user".into(), json!(user));
    }
    if stream {
        params.insert("stream".into(), json!(true));
        if config.stream_usage {
            params.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    for (key, value) in &req.extra {
        params.insert(key.clone(), value.clone());
    }
    params
}

/// The JSON body of a chat completion request. Messages and tools are
/// serialised straight from the request (no intermediate `Value` copy).
pub(crate) fn chat_body(
    config: &OpenAiConfig,
    model: &str,
    req: &ChatRequest,
    stream: bool,
) -> Result<Vec<u8>> {
    let body = ChatBody {
        params: chat_params(config, model, req, stream),
        messages: &req.messages,
        tools: &req.tools,
    };
    serde_json::to_vec(&body).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            "the chat request cannot be encoded",
        )
        .with_source(e)
    })
}

struct ChatBody<'a> {
    params: Map<String, Value>,
    messages: &'a [Message],
    tools: &'a [ToolSpec],
}

impl Serialize for ChatBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        // `extra` may replace messages or tools wholesale.
        if !self.params.contains_key("messages") {
            map.serialize_entry("messages", &Messages(self.messages))?;
        }
        if !self.tools.is_empty() && !self.params.contains_key("tools") {
            map.serialize_entry("tools", &Tools(self.tools))?;
        }
        for (key, value) in &self.params {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

struct Messages<'a>(&'a [Message]);

impl Serialize for Messages<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(WireMessage))
    }
}

struct WireMessage<'a>(&'a Message);

impl Serialize for WireMessage<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("role", m.role.as_str())?;
        match &m.content {
            Some(content) => map.serialize_entry("content", content)?,
            // An assistant turn that only calls tools has `content: null`;
            // other roles need a string.
            None if m.role == Role::Assistant => map.serialize_entry("content", &())?,
            None => map.serialize_entry("content", "")?,
        }
        if let Some(name) = &m.name
            && m.role != Role::Tool
        {
            map.serialize_entry("name", name)?;
        }
        if let Some(id) = &m.tool_call_id {
            map.serialize_entry("tool_call_id", id)?;
        }
        if !m.tool_calls.is_empty() {
            map.serialize_entry("tool_calls", &WireCalls(&m.tool_calls))?;
        }
        map.end()
    }
}

struct WireCalls<'a>(&'a [ToolCall]);

impl Serialize for WireCalls<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Function<'a> {
            name: &'a str,
            arguments: &'a str,
        }
        #[derive(Serialize)]
        struct Call<'a> {
            id: &'a str,
            #[serde(rename = "type")]
            kind: &'static str,
            function: Function<'a>,
        }
        serializer.collect_seq(self.0.iter().map(|c| Call {
            id: &c.id,
            kind: "function",
            function: Function {
                name: &c.name,
                arguments: &c.arguments,
            },
        }))
    }
}

struct Tools<'a>(&'a [ToolSpec]);

impl Serialize for Tools<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Function<'a> {
            name: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            description: Option<&'a str>,
            parameters: &'a Value,
            #[serde(skip_serializing_if = "Option::is_none")]
            strict: Option<bool>,
        }
        #[derive(Serialize)]
        struct Tool<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            function: Function<'a>,
        }
        serializer.collect_seq(self.0.iter().map(|t| Tool {
            kind: "function",
            function: Function {
                name: &t.name,
                description: t.description.as_deref(),
                parameters: &t.parameters,
                strict: t.strict,
            },
        }))
    }
}

/// The JSON body of an embeddings request.
pub(crate) fn embeddings_body(
    model: &str,
    inputs: &[String],
    dimensions: Option<usize>,
) -> Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Body<'a> {
        model: &'a str,
        input: &'a [String],
        encoding_format: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        dimensions: Option<usize>,
    }
    serde_json::to_vec(&Body {
        model,
        input: inputs,
        encoding_format: "float",
        dimensions,
    })
    .map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            "the embeddings request cannot be encoded",
        )
        .with_source(e)
    })
}

// ---------------------------------------------------------------- replies

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

    #[test]
    fn floats_keep_their_short_form() {
        assert_eq!(float(0.2).to_string(), "0.2");
        assert_eq!(float(1.0).to_string(), "1.0");
        assert_eq!(float(f32::NAN), Value::Null);
    }

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
