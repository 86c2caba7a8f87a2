//! [`LocalMemoryBuilder`]: how a [`LocalMemory`] is put together.

use std::sync::Arc;

use plugbay_core::{Error, ErrorKind, Result};
use plugbay_llm::{DynChatModel, DynEmbeddingModel};
use tokio::sync::OnceCell;

use super::{
    BACKEND, DynHistoryStore, HybridSearch, InMemoryHistory, LocalMemory, ReconcilePolicy,
};
use crate::store::DynVectorStore;
use crate::types::validate_collection_name;

/// Builder of [`LocalMemory`]: the three models/stores are required.
#[derive(Debug, Default)]
pub struct LocalMemoryBuilder {
    llm: Option<DynChatModel>,
    embedder: Option<DynEmbeddingModel>,
    store: Option<DynVectorStore>,
    collection: Option<String>,
    policy: ReconcilePolicy,
    max_shown: Option<usize>,
    history: Option<DynHistoryStore>,
    hybrid: HybridSearch,
}

impl LocalMemoryBuilder {
    /// The chat model used to extract facts.
    pub fn chat_model(mut self, llm: DynChatModel) -> Self {
        self.llm = Some(llm);
        self
    }

    /// The embedding model for memories and queries.
    pub fn embedding_model(mut self, embedder: DynEmbeddingModel) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// Where memories are stored.
    pub fn vector_store(mut self, store: DynVectorStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The collection name (default `"memories"`).
    pub fn collection(mut self, name: impl Into<String>) -> Self {
        self.collection = Some(name.into());
        self
    }

    /// The reconciliation policy (default [`ReconcilePolicy::AddOnly`]).
    pub fn policy(mut self, policy: ReconcilePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How many existing memories the extraction prompt shows (default 10).
    pub fn max_existing_in_prompt(mut self, n: usize) -> Self {
        self.max_shown = Some(n);
        self
    }

    /// Where the event history goes (default [`InMemoryHistory`]).
    pub fn history_store(mut self, history: DynHistoryStore) -> Self {
        self.history = Some(history);
        self
    }

    /// How search blends lexical and vector scores (default
    /// [`HybridSearch::default`]; [`HybridSearch::off`] for purely
    /// semantic search).
    pub fn hybrid(mut self, hybrid: HybridSearch) -> Self {
        self.hybrid = hybrid;
        self
    }

    /// Build the engine.
    ///
    /// # Errors
    /// `ErrorKind::Config` when a model or the store is missing or the
    /// collection name is invalid.
    pub fn build(self) -> Result<LocalMemory> {
        let missing =
            |what: &str| Error::config(format!("LocalMemory needs {what}")).with_provider(BACKEND);
        let collection = self.collection.unwrap_or_else(|| "memories".to_owned());
        validate_collection_name(&collection).map_err(|e| e.with_kind(ErrorKind::Config))?;
        Ok(LocalMemory {
            llm: self.llm.ok_or_else(|| missing("a chat model"))?,
            embedder: self.embedder.ok_or_else(|| missing("an embedding model"))?,
            store: self.store.ok_or_else(|| missing("a vector store"))?,
            collection,
            policy: self.policy,
            max_shown: self.max_shown.unwrap_or(10),
            dims: OnceCell::new(),
            writes: tokio::sync::Mutex::new(()),
            history: self
                .history
                .unwrap_or_else(|| Arc::new(InMemoryHistory::new())),
            hybrid: self.hybrid,
        })
    }
}
