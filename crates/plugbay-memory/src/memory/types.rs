//! Value types of the [`Memory`](crate::Memory) trait.

use std::time::{SystemTime, UNIX_EPOCH};

use plugbay_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::filter::Filter;
use crate::types::Metadata;

/// Who a memory belongs to. At least one id must be set to add, search or
/// list memories. Searching and listing with a scope match every memory
/// whose ids include the given ones (`user_id = alice` finds alice's
/// memories of every agent and run), as Mem0 does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Scope {
    /// The end user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The agent (assistant persona) that keeps the memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// One conversation or session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

impl Scope {
    /// A scope for one user.
    pub fn user(user_id: impl Into<String>) -> Scope {
        Scope::default().with_user(user_id)
    }

    /// A scope for one agent.
    pub fn agent(agent_id: impl Into<String>) -> Scope {
        Scope::default().with_agent(agent_id)
    }

    /// A scope for one run.
    pub fn run(run_id: impl Into<String>) -> Scope {
        Scope::default().with_run(run_id)
    }

    /// Set the user id.
    pub fn with_user(mut self, user_id: impl Into<String>) -> Scope {
        self.user_id = Some(user_id.into());
        self
    }

    /// Set the agent id.
    pub fn with_agent(mut self, agent_id: impl Into<String>) -> Scope {
        self.agent_id = Some(agent_id.into());
        self
    }

    /// Set the run id.
    pub fn with_run(mut self, run_id: impl Into<String>) -> Scope {
        self.run_id = Some(run_id.into());
        self
    }

    /// `(metadata key, id)` for each id that is set.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("user_id", self.user_id.as_deref()),
            ("agent_id", self.agent_id.as_deref()),
            ("run_id", self.run_id.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }

    /// Check that at least one id is set and none is empty.
    ///
    /// # Errors
    /// `ErrorKind::InvalidInput`.
    pub fn validate(&self) -> Result<()> {
        let mut any = false;
        for (key, value) in self.pairs() {
            if value.is_empty() {
                return Err(Error::invalid_input(format!("scope `{key}` is empty")));
            }
            any = true;
        }
        if !any {
            return Err(Error::invalid_input(
                "a memory scope needs at least one of user_id, agent_id, run_id",
            ));
        }
        Ok(())
    }

    /// The filter selecting this scope's memories (`None` for an empty scope).
    pub fn to_filter(&self) -> Option<Filter> {
        let mut parts: Vec<Filter> = self.pairs().map(|(k, v)| Filter::eq(k, v)).collect();
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Filter::And(parts)),
        }
    }
}

/// Milliseconds since the Unix epoch (how memory timestamps are stored and
/// serialised).
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One stored memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemoryItem {
    /// Memory id (a UUID for the local engine).
    pub id: String,
    /// The remembered fact.
    pub text: String,
    /// Who it belongs to.
    pub scope: Scope,
    /// Caller metadata given at add time.
    #[serde(default)]
    pub metadata: Metadata,
    /// Hex SHA-256 of the normalised text (the dedupe key).
    pub hash: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Last update time, milliseconds since the Unix epoch.
    pub updated_at: u64,
}

impl MemoryItem {
    /// A memory created now.
    pub fn new(id: impl Into<String>, text: impl Into<String>, scope: Scope) -> MemoryItem {
        let text = text.into();
        let now = now_millis();
        MemoryItem {
            id: id.into(),
            hash: text_hash(&text),
            text,
            scope,
            metadata: Metadata::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Set the metadata.
    pub fn with_metadata(mut self, metadata: Metadata) -> MemoryItem {
        self.metadata = metadata;
        self
    }
}

/// The dedupe key of a memory text: hex SHA-256 of the text trimmed,
/// lower-cased and with runs of whitespace collapsed to one space.
pub fn text_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let normalised = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScoredMemory {
    /// The memory.
    #[serde(flatten)]
    pub item: MemoryItem,
    /// Similarity to the query; higher is better.
    pub score: f32,
}

impl ScoredMemory {
    /// A hit.
    pub fn new(item: MemoryItem, score: f32) -> ScoredMemory {
        ScoredMemory { item, score }
    }
}

/// What happened to a memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MemoryEventKind {
    /// A new memory was stored.
    Add,
    /// A memory's text changed.
    Update,
    /// A memory was removed.
    Delete,
    /// Considered and left unchanged (reported by some backends, never
    /// recorded in history).
    None,
}

/// One change to a memory, as returned by `add` and kept in its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemoryEvent {
    /// Event id.
    pub id: String,
    /// The memory changed.
    pub memory_id: String,
    /// What happened.
    pub event: MemoryEventKind,
    /// Text before (updates and deletes).
    pub old_text: Option<String>,
    /// Text after (adds and updates).
    pub new_text: Option<String>,
    /// When, milliseconds since the Unix epoch.
    pub at: u64,
}

impl MemoryEvent {
    /// An event happening now, with a fresh id.
    pub fn new(
        memory_id: impl Into<String>,
        event: MemoryEventKind,
        old_text: Option<String>,
        new_text: Option<String>,
    ) -> MemoryEvent {
        MemoryEvent {
            id: uuid::Uuid::new_v4().to_string(),
            memory_id: memory_id.into(),
            event,
            old_text,
            new_text,
            at: now_millis(),
        }
    }
}

