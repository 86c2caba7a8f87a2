//! The fold's own tests; the template fast path is checked against the
//! full parse here too.

use super::*;
use crate::ToolCall;
use bytes::Bytes;

/// The completed tool calls among `events`.
fn tool_calls(events: &[Result<ChatEvent>]) -> Vec<&ToolCall> {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(ChatEvent::ToolCall(c)) => Some(c),
            _ => None,
        })
        .collect()
}

fn fold(body: &str) -> Vec<Result<ChatEvent>> {
    let mut folder = ChunkFolder::new();
    let mut out = Vec::new();
    for event in crate::sse::decode_all(body.as_bytes()).unwrap() {
        folder.push(&event, &mut out);
    }
    folder.end(&mut out);
    out
}

#[test]
fn tool_call_fragments_with_late_name_become_calls_before_usage_and_finish() {
    let body = concat!(
        "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"function\":{\"arguments\":\"\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":\"\"}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"choices\":null,\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13}}\n\n",
        "data: [DONE]\n\n",
    );
    let events: Vec<ChatEvent> = fold(body).into_iter().map(Result::unwrap).collect();
    let n = events.len();
    assert_eq!(
        events[n - 3],
        ChatEvent::ToolCall(ToolCall::new("call_a", "get_weather", r#"{"city":"Oslo"}"#))
    );
    assert_eq!(events[n - 2], ChatEvent::Usage(Usage::new(9, 4)));
    assert_eq!(
        events[n - 1],
        ChatEvent::Finish {
            reason: FinishReason::ToolCalls,
            response_id: Some("c1".into()),
            model: Some("m".into())
        }
    );
    let deltas = events
        .iter()
        .filter(|e| matches!(e, ChatEvent::ToolCallDelta { .. }))
        .count();
    assert_eq!(deltas, 3);
}

#[test]
fn a_cut_stream_and_an_error_chunk_end_in_typed_errors() {
    let cut = fold("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n");
    assert_eq!(cut.len(), 2);
    assert_eq!(cut[1].as_ref().unwrap_err().kind(), ErrorKind::Protocol);

    let failed = fold(concat!(
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
        "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"never\"}}]}\n\n",
    ));
    assert_eq!(failed.len(), 2);
    assert_eq!(
        failed[1].as_ref().unwrap_err().kind(),
        ErrorKind::Unavailable
    );

    let event_error = fold(
        "event: error\ndata: {\"error\":{\"message\":\"slow\",\"code\":\"rate_limit_exceeded\"}}\n\n",
    );
    assert_eq!(
        event_error[0].as_ref().unwrap_err().kind(),
        ErrorKind::RateLimited
    );

    let garbage = fold("data: {not json\n\n");
    assert_eq!(garbage[0].as_ref().unwrap_err().kind(), ErrorKind::Protocol);
}

#[test]
fn odd_but_tolerated_chunk_shapes_parse() {
    let body = concat!(
        "data: {\"id\":17,\"model\":\"m\",\"error\":null,\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":{\"a\": [1, 2]}}}]}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"d\",\"function\":{\"name\":\"g\",\"arguments\":null}}]}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"x\\\":\\\"\\u00e9\\\"}\"}}]}}]}\n\n",
        "data: [DONE]\n\n",
    );
    let out = fold(body);
    let calls = tool_calls(&out);
    assert_eq!(calls[0], &ToolCall::new("c", "f", r#"{"a":[1,2]}"#));
    assert_eq!(calls[1], &ToolCall::new("d", "g", r#"{"x":"é"}"#));
    match out.last() {
        Some(Ok(ChatEvent::Finish {
            response_id, model, ..
        })) => {
            assert_eq!(response_id, &None, "a non-string id is ignored");
            assert_eq!(model.as_deref(), Some("m"));
        }
        other => panic!("expected Finish, got {other:?}"),
    }
}

#[test]
fn ids_stick_once_known_and_bytes_that_are_not_utf8_read_as_before() {
    let mut folder = ChunkFolder::new();
    let mut out = Vec::new();
    let chunks: [&[u8]; 3] = [
        br#"{"id":"c1","model":"m1","choices":[{"delta":{"content":"a"}}]}"#,
        br#"{"id":"c2","model":"m2","choices":[{"delta":{"content":"b"}}]}"#,
        b"{\"system_fingerprint\":\"\xff\",\"choices\":[{\"delta\":{\"content\":\"c\"}}]}",
    ];
    for data in chunks {
        folder.push(&SseEvent::new(Bytes::copy_from_slice(data)), &mut out);
    }
    folder.push(&SseEvent::new("[DONE]"), &mut out);
    let events: Vec<ChatEvent> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        events[..3],
        [
            ChatEvent::text("a"),
            ChatEvent::text("b"),
            ChatEvent::text("c")
        ]
    );
    assert_eq!(
        events[3],
        ChatEvent::Finish {
            reason: FinishReason::Stop,
            response_id: Some("c1".into()),
            model: Some("m1".into())
        }
    );

    let mut bad = ChunkFolder::new();
    let mut out = Vec::new();
    let data = b"{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}";
    bad.push(&SseEvent::new(Bytes::copy_from_slice(data)), &mut out);
    assert_eq!(out[0].as_ref().unwrap_err().kind(), ErrorKind::Protocol);
}

#[test]
fn usage_on_every_chunk_keeps_the_last_and_other_choices_are_ignored() {
    let body = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n",
        "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n",
        "data: [DONE]\n\n",
    );
    let events: Vec<ChatEvent> = fold(body).into_iter().map(Result::unwrap).collect();
    assert_eq!(
        events,
        vec![
            ChatEvent::text("a"),
            ChatEvent::text("b"),
            ChatEvent::Usage(Usage::new(5, 3)),
            ChatEvent::finish(FinishReason::Length),
        ]
    );
}

#[test]
fn openai_padded_chunks_take_the_template_path() {
    let chunk = |text: &str, pad: &str| {
        SseEvent::new(format!(
            r#"{{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{{"content":"{text}"}},"finish_reason":null}}],"usage":null,"obfuscation":"{pad}"}}"#
        ))
    };
    let mut folder = ChunkFolder::new();
    let mut out = Vec::new();
    for (text, pad) in [("He", "a1"), ("llo", "Zq9x"), (" \\\"you\\\"", "")] {
        folder.push(&chunk(text, pad), &mut out);
    }
    folder.push(&SseEvent::new("[DONE]"), &mut out);
    let text: String = out
        .iter()
        .filter_map(|e| match e {
            Ok(ChatEvent::TextDelta(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Hello \"you\"");
    assert_eq!(folder.templates.hits, 2, "the second and third chunks");
    assert_eq!(folder.response_id(), Some("c1"));
}

#[test]
fn argument_fragments_with_escapes_take_the_template_path() {
    let chunk = |index: u32, args: &str| {
        SseEvent::new(format!(
            r#"{{"id":"c","model":"m","choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":{index},"function":{{"arguments":{}}}}}]}}}}]}}"#,
            serde_json::to_string(args).unwrap()
        ))
    };
    let mut folder = ChunkFolder::new();
    let mut out = Vec::new();
    let opener = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"f","arguments":""}}]}}]}"#;
    folder.push(&SseEvent::new(opener), &mut out);
    for args in [
        r#"{"city":"#,
        r#""Oslo","#,
        r#""unit":"C
"}"#,
    ] {
        folder.push(&chunk(0, args), &mut out);
    }
    folder.push(&SseEvent::new("[DONE]"), &mut out);
    assert_eq!(folder.templates.hits, 2, "the second and third fragments");
    assert_eq!(
        tool_calls(&out),
        [&ToolCall::new(
            "call_a",
            "f",
            "{\"city\":\"Oslo\",\"unit\":\"C\n\"}"
        )]
    );
}

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

/// Chunk shapes with a hole `@` for the varying string: the template kinds,
/// shapes next to them (another `created`, whitespace, another choice, a
/// refusal, a call's opener, OpenAI's per-chunk `obfuscation`), and chunks
/// that end things.
const SHAPES: [&str; 15] = [
    r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"@"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    r#"{"id":"c1","object":"chat.completion.chunk","created":2,"model":"m","choices":[{"index":0,"delta":{"content":"@"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"@"}}]},"finish_reason":null}]}"#,
    r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"@"}}]},"finish_reason":null}]}"#,
    r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"@"},"finish_reason":null}],"obfuscation":"@"}"#,
    r#"{ "choices" : [ { "delta" : { "content" : "@" } } ] }"#,
    r#"{"choices":[{"index":1,"delta":{"content":"@"}}]}"#,
    r#"{"choices":[{"index":0,"delta":{"refusal":"@"}}]}"#,
    r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"g","arguments":"@"}}]}}]}"#,
    r#"{"choices":[{"index":0,"delta":{"content":"@"},"finish_reason":"stop"}]}"#,
    r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#,
    r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"@"}}]}}],"usage":null,"obfuscation":"@"}"#,
    r#"{"obfuscation":"@","choices":[{"index":0,"delta":{"content":"@"}}]}"#,
    r#"{"choices":[{"index":0,"delta":{"content":"@"}}],"obfuscation":"@","obfuscation":"@"}"#,
    r#"{"choices":[{"index":0,"delta":{"content":"@"}}],"usage":{"prompt_tokens":3,"completion_tokens":5}}"#,
];

