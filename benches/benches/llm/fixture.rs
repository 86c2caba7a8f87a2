//! The replayed bodies: a deterministic 10,000-chunk chat-completion stream
//! (text deltas, then two parallel tool calls streamed in fragments, a
//! finish chunk and a usage chunk with `choices: []`, then `[DONE]`), a
//! short stream for the first-event latency probe, and a non-streaming
//! reply (plugbay-llm's recorded fixture).

use bytes::Bytes;

/// JSON chunks in the long stream (the `[DONE]` line is extra).
pub const CHUNKS: usize = 10_000;
/// Text-delta chunks (after the opening role chunk).
pub const TEXT_CHUNKS: usize = 5_999;
/// Argument-fragment chunks, alternating between the two calls.
pub const ARG_CHUNKS: usize = 3_996;
/// ChatEvents plugbay yields for the long stream: every text delta, every
/// tool-call delta (2 openers + fragments), 2 completed calls, usage, finish.
pub const PLUGBAY_EVENTS: usize = TEXT_CHUNKS + 2 + ARG_CHUNKS + 2 + 1 + 1;

/// The non-streaming reply.
pub const CHAT_JSON: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/plugbay-llm/tests/fixtures/openai/chat_completion.json"
));
/// Its text.
pub const CHAT_TEXT: &str = "Hello! How can I assist you today?";

const HEAD: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_bench","choices":["#;

const WORDS: [&str; 12] = [
    " the", " quick", " model", " streams", " tokens", " to", " a", " client", " that", " decodes",
    " them", " fast",
];

fn choice(delta: &str, finish: &str) -> String {
    format!(
        r#"{HEAD}{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}],"usage":null}}"#
    )
}

fn sse(json: &str) -> Bytes {
    Bytes::from(format!("data: {json}\n\n"))
}

/// A JSON string literal (escaped) of `text`.
fn lit(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Text of delta `i`: mostly plain words; some carry escapes and non-ASCII,
/// as real model output does.
fn word(i: usize) -> String {
    let mut w = WORDS[(i * 7 + i / 13) % WORDS.len()].to_owned();
    if i.is_multiple_of(50) {
        w.push('\n');
    }
    if i.is_multiple_of(97) {
        w.push_str(" \"quoted\"");
    }
    if i.is_multiple_of(211) {
        w.push_str(" café");
    }
    w
}

/// Argument fragment `k` (0-based, per call) of a call with `n` fragments:
/// the fragments join into `{"items":["w1",...,"end"]}`.
fn fragment(k: usize, n: usize) -> String {
    if k == 0 {
        r#"{"items":["#.to_owned()
    } else if k + 1 == n {
        r#""end"]}"#.to_owned()
    } else {
        format!(r#""w{k}","#)
    }
}

/// The long stream, one `data: ...\n\n` event per element (ends with
/// `data: [DONE]`).
pub fn long_stream() -> Vec<Bytes> {
    let mut out = Vec::with_capacity(CHUNKS + 1);
    out.push(sse(&choice(
        r#"{"role":"assistant","content":"","refusal":null}"#,
        "null",
    )));
    for i in 1..=TEXT_CHUNKS {
        out.push(sse(&choice(
            &format!(r#"{{"content":{}}}"#, lit(&word(i))),
            "null",
        )));
    }
    for (index, name) in [(0, "get_weather"), (1, "get_time")] {
        out.push(sse(&choice(
            &format!(
                r#"{{"tool_calls":[{{"index":{index},"id":"call_{index}","type":"function","function":{{"name":"{name}","arguments":""}}}}]}}"#
            ),
            "null",
        )));
    }
    let per_call = ARG_CHUNKS / 2;
    for j in 0..ARG_CHUNKS {
        let index = j % 2;
        let args = fragment(j / 2, per_call);
        out.push(sse(&choice(
            &format!(
                r#"{{"tool_calls":[{{"index":{index},"function":{{"arguments":{}}}}}]}}"#,
                lit(&args)
            ),
            "null",
        )));
    }
    out.push(sse(&choice("{}", r#""tool_calls""#)));
    out.push(sse(&usage_chunk()));
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    assert_eq!(out.len(), CHUNKS + 1);
    out
}

/// The long stream as OpenAI sends it by default: every chunk carries an
/// `obfuscation` field of random padding (here deterministic, 2–15
/// characters), so no two chunks share their bytes around the delta.
pub fn obfuscated_stream() -> Vec<Bytes> {
    long_stream()
        .into_iter()
        .enumerate()
        .map(|(i, event)| match event.strip_suffix(b"}\n\n") {
            Some(json) => {
                let pad = format!(
                    "{:016x}",
                    (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                );
                let pad = &pad[..2 + i % 14];
                let mut out = json.to_vec();
                out.extend_from_slice(format!(r#","obfuscation":"{pad}"}}"#).as_bytes());
                out.extend_from_slice(b"\n\n");
                Bytes::from(out)
            }
            None => event,
        })
        .collect()
}

fn usage_chunk() -> String {
    format!(
        r#"{{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_bench","choices":[],"usage":{{"prompt_tokens":42,"completion_tokens":{CHUNKS},"total_tokens":{}}}}}"#,
        CHUNKS + 42
    )
}

/// The probe stream: a first text event (sent alone, then the server waits),
/// and the tail (finish, usage, `[DONE]`).
pub fn probe_stream() -> (Bytes, Bytes) {
    let first = sse(&choice(r#"{"role":"assistant","content":"Hello"}"#, "null"));
    let mut tail = Vec::new();
    tail.extend_from_slice(&sse(&choice("{}", r#""stop""#)));
    tail.extend_from_slice(&sse(&usage_chunk()));
    tail.extend_from_slice(b"data: [DONE]\n\n");
    (first, Bytes::from(tail))
}

/// What a consumer should have seen at the end of the long stream (every
/// contestant is checked against it before measuring).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Items the client yielded (its own notion of an event).
    pub events: usize,
    /// Bytes of reply text.
    pub text_len: usize,
    /// Assembled tool calls: (id, name, arguments).
    pub calls: Vec<(String, String, String)>,
    /// Completion tokens reported by the usage chunk.
    pub completion_tokens: u32,
}

/// The expected tool calls and text length, computed from the generator.
pub fn expected(events: usize) -> Outcome {
    let text_len = (1..=TEXT_CHUNKS).map(|i| word(i).len()).sum();
    let per_call = ARG_CHUNKS / 2;
    let args: String = (0..per_call).map(|k| fragment(k, per_call)).collect();
    Outcome {
        events,
        text_len,
        calls: vec![
            ("call_0".into(), "get_weather".into(), args.clone()),
            ("call_1".into(), "get_time".into(), args),
        ],
        completion_tokens: u32::try_from(CHUNKS).unwrap(),
    }
}

/// Assemble streamed tool-call fragments (what the comparators do by hand
/// to end with the same calls plugbay yields).
#[derive(Debug, Default)]
pub struct Calls(pub Vec<(String, String, String)>);

impl Calls {
    /// Add one fragment.
    pub fn push(&mut self, index: usize, id: Option<&str>, name: Option<&str>, args: &str) {
        if self.0.len() <= index {
            self.0.resize(index + 1, Default::default());
        }
        let slot = &mut self.0[index];
        if let Some(id) = id {
            slot.0.push_str(id);
        }
        if let Some(name) = name {
            slot.1.push_str(name);
        }
        slot.2.push_str(args);
    }
}
