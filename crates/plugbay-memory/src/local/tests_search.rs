//! Engine tests for hybrid search, filtered and scoped search, and
//! history that survives a restart.

use std::sync::Arc;

use async_trait::async_trait;
use plugbay_llm::{EmbeddingModel, Embeddings, HashingEmbedder, MockChatModel};

use super::*;
use crate::in_memory::InMemoryVectorStore;
use crate::memory::MemoryExt;

/// An embedding model that knows nothing: every text gets nearly the same
/// vector (only the word count nudges it), like a model that has never
/// seen a rare name.
#[derive(Debug)]
struct ClueslessEmbedder;

#[async_trait]
impl EmbeddingModel for ClueslessEmbedder {
    fn provider(&self) -> &str {
        "clueless"
    }
    fn model(&self) -> &str {
        "clueless"
    }
    fn dimensions(&self) -> Option<usize> {
        Some(2)
    }
    fn max_batch(&self) -> usize {
        64
    }
    async fn embed(&self, inputs: &[String]) -> plugbay_core::Result<Embeddings> {
        let vectors = inputs
            .iter()
            .map(|t| vec![1.0, t.split_whitespace().count() as f32 * 0.1])
            .collect();
        Ok(Embeddings::new(vectors, "clueless"))
    }
}

fn engine(embedder: DynEmbeddingModel, hybrid: HybridSearch) -> LocalMemory {
    LocalMemory::builder()
        .chat_model(Arc::new(MockChatModel::new()))
        .embedding_model(embedder)
        .vector_store(Arc::new(InMemoryVectorStore::new()))
        .hybrid(hybrid)
        .build()
        .unwrap()
}

const FACTS: [&str; 8] = [
    "Works at a logistics company in Rotterdam",
    "Has two children and a dog",
    "Prefers window seats on long flights",
    "Their manager is called Zyxelbrook",
    "Allergic to penicillin",
    "Plays chess on Sunday evenings",
    "Drinks green tea without sugar",
    "Is learning Portuguese for a trip",
];

#[tokio::test]
async fn an_exact_rare_name_ranks_first_when_the_embedding_is_weak() {
    let alice = Scope::user("alice");
    let hybrid = engine(Arc::new(ClueslessEmbedder), HybridSearch::default());
    let semantic = engine(Arc::new(ClueslessEmbedder), HybridSearch::off());
    for memory in [&hybrid, &semantic] {
        for fact in FACTS {
            memory.remember(fact, &alice).await.unwrap();
        }
    }
    let query = "what do you know about Zyxelbrook?";
    let hits = hybrid
        .search(query, &alice, SearchOptions::new().top_k(3))
        .await
        .unwrap();
    assert_eq!(
        hits[0].item.text, "Their manager is called Zyxelbrook",
        "{hits:?}"
    );
    assert!(hits[0].score > hits[1].score);
    // The embedding alone cannot tell the facts apart by meaning.
    let plain = semantic
        .search(query, &alice, SearchOptions::new().top_k(8))
        .await
        .unwrap();
    let name_rank = plain
        .iter()
        .position(|h| h.item.text.contains("Zyxelbrook"))
        .unwrap();
    assert_ne!(
        name_rank, 0,
        "the weak embedder should not find it alone: {plain:?}"
    );
}

#[tokio::test]
async fn hybrid_threshold_applies_to_the_blended_score() {
    let alice = Scope::user("alice");
    let memory = engine(
        Arc::new(HashingEmbedder::new(64)),
        HybridSearch::new().lexical_weight(0.5),
    );
    for fact in FACTS {
        memory.remember(fact, &alice).await.unwrap();
    }
    let all = memory
        .search("Zyxelbrook manager", &alice, SearchOptions::new().top_k(8))
        .await
        .unwrap();
    assert_eq!(all.len(), 8);
    let cut = (all[0].score + all[1].score) / 2.0;
    let above = memory
        .search(
            "Zyxelbrook manager",
            &alice,
            SearchOptions::new().top_k(8).threshold(cut),
        )
        .await
        .unwrap();
    assert_eq!(above.len(), 1);
    assert_eq!(above[0].item.id, all[0].item.id);
}