/// Pieces of the varying string, put in raw: most are fine inside a JSON
/// string, some end it early, break an escape or are not UTF-8.
const PIECES: [&[u8]; 18] = [
    b"a",
    b" the",
    "é".as_bytes(),
    b"\\n",
    b"\\\"",
    b"\\u00e9",
    b"\\ud83d\\ude00",
    b"\\\\",
    b"\"",
    b"\\",
    b"\\ud800",
    b"\x01",
    b"\",\"x\":\"",
    b"}",
    b"]",
    b",",
    b"\\x",
    b"\xff",
];

fn varying(rng: &mut Rng) -> Vec<u8> {
    let text: String = (0..rng.below(6))
        .map(|_| ["a", " b", "\"q\"", "\\", "\n", "é", "😀", "\u{1}"][rng.below(8)])
        .collect();
    if rng.below(4) > 0 {
        // A well-formed JSON string's contents.
        let quoted = serde_json::to_string(&text).unwrap();
        return quoted.as_bytes()[1..quoted.len() - 1].to_vec();
    }
    (0..rng.below(4))
        .flat_map(|_| PIECES[rng.below(PIECES.len())].iter().copied())
        .collect()
}

/// A chunk of shape `shape` with a fresh varying string in each hole.
fn chunk(rng: &mut Rng, shape: usize) -> SseEvent {
    let mut out = Vec::new();
    for &b in SHAPES[shape].as_bytes() {
        if b == b'@' {
            out.extend(varying(rng));
        } else {
            out.push(b);
        }
    }
    SseEvent::new(Bytes::from(out))
}

