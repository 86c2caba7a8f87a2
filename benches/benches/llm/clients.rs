//! The three contestants, each making the same request (system + user
//! message, model, temperature, `max_completion_tokens`, and for streams
//! `stream` + `stream_options.include_usage`) with a bearer key:
//!
//! - plugbay: `OpenAiChatModel::chat` / `chat_stream` (retries, error
//!   mapping, GenAI span, tool-call assembly all on);
//! - async-openai: `client.chat().create` / `create_stream`, with the
//!   tool-call fragments assembled by the caller;
//! - hand-written: `reqwest` + `serde_json` into small structs; streams
//!   through `bytes_stream`, a `memchr` line splitter and `serde_json`,
//!   assembling tool-call fragments.

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestSystemMessageContent,
    ChatCompletionRequestUserMessage, ChatCompletionRequestUserMessageContent,
    ChatCompletionStreamOptions, CreateChatCompletionRequest, CreateChatCompletionStreamResponse,
};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use plugbay_llm::openai::OpenAiBuilder;
use plugbay_llm::{ChatEvent, ChatModel, ChatRequest, ChatStream, Message};
use serde::{Deserialize, Serialize};

use super::fixture::{Calls, Outcome};

pub const MODEL: &str = "gpt-4o-mini";
pub const KEY: &str = "sk-bench-0123456789";
const SYSTEM: &str = "You are a terse assistant. Answer in one short sentence.";
const USER: &str = "Say hello to the benchmark and tell me what you can do.";
const TEMPERATURE: f32 = 0.2;
const MAX_TOKENS: u32 = 64;

// ------------------------------------------------------------------ plugbay

pub fn plugbay(base: &str) -> plugbay_llm::openai::OpenAiChatModel {
    OpenAiBuilder::default()
        .base_url(base)
        .api_key(KEY)
        .model(MODEL)
        .build_chat()
        .unwrap()
}

pub fn plugbay_request() -> ChatRequest {
    ChatRequest::new(vec![Message::system(SYSTEM), Message::user(USER)])
        .temperature(TEMPERATURE)
        .max_tokens(MAX_TOKENS)
}

pub async fn plugbay_stream(model: &plugbay_llm::openai::OpenAiChatModel) -> ChatStream {
    model.chat_stream(plugbay_request()).await.unwrap()
}

pub async fn plugbay_drain(mut stream: ChatStream) -> Outcome {
    let mut out = Outcome {
        events: 0,
        text_len: 0,
        calls: Vec::new(),
        completion_tokens: 0,
    };
    while let Some(event) = stream.next().await {
        out.events += 1;
        match event.unwrap() {
            ChatEvent::TextDelta(text) => out.text_len += text.len(),
            ChatEvent::ToolCall(call) => out.calls.push((call.id, call.name, call.arguments)),
            ChatEvent::Usage(usage) => {
                out.completion_tokens = u32::try_from(usage.output_tokens).unwrap();
            }
            _ => {}
        }
    }
    out
}

// ------------------------------------------------------------- async-openai

pub fn async_openai(base: &str) -> async_openai::Client<OpenAIConfig> {
    async_openai::Client::with_config(OpenAIConfig::new().with_api_base(base).with_api_key(KEY))
}

pub fn async_openai_request(stream: bool) -> CreateChatCompletionRequest {
    let system = ChatCompletionRequestSystemMessage::from(
        ChatCompletionRequestSystemMessageContent::from(SYSTEM),
    );
    let user =
        ChatCompletionRequestUserMessage::from(ChatCompletionRequestUserMessageContent::from(USER));
    CreateChatCompletionRequest {
        model: MODEL.to_owned(),
        messages: vec![system.into(), user.into()],
        temperature: Some(TEMPERATURE),
        max_completion_tokens: Some(MAX_TOKENS),
        stream: stream.then_some(true),
        stream_options: stream.then_some(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        }),
        ..Default::default()
    }
}

pub async fn async_openai_drain(
    mut stream: impl Stream<
        Item = Result<CreateChatCompletionStreamResponse, async_openai::error::OpenAIError>,
    > + Unpin,
) -> Outcome {
    let mut events = 0;
    let mut text_len = 0;
    let mut calls = Calls::default();
    let mut completion_tokens = 0;
    while let Some(chunk) = stream.next().await {
        events += 1;
        let chunk = chunk.unwrap();
        for choice in &chunk.choices {
            if let Some(text) = &choice.delta.content {
                text_len += text.len();
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                let function = call.function.as_ref();
                calls.push(
                    call.index as usize,
                    call.id.as_deref(),
                    function.and_then(|f| f.name.as_deref()),
                    function.and_then(|f| f.arguments.as_deref()).unwrap_or(""),
                );
            }
        }
        if let Some(usage) = &chunk.usage {
            completion_tokens = usage.completion_tokens;
        }
    }
    Outcome {
        events,
        text_len,
        calls: calls.0,
        completion_tokens,
    }
}

// ------------------------------------------------------------- hand-written

#[derive(Serialize)]
struct Msg<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct Req<'a> {
    messages: [Msg<'a>; 2],
    model: &'a str,
    temperature: f32,
    max_completion_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

fn hand_request(stream: bool) -> Req<'static> {
    Req {
        messages: [
            Msg {
                role: "system",
                content: SYSTEM,
            },
            Msg {
                role: "user",
                content: USER,
            },
        ],
        model: MODEL,
        temperature: TEMPERATURE,
        max_completion_tokens: MAX_TOKENS,
        stream: stream.then_some(true),
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
    }
}

