//! Request bodies of the chat-completions and embeddings APIs, written
//! straight from plugbay's types.

use plugbay_core::{Error, ErrorKind, Result};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::config::OpenAiConfig;
use crate::types::{
    ChatRequest, Content, Message, ResponseFormat, Role, ToolCall, ToolChoice, ToolSpec,
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
///
/// Without configured defaults or request `extra` (the common case) the
/// parameters are written straight from the request too; otherwise they
/// are merged in a map first. Both give the same bytes (see the tests).
pub(crate) fn chat_body(
    config: &OpenAiConfig,
    model: &str,
    req: &ChatRequest,
    stream: bool,
) -> Result<Vec<u8>> {
    // Room for the messages plus the small parameters, so the buffer
    // rarely grows while writing.
    let hint = 256
        + req
            .messages
            .iter()
            .map(|m| match &m.content {
                Some(Content::Text(text)) => text.len() + 32,
                _ => 64,
            })
            .sum::<usize>();
    let mut out = Vec::with_capacity(hint);
    let written = if config.default_params.is_empty() && req.extra.is_empty() {
        serde_json::to_writer(
            &mut out,
            &DirectBody {
                config,
                model,
                req,
                stream,
            },
        )
    } else {
        serde_json::to_writer(&mut out, &merged_body(config, model, req, stream))
    };
    written.map(|()| out).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            "the chat request cannot be encoded",
        )
        .with_source(e)
    })
}

fn merged_body<'a>(
    config: &OpenAiConfig,
    model: &str,
    req: &'a ChatRequest,
    stream: bool,
) -> ChatBody<'a> {
    ChatBody {
        params: chat_params(config, model, req, stream),
        messages: &req.messages,
        tools: &req.tools,
    }
}

/// A body without defaults or `extra`: the parameters in the order the
/// merged map would write them (its keys are sorted), with no map built.
struct DirectBody<'a> {
    config: &'a OpenAiConfig,
    model: &'a str,
    req: &'a ChatRequest,
    stream: bool,
}

/// An `f32` in its shortest form, `null` when not finite (as [`float`]).
struct ShortFloat(f32);

impl Serialize for ShortFloat {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            serializer.serialize_f32(self.0)
        } else {
            serializer.serialize_unit()
        }
    }
}

impl Serialize for DirectBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct IncludeUsage {
            include_usage: bool,
        }
        let (config, req) = (self.config, self.req);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("messages", &Messages(&req.messages))?;
        if !req.tools.is_empty() {
            map.serialize_entry("tools", &Tools(&req.tools))?;
        }
        // Sorted keys: both token-limit names sort before `model`.
        if let Some(max) = req.max_tokens {
            map.serialize_entry(config.max_tokens_field.as_str(), &max)?;
        }
        map.serialize_entry("model", self.model)?;
        if let Some(parallel) = req.parallel_tool_calls
            && !req.tools.is_empty()
        {
            map.serialize_entry("parallel_tool_calls", &parallel)?;
        }
        if let Some(format) = &req.response_format {
            map.serialize_entry("response_format", &response_format(format))?;
        }
        if let Some(seed) = req.seed {
            map.serialize_entry("seed", &seed)?;
        }
        if !req.stop.is_empty() {
            map.serialize_entry("stop", &req.stop)?;
        }
        if self.stream {
            map.serialize_entry("stream", &true)?;
            if config.stream_usage {
                map.serialize_entry(
                    "stream_options",
                    &IncludeUsage {
                        include_usage: true,
                    },
                )?;
            }
        }
        if let Some(t) = req.temperature {
            map.serialize_entry("temperature", &ShortFloat(t))?;
        }
        if let Some(choice) = &req.tool_choice {
            map.serialize_entry("tool_choice", &tool_choice(choice))?;
        }
        if let Some(p) = req.top_p {
            map.serialize_entry("top_p", &ShortFloat(p))?;
        }
        if let Some(user) = &req.user {
            map.serialize_entry("user", user)?;
        }
        map.end()
    }
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
    fn direct_floats_match_the_value_form() {
        let values = [
            0.0,
            -0.0,
            0.2,
            0.7,
            1.0,
            1.5,
            2.0,
            0.1,
            0.95,
            1e-7,
            123_456.79,
            f32::MAX,
            f32::MIN_POSITIVE,
            1e-45,
            f32::NAN,
            f32::INFINITY,
        ];
        for v in values {
            assert_eq!(
                serde_json::to_string(&ShortFloat(v)).unwrap(),
                float(v).to_string(),
                "{v}"
            );
        }
    }

    /// The map-free body is byte for byte the merged one.
    #[test]
    fn direct_body_is_the_merged_body() {
        use crate::types::{ToolChoice, ToolSpec};
        let tool = ToolSpec::new("get_weather", "Weather", json!({"type": "object"}));
        let base = ChatRequest::new(vec![
            Message::system("be terse"),
            Message::user("hi \"there\""),
            Message::assistant_tool_calls(vec![ToolCall::new("c1", "f", "{}")]),
            Message::tool_result("c1", "sunny"),
        ]);
        let requests = [
            base.clone(),
            base.clone().temperature(0.2).max_tokens(64),
            base.clone()
                .tool(tool.clone())
                .tool_choice(ToolChoice::Tool("get_weather".into()))
                .parallel_tool_calls(false)
                .top_p(0.9)
                .seed(7)
                .stop(["END", "STOP"])
                .user("u-1")
                .response_format(ResponseFormat::json_schema("s", json!({"type": "object"}))),
            base.clone()
                .parallel_tool_calls(true)
                .tool_choice(ToolChoice::Required),
            base.clone()
                .model("other")
                .temperature(f32::NAN)
                .response_format(ResponseFormat::JsonObject),
        ];
        let mut configs = vec![OpenAiConfig::default()];
        let compatible = OpenAiConfig {
            max_tokens_field: crate::openai::MaxTokensField::MaxTokens,
            stream_usage: false,
            ..OpenAiConfig::default()
        };
        configs.push(compatible);
        for config in &configs {
            for req in &requests {
                for stream in [false, true] {
                    let direct = chat_body(config, "gpt-x", req, stream).unwrap();
                    let merged =
                        serde_json::to_vec(&merged_body(config, "gpt-x", req, stream)).unwrap();
                    assert_eq!(
                        String::from_utf8(direct).unwrap(),
                        String::from_utf8(merged).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn defaults_and_extra_still_merge() {
        let mut config = OpenAiConfig::default();
        config.default_params.insert("temperature".into(), json!(1));
        config.default_params.insert("top_k".into(), json!(5));
        let req = ChatRequest::from_prompt("hi")
            .temperature(0.5)
            .extra("top_k", json!(9));
        let body: Value =
            serde_json::from_slice(&chat_body(&config, "m", &req, false).unwrap()).unwrap();
        assert_eq!(body["temperature"], json!(0.5));
        assert_eq!(body["top_k"], json!(9));
        assert_eq!(body["model"], json!("m"));
    }
}
