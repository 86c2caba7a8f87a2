//! Shared helpers of the Hugging Face wiremock suites: clients that record
//! their waits, raw-socket servers for resets and truncated bodies, and a
//! deterministic embedding stub.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use plugbay_core::Error;
use plugbay_core::http::{HttpClient, RecordingSleeper, RetryPolicy};
use plugbay_llm::HashingEmbedder;
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "hf_test_token_123";

/// A client whose waits are recorded, with jitter off so waits are exact.
pub fn client(sleeper: &RecordingSleeper, timeout: Duration) -> HttpClient {
    HttpClient::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .retry_policy(RetryPolicy::default().jitter(0.0))
        .sleeper(sleeper.clone())
        .build()
        .unwrap()
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn context<'e>(err: &'e Error, key: &str) -> Option<&'e str> {
    err.context().find(|(k, _)| *k == key).map(|(_, v)| v)
}

pub fn attempts(err: &Error) -> Option<u32> {
    context(err, "attempts").and_then(|v| v.parse().ok())
}

/// The shared misbehaving servers (reset, raw answers).
pub use plugbay_core::test_servers::{raw_server, resetting_server};

/// Answers `{"inputs": [...]}` with hashing-embedder vectors, as
/// sentence vectors or as two token vectors per input whose mean is the
/// sentence vector; refuses batches above `max` as TEI does (413).
#[derive(Debug, Clone)]
pub struct EmbedStub {
    pub token_level: bool,
    pub max: Option<usize>,
    pub dims: usize,
}

impl EmbedStub {
    pub fn sentences(dims: usize) -> EmbedStub {
        EmbedStub {
            token_level: false,
            max: None,
            dims,
        }
    }

    pub fn expected(&self, text: &str) -> Vec<f32> {
        HashingEmbedder::new(self.dims).embed_text(text)
    }
}

impl Respond for EmbedStub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let inputs: Vec<String> = body["inputs"]
            .as_array()
            .expect("inputs is a list")
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        if let Some(max) = self.max
            && inputs.len() > max
        {
            return ResponseTemplate::new(413).set_body_json(json!({
                "error": format!("batch size {} > maximum allowed batch size {max}", inputs.len()),
                "error_type": "validation"
            }));
        }
        let vectors: Vec<Vec<f32>> = inputs.iter().map(|t| self.expected(t)).collect();
        let json = if self.token_level {
            let tokens: Vec<Vec<Vec<f32>>> = vectors
                .iter()
                .map(|v| {
                    vec![
                        v.iter().map(|x| x * 0.5).collect(),
                        v.iter().map(|x| x * 1.5).collect(),
                    ]
                })
                .collect();
            json!(tokens)
        } else {
            json!(vectors)
        };
        ResponseTemplate::new(200).set_body_json(json)
    }
}

/// A deterministic OpenAI-compatible chat server, as the Hugging Face
/// router or TGI answer: text, tool calls, JSON for a schema, streams
/// (with a usage chunk when asked) in SSE.
///
/// With `tgi` it imitates TGI's quirks: empty tool-call ids in streams,
/// tool arguments as a JSON object in whole replies, a
/// `system_fingerprint`, `created` timestamps and no `id`.
#[derive(Debug, Clone)]
pub struct ChatStub {
    pub tgi: bool,
}

pub const STUB_TEXT: &str = "Hello from the stub, conformance suite!";
pub const STUB_AFTER_TOOL: &str = "It is 12 degrees in Oslo.";

impl ChatStub {
    fn reply(&self, request: &Value) -> (Option<String>, Option<Value>) {
        let messages = request["messages"].as_array().unwrap();
        let last_role = messages
            .last()
            .and_then(|m| m["role"].as_str())
            .unwrap_or("");
        let wants_tool = request["tools"].as_array().is_some_and(|t| !t.is_empty())
            && request["tool_choice"] != json!("none")
            && last_role == "user";
        if wants_tool {
            return (None, Some(json!({"city": "Oslo"})));
        }
        if last_role == "tool" {
            return (Some(STUB_AFTER_TOOL.to_owned()), None);
        }
        if request["response_format"]["type"] == json!("json_schema") {
            return (
                Some(r#"{"answer":"yes","confidence":0.9}"#.to_owned()),
                None,
            );
        }
        (Some(STUB_TEXT.to_owned()), None)
    }

    fn whole(&self, model: &str, text: Option<String>, call: Option<Value>) -> Value {
        let (finish, message) = match call {
            Some(args) => {
                let arguments = if self.tgi {
                    args
                } else {
                    json!(args.to_string())
                };
                (
                    "tool_calls",
                    json!({"role": "assistant", "content": null, "tool_calls": [{
                        "id": if self.tgi { "0" } else { "call_stub_1" }, "type": "function",
                        "function": {"name": "get_weather", "arguments": arguments}}]}),
                )
            }
            None => ("stop", json!({"role": "assistant", "content": text})),
        };
        let mut body = json!({
            "object": "chat.completion", "created": 1_732_000_000, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
            "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}
        });
        if self.tgi {
            body["system_fingerprint"] = json!("3.0.1-native");
            body["id"] = json!("");
        } else {
            body["id"] = json!("chatcmpl-stub");
        }
        body
    }

    fn stream(
        &self,
        model: &str,
        text: Option<String>,
        call: Option<Value>,
        usage: bool,
    ) -> String {
        let chunk = |delta: Value, finish: Value| {
            json!({"id": if self.tgi { "" } else { "chatcmpl-stub" }, "object": "chat.completion.chunk",
                   "created": 1_732_000_000, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
                   "usage": null})
        };
        let mut events = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        let finish = match (&text, &call) {
            (_, Some(args)) => {
                let args = args.to_string();
                let (head, tail) = args.split_at(args.len() / 2);
                let id = if self.tgi { "" } else { "call_stub_1" };
                events.push(chunk(
                    json!({"tool_calls": [{"index": 0, "id": id, "type": "function",
                           "function": {"name": "get_weather", "arguments": head}}]}),
                    Value::Null,
                ));
                events.push(chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": tail}}]}),
                    Value::Null,
                ));
                "tool_calls"
            }
            (Some(text), None) => {
                for word in text.split_inclusive(' ') {
                    events.push(chunk(json!({"content": word}), Value::Null));
                }
                "stop"
            }
            (None, None) => "stop",
        };
        events.push(chunk(json!({}), json!(finish)));
        if usage {
            events.push(
                json!({"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                "created": 1_732_000_000, "model": model, "choices": [],
                "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}}),
            );
        }
        let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
        body.push_str("data: [DONE]\n\n");
        body
    }
}

impl Respond for ChatStub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let model = body["model"].as_str().unwrap_or("").to_owned();
        let (text, call) = self.reply(&body);
        if body["stream"] == json!(true) {
            let usage = body["stream_options"]["include_usage"] == json!(true);
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(self.stream(&model, text, call, usage))
        } else {
            ResponseTemplate::new(200).set_body_json(self.whole(&model, text, call))
        }
    }
}