#[derive(Deserialize)]
pub struct Reply {
    pub choices: Vec<ReplyChoice>,
    #[allow(dead_code)]
    pub usage: Option<Usage>,
}

#[derive(Deserialize)]
pub struct ReplyChoice {
    pub message: ReplyMessage,
}

#[derive(Deserialize)]
pub struct ReplyMessage {
    pub content: Option<String>,
}

#[derive(Deserialize)]
pub struct Usage {
    pub completion_tokens: u32,
}

#[derive(Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    pub usage: Option<Usage>,
}

#[derive(Deserialize)]
pub struct ChunkChoice {
    pub delta: Delta,
}

#[derive(Deserialize)]
pub struct Delta {
    pub content: Option<String>,
    pub tool_calls: Option<Vec<ToolCallChunk>>,
}

#[derive(Deserialize)]
pub struct ToolCallChunk {
    pub index: usize,
    pub id: Option<String>,
    pub function: Option<FunctionChunk>,
}

#[derive(Deserialize)]
pub struct FunctionChunk {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

/// A hand-written client on its own `reqwest::Client`.
#[derive(Clone)]
pub struct HandWritten {
    http: reqwest::Client,
    url: String,
}

impl HandWritten {
    pub fn new(base: &str) -> HandWritten {
        HandWritten {
            http: reqwest::Client::new(),
            url: format!("{base}/chat/completions"),
        }
    }

    pub async fn chat(&self) -> String {
        let reply: Reply = self
            .http
            .post(&self.url)
            .bearer_auth(KEY)
            .json(&hand_request(false))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        reply
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .unwrap_or_default()
    }

    pub async fn stream(&self) -> BoxStream<'static, serde_json::Result<Chunk>> {
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(KEY)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&hand_request(true))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        sse_chunks(response.bytes_stream().boxed())
    }
}

struct Lines {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    buf: Vec<u8>,
    pos: usize,
    ended: bool,
}

/// `data:` lines → parsed chunks, until `[DONE]`. Single-line data only
/// (what OpenAI sends); comments and other fields are skipped.
fn sse_chunks(
    body: BoxStream<'static, reqwest::Result<Bytes>>,
) -> BoxStream<'static, serde_json::Result<Chunk>> {
    let lines = Lines {
        body,
        buf: Vec::with_capacity(16 * 1024),
        pos: 0,
        ended: false,
    };
    futures::stream::unfold(lines, |mut st| async move {
        loop {
            if let Some(data) = next_data(&st.buf, &mut st.pos) {
                if data == b"[DONE]" {
                    return None;
                }
                let chunk = serde_json::from_slice::<Chunk>(data);
                return Some((chunk, st));
            }
            if st.ended {
                return None;
            }
            st.buf.drain(..st.pos);
            st.pos = 0;
            match st.body.next().await {
                Some(Ok(bytes)) => st.buf.extend_from_slice(&bytes),
                Some(Err(e)) => panic!("transport error: {e}"),
                None => st.ended = true,
            }
        }
    })
    .boxed()
}

/// The payload of the next complete `data:` line at or after `pos`
/// (advancing `pos` past it), or `None` when no complete line is left.
fn next_data<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    while let Some(nl) = memchr::memchr(b'\n', &buf[*pos..]) {
        let start = *pos;
        *pos += nl + 1;
        let line = &buf[start..start + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(data) = line.strip_prefix(b"data:") {
            return Some(data.strip_prefix(b" ").unwrap_or(data));
        }
    }
    None
}

/// The hand-written decode over in-memory pieces (no HTTP).
pub fn hand_decode(pieces: &[&[u8]]) -> Outcome {
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut pos = 0;
    let mut tally = Tally::default();
    'outer: for piece in pieces {
        buf.drain(..pos);
        pos = 0;
        buf.extend_from_slice(piece);
        while let Some(data) = next_data(&buf, &mut pos) {
            if data == b"[DONE]" {
                break 'outer;
            }
            tally.add(&serde_json::from_slice::<Chunk>(data).unwrap());
        }
    }
    tally.finish()
}

#[derive(Default)]
struct Tally {
    events: usize,
    text_len: usize,
    calls: Calls,
    completion_tokens: u32,
}

impl Tally {
    fn add(&mut self, chunk: &Chunk) {
        self.events += 1;
        for choice in &chunk.choices {
            if let Some(text) = &choice.delta.content {
                self.text_len += text.len();
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                let function = call.function.as_ref();
                self.calls.push(
                    call.index,
                    call.id.as_deref(),
                    function.and_then(|f| f.name.as_deref()),
                    function.and_then(|f| f.arguments.as_deref()).unwrap_or(""),
                );
            }
        }
        if let Some(usage) = &chunk.usage {
            self.completion_tokens = usage.completion_tokens;
        }
    }

    fn finish(self) -> Outcome {
        Outcome {
            events: self.events,
            text_len: self.text_len,
            calls: self.calls.0,
            completion_tokens: self.completion_tokens,
        }
    }
}

pub async fn hand_drain(mut stream: BoxStream<'static, serde_json::Result<Chunk>>) -> Outcome {
    let mut tally = Tally::default();
    while let Some(chunk) = stream.next().await {
        tally.add(&chunk.unwrap());
    }
    tally.finish()
}
