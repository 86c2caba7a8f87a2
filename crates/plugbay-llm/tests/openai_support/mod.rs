//! Shared pieces of the OpenAI tests: a wiremock responder that behaves
//! like the chat-completions and embeddings APIs (documented wire format),
//! fixtures, and small raw-TCP servers for transport faults.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use plugbay_core::Error;
use plugbay_core::http::{HttpClient, RecordingSleeper};
use plugbay_llm::openai::{OpenAiBuilder, OpenAiClient};
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

pub const KEY: &str = "sk-test-key-0123456789";

/// A fixture file's text.
pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// An HTTP client that records waits instead of sleeping.
pub fn http(sleeper: &RecordingSleeper) -> HttpClient {
    HttpClient::builder()
        .sleeper(sleeper.clone())
        .build()
        .unwrap()
}

/// A client for the stub at `base` (`.../v1`), OpenAI defaults kept.
pub fn client(base: &str, sleeper: &RecordingSleeper) -> OpenAiClient {
    builder(base, sleeper).build().unwrap()
}

pub fn builder(base: &str, sleeper: &RecordingSleeper) -> OpenAiBuilder {
    OpenAiBuilder::default()
        .api_key(KEY)
        .base_url(base)
        .model("gpt-4o-mini")
        .http_client(http(sleeper))
}

/// The `attempts` context of an error.
pub fn attempts(error: &Error) -> Option<u32> {
    context(error, "attempts").and_then(|v| v.parse().ok())
}

pub fn context<'a>(error: &'a Error, key: &str) -> Option<&'a str> {
    error.context().find(|(k, _)| *k == key).map(|(_, v)| v)
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count().max(1) as u64
}

/// A value that fits a (simple) JSON schema.
pub fn value_for(schema: &Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let mut out = serde_json::Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    out.insert(name.clone(), value_for(prop));
                }
            }
            Value::Object(out)
        }
        Some("array") => json!([value_for(schema.get("items").unwrap_or(&json!({})))]),
        Some("number") => json!(0.9),
        Some("integer") => json!(1),
        Some("boolean") => json!(true),
        _ => json!("Oslo"),
    }
}

fn message_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// What the stub decided to answer.
pub enum Reply {
    Text(String),
    ToolCalls(Vec<(String, String, String)>),
}

/// Decide the reply the way a cooperative model would: call an offered tool
/// when the user spoke last, fill a JSON schema, acknowledge a tool result,
/// otherwise echo.
pub fn decide(body: &Value) -> Reply {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let last = messages.last().cloned().unwrap_or(Value::Null);
    let role = last["role"].as_str().unwrap_or("");
    let tools = body["tools"].as_array().cloned().unwrap_or_default();
    let choice = body.get("tool_choice").cloned().unwrap_or(json!("auto"));
    if !tools.is_empty() && choice != json!("none") && role == "user" {
        let wanted = choice["function"]["name"].as_str();
        let tool = tools
            .iter()
            .find(|t| Some(t["function"]["name"].as_str().unwrap_or("")) == wanted)
            .unwrap_or(&tools[0]);
        let name = tool["function"]["name"].as_str().unwrap_or("").to_owned();
        let args = value_for(&tool["function"]["parameters"]).to_string();
        return Reply::ToolCalls(vec![("call_stub_0".into(), name, args)]);
    }
    if body["response_format"]["type"] == "json_schema" {
        let schema = &body["response_format"]["json_schema"]["schema"];
        return Reply::Text(value_for(schema).to_string());
    }
    if role == "tool" {
        return Reply::Text(format!("The tool said: {}", message_text(&last)));
    }
    let user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(message_text)
        .unwrap_or_default();
    Reply::Text(format!("Echo: {user}"))
}

/// A wiremock responder for `POST /v1/chat/completions` and
/// `POST /v1/embeddings`, answering from the request like OpenAI would.
#[derive(Debug, Clone, Default)]
pub struct OpenAiStub {
    /// Send `usage` on every stream chunk (vLLM style) instead of one
    /// final chunk.
    pub usage_every_chunk: bool,
}

impl Respond for OpenAiStub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(_) => {
                return ResponseTemplate::new(400).set_body_json(json!({"error": {
                    "message": "We could not parse the JSON body of your request.",
                    "type": "invalid_request_error", "param": null, "code": null}}));
            }
        };
        if request.url.path().ends_with("/embeddings") {
            return embeddings_reply(&body);
        }
        let prompt_tokens: u64 = body["messages"]
            .as_array()
            .map(|ms| ms.iter().map(|m| words(&message_text(m))).sum())
            .unwrap_or(1);
        let reply = decide(&body);
        let model = body["model"].as_str().unwrap_or("gpt-4o-mini").to_owned();
        if body["stream"] == json!(true) {
            let include_usage = body["stream_options"]["include_usage"] == json!(true);
            let sse = stream_reply(
                &reply,
                &model,
                prompt_tokens,
                include_usage,
                self.usage_every_chunk,
            );
            return ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream; charset=utf-8")
                .set_body_raw(sse, "text/event-stream");
        }
        let (message, finish, completion) = match &reply {
            Reply::Text(text) => (
                json!({"role": "assistant", "content": text, "refusal": null}),
                "stop",
                words(text),
            ),
            Reply::ToolCalls(calls) => (
                json!({"role": "assistant", "content": null, "tool_calls": calls.iter().map(|(id, name, args)| json!({
                    "id": id, "type": "function", "function": {"name": name, "arguments": args}})).collect::<Vec<_>>()}),
                "tool_calls",
                5,
            ),
        };
        ResponseTemplate::new(200)
            .insert_header("x-request-id", "req_stub")
            .insert_header("x-ratelimit-remaining-requests", "499")
            .insert_header("x-ratelimit-remaining-tokens", "149000")
            .insert_header("x-ratelimit-reset-requests", "120ms")
            .set_body_json(json!({
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": format!("{model}-2024-07-18"),
                "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                          "total_tokens": prompt_tokens + completion},
                "system_fingerprint": "fp_stub"
            }))
    }
}

