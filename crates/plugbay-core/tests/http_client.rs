//! Fault suite for `HttpClient` against wiremock and raw sockets.
//!
//! Waits are recorded by a `RecordingSleeper` instead of slept, and jitter
//! is off, so every expected wait is exact. Real time is never asserted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use plugbay_core::http::{Call, DefaultErrorMapper, HttpClient, RecordingSleeper, RetryPolicy};
use plugbay_core::{Error, ErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client_with(sleeper: &RecordingSleeper, policy: RetryPolicy, timeout: Duration) -> HttpClient {
    HttpClient::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .retry_policy(policy.jitter(0.0))
        .sleeper(sleeper.clone())
        .build()
        .unwrap()
}

fn client(sleeper: &RecordingSleeper) -> HttpClient {
    client_with(sleeper, RetryPolicy::default(), Duration::from_secs(10))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn context<'e>(err: &'e Error, key: &str) -> Option<&'e str> {
    err.context().find(|(k, _)| *k == key).map(|(_, v)| v)
}

async fn get(client: &HttpClient, url: String) -> plugbay_core::Result<plugbay_core::HttpResponse> {
    client
        .execute(&Call::new("test", "get"), |http| http.get(&url))
        .await
}

/// Mount `first` for one request, then a plain 200 for one request.
async fn once_then_ok(server: &MockServer, first: ResponseTemplate) {
    Mock::given(path("/r"))
        .respond_with(first)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn rate_limit_with_retry_after_seconds_waits_as_asked() {
    let server = MockServer::start().await;
    once_then_ok(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "3"),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    let response = get(&client(&sleeper), format!("{}/r", server.uri()))
        .await
        .unwrap();
    assert_eq!(response.attempts(), 2);
    assert_eq!(response.body().as_ref(), b"ok");
    assert_eq!(sleeper.waits(), vec![Duration::from_secs(3)]);
}

#[tokio::test]
async fn rate_limit_with_retry_after_http_date() {
    let server = MockServer::start().await;
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
    once_then_ok(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", at.as_str()),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    let response = get(&client(&sleeper), format!("{}/r", server.uri()))
        .await
        .unwrap();
    assert_eq!(response.attempts(), 2);
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1);
    // The date has one-second resolution.
    assert!(
        waits[0] > Duration::from_secs(28) && waits[0] <= Duration::from_secs(30),
        "{waits:?}"
    );
}

#[tokio::test]
async fn retry_after_ms_wins_over_seconds() {
    let server = MockServer::start().await;
    once_then_ok(
        &server,
        ResponseTemplate::new(429)
            .insert_header("retry-after-ms", "150")
            .insert_header("retry-after", "5"),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    let response = get(&client(&sleeper), format!("{}/r", server.uri()))
        .await
        .unwrap();
    assert_eq!(response.attempts(), 2);
    assert_eq!(sleeper.waits(), vec![ms(150)]);
}

#[tokio::test]
async fn should_retry_true_retries_a_400() {
    let server = MockServer::start().await;
    once_then_ok(
        &server,
        ResponseTemplate::new(400).insert_header("x-should-retry", "true"),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    let response = get(&client(&sleeper), format!("{}/r", server.uri()))
        .await
        .unwrap();
    assert_eq!(response.attempts(), 2);
    assert_eq!(sleeper.waits(), vec![ms(500)]);
}

#[tokio::test]
async fn should_retry_false_stops_a_503() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(503).insert_header("x-should-retry", "false"))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let err = get(&client(&sleeper), format!("{}/r", server.uri()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(
        !err.is_retryable(),
        "the server's verdict sticks to the error"
    );
    assert_eq!(context(&err, "attempts"), Some("1"));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn server_error_then_success() {
    let server = MockServer::start().await;
    once_then_ok(&server, ResponseTemplate::new(500)).await;
    let sleeper = RecordingSleeper::new();
    let response = get(&client(&sleeper), format!("{}/r", server.uri()))
        .await
        .unwrap();
    assert_eq!(response.attempts(), 2);
    assert_eq!(sleeper.waits(), vec![ms(500)]);
}

#[tokio::test]
async fn unavailable_until_retries_are_exhausted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("x-request-id", "req_abc")
                .set_body_string("upstream down"),
        )
        .expect(3)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let err = get(&client(&sleeper), format!("{}/r", server.uri()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.provider(), Some("test"));
    assert_eq!(err.operation(), Some("get"));
    assert_eq!(err.request_id(), Some("req_abc"));
    assert_eq!(context(&err, "attempts"), Some("3"));
    assert!(context(&err, "gave_up").unwrap().contains("max retries"));
    assert!(err.message().contains("upstream down"));
    assert_eq!(sleeper.waits(), vec![ms(500), ms(1000)]);
}

/// A server that accepts connections and resets them at once, counting
/// the connections.
async fn resetting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            // SO_LINGER 0 turns the close into a RST. Blocking on drop is
            // not a concern with a zero linger.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
    });
    (format!("http://{addr}/r"), accepted)
}

