//! Engine tests for [`LocalMemory`] with a scripted chat model and the
//! local hashing embedder.

use std::collections::HashMap;
use std::sync::Arc;

use plugbay_core::{Error, ErrorKind};
use plugbay_llm::{
    ChatRequest, ChatResponse, HashingEmbedder, Message, MockChatModel, MockEmbeddingModel,
    ResponseFormat,
};
use serde_json::{Value, json};

use super::*;
use crate::in_memory::InMemoryVectorStore;
use crate::memory::MemoryExt;
use crate::store::VectorStore;

struct Fixture {
    llm: Arc<MockChatModel>,
    embedder: Arc<MockEmbeddingModel>,
    store: Arc<InMemoryVectorStore>,
    memory: LocalMemory,
}

fn fixture_with(policy: ReconcilePolicy, llm: MockChatModel) -> Fixture {
    let llm = Arc::new(llm);
    let embedder = Arc::new(MockEmbeddingModel::wrap(HashingEmbedder::new(128)));
    let store = Arc::new(InMemoryVectorStore::new());
    let memory = LocalMemory::builder()
        .chat_model(llm.clone())
        .embedding_model(embedder.clone())
        .vector_store(store.clone())
        .policy(policy)
        .build()
        .unwrap();
    Fixture {
        llm,
        embedder,
        store,
        memory,
    }
}

fn fixture(policy: ReconcilePolicy) -> Fixture {
    fixture_with(policy, MockChatModel::new())
}

fn alice() -> Scope {
    Scope::user("alice")
}

fn said(text: &str) -> Vec<Message> {
    vec![Message::user(text)]
}

async fn stored(f: &Fixture) -> u64 {
    f.store.count("memories", None).await.unwrap_or(0)
}

