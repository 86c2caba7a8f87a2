//! The write path of `add`: the closest existing memories for the
//! extraction prompt, duplicate detection by hash, and applying a
//! reconciled plan in one embedding batch and one store write.

use std::collections::HashSet;

use plugbay_core::{Error, ErrorKind, Result};
use plugbay_llm::Message;

use super::reconcile::{self, Action};
use super::{LocalMemory, prompt, records, scope_filter};
use crate::filter::Filter;
use crate::memory::{MemoryEvent, MemoryEventKind, MemoryItem, Scope, now_millis, text_hash};
use crate::types::{Metadata, Selector, VectorQuery};

impl LocalMemory {
    /// The scope's memories closest to `vector`, for the prompt.
    async fn closest(&self, vector: Vec<f32>, filter: Filter) -> Result<Vec<MemoryItem>> {
        if self.max_shown == 0 {
            return Ok(Vec::new());
        }
        let hits = self
            .store
            .query(
                &self.collection,
                VectorQuery::new(vector, self.max_shown).filter(filter),
            )
            .await?;
        hits.into_iter()
            .map(|hit| records::from_record(hit.id, hit.metadata))
            .collect()
    }

    /// Whether the scope already holds a memory with this hash.
    async fn is_duplicate(&self, filter: &Filter, hash: &str) -> Result<bool> {
        let f = filter.clone().and(Filter::eq("hash", hash));
        Ok(self.store.count(&self.collection, Some(f)).await? > 0)
    }

    /// Apply a plan: drop duplicates, embed what is new in one batch, write
    /// once, record history. Everything fallible that does not write comes
    /// first.
    pub(super) async fn apply(
        &self,
        actions: Vec<Action>,
        shown: &[MemoryItem],
        scope: &Scope,
        metadata: &Metadata,
    ) -> Result<Vec<MemoryEvent>> {
        let filter = scope_filter(scope)?;
        // Without a collection there is nothing to be a duplicate of.
        let collection_exists = self.ready().await?;
        let mut seen = HashSet::new();
        let mut writes: Vec<(MemoryItem, Option<String>)> = Vec::new();
        let mut deletes: Vec<&MemoryItem> = Vec::new();
        for action in actions {
            match action {
                Action::Add(text) => {
                    let hash = text_hash(&text);
                    if !seen.insert(hash.clone())
                        || (collection_exists && self.is_duplicate(&filter, &hash).await?)
                    {
                        continue;
                    }
                    let id = uuid::Uuid::new_v4().to_string();
                    let item =
                        MemoryItem::new(id, text, scope.clone()).with_metadata(metadata.clone());
                    writes.push((item, None));
                }
                Action::Update(i, text) => {
                    let Some(old) = shown.get(i) else { continue };
                    if text_hash(&text) == old.hash {
                        continue;
                    }
                    let mut item = old.clone();
                    item.hash = text_hash(&text);
                    item.text = text;
                    item.updated_at = now_millis();
                    writes.push((item, Some(old.text.clone())));
                }
                Action::Delete(i) => deletes.extend(shown.get(i)),
            }
        }
        let texts: Vec<String> = writes.iter().map(|(item, _)| item.text.clone()).collect();
        let vectors = self.embed(&texts).await?;
        let mut events = Vec::new();
        if !writes.is_empty() {
            let records = writes
                .iter()
                .zip(vectors)
                .map(|((item, _), v)| records::to_record(item, v))
                .collect();
            self.store.upsert(&self.collection, records).await?;
        }
        for (item, old) in writes {
            let kind = if old.is_some() {
                MemoryEventKind::Update
            } else {
                MemoryEventKind::Add
            };
            events.push(MemoryEvent::new(item.id, kind, old, Some(item.text)));
        }
        if !deletes.is_empty() {
            let ids = deletes.iter().map(|item| item.id.clone()).collect();
            self.store
                .delete(&self.collection, Selector::Ids(ids))
                .await?;
            for item in deletes {
                events.push(MemoryEvent::new(
                    item.id.clone(),
                    MemoryEventKind::Delete,
                    Some(item.text.clone()),
                    None,
                ));
            }
        }
        self.record_events(&events).await?;
        Ok(events)
    }

    pub(super) async fn add_inferred(
        &self,
        messages: &[Message],
        scope: &Scope,
        metadata: &Metadata,
    ) -> Result<Vec<MemoryEvent>> {
        let turns = prompt::conversation(messages);
        if turns.is_empty() {
            return Ok(Vec::new());
        }
        let probe_text = turns
            .iter()
            .map(|(_, text)| text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let probe = self.embed(&[probe_text]).await?.pop().ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                "the embedding model returned no vector",
            )
        })?;
        let shown = self.closest(probe, scope_filter(scope)?).await?;
        let request = prompt::extraction_request(
            &turns,
            &shown,
            self.policy,
            self.llm.capabilities().json_schema,
        );
        let reply = self.llm.chat(request).await?;
        let actions = reconcile::parse_reply(&reply.text(), shown.len(), self.policy)?;
        self.apply(actions, &shown, scope, metadata).await
    }
}
