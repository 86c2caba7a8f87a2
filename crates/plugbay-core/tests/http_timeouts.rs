//! Per-attempt timeouts of `HttpClient`: what they bound (the whole attempt
//! of a buffered call, head and body of a plain stream, only the head of a
//! `head_timeout_only` stream) against a raw server that stalls mid-body,
//! and the read timeout that bounds each wait for body bytes instead.
#![cfg(feature = "conformance")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use plugbay_core::ErrorKind;
use plugbay_core::http::{Call, HttpClient, RecordingSleeper, RetryPolicy, map_reqwest_error};
use plugbay_core::test_servers::paced_server;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn client(timeout: Duration) -> HttpClient {
    HttpClient::builder()
        .timeout(timeout)
        .retry_policy(RetryPolicy::default().max_retries(1).jitter(0.0))
        .sleeper(RecordingSleeper::new())
        .build()
        .unwrap()
}

/// A server answering every request with a chunked body: `hello` at once,
/// then `world` after `stall`. Counts the requests.
async fn stalling_server(stall: Duration) -> (String, Arc<AtomicUsize>) {
    let (base, seen) = paced_server(vec![
        (
            Duration::ZERO,
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
        ),
        (stall, b"5\r\nworld\r\n0\r\n\r\n"),
    ])
    .await;
    (format!("{base}/r"), seen)
}

/// A server answering every request with the chunked body `abcde`, one
/// byte now and one after each of four 150 ms gaps (600 ms in all).
async fn trickling_server() -> (String, Arc<AtomicUsize>) {
    let (base, seen) = paced_server(vec![
        (
            Duration::ZERO,
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n",
        ),
        (ms(150), b"1\r\nb\r\n"),
        (ms(150), b"1\r\nc\r\n"),
        (ms(150), b"1\r\nd\r\n"),
        (ms(150), b"1\r\ne\r\n0\r\n\r\n"),
    ])
    .await;
    (format!("{base}/r"), seen)
}

#[tokio::test]
async fn a_buffered_call_is_bounded_through_its_body() {
    let (url, seen) = stalling_server(ms(1500)).await;
    let http = client(ms(200));
    let err = http
        .execute(&Call::new("test", "get"), |c| c.get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:#}");
    assert!(err.is_retryable());
    assert_eq!(err.provider(), Some("test"));
    assert_eq!(seen.load(Ordering::SeqCst), 2, "retried once");
}

#[tokio::test]
async fn a_call_timeout_replaces_the_clients() {
    let (url, _) = stalling_server(ms(400)).await;
    let http = client(ms(100));
    assert_eq!(http.timeout(), Some(ms(100)));
    let response = http
        .execute(&Call::new("test", "get").with_timeout(ms(5000)), |c| {
            c.get(&url)
        })
        .await
        .unwrap();
    assert_eq!(response.body().as_ref(), b"helloworld");
}

#[tokio::test]
async fn a_plain_stream_is_bounded_through_its_body() {
    let (url, _) = stalling_server(ms(1500)).await;
    let http = client(ms(300));
    let response = http
        .send(&Call::new("test", "stream"), |c| c.get(&url))
        .await
        .unwrap();
    let err = response.bytes().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn a_head_only_stream_body_outlives_the_timeout() {
    let (url, seen) = stalling_server(ms(600)).await;
    let http = client(ms(200));
    let call = Call::new("test", "stream").head_timeout_only();
    assert!(call.is_head_timeout_only());
    let response = http.send(&call, |c| c.get(&url)).await.unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"helloworld");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_head_only_stream_still_bounds_the_wait_for_its_head() {
    // Answers only after a minute.
    let (base, seen) = paced_server(vec![(
        Duration::from_secs(60),
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    )])
    .await;
    let http = client(ms(200));
    let url = format!("{base}/r");
    let err = http
        .send(&Call::new("test", "stream").head_timeout_only(), |c| {
            c.get(&url)
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:#}");
    assert_eq!(seen.load(Ordering::SeqCst), 2, "retried once");
}

fn client_with_read_timeout(timeout: Duration, read_timeout: Duration) -> HttpClient {
    HttpClient::builder()
        .timeout(timeout)
        .read_timeout(read_timeout)
        .retry_policy(RetryPolicy::default().max_retries(1).jitter(0.0))
        .sleeper(RecordingSleeper::new())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_head_only_stream_stalling_past_the_read_timeout_fails() {
    let (url, seen) = stalling_server(ms(1500)).await;
    let http = client_with_read_timeout(Duration::from_secs(10), ms(200));
    let call = Call::new("test", "stream").head_timeout_only();
    let response = http.send(&call, |c| c.get(&url)).await.unwrap();
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert_eq!(first.as_ref(), b"hello");
    let err = match body.next().await {
        Some(Ok(chunk)) => panic!("unexpected chunk {chunk:?} after the stall"),
        Some(Err(e)) => e,
        None => panic!("the stream ended without the read timeout firing"),
    };
    assert!(err.is_timeout(), "{err}");
    let err = map_reqwest_error(err);
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:#}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "a body failure is not retried"
    );
}

#[tokio::test]
async fn a_head_only_stream_trickling_within_the_read_timeout_outlives_the_attempt_timeout() {
    // Each gap well under the 500 ms read timeout; 600 ms in all, twice
    // the 300 ms per-attempt timeout.
    let (url, seen) = trickling_server().await;
    let http = client_with_read_timeout(ms(300), ms(500));
    let call = Call::new("test", "stream").head_timeout_only();
    let response = http.send(&call, |c| c.get(&url)).await.unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"abcde");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[test]
fn a_wrapped_reqwest_client_keeps_its_own_timeout() {
    let http = HttpClient::from_reqwest(reqwest::Client::new(), RetryPolicy::default());
    assert_eq!(http.timeout(), None);
    assert_eq!(
        HttpClient::builder().build().unwrap().timeout(),
        Some(Duration::from_secs(60))
    );
}

/// A head-only stream of `url`, its body bounded by `IdleBounded(limit)`,
/// collected item by item.
async fn idle_items(url: &str, limit: Duration) -> Vec<plugbay_core::Result<bytes::Bytes>> {
    use futures::StreamExt;
    let response = client(ms(5000))
        .send(&Call::new("test", "stream").head_timeout_only(), |c| {
            c.get(url)
        })
        .await
        .unwrap();
    plugbay_core::http::IdleBounded::new(response.bytes_stream(), limit)
        .collect()
        .await
}

#[tokio::test]
async fn an_idle_bounded_body_ends_in_a_timeout_after_what_it_sent() {
    let (url, _) = stalling_server(ms(1500)).await;
    let items = idle_items(&url, ms(200)).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().as_ref(), b"hello");
    assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn an_idle_bounded_body_may_outlast_its_limit_in_total() {
    // Gaps of 150 ms (600 ms in all) against a 250 ms silence bound.
    let (url, _) = trickling_server().await;
    let items = idle_items(&url, ms(250)).await;
    let body: Vec<u8> = items
        .into_iter()
        .flat_map(|item| item.unwrap().to_vec())
        .collect();
    assert_eq!(body, b"abcde");
}
