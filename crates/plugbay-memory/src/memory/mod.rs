//! The [`Memory`] trait: long-term conversation memory.

mod types;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use plugbay_core::Result;
use plugbay_llm::Message;

pub use types::{
    AddOptions, MemoryEvent, MemoryEventKind, MemoryItem, Page, PageOf, Scope, ScoredMemory,
    SearchOptions, now_millis, text_hash,
};

/// Long-term memory of facts learned from conversations, scoped to a user,
/// agent and/or run (the Mem0 model).
///
/// Contract shared by every backend (checked by `conformance::memory`,
/// feature `conformance`):
///
/// - `add`, `search` and `list` need a [`Scope`] with at least one id,
///   otherwise `ErrorKind::InvalidInput`;
/// - one scope never sees another's memories;
/// - `get`, `update`, `delete` and `history` of an unknown id are
///   `ErrorKind::NotFound`;
/// - texts are deduplicated by [`text_hash`] within a scope.
#[async_trait]
pub trait Memory: Send + Sync + Debug {
    /// The backend's short name (`"local"`, `"mem0"`).
    fn backend(&self) -> &'static str;

    /// Learn from `messages`. With `opts.infer` the backend extracts facts
    /// and reconciles them with existing memories (see the backend's
    /// policy); without it every user message is stored as it is. Returns
    /// the changes made (no `None` events); exact duplicates are dropped.
    async fn add(
        &self,
        messages: &[Message],
        scope: &Scope,
        opts: AddOptions,
    ) -> Result<Vec<MemoryEvent>>;

    /// The scope's memories most relevant to `query`, best first, at most
    /// `opts.top_k`, none scoring below `opts.threshold`.
    async fn search(
        &self,
        query: &str,
        scope: &Scope,
        opts: SearchOptions,
    ) -> Result<Vec<ScoredMemory>>;

    /// One memory by id.
    async fn get(&self, id: &str) -> Result<MemoryItem>;

    /// A page of the scope's memories in a stable, backend-defined order.
    async fn list(&self, scope: &Scope, page: Page) -> Result<PageOf<MemoryItem>>;

    /// Replace a memory's text (recorded as an `Update` event); `InvalidInput`
    /// for an empty text.
    async fn update(&self, id: &str, text: &str) -> Result<MemoryItem>;

    /// Delete a memory (recorded as a `Delete` event).
    async fn delete(&self, id: &str) -> Result<()>;

    /// A memory's events, oldest first; still available after a delete.
    async fn history(&self, id: &str) -> Result<Vec<MemoryEvent>>;
}

/// A shared, type-erased [`Memory`].
pub type DynMemory = Arc<dyn Memory>;

macro_rules! forward_memory {
    ($ty:ty) => {
        #[async_trait]
        impl<T: Memory + ?Sized> Memory for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            async fn add(
                &self,
                messages: &[Message],
                scope: &Scope,
                opts: AddOptions,
            ) -> Result<Vec<MemoryEvent>> {
                (**self).add(messages, scope, opts).await
            }
            async fn search(
                &self,
                query: &str,
                scope: &Scope,
                opts: SearchOptions,
            ) -> Result<Vec<ScoredMemory>> {
                (**self).search(query, scope, opts).await
            }
            async fn get(&self, id: &str) -> Result<MemoryItem> {
                (**self).get(id).await
            }
            async fn list(&self, scope: &Scope, page: Page) -> Result<PageOf<MemoryItem>> {
                (**self).list(scope, page).await
            }
            async fn update(&self, id: &str, text: &str) -> Result<MemoryItem> {
                (**self).update(id, text).await
            }
            async fn delete(&self, id: &str) -> Result<()> {
                (**self).delete(id).await
            }
            async fn history(&self, id: &str) -> Result<Vec<MemoryEvent>> {
                (**self).history(id).await
            }
        }
    };
}

forward_memory!(Arc<T>);
forward_memory!(Box<T>);

/// Conveniences over any [`Memory`].
#[async_trait]
pub trait MemoryExt: Memory {
    /// Store `text` as one memory, verbatim (no inference).
    async fn remember(&self, text: &str, scope: &Scope) -> Result<Vec<MemoryEvent>> {
        self.add(
            &[Message::user(text)],
            scope,
            AddOptions::new().infer(false),
        )
        .await
    }
}

impl<M: Memory + ?Sized> MemoryExt for M {}
