//! `Mem0Memory` against the Mem0 fake.

use std::time::Duration;

use plugbay_core::ErrorKind;
use plugbay_core::http::RecordingSleeper;
use plugbay_llm::Message;
use plugbay_memory::conformance;
use plugbay_memory::mem0::{Mem0Builder, Mem0Memory};
use plugbay_memory::{
    AddOptions, Filter, Memory, MemoryEventKind, MemoryExt, Scope, SearchOptions,
};
use serde_json::json;
use wiremock::MockServer;

use crate::support::mem0_stub::Mem0Stub;
use crate::support::{
    FaultTarget, attempts, hits, json_response, mount_fallback, mount_fault, run_fault_suite,
};

async fn fake(pending_polls: u32) -> (MockServer, Mem0Stub) {
    let server = MockServer::start().await;
    let stub = Mem0Stub::new();
    stub.state.lock().unwrap().pending_polls = pending_polls;
    mount_fallback(&server, stub.clone()).await;
    (server, stub)
}

fn memory(server: &MockServer, sleeper: &RecordingSleeper) -> Mem0Memory {
    Mem0Builder::default()
        .api_key("m0-test")
        .base_url(server.uri())
        .poll_interval(Duration::from_millis(500))
        .poll_timeout(Duration::from_secs(5))
        .sleeper(sleeper.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn passes_the_memory_conformance_suite() {
    let (server, stub) = fake(2).await;
    let sleeper = RecordingSleeper::new();
    let memory = memory(&server, &sleeper);
    memory.ping().await.unwrap();
    conformance::memory::run_all(&memory).await;
    let polls = stub.state.lock().unwrap().polls;
    assert!(polls > 0);
    assert!(
        sleeper
            .waits()
            .iter()
            .all(|w| *w == Duration::from_millis(500))
    );
}

#[tokio::test]
async fn add_polls_its_event_and_sends_ids_at_the_top_level() {
    let (server, stub) = fake(3).await;
    let sleeper = RecordingSleeper::new();
    let memory = memory(&server, &sleeper);
    let scope = Scope::user("alice").with_agent("coach");
    let events = memory
        .add(
            &[
                Message::user("I run 10k on Sundays"),
                Message::assistant("Nice!"),
            ],
            &scope,
            AddOptions::new().infer(false).field("topic", "sport"),
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, MemoryEventKind::Add);
    assert_eq!(
        sleeper.waits(),
        vec![Duration::from_millis(500); 3],
        "three PENDING answers"
    );
    let add = stub.state.lock().unwrap().adds[0].clone();
    assert_eq!(add["user_id"], "alice");
    assert_eq!(add["agent_id"], "coach");
    assert_eq!(add["infer"], false);
    assert_eq!(add["metadata"]["topic"], "sport");
    assert_eq!(
        add["messages"].as_array().unwrap().len(),
        1,
        "infer: false sends user turns only"
    );
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("authorization").unwrap() == "Token m0-test")
    );
}

#[tokio::test]
async fn search_keeps_scope_ids_inside_filters_and_translates_metadata_filters() {
    let (server, stub) = fake(0).await;
    let memory = memory(&server, &RecordingSleeper::new());
    let scope = Scope::user("bo");
    for (text, topic) in [
        ("Loves spicy ramen noodles", "food"),
        ("Ramen shop owner friend", "people"),
    ] {
        memory
            .add(
                &[Message::user(text)],
                &scope,
                AddOptions::new().infer(false).field("topic", topic),
            )
            .await
            .unwrap();
    }
    let hits = memory
        .search(
            "ramen",
            &scope,
            SearchOptions::new().filter(Filter::eq("topic", "food")),
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].item.text, "Loves spicy ramen noodles");
    assert_eq!(hits[0].item.scope, scope);
    let sent = stub.state.lock().unwrap().searches[0].clone();
    assert!(
        sent.get("user_id").is_none(),
        "top-level ids are a 400: {sent}"
    );
    assert_eq!(
        sent["filters"],
        json!({"AND": [{"user_id": "bo"}, {"metadata": {"topic": "food"}}]})
    );
    assert_eq!(sent["threshold"], 0.0);
    let none = memory
        .search(
            "ramen",
            &scope,
            SearchOptions::new().filter(!Filter::is_in("topic", ["food", "people"])),
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn polling_is_bounded_and_failed_events_are_errors() {
    let (server, stub) = fake(0).await;
    stub.state.lock().unwrap().stuck_events = true;
    let sleeper = RecordingSleeper::new();
    let memory = memory(&server, &sleeper);
    let err = memory
        .remember("x y z", &Scope::user("u"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.operation(), Some("add"));
    assert_eq!(
        sleeper.total(),
        Duration::from_secs(5),
        "waits add up to poll_timeout"
    );
    assert_eq!(
        stub.state.lock().unwrap().polls,
        11,
        "one poll per wait plus the first"
    );

    let (server, stub) = fake(1).await;
    stub.state.lock().unwrap().fail_events = true;
    let err = memory_for(&server)
        .remember("x", &Scope::user("u"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

fn memory_for(server: &MockServer) -> Mem0Memory {
    memory(server, &RecordingSleeper::new())
}

#[tokio::test]
async fn adds_are_not_retried_once_sent_and_bad_keys_fail_ping() {
    let (server, _stub) = fake(0).await;
    mount_fault(
        &server,
        "POST",
        "/v3/memories/add/",
        json_response(503, json!({"detail": "Service unavailable"})),
        5,
    )
    .await;
    let err = memory_for(&server)
        .remember("x", &Scope::user("u"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(attempts(&err), Some(1));
    assert_eq!(hits(&server, "POST", "/v3/memories/add/").await, 1);

    let wrong = Mem0Builder::default()
        .api_key("m0-wrong")
        .base_url(server.uri())
        .build()
        .unwrap();
    assert_eq!(
        wrong.ping().await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    let err = memory_for(&server)
        .search("q", &Scope::user("u"), SearchOptions::new().top_k(0))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

fn mem0_op(
    base: String,
    sleeper: RecordingSleeper,
    timeout: Option<Duration>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = plugbay_core::Result<()>> + Send>> {
    Box::pin(async move {
        let mut b = Mem0Builder::default()
            .api_key("m0-test")
            .base_url(base)
            .sleeper(sleeper);
        if let Some(t) = timeout {
            b = b.timeout(t).max_retries(1);
        }
        b.build()?
            .search("anything", &Scope::user("u"), SearchOptions::new())
            .await
            .map(|_| ())
    })
}

fn faults_stub() -> Box<dyn wiremock::Respond> {
    Box::new(Mem0Stub::new())
}

#[tokio::test]
async fn fault_suite() {
    run_fault_suite(&FaultTarget {
        stub: faults_stub,
        verb: "POST",
        route: "/v3/memories/search/",
        op: mem0_op,
        server_error: json!({"detail": "A server error occurred."}),
    })
    .await;
}
