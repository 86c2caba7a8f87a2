//! Conformance scenarios for [`Memory`] backends.
//!
//! Every scenario adds with `infer: false` (each user message stored
//! verbatim), so any backend can run them without scripting an LLM; the
//! inference path is engine-specific and tested with each engine. Each
//! scenario uses fresh, unique scope ids.

use plugbay_core::ErrorKind;
use plugbay_llm::Message;

use crate::memory::{AddOptions, Memory, MemoryEventKind, MemoryItem, Page, Scope, SearchOptions};

fn unique_user(scenario: &str) -> Scope {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    Scope::user(format!("conf-{scenario}-{}", &tag[..12]))
}

fn verbatim() -> AddOptions {
    AddOptions::new().infer(false)
}

async fn add_texts(memory: &dyn Memory, scope: &Scope, texts: &[&str]) -> Vec<String> {
    let messages: Vec<Message> = texts.iter().map(|t| Message::user(*t)).collect();
    let events = memory
        .add(&messages, scope, verbatim())
        .await
        .expect("add verbatim");
    events.into_iter().map(|e| e.memory_id).collect()
}

/// Verbatim add stores each user message (not assistant ones) and `get`
/// returns it with its scope and metadata.
pub async fn add_and_get(memory: &dyn Memory) {
    let scope = unique_user("add");
    let messages = [
        Message::user("I am allergic to peanuts"),
        Message::assistant("Noted, I will keep that in mind."),
        Message::user("My sister is called Ingrid"),
    ];
    let events = memory
        .add(&messages, &scope, verbatim().field("source", "conformance"))
        .await
        .expect("add");
    assert_eq!(events.len(), 2, "one memory per user message: {events:?}");
    assert!(events.iter().all(|e| e.event == MemoryEventKind::Add));
    let first = memory.get(&events[0].memory_id).await.expect("get");
    assert_eq!(first.text, "I am allergic to peanuts");
    assert_eq!(first.scope.user_id, scope.user_id);
    assert_eq!(first.metadata.get("source"), Some(&"conformance".into()));
    assert_eq!(
        events[0].new_text.as_deref(),
        Some("I am allergic to peanuts")
    );
}

/// The same text again (even re-spaced or re-cased) adds nothing.
pub async fn duplicates_are_dropped(memory: &dyn Memory) {
    let scope = unique_user("dup");
    assert_eq!(
        add_texts(memory, &scope, &["I drink oat milk"]).await.len(),
        1
    );
    let again = add_texts(memory, &scope, &["  i drink   OAT milk "]).await;
    assert!(again.is_empty(), "duplicate was stored: {again:?}");
    let page = memory.list(&scope, Page::first(10)).await.expect("list");
    assert_eq!(page.items.len(), 1);
}

/// Search ranks the relevant memory first, honours `top_k` and a
/// threshold above every score.
pub async fn search_finds_the_relevant_memory(memory: &dyn Memory) {
    let scope = unique_user("search");
    let ids = add_texts(
        memory,
        &scope,
        &[
            "I love hiking in the mountains on weekends",
            "My favourite food is sushi with salmon",
            "I work as a nurse at the city hospital",
        ],
    )
    .await;
    let hits = memory
        .search(
            "what is my favourite food",
            &scope,
            SearchOptions::new().top_k(3),
        )
        .await
        .expect("search");
    assert!(!hits.is_empty());
    assert_eq!(hits[0].item.id, ids[1], "{hits:?}");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    let one = memory
        .search("food", &scope, SearchOptions::new().top_k(1))
        .await
        .expect("search top 1");
    assert_eq!(one.len(), 1);
    let none = memory
        .search("food", &scope, SearchOptions::new().threshold(1.01))
        .await
        .expect("search with threshold");
    assert!(none.is_empty(), "{none:?}");
}