#[tokio::test]
async fn scoped_and_filtered_search() {
    let memory = engine(Arc::new(HashingEmbedder::new(128)), HybridSearch::default());
    let travel = Scope::user("alice").with_agent("travel");
    let health = Scope::user("alice").with_agent("health");
    let add = |text: &'static str, scope: Scope, year: i64| {
        let memory = &memory;
        async move {
            let opts = AddOptions::new()
                .infer(false)
                .field("year", year)
                .field("kind", "fact");
            memory
                .add(&[Message::user(text)], &scope, opts)
                .await
                .unwrap();
        }
    };
    add("Booked a flight to Lisbon", travel.clone(), 2023).await;
    add("Flight to Oslo was delayed", travel.clone(), 2024).await;
    add("Takes a flight-sickness pill", health.clone(), 2024).await;
    add("Flight attendant by profession", Scope::user("bob"), 2024).await;

    let texts = |hits: Vec<ScoredMemory>| {
        let mut t: Vec<String> = hits.into_iter().map(|h| h.item.text).collect();
        t.sort();
        t
    };
    // A user scope sees every agent's memories of that user, and no others.
    let all_alice = memory
        .search("flight", &Scope::user("alice"), SearchOptions::new())
        .await
        .unwrap();
    assert_eq!(all_alice.len(), 3);
    // A narrower scope sees only its own.
    let only_travel = memory
        .search("flight", &travel, SearchOptions::new())
        .await
        .unwrap();
    assert_eq!(
        texts(only_travel),
        ["Booked a flight to Lisbon", "Flight to Oslo was delayed"]
    );
    // Metadata filters are and-ed with the scope.
    let recent = memory
        .search(
            "flight",
            &Scope::user("alice"),
            SearchOptions::new().filter(Filter::gte("year", 2024).and(Filter::eq("kind", "fact"))),
        )
        .await
        .unwrap();
    assert_eq!(
        texts(recent),
        ["Flight to Oslo was delayed", "Takes a flight-sickness pill"]
    );
    let err = memory
        .search(
            "flight",
            &travel,
            SearchOptions::new().filter(Filter::And(vec![])),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn history_goes_to_the_injected_store() {
    let history = Arc::new(InMemoryHistory::new());
    let memory = LocalMemory::builder()
        .chat_model(Arc::new(MockChatModel::new()))
        .embedding_model(Arc::new(HashingEmbedder::new(32)))
        .vector_store(Arc::new(InMemoryVectorStore::new()))
        .history_store(history.clone())
        .build()
        .unwrap();
    let id = memory
        .remember("Likes jazz", &Scope::user("u"))
        .await
        .unwrap()[0]
        .memory_id
        .clone();
    memory.update(&id, "Likes bebop").await.unwrap();
    let events = history.events(&id).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.event).collect::<Vec<_>>(),
        [MemoryEventKind::Add, MemoryEventKind::Update]
    );
}

#[tokio::test]
async fn memories_and_history_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("vectors.snapshot");
    let log = dir.path().join("history.jsonl");
    let alice = Scope::user("alice");
    let open = || {
        let store = Arc::new(InMemoryVectorStore::with_snapshot(&snapshot).unwrap());
        let memory = LocalMemory::builder()
            .chat_model(Arc::new(MockChatModel::new()))
            .embedding_model(Arc::new(HashingEmbedder::new(64)))
            .vector_store(store.clone())
            .history_store(Arc::new(JsonlHistory::open(&log).unwrap()))
            .build()
            .unwrap();
        (store, memory)
    };
    let (kept, gone) = {
        let (store, memory) = open();
        let kept = memory.remember("Lives in Oslo", &alice).await.unwrap()[0]
            .memory_id
            .clone();
        let gone = memory.remember("Has a cat", &alice).await.unwrap()[0]
            .memory_id
            .clone();
        memory.update(&kept, "Lives in Bergen").await.unwrap();
        memory.delete(&gone).await.unwrap();
        store.flush().await.unwrap();
        (kept, gone)
    };
    let (_store, memory) = open();
    assert_eq!(memory.get(&kept).await.unwrap().text, "Lives in Bergen");
    assert_eq!(
        memory.get(&gone).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let kinds = |events: Vec<MemoryEvent>| events.into_iter().map(|e| e.event).collect::<Vec<_>>();
    assert_eq!(
        kinds(memory.history(&kept).await.unwrap()),
        [MemoryEventKind::Add, MemoryEventKind::Update]
    );
    assert_eq!(
        kinds(memory.history(&gone).await.unwrap()),
        [MemoryEventKind::Add, MemoryEventKind::Delete]
    );
    let hits = memory
        .search("Bergen", &alice, SearchOptions::new())
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    // Dedupe still sees the restored memory.
    assert!(
        memory
            .remember("lives in bergen", &alice)
            .await
            .unwrap()
            .is_empty()
    );
}
