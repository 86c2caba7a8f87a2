//! The tracing span of an `HttpClient` call. Kept in its own test binary:
//! a thread-local subscriber races with callsite-interest caching when
//! other tests run concurrently in the same process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use plugbay_core::http::{Call, HttpClient, RecordingSleeper, RetryPolicy};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Collects what the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_span_per_call_with_provider_operation_status_and_attempts() {
    use tracing_subscriber::fmt::format::FmtSpan;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let client = HttpClient::builder()
        .retry_policy(RetryPolicy::default().jitter(0.0))
        .sleeper(sleeper.clone())
        .build()
        .unwrap();
    let url = format!("{}/r", server.uri());
    client
        .execute(&Call::new("test", "get"), |c| c.get(&url))
        .await
        .unwrap();
    assert_eq!(sleeper.waits(), vec![Duration::from_millis(500)]);

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let closes: Vec<&str> = text.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closes.len(), 1, "{text}");
    let line = closes[0];
    for field in [
        "plugbay.http{",
        "provider=\"test\"",
        "operation=\"get\"",
        "http.response.status_code=200",
        "attempts=2",
        "duration_ms=",
        "http.request.method=\"GET\"",
    ] {
        assert!(line.contains(field), "{field} missing in {line}");
    }
}