/// `list` pages through exactly the scope's memories.
pub async fn list_pages_through_the_scope(memory: &dyn Memory) {
    let scope = unique_user("list");
    let texts = [
        "fact one",
        "fact two",
        "fact three",
        "fact four",
        "fact five",
    ];
    let mut ids = add_texts(memory, &scope, &texts).await;
    let mut seen = Vec::new();
    let mut page = Page::first(2);
    for _ in 0..10 {
        let result = memory.list(&scope, page.clone()).await.expect("list");
        assert!(result.items.len() <= 2);
        seen.extend(result.items.into_iter().map(|m: MemoryItem| m.id));
        match result.next_cursor {
            Some(cursor) => page = Page::after(2, cursor),
            None => break,
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
}

/// `update` replaces the text and `history` shows ADD then UPDATE.
pub async fn update_and_history(memory: &dyn Memory) {
    let scope = unique_user("update");
    let id = add_texts(memory, &scope, &["I live in Oslo"])
        .await
        .remove(0);
    let updated = memory
        .update(&id, "I live in Bergen")
        .await
        .expect("update");
    assert_eq!(updated.text, "I live in Bergen");
    assert_eq!(updated.id, id);
    assert_eq!(memory.get(&id).await.expect("get").text, "I live in Bergen");
    let history = memory.history(&id).await.expect("history");
    let kinds: Vec<MemoryEventKind> = history.iter().map(|e| e.event).collect();
    assert_eq!(kinds, [MemoryEventKind::Add, MemoryEventKind::Update]);
    assert_eq!(history[1].old_text.as_deref(), Some("I live in Oslo"));
    assert_eq!(history[1].new_text.as_deref(), Some("I live in Bergen"));
    let err = memory.update(&id, "   ").await.expect_err("empty text");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// `delete` removes the memory; its history keeps the DELETE.
pub async fn delete_and_history(memory: &dyn Memory) {
    let scope = unique_user("delete");
    let id = add_texts(memory, &scope, &["I have a dog named Rex"])
        .await
        .remove(0);
    memory.delete(&id).await.expect("delete");
    let err = memory.get(&id).await.expect_err("deleted");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = memory.delete(&id).await.expect_err("deleted twice");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let history = memory.history(&id).await.expect("history after delete");
    assert_eq!(
        history.last().map(|e| e.event),
        Some(MemoryEventKind::Delete)
    );
    assert_eq!(
        history.last().and_then(|e| e.old_text.as_deref()),
        Some("I have a dog named Rex")
    );
    let page = memory.list(&scope, Page::first(10)).await.expect("list");
    assert!(page.items.is_empty());
}

/// `add`, `search` and `list` without any scope id are `InvalidInput`.
pub async fn scope_is_required(memory: &dyn Memory) {
    let empty = Scope::default();
    let err = memory
        .add(&[Message::user("x")], &empty, verbatim())
        .await
        .expect_err("add without scope");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = memory
        .search("x", &empty, SearchOptions::new())
        .await
        .expect_err("search without scope");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = memory
        .list(&empty, Page::first(10))
        .await
        .expect_err("list without scope");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// One user's memories never show up for another, and the same text may
/// exist in both scopes.
pub async fn scopes_are_isolated(memory: &dyn Memory) {
    let alice = unique_user("alice");
    let bob = unique_user("bob");
    add_texts(memory, &alice, &["My password hint is blue whale"]).await;
    let shared = "I like green tea";
    assert_eq!(add_texts(memory, &alice, &[shared]).await.len(), 1);
    assert_eq!(
        add_texts(memory, &bob, &[shared]).await.len(),
        1,
        "dedupe is per scope"
    );
    let hits = memory
        .search("password hint blue whale", &bob, SearchOptions::new())
        .await
        .expect("search bob");
    assert!(
        hits.iter().all(|h| h.item.scope.user_id == bob.user_id),
        "{hits:?}"
    );
    assert!(hits.iter().all(|h| !h.item.text.contains("whale")));
    let bobs = memory.list(&bob, Page::first(100)).await.expect("list bob");
    assert_eq!(bobs.items.len(), 1);
    assert_eq!(bobs.items[0].text, shared);
}

/// `get`, `update`, `delete` and `history` of an unknown id are `NotFound`.
pub async fn unknown_ids_are_not_found(memory: &dyn Memory) {
    let id = format!("missing-{}", uuid::Uuid::new_v4());
    let kinds = [
        memory.get(&id).await.map(|_| ()),
        memory.update(&id, "x").await.map(|_| ()),
        memory.delete(&id).await,
        memory.history(&id).await.map(|_| ()),
    ];
    for (name, result) in ["get", "update", "delete", "history"].iter().zip(kinds) {
        let err = result.expect_err("unknown id must fail");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{name}: {err}");
    }
}

/// Run every memory scenario.
pub async fn run_all(memory: &dyn Memory) {
    add_and_get(memory).await;
    duplicates_are_dropped(memory).await;
    search_finds_the_relevant_memory(memory).await;
    list_pages_through_the_scope(memory).await;
    update_and_history(memory).await;
    delete_and_history(memory).await;
    scope_is_required(memory).await;
    scopes_are_isolated(memory).await;
    unknown_ids_are_not_found(memory).await;
}