/// Options of [`Memory::add`](crate::Memory::add).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AddOptions {
    /// Let the LLM extract and reconcile facts (default `true`). With
    /// `false` every user message is stored verbatim.
    pub infer: bool,
    /// Metadata stored with every memory this call creates.
    #[serde(default)]
    pub metadata: Metadata,
}

impl Default for AddOptions {
    fn default() -> AddOptions {
        AddOptions {
            infer: true,
            metadata: Metadata::new(),
        }
    }
}

impl AddOptions {
    /// The defaults (`infer: true`, no metadata).
    pub fn new() -> AddOptions {
        AddOptions::default()
    }

    /// Set [`infer`](Self::infer).
    pub fn infer(mut self, infer: bool) -> AddOptions {
        self.infer = infer;
        self
    }

    /// Replace the metadata.
    pub fn metadata(mut self, metadata: Metadata) -> AddOptions {
        self.metadata = metadata;
        self
    }

    /// Set one metadata field.
    pub fn field(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> AddOptions {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// Options of [`Memory::search`](crate::Memory::search).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SearchOptions {
    /// Most results (1-1000, default 10).
    pub top_k: usize,
    /// Drop hits scoring below this.
    pub threshold: Option<f32>,
    /// Extra filter on memory metadata, and-ed with the scope.
    pub filter: Option<Filter>,
}

impl Default for SearchOptions {
    fn default() -> SearchOptions {
        SearchOptions {
            top_k: 10,
            threshold: None,
            filter: None,
        }
    }
}

impl SearchOptions {
    /// The defaults (10 results, no threshold, no filter).
    pub fn new() -> SearchOptions {
        SearchOptions::default()
    }

    /// Set [`top_k`](Self::top_k).
    pub fn top_k(mut self, top_k: usize) -> SearchOptions {
        self.top_k = top_k;
        self
    }

    /// Set [`threshold`](Self::threshold).
    pub fn threshold(mut self, threshold: f32) -> SearchOptions {
        self.threshold = Some(threshold);
        self
    }

    /// Set [`filter`](Self::filter).
    pub fn filter(mut self, filter: Filter) -> SearchOptions {
        self.filter = Some(filter);
        self
    }
}

/// A page request: at most `limit` items after `cursor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Page {
    /// Most items (at least 1, default 100).
    pub limit: usize,
    /// The previous page's `next_cursor` (opaque).
    pub cursor: Option<String>,
}

impl Default for Page {
    fn default() -> Page {
        Page {
            limit: 100,
            cursor: None,
        }
    }
}

impl Page {
    /// The first page of `limit` items.
    pub fn first(limit: usize) -> Page {
        Page {
            limit,
            cursor: None,
        }
    }

    /// The page after `cursor`.
    pub fn after(limit: usize, cursor: impl Into<String>) -> Page {
        Page {
            limit,
            cursor: Some(cursor.into()),
        }
    }
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PageOf<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor of the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

impl<T> PageOf<T> {
    /// A page.
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> PageOf<T> {
        PageOf { items, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    #[test]
    fn scope_needs_an_id() {
        assert_eq!(
            Scope::default().validate().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            Scope::user("").validate().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert!(Scope::agent("a").with_run("r").validate().is_ok());
    }

    #[test]
    fn scope_filter_ands_the_ids() {
        assert_eq!(Scope::default().to_filter(), None);
        assert_eq!(
            Scope::user("u").to_filter(),
            Some(Filter::eq("user_id", "u"))
        );
        assert_eq!(
            Scope::user("u").with_run("r").to_filter(),
            Some(Filter::And(vec![
                Filter::eq("user_id", "u"),
                Filter::eq("run_id", "r")
            ]))
        );
    }

    #[test]
    fn hash_ignores_case_and_spacing_only() {
        assert_eq!(text_hash("Likes  tea\n"), text_hash("likes tea"));
        assert_ne!(text_hash("likes tea"), text_hash("likes coffee"));
        assert_eq!(text_hash("x").len(), 64);
    }

    #[test]
    fn options_json_fills_defaults() {
        let search: SearchOptions = serde_json::from_str(r#"{"threshold": 0.3}"#).unwrap();
        assert_eq!(search.top_k, 10);
        assert_eq!(search.threshold, Some(0.3));
        let add: AddOptions = serde_json::from_str(r#"{"metadata": {"k": 1}}"#).unwrap();
        assert!(add.infer);
        assert_eq!(add.metadata["k"], 1);
        let page: Page = serde_json::from_str(r#"{"cursor": "c"}"#).unwrap();
        assert_eq!(page, Page::after(100, "c"));
    }

    #[test]
    fn event_kinds_serialise_like_mem0() {
        assert_eq!(
            serde_json::to_string(&MemoryEventKind::Update).unwrap(),
            "\"UPDATE\""
        );
        let item = ScoredMemory::new(MemoryItem::new("m", "t", Scope::user("u")), 0.5);
        let v = serde_json::to_value(&item).unwrap();
        assert_eq!(v["text"], "t");
        assert_eq!(v["score"], 0.5);
        assert_eq!(v["scope"]["user_id"], "u");
    }
}