#[tokio::test]
async fn connection_reset_is_unavailable_and_retried_when_idempotent() {
    let (url, accepted) = resetting_server().await;
    let sleeper = RecordingSleeper::new();
    let http = client(&sleeper);
    let err = get(&http, url.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:#}");
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    assert_eq!(context(&err, "attempts"), Some("3"));
    assert_eq!(sleeper.waits(), vec![ms(500), ms(1000)]);

    // A POST may have been processed: not retried.
    let err = http
        .execute(&Call::new("test", "post"), |c| c.post(&url).body("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn refused_connection_is_retried_even_for_a_post() {
    // Bind then drop to get a port nobody listens on.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let sleeper = RecordingSleeper::new();
    let err = client(&sleeper)
        .execute(&Call::new("test", "post"), |c| {
            c.post(format!("http://{addr}/r")).body("x")
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(context(&err, "attempts"), Some("3"));
    assert_eq!(sleeper.waits().len(), 2);
}

#[tokio::test]
async fn slow_server_times_out_and_is_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let http = client_with(&sleeper, RetryPolicy::default().max_retries(1), ms(200));
    let err = get(&http, format!("{}/r", server.uri())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:#}");
    assert!(err.is_retryable());
    assert_eq!(context(&err, "attempts"), Some("2"));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(sleeper.waits(), vec![ms(500)]);
}

#[tokio::test]
async fn budget_exhausted_by_a_long_server_wait() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let policy = RetryPolicy::default().budget(Duration::from_secs(1));
    let http = client_with(&sleeper, policy, Duration::from_secs(10));
    let err = get(&http, format!("{}/r", server.uri())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(context(&err, "attempts"), Some("1"));
    assert!(
        context(&err, "gave_up").unwrap().contains("budget"),
        "{err}"
    );
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn budget_exhausted_by_accumulated_backoff() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(502))
        .expect(2)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    // 0.5 s fits in 1.2 s; the next 1 s wait would not.
    let policy = RetryPolicy::default()
        .max_retries(5)
        .budget(Duration::from_millis(1200));
    let http = client_with(&sleeper, policy, Duration::from_secs(10));
    let err = get(&http, format!("{}/r", server.uri())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(context(&err, "attempts"), Some("2"));
    assert!(context(&err, "gave_up").unwrap().contains("budget"));
    assert_eq!(sleeper.waits(), vec![ms(500)]);
}

#[tokio::test]
async fn server_wait_above_the_limit_stops_retrying() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let err = get(&client(&sleeper), format!("{}/r", server.uri()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(context(&err, "gave_up").unwrap().contains("allowed"));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn non_idempotent_post_is_not_retried_unless_declared_safe() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(4)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let http = client(&sleeper);
    let url = format!("{}/hook", server.uri());
    let err = http
        .execute(&Call::new("slack", "notify"), |c| c.post(&url).body("{}"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(context(&err, "attempts"), Some("1"));
    assert!(sleeper.waits().is_empty());

    let err = http
        .execute(&Call::new("openai", "chat").idempotent(true), |c| {
            c.post(&url).body("{}")
        })
        .await
        .unwrap_err();
    assert_eq!(context(&err, "attempts"), Some("3"));
    assert_eq!(sleeper.waits(), vec![ms(500), ms(1000)]);
}

#[tokio::test]
async fn insufficient_quota_is_not_retried() {
    let server = MockServer::start().await;
    let body = serde_json::json!({"error": {
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}});
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-request-id", "req_quota")
                .insert_header("x-ratelimit-remaining-tokens", "0")
                .insert_header("x-ratelimit-reset-tokens", "6m0s")
                .insert_header("retry-after", "1")
                .set_body_json(body),
        )
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let url = format!("{}/v1/chat/completions", server.uri());
    let err = client(&sleeper)
        .execute(&Call::new("openai", "chat").idempotent(true), |c| {
            c.post(&url).json(&serde_json::json!({"model": "m"}))
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    assert!(!err.is_retryable());
    assert_eq!(err.provider_code(), Some("insufficient_quota"));
    assert_eq!(err.request_id(), Some("req_quota"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(context(&err, "x-ratelimit-reset-tokens"), Some("6m0s"));
    assert_eq!(context(&err, "x-ratelimit-remaining-tokens"), Some("0"));
    assert_eq!(context(&err, "attempts"), Some("1"));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn error_inside_a_200_body() {
    let server = MockServer::start().await;
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>\
               <Message>We encountered an internal error. Please try again.</Message>\
               <RequestId>R9</RequestId></Error>";
    Mock::given(path("/bucket/key"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(xml, "application/xml"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/bucket/key"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<CompleteMultipartUploadResult><ETag>\"e\"</ETag></CompleteMultipartUploadResult>",
            "application/xml",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired."})))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let http = client(&sleeper);
    let detect = DefaultErrorMapper::new().detect_error_in_success(true);

    let url = format!("{}/bucket/key?uploadId=1", server.uri());
    let call = Call::new("s3", "complete_multipart")
        .idempotent(true)
        .with_error_mapper(detect);
    let response = http
        .execute(&call, |c| c.post(&url).body("<x/>"))
        .await
        .unwrap();
    assert_eq!(response.attempts(), 2);
    assert!(response.text().unwrap().contains("ETag"));
    assert_eq!(sleeper.waits(), vec![ms(500)]);

    let url = format!("{}/login/oauth/access_token", server.uri());
    let call = Call::new("github", "exchange_code")
        .idempotent(true)
        .with_error_mapper(detect);
    let err = http.execute(&call, |c| c.post(&url)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.status(), Some(200));
    assert_eq!(err.provider_code(), Some("bad_verification_code"));
    assert_eq!(context(&err, "attempts"), Some("1"));
}

#[tokio::test]
async fn malformed_json_is_protocol_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"id\": ", "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let url = format!("{}/r", server.uri());
    let err = client(&sleeper)
        .execute_json::<serde_json::Value, _>(&Call::new("test", "get"), |c| c.get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert_eq!(err.provider(), Some("test"));
    assert_eq!(context(&err, "attempts"), Some("1"));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn truncated_body_is_protocol() {
    // Promise 100 bytes, send 12, close.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let _ = stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"id\": \"abc",
                )
                .await;
            let _ = stream.shutdown().await;
        }
    });
    let sleeper = RecordingSleeper::new();
    let url = format!("http://{addr}/r");
    let err = client(&sleeper)
        .execute_json::<serde_json::Value, _>(&Call::new("test", "get"), |c| c.get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err:#}");
    assert_eq!(context(&err, "attempts"), Some("1"));
}

#[tokio::test]
async fn streaming_send_returns_the_unread_response() {
    let server = MockServer::start().await;
    once_then_ok(&server, ResponseTemplate::new(503)).await;
    let sleeper = RecordingSleeper::new();
    let url = format!("{}/r", server.uri());
    let response = client(&sleeper)
        .send(&Call::new("test", "stream"), |c| c.get(&url))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(sleeper.waits(), vec![ms(500)]);
}

/// Records the length of the error body the client handed to the mapper.
#[derive(Debug, Default)]
struct BodyLengthMapper(Arc<AtomicUsize>);

impl plugbay_core::http::ErrorMapper for BodyLengthMapper {
    fn map_error(&self, r: &plugbay_core::http::ResponseParts<'_>) -> Error {
        self.0.store(r.body.len(), Ordering::SeqCst);
        Error::from_http(r.status.as_u16(), None, "mapped")
    }
}

#[tokio::test]
async fn a_huge_error_body_is_capped_before_mapping() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(400).set_body_bytes(vec![b'x'; 4 * 1024 * 1024]))
        .expect(1)
        .mount(&server)
        .await;
    let seen = Arc::new(AtomicUsize::new(0));
    let sleeper = RecordingSleeper::new();
    let url = format!("{}/r", server.uri());
    let err = client(&sleeper)
        .execute(
            &Call::new("test", "get").with_error_mapper(BodyLengthMapper(seen.clone())),
            |http| http.get(&url),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(seen.load(Ordering::SeqCst), 64 * 1024);
}