/// Every event, with errors as their kind and message.
fn replay(
    events: &[SseEvent],
    templates: bool,
) -> (Vec<std::result::Result<ChatEvent, String>>, usize) {
    let mut folder = ChunkFolder::new();
    if !templates {
        folder.templates.disable();
    }
    let mut out = Vec::new();
    for event in events {
        folder.push(event, &mut out);
    }
    folder.end(&mut out);
    let out = out
        .into_iter()
        .map(|r| r.map_err(|e| format!("{:?}: {e}", e.kind())))
        .collect();
    (out, folder.templates.hits)
}

#[test]
fn the_template_path_yields_exactly_what_the_full_parse_does() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut hits = 0;
    for _ in 0..3000 {
        // Runs of one shape make templates; the mix makes misses.
        let mut events = Vec::new();
        for _ in 0..=rng.below(12) {
            let shape = rng.below(SHAPES.len());
            for _ in 0..=rng.below(6) {
                events.push(chunk(&mut rng, shape));
            }
        }
        if rng.below(3) > 0 {
            events.push(SseEvent::new("[DONE]"));
        }
        let (fast, used) = replay(&events, true);
        let (full, none) = replay(&events, false);
        assert_eq!(none, 0);
        assert_eq!(fast, full, "events: {events:?}");
        hits += used;
    }
    assert!(hits > 2500, "the template path was taken {hits} times");
}
