//! Shared test support: stateful in-process fakes of Qdrant, Pinecone and
//! Mem0 (wiremock `Respond` impls following the documented wire formats)
//! and raw TCP servers for transport faults.

pub mod mem0_stub;
pub mod pinecone_stub;
pub mod qdrant_stub;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Duration;

use plugbay_core::Error;
use plugbay_core::http::RecordingSleeper;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

/// The `attempts` context of an error.
pub fn attempts(error: &Error) -> Option<u32> {
    error
        .context()
        .find(|(k, _)| *k == "attempts")
        .and_then(|(_, v)| v.parse().ok())
}

/// A JSON response.
pub fn json_response(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json")
}

/// The request body as JSON (`Null` when it is not JSON).
pub fn body_json(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

/// Mount `stub` as the fallback for every request.
pub async fn mount_fallback(server: &MockServer, stub: impl Respond + 'static) {
    Mock::given(wiremock::matchers::any())
        .respond_with(stub)
        .with_priority(10)
        .mount(server)
        .await;
}

/// Answer the first `times` requests of `verb path` with `fault`.
pub async fn mount_fault(
    server: &MockServer,
    verb: &str,
    route: &str,
    fault: ResponseTemplate,
    times: u64,
) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(fault)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
}

/// How many requests `verb path` received.
pub async fn hits(server: &MockServer, verb: &str, route: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == route)
        .count()
}

/// The shared misbehaving servers (reset, raw answers).
pub use plugbay_core::test_servers::{raw_server, resetting_server};

/// One backend call under test: given a base URL and a sleeper, run an
/// operation that hits `route` (after any setup calls the stub answers).
pub type FaultOp = fn(
    String,
    RecordingSleeper,
    Option<Duration>,
) -> Pin<Box<dyn Future<Output = plugbay_core::Result<()>> + Send>>;

/// What the shared fault suite needs to know about a backend.
pub struct FaultTarget {
    /// The stateful stub, fresh per test, seeded so `op` can run.
    pub stub: fn() -> Box<dyn Respond>,
    /// The method and path of the call faults are injected into.
    pub verb: &'static str,
    /// See `verb`.
    pub route: &'static str,
    /// The operation.
    pub op: FaultOp,
    /// An error body of the provider, for 500/503 answers.
    pub server_error: Value,
}

async fn server_with(target: &FaultTarget, fault: ResponseTemplate, times: u64) -> MockServer {
    let server = MockServer::start().await;
    mount_fault(&server, target.verb, target.route, fault, times).await;
    Mock::given(wiremock::matchers::any())
        .respond_with(BoxedRespond((target.stub)()))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

struct BoxedRespond(Box<dyn Respond>);

impl Respond for BoxedRespond {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

/// 429 with `Retry-After`, 500/503, reset, timeout, malformed and truncated
/// bodies: the right kind after the right number of attempts, with waits
/// recorded (never slept).
pub async fn run_fault_suite(target: &FaultTarget) {
    use plugbay_core::ErrorKind;
    let route = target.route;

    // 429 once with Retry-After: one retry after exactly that wait.
    let server = server_with(
        target,
        json_response(
            429,
            serde_json::json!({"status": {"error": "rate limited"}}),
        )
        .insert_header("retry-after", "2"),
        1,
    )
    .await;
    let sleeper = RecordingSleeper::new();
    (target.op)(server.uri(), sleeper.clone(), None)
        .await
        .unwrap_or_else(|e| panic!("{route}: a single 429 must be retried: {e}"));
    assert_eq!(sleeper.waits(), vec![Duration::from_secs(2)], "{route}");
    assert_eq!(hits(&server, target.verb, route).await, 2, "{route}");

    // Persistent 500 and 503: Unavailable after 1 + 2 retries.
    for status in [500u16, 503] {
        let server = server_with(
            target,
            json_response(status, target.server_error.clone()),
            100,
        )
        .await;
        let sleeper = RecordingSleeper::new();
        let err = (target.op)(server.uri(), sleeper.clone(), None)
            .await
            .expect_err("persistent server errors must fail");
        assert_eq!(
            err.kind(),
            ErrorKind::Unavailable,
            "{route} {status}: {err}"
        );
        assert_eq!(err.status(), Some(status));
        assert_eq!(attempts(&err), Some(3), "{route} {status}: {err}");
        assert_eq!(hits(&server, target.verb, route).await, 3);
        assert_eq!(sleeper.waits().len(), 2);
    }

    // Connection reset on every request.
    let (base, seen) = resetting_server().await;
    let err = (target.op)(base, RecordingSleeper::new(), None)
        .await
        .expect_err("resets must fail");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{route}: {err}");
    assert_eq!(attempts(&err), Some(3), "{route}: {err}");
    assert_eq!(seen.load(Ordering::SeqCst), 3);

    // A peer that never answers: Timeout after 1 + 1 retry.
    let server = server_with(
        target,
        ResponseTemplate::new(200).set_delay(Duration::from_secs(10)),
        100,
    )
    .await;
    let err = (target.op)(
        server.uri(),
        RecordingSleeper::new(),
        Some(Duration::from_millis(200)),
    )
    .await
    .expect_err("a hung peer must time out");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{route}: {err}");
    assert_eq!(attempts(&err), Some(2), "{route}: {err}");

    // Malformed JSON in a 200: Protocol, not retried.
    let server = server_with(
        target,
        ResponseTemplate::new(200).set_body_raw("<html>gateway</html>", "text/html"),
        100,
    )
    .await;
    let err = (target.op)(server.uri(), RecordingSleeper::new(), None)
        .await
        .expect_err("malformed bodies must fail");
    assert_eq!(err.kind(), ErrorKind::Protocol, "{route}: {err}");
    assert_eq!(attempts(&err), Some(1), "{route}: {err}");
    assert_eq!(hits(&server, target.verb, route).await, 1);

    // A body cut short of its content-length: Protocol.
    let (base, _) = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{\"result\": {\"poi",
    )
    .await;
    let err = (target.op)(base, RecordingSleeper::new(), None)
        .await
        .expect_err("truncated bodies must fail");
    assert_eq!(err.kind(), ErrorKind::Protocol, "{route}: {err}");

    // Unauthenticated: final at once.
    let server = server_with(
        target,
        json_response(401, serde_json::json!({"detail": "Invalid API key"})),
        100,
    )
    .await;
    let err = (target.op)(server.uri(), RecordingSleeper::new(), None)
        .await
        .expect_err("401 must fail");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{route}: {err}");
    assert_eq!(attempts(&err), Some(1));
}