/// The `{"id", "text"}` list the request showed, as text -> shown id.
fn shown(req: &ChatRequest) -> HashMap<String, String> {
    let user = req.messages[1].text().into_owned();
    let list = user.lines().nth(1).unwrap_or("[]");
    let items: Vec<Value> = serde_json::from_str(list).unwrap();
    items
        .iter()
        .map(|v| {
            (
                v["text"].as_str().unwrap().to_owned(),
                v["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A responder that updates "Lives in Oslo", deletes "Has a cat", tries
/// two ids that were never shown and adds one fact.
fn update_delete_responder(req: &ChatRequest) -> plugbay_core::Result<ChatResponse> {
    let ids = shown(req);
    let reply = json!({"memory": [
        {"id": ids["Lives in Oslo"], "text": "Lives in Bergen", "event": "UPDATE"},
        {"id": ids["Has a cat"], "text": "Has a cat", "event": "DELETE"},
        {"id": "99", "text": "x", "event": "DELETE"},
        {"id": "new", "text": "Works as a nurse", "event": "ADD"},
    ]});
    Ok(ChatResponse::from_text(reply.to_string()))
}

#[tokio::test]
async fn passes_the_memory_conformance_suite() {
    let f = fixture(ReconcilePolicy::AddOnly);
    crate::conformance::memory::run_all(&f.memory).await;
    assert_eq!(f.llm.request_count(), 0, "verbatim adds never call the LLM");
}

#[tokio::test]
async fn add_extracts_facts_with_one_llm_call_and_one_embedding_batch() {
    let f = fixture(ReconcilePolicy::AddOnly);
    f.llm.push_text(
        json!({"memory": [
            {"id": "new", "text": "Likes green tea", "event": "ADD"},
            {"id": "new", "text": "Lives in Oslo", "event": "ADD"},
            {"id": "new", "text": "likes GREEN tea", "event": "ADD"}
        ]})
        .to_string(),
    );
    let events = f
        .memory
        .add(
            &said("I love green tea and I live in Oslo"),
            &alice(),
            AddOptions::new(),
        )
        .await
        .unwrap();
    let texts: Vec<_> = events.iter().filter_map(|e| e.new_text.clone()).collect();
    assert_eq!(texts, ["Likes green tea", "Lives in Oslo"]);
    assert!(events.iter().all(|e| e.event == MemoryEventKind::Add));
    assert_eq!(f.llm.request_count(), 1);
    // One probe embedding for the prompt, then ONE batch for the new facts.
    let calls = f.embedder.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1], ["Likes green tea", "Lives in Oslo"]);
    assert_eq!(stored(&f).await, 2);
}

#[tokio::test]
async fn extraction_request_is_json_mode_with_remapped_ids() {
    let f = fixture(ReconcilePolicy::AddOnly);
    let seeded = f.memory.remember("Lives in Oslo", &alice()).await.unwrap();
    let real_id = seeded[0].memory_id.clone();
    f.llm.push_text(r#"{"memory": []}"#);
    f.memory
        .add(&said("I still live in Oslo"), &alice(), AddOptions::new())
        .await
        .unwrap();
    let req = f.llm.last_request().unwrap();
    assert!(
        matches!(
            req.response_format,
            Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })
        ),
        "{:?}",
        req.response_format
    );
    assert_eq!(
        shown(&req).get("Lives in Oslo").map(String::as_str),
        Some("0")
    );
    let all_text: String = req.messages.iter().map(|m| m.text().into_owned()).collect();
    assert!(
        !all_text.contains(&real_id),
        "the real id leaked into the prompt"
    );
    assert!(all_text.contains("I still live in Oslo"));
}

#[tokio::test]
async fn json_object_mode_when_the_model_has_no_schema_support() {
    let llm = MockChatModel::new()
        .with_capabilities(plugbay_llm::ChatCapabilities::none().json_object(true));
    let f = fixture_with(ReconcilePolicy::AddOnly, llm);
    f.llm.push_text(r#"{"facts": ["Plays chess"]}"#);
    let events = f
        .memory
        .add(&said("I play chess"), &alice(), AddOptions::new())
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let req = f.llm.last_request().unwrap();
    assert_eq!(req.response_format, Some(ResponseFormat::JsonObject));
}

#[tokio::test]
async fn duplicates_of_existing_memories_are_dropped() {
    let f = fixture(ReconcilePolicy::AddOnly);
    f.memory
        .remember("Likes green tea", &alice())
        .await
        .unwrap();
    f.llm
        .push_text(r#"{"memory": [{"id": "new", "text": "likes  green tea", "event": "ADD"}]}"#);
    let events = f
        .memory
        .add(&said("green tea is great"), &alice(), AddOptions::new())
        .await
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(stored(&f).await, 1);
}

#[tokio::test]
async fn allow_update_delete_applies_changes_to_shown_ids_only() {
    let llm = MockChatModel::new().with_responder(update_delete_responder);
    let f = fixture_with(ReconcilePolicy::AllowUpdateDelete, llm);
    let oslo = f.memory.remember("Lives in Oslo", &alice()).await.unwrap()[0]
        .memory_id
        .clone();
    let cat = f.memory.remember("Has a cat", &alice()).await.unwrap()[0]
        .memory_id
        .clone();
    let events = f
        .memory
        .add(
            &said("I moved to Bergen, my cat died, I am a nurse"),
            &alice(),
            AddOptions::new(),
        )
        .await
        .unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.event).collect();
    assert_eq!(
        kinds,
        [
            MemoryEventKind::Update,
            MemoryEventKind::Add,
            MemoryEventKind::Delete
        ]
    );
    assert_eq!(f.memory.get(&oslo).await.unwrap().text, "Lives in Bergen");
    assert_eq!(
        f.memory.get(&cat).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(stored(&f).await, 2, "Bergen + nurse; id 99 deleted nothing");
    let history: Vec<_> = f
        .memory
        .history(&oslo)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(history, [MemoryEventKind::Add, MemoryEventKind::Update]);
    let cat_history = f.memory.history(&cat).await.unwrap();
    assert_eq!(cat_history.last().unwrap().event, MemoryEventKind::Delete);
}

#[tokio::test]
async fn add_only_ignores_update_and_delete_answers() {
    let llm = MockChatModel::new().with_responder(update_delete_responder);
    let f = fixture_with(ReconcilePolicy::AddOnly, llm);
    let oslo = f.memory.remember("Lives in Oslo", &alice()).await.unwrap()[0]
        .memory_id
        .clone();
    f.memory.remember("Has a cat", &alice()).await.unwrap();
    let events = f
        .memory
        .add(&said("I moved to Bergen"), &alice(), AddOptions::new())
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].new_text.as_deref(), Some("Works as a nurse"));
    assert_eq!(f.memory.get(&oslo).await.unwrap().text, "Lives in Oslo");
    assert_eq!(stored(&f).await, 3);
    let system = f.llm.last_request().unwrap().messages[0]
        .text()
        .into_owned();
    assert!(system.contains("Only ADD and NONE are allowed"));
}

#[tokio::test]
async fn hallucinated_real_looking_ids_do_nothing() {
    let f = fixture(ReconcilePolicy::AllowUpdateDelete);
    let real = f.memory.remember("Has a cat", &alice()).await.unwrap()[0]
        .memory_id
        .clone();
    f.llm.push_text(
        json!({"memory": [
            {"id": real, "event": "DELETE"},
            {"id": "1", "event": "DELETE"},
            {"id": "7", "text": "Has a dog", "event": "UPDATE"}
        ]})
        .to_string(),
    );
    let events = f
        .memory
        .add(&said("forget everything"), &alice(), AddOptions::new())
        .await
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(f.memory.get(&real).await.unwrap().text, "Has a cat");
}

#[tokio::test]
async fn unusable_llm_replies_write_nothing() {
    let f = fixture(ReconcilePolicy::AllowUpdateDelete);
    f.memory.remember("Has a cat", &alice()).await.unwrap();
    for bad in [
        "I think you like tea",
        r#"{"memory": "tea"}"#,
        "{\"memory\": [",
        "",
    ] {
        f.llm.push_text(bad);
        let err = f
            .memory
            .add(&said("I like tea"), &alice(), AddOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{bad:?}: {err}");
        assert_eq!(stored(&f).await, 1, "{bad:?} wrote something");
    }
    f.llm
        .push_error(Error::new(ErrorKind::RateLimited, "slow down"));
    let err = f
        .memory
        .add(&said("I like tea"), &alice(), AddOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(stored(&f).await, 1);
}

#[tokio::test]
async fn other_scopes_are_never_shown_to_the_model() {
    let f = fixture(ReconcilePolicy::AllowUpdateDelete);
    f.memory
        .remember("Alice has a secret diary", &alice())
        .await
        .unwrap();
    f.llm
        .push_text(r#"{"memory": [{"id": "0", "event": "DELETE"}]}"#);
    let bob = Scope::user("bob");
    let events = f
        .memory
        .add(&said("Do I have a secret diary?"), &bob, AddOptions::new())
        .await
        .unwrap();
    assert!(events.is_empty());
    assert!(shown(&f.llm.last_request().unwrap()).is_empty());
    assert_eq!(stored(&f).await, 1);
}

#[tokio::test]
async fn search_ranks_the_relevant_memory_first_within_scope() {
    let f = fixture(ReconcilePolicy::AddOnly);
    for text in [
        "Plays the violin in an orchestra",
        "Allergic to shellfish",
        "Drives a red bicycle",
    ] {
        f.memory.remember(text, &alice()).await.unwrap();
    }
    f.memory
        .remember("Allergic to shellfish and nuts", &Scope::user("bob"))
        .await
        .unwrap();
    let hits = f
        .memory
        .search(
            "which food allergies: shellfish?",
            &alice(),
            SearchOptions::new().top_k(2),
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].item.text, "Allergic to shellfish");
    assert!(hits.iter().all(|h| h.item.scope == alice()));
}

#[tokio::test]
async fn metadata_is_stored_and_filterable() {
    let f = fixture(ReconcilePolicy::AddOnly);
    let opts = AddOptions::new().infer(false).field("topic", "food");
    f.memory
        .add(&said("Likes pizza"), &alice(), opts)
        .await
        .unwrap();
    let opts = AddOptions::new().infer(false).field("topic", "sport");
    f.memory
        .add(&said("Likes pizza-shaped frisbees"), &alice(), opts)
        .await
        .unwrap();
    let hits = f
        .memory
        .search(
            "pizza",
            &alice(),
            SearchOptions::new().filter(Filter::eq("topic", "sport")),
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].item.metadata["topic"], "sport");
    let reserved = AddOptions::new().infer(false).field("user_id", "mallory");
    let err = f
        .memory
        .add(&said("x"), &alice(), reserved)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn nothing_to_learn_makes_no_calls() {
    let f = fixture(ReconcilePolicy::AddOnly);
    let events = f
        .memory
        .add(
            &[Message::system("You are helpful."), Message::user("   ")],
            &alice(),
            AddOptions::new(),
        )
        .await
        .unwrap();
    assert!(events.is_empty());
    assert_eq!(f.llm.request_count(), 0);
    assert_eq!(f.embedder.call_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_adds_store_one_memory() {
    let f = Arc::new(fixture(ReconcilePolicy::AddOnly));
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let f = f.clone();
            tokio::spawn(async move { f.memory.remember("Likes rain", &alice()).await.unwrap() })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        added += task.await.unwrap().len();
    }
    assert_eq!(added, 1);
    assert_eq!(stored(&f).await, 1);
}

#[test]
fn builder_requires_every_part() {
    let err = LocalMemory::builder().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = LocalMemory::builder()
        .chat_model(Arc::new(MockChatModel::new()))
        .embedding_model(Arc::new(HashingEmbedder::new(8)))
        .vector_store(Arc::new(InMemoryVectorStore::new()))
        .collection("bad name")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}