fn chunk(model: &str, delta: Value, finish: Value, usage: Value) -> String {
    let body = json!({
        "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": format!("{model}-2024-07-18"),
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        "usage": usage,
    });
    format!("data: {body}\n\n")
}

fn stream_reply(
    reply: &Reply,
    model: &str,
    prompt: u64,
    include_usage: bool,
    every_chunk: bool,
) -> Vec<u8> {
    let mut out = String::new();
    let completion = match reply {
        Reply::Text(text) => words(text),
        Reply::ToolCalls(_) => 5,
    };
    let usage = json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion});
    let per_chunk = if every_chunk {
        usage.clone()
    } else {
        Value::Null
    };
    out.push_str(&chunk(
        model,
        json!({"role": "assistant", "content": ""}),
        Value::Null,
        per_chunk.clone(),
    ));
    out.push_str(": keep-alive\n\n");
    let finish = match reply {
        Reply::Text(text) => {
            let chars: Vec<char> = text.chars().collect();
            for piece in chars.chunks(4) {
                let piece: String = piece.iter().collect();
                out.push_str(&chunk(
                    model,
                    json!({"content": piece}),
                    Value::Null,
                    per_chunk.clone(),
                ));
            }
            "stop"
        }
        Reply::ToolCalls(calls) => {
            for (i, (id, name, args)) in calls.iter().enumerate() {
                out.push_str(&chunk(
                    model,
                    json!({"tool_calls": [{"index": i, "id": id, "type": "function",
                    "function": {"name": name, "arguments": ""}}]}),
                    Value::Null,
                    per_chunk.clone(),
                ));
                let mid = args.len() / 2;
                for part in [&args[..mid], &args[mid..]] {
                    out.push_str(&chunk(
                        model,
                        json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]}),
                        Value::Null,
                        per_chunk.clone(),
                    ));
                }
            }
            "tool_calls"
        }
    };
    out.push_str(&chunk(model, json!({}), json!(finish), per_chunk.clone()));
    if every_chunk {
        out.push_str(&format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-stub", "choices": null, "usage": usage})
        ));
    } else if include_usage {
        out.push_str(&format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "model": model, "choices": [], "usage": usage})
        ));
    }
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

/// Deterministic 16-dimension vectors from the words and character pairs
/// of each input, returned in reverse order with their `index` (the client
/// must restore the order).
fn embeddings_reply(body: &Value) -> ResponseTemplate {
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_owned())
            .collect(),
        _ => Vec::new(),
    };
    if inputs.iter().any(String::is_empty) {
        return ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "'$.input' is invalid.", "type": "invalid_request_error", "param": null, "code": null}}));
    }
    let dims = body["dimensions"].as_u64().unwrap_or(16) as usize;
    let mut data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(
            |(i, text)| json!({"object": "embedding", "index": i, "embedding": vector(text, dims)}),
        )
        .collect();
    data.reverse();
    let tokens: u64 = inputs.iter().map(|t| words(t)).sum();
    ResponseTemplate::new(200).set_body_json(json!({
        "object": "list", "data": data, "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    }))
}

pub fn vector(text: &str, dims: usize) -> Vec<f32> {
    let mut v = vec![0f32; dims];
    let bytes = text.as_bytes();
    for pair in bytes.windows(2) {
        let h = (u32::from(pair[0]) * 31 + u32::from(pair[1])) as usize;
        v[h % dims] += 1.0;
    }
    for word in text.split_whitespace() {
        let h = word
            .bytes()
            .fold(7u32, |a, b| a.wrapping_mul(131).wrapping_add(u32::from(b)));
        v[h as usize % dims] += 2.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.iter().map(|x| x / norm).collect()
}

/// See `plugbay_core::test_servers::resetting_server`; the base ends in `/v1`.
pub async fn resetting_server() -> (String, Arc<AtomicUsize>) {
    let (base, seen) = plugbay_core::test_servers::resetting_server().await;
    (format!("{base}/v1"), seen)
}

/// See `plugbay_core::test_servers::raw_server`; the base ends in `/v1`.
pub async fn raw_server(raw: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let (base, seen) = plugbay_core::test_servers::raw_server(raw).await;
    (format!("{base}/v1"), seen)
}
