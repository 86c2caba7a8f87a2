//! The silence bound of a streamed reply: the timeout covers the wait for
//! the response head and then each gap between chunks, not the stream's
//! length. A stream that stalls ends in a `Timeout` error item after what
//! it delivered; one that trickles (each gap within the timeout) outlives
//! the timeout in total.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod openai_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use openai_support::builder;
use plugbay_core::ErrorKind;
use plugbay_core::http::RecordingSleeper;
use plugbay_core::test_servers::paced_server;
use plugbay_llm::{ChatEvent, ChatModel, ChatRequest, ChatStream};

/// A body delimited by the connection's close.
const HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";

fn delta(text: &'static str) -> &'static [u8] {
    Box::leak(
        format!(
            "data: {{\"id\":\"c1\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
        )
        .into_bytes()
        .into_boxed_slice(),
    )
}

const DONE: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn open(base: &str, timeout: Duration) -> ChatStream {
    builder(&format!("{base}/v1"), &RecordingSleeper::new())
        .timeout(timeout)
        .build_chat()
        .unwrap()
        .chat_stream(ChatRequest::from_prompt("hi"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stalled_stream_ends_in_a_timeout_after_what_it_sent() {
    let (base, seen) = paced_server(vec![
        (Duration::ZERO, HEAD),
        (Duration::ZERO, delta("Hi")),
        (Duration::from_secs(30), DONE),
    ])
    .await;
    let items: Vec<_> = open(&base, ms(300)).await.collect().await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), &ChatEvent::text("Hi"));
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:#}");
    assert_eq!(err.operation(), Some("chat_stream"));
    assert!(err.message().contains("300 ms"), "{err}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "a started stream is not retried"
    );
}

#[tokio::test]
async fn a_trickling_stream_outlives_the_timeout() {
    // Five gaps of 150 ms: 750 ms in all against a 400 ms timeout.
    let (base, _) = paced_server(vec![
        (Duration::ZERO, HEAD),
        (ms(150), delta("a")),
        (ms(150), delta("b")),
        (ms(150), delta("c")),
        (ms(150), delta("d")),
        (ms(150), DONE),
    ])
    .await;
    let items: Vec<_> = open(&base, ms(400)).await.collect().await;
    let events: Vec<ChatEvent> = items.into_iter().map(Result::unwrap).collect();
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "abcd");
    assert!(matches!(events.last(), Some(ChatEvent::Finish { .. })));
}

#[tokio::test]
async fn the_wait_for_the_head_is_still_bounded() {
    let (base, seen) = paced_server(vec![(Duration::from_secs(30), HEAD)]).await;
    let err = builder(&format!("{base}/v1"), &RecordingSleeper::new())
        .timeout(ms(200))
        .max_retries(1)
        .build_chat()
        .unwrap()
        .chat_stream(ChatRequest::from_prompt("hi"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:#}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "retried once before any byte"
    );
}
