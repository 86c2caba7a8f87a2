//! [`LocalMemory`]: a Mem0-style memory engine over any chat model,
//! embedding model and vector store.

mod builder;
mod history;
mod hybrid;
mod ingest;
mod prompt;
mod reconcile;
mod records;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_search;

use std::fmt;

use async_trait::async_trait;
use plugbay_core::{Error, ErrorKind, Result};
use plugbay_llm::{DynChatModel, DynEmbeddingModel, Message, Role, embed_in_batches};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::filter::Filter;
use crate::memory::{
    AddOptions, Memory, MemoryEvent, MemoryEventKind, MemoryItem, Page, PageOf, Scope,
    ScoredMemory, SearchOptions, now_millis, text_hash,
};
use crate::store::DynVectorStore;
use crate::types::{CollectionSpec, Metric, ScrollRequest, Selector};

pub use builder::LocalMemoryBuilder;
pub use history::{DynHistoryStore, HistoryStore, InMemoryHistory, JsonlHistory};
pub use hybrid::HybridSearch;
use reconcile::Action;

const BACKEND: &str = "local";

/// What the engine lets the model do to existing memories.
///
/// Letting an LLM rewrite or delete memories is what makes users lose
/// memories they cared about, so the default only ever adds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcilePolicy {
    /// Only ADD new memories (exact duplicates dropped by hash); UPDATE and
    /// DELETE answers are ignored, and the prompt forbids them.
    #[default]
    AddOnly,
    /// Also apply UPDATE and DELETE, but only to memories that were shown
    /// to the model; an id the model invents does nothing.
    AllowUpdateDelete,
}

/// A Mem0-style memory engine running in process over a [`DynChatModel`],
/// a [`DynEmbeddingModel`] and a [`DynVectorStore`].
///
/// `add` with `infer: true` makes ONE JSON-mode LLM call whose prompt holds
/// the conversation and the scope's closest existing memories (ids
/// remapped to `"0"`, `"1"`, ...); the answer is applied under the
/// [`ReconcilePolicy`]. New and updated texts are embedded in one batch
/// call, exact duplicates (same [`text_hash`] in the scope) are dropped,
/// and nothing is written when the model's answer is unusable.
///
/// Memories live in one vector-store collection (default `"memories"`,
/// cosine), created on first use with the embedder's dimensions. The event
/// history goes to a [`HistoryStore`]: [`InMemoryHistory`] by default,
/// or a [`JsonlHistory`] file so it survives restarts (pair it with a
/// persistent vector store, an `InMemoryVectorStore` snapshot say). Writes
/// through one engine are serialised so that deduplication holds under
/// concurrent `add`s.
///
/// `search` is hybrid by default ([`HybridSearch`]): the vector score is
/// blended with BM25 over the candidate texts, so an exact rare name is
/// found even when the embedding model misses it.
///
/// `list` needs a store that supports [`scroll`](crate::VectorStore::scroll)
/// and returns memories ordered by id.
pub struct LocalMemory {
    llm: DynChatModel,
    embedder: DynEmbeddingModel,
    store: DynVectorStore,
    collection: String,
    policy: ReconcilePolicy,
    max_shown: usize,
    dims: OnceCell<usize>,
    writes: tokio::sync::Mutex<()>,
    history: DynHistoryStore,
    hybrid: HybridSearch,
}

impl fmt::Debug for LocalMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalMemory")
            .field("llm", &self.llm.provider())
            .field("embedder", &self.embedder.provider())
            .field("store", &self.store.backend())
            .field("collection", &self.collection)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn op(err: Error, operation: &'static str) -> Error {
    err.with_provider(BACKEND).with_operation(operation)
}

fn scope_filter(scope: &Scope) -> Result<Filter> {
    scope.validate()?;
    scope
        .to_filter()
        .ok_or_else(|| Error::internal("a validated scope has no filter"))
}

impl LocalMemory {
    /// A builder.
    pub fn builder() -> LocalMemoryBuilder {
        LocalMemoryBuilder::default()
    }

    /// The reconciliation policy in force.
    pub fn policy(&self) -> ReconcilePolicy {
        self.policy
    }

    async fn record_events(&self, events: &[MemoryEvent]) -> Result<()> {
        self.history.append(events).await
    }

    /// Create the collection once, sized by the first vector seen.
    async fn ensure(&self, dims: usize) -> Result<()> {
        let known = *self
            .dims
            .get_or_try_init(|| async {
                self.store
                    .ensure_collection(CollectionSpec::new(&self.collection, dims, Metric::Cosine))
                    .await
                    .map(|()| dims)
            })
            .await?;
        if known != dims {
            return Err(Error::config(format!(
                "the embedding model returned {dims} dimensions, the memory collection has {known}"
            )));
        }
        Ok(())
    }

    /// Whether the collection exists, creating it when the embedder says
    /// its dimensions up front.
    async fn ready(&self) -> Result<bool> {
        if self.dims.initialized() {
            return Ok(true);
        }
        match self.embedder.dimensions() {
            Some(dims) => self.ensure(dims).await.map(|()| true),
            // A restored store may hold the collection already.
            None => match self.store.count(&self.collection, None).await {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            },
        }
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let embeddings = embed_in_batches(texts, self.embedder.max_batch(), |chunk| {
            self.embedder.embed(chunk)
        })
        .await?;
        if embeddings.vectors.len() != texts.len() {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "asked for {} embeddings, got {}",
                    texts.len(),
                    embeddings.vectors.len()
                ),
            ));
        }
        if let Some(first) = embeddings.vectors.first() {
            self.ensure(first.len()).await?;
        }
        Ok(embeddings.vectors)
    }

    async fn load(&self, id: &str) -> Result<MemoryItem> {
        let not_found = || Error::not_found(format!("no memory with id `{id}`"));
        if !self.ready().await? {
            return Err(not_found());
        }
        let mut found = match self.store.get(&self.collection, &[id.to_owned()]).await {
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(not_found()),
            other => other?,
        };
        match found.pop() {
            Some(record) => records::from_record(record.id, record.metadata),
            None => Err(not_found()),
        }
    }
}

#[async_trait]
impl Memory for LocalMemory {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn add(
        &self,
        messages: &[Message],
        scope: &Scope,
        opts: AddOptions,
    ) -> Result<Vec<MemoryEvent>> {
        scope.validate().map_err(|e| op(e, "add"))?;
        records::check_caller_metadata(&opts.metadata).map_err(|e| op(e, "add"))?;
        let _writing = self.writes.lock().await;
        let result = if opts.infer {
            self.add_inferred(messages, scope, &opts.metadata).await
        } else {
            let actions = messages
                .iter()
                .filter(|m| m.role == Role::User)
                .map(|m| m.text().trim().to_owned())
                .filter(|t| !t.is_empty())
                .map(Action::Add)
                .collect();
            self.apply(actions, &[], scope, &opts.metadata).await
        };
        result.map_err(|e| op(e, "add"))
    }

    async fn search(
        &self,
        query: &str,
        scope: &Scope,
        opts: SearchOptions,
    ) -> Result<Vec<ScoredMemory>> {
        let check = || -> Result<Filter> {
            let scope = scope_filter(scope)?;
            if query.trim().is_empty() {
                return Err(Error::invalid_input("the search query is empty"));
            }
            if !(1..=1000).contains(&opts.top_k) {
                return Err(Error::invalid_input("top_k must be between 1 and 1000"));
            }
            match &opts.filter {
                Some(f) => {
                    f.validate()?;
                    Ok(scope.and(f.clone()))
                }
                None => Ok(scope),
            }
        };
        let filter = check().map_err(|e| op(e, "search"))?;
        self.ranked(query, filter, &opts)
            .await
            .map_err(|e| op(e, "search"))
    }

    async fn get(&self, id: &str) -> Result<MemoryItem> {
        self.load(id).await.map_err(|e| op(e, "get"))
    }

    async fn list(&self, scope: &Scope, page: Page) -> Result<PageOf<MemoryItem>> {
        let run = async {
            let filter = scope_filter(scope)?;
            if !(1..=1000).contains(&page.limit) {
                return Err(Error::invalid_input(
                    "page limit must be between 1 and 1000",
                ));
            }
            if !self.ready().await? {
                return Ok(PageOf::new(Vec::new(), None));
            }
            let req = ScrollRequest::new(page.limit)
                .filter(Some(filter))
                .cursor(page.cursor);
            let result = self.store.scroll(&self.collection, req).await?;
            let items = result
                .records
                .into_iter()
                .map(|r| records::from_record(r.id, r.metadata))
                .collect::<Result<Vec<_>>>()?;
            Ok(PageOf::new(items, result.next_cursor))
        };
        run.await.map_err(|e| op(e, "list"))
    }

    async fn update(&self, id: &str, text: &str) -> Result<MemoryItem> {
        let run = async {
            let text = text.trim();
            if text.is_empty() {
                return Err(Error::invalid_input("a memory text cannot be empty"));
            }
            let _writing = self.writes.lock().await;
            let old = self.load(id).await?;
            let mut item = old.clone();
            item.text = text.to_owned();
            item.hash = text_hash(text);
            item.updated_at = now_millis();
            let vector = self
                .embed(&[item.text.clone()])
                .await?
                .pop()
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Protocol,
                        "the embedding model returned no vector",
                    )
                })?;
            self.store
                .upsert(&self.collection, vec![records::to_record(&item, vector)])
                .await?;
            self.record_events(&[MemoryEvent::new(
                id,
                MemoryEventKind::Update,
                Some(old.text),
                Some(item.text.clone()),
            )])
            .await?;
            Ok(item)
        };
        run.await.map_err(|e| op(e, "update"))
    }

    async fn delete(&self, id: &str) -> Result<()> {
        let run = async {
            let _writing = self.writes.lock().await;
            let old = self.load(id).await?;
            self.store
                .delete(&self.collection, Selector::Ids(vec![id.to_owned()]))
                .await?;
            self.record_events(&[MemoryEvent::new(
                id,
                MemoryEventKind::Delete,
                Some(old.text),
                None,
            )])
            .await?;
            Ok(())
        };
        run.await.map_err(|e| op(e, "delete"))
    }

    async fn history(&self, id: &str) -> Result<Vec<MemoryEvent>> {
        let events = self
            .history
            .events(id)
            .await
            .map_err(|e| op(e, "history"))?;
        if events.is_empty() {
            return Err(op(
                Error::not_found(format!("no history for memory `{id}`")),
                "history",
            ));
        }
        Ok(events)
    }
}
