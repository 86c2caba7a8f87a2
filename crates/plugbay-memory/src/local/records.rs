//! How a [`MemoryItem`] is laid out as a vector record.
//!
//! The record id is the memory id; the metadata is flat (so every vector
//! backend can hold it) and uses Mem0's payload keys: `data` (the text),
//! `hash`, `user_id`/`agent_id`/`run_id`, `created_at`, `updated_at`. The
//! caller's metadata sits beside them, so a search filter on a caller key
//! needs no rewriting; caller keys may therefore not reuse these names.

use plugbay_core::{Error, ErrorKind, Result};
use serde_json::Value;

use crate::memory::{MemoryItem, Scope};
use crate::types::{Metadata, VectorRecord};

/// Metadata keys the engine owns.
pub(crate) const RESERVED_KEYS: [&str; 7] = [
    "data",
    "hash",
    "user_id",
    "agent_id",
    "run_id",
    "created_at",
    "updated_at",
];

/// Reject caller metadata that would shadow an engine key.
pub(crate) fn check_caller_metadata(metadata: &Metadata) -> Result<()> {
    match RESERVED_KEYS.iter().find(|k| metadata.contains_key(**k)) {
        Some(key) => Err(Error::invalid_input(format!(
            "metadata key `{key}` is reserved by the memory engine"
        ))),
        None => Ok(()),
    }
}

pub(crate) fn to_record(item: &MemoryItem, vector: Vec<f32>) -> VectorRecord {
    let mut metadata = item.metadata.clone();
    metadata.insert("data".into(), item.text.clone().into());
    metadata.insert("hash".into(), item.hash.clone().into());
    for (key, value) in item.scope.pairs() {
        metadata.insert(key.into(), value.into());
    }
    metadata.insert("created_at".into(), item.created_at.into());
    metadata.insert("updated_at".into(), item.updated_at.into());
    VectorRecord::new(item.id.clone(), vector).with_metadata(metadata)
}

pub(crate) fn from_record(id: String, mut metadata: Metadata) -> Result<MemoryItem> {
    let mut take_str = |key: &str| match metadata.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let text = take_str("data").ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol,
            "stored record is not a memory (no `data` text)",
        )
        .with_context("id", id.clone())
    })?;
    let hash = take_str("hash").unwrap_or_else(|| crate::memory::text_hash(&text));
    let scope = Scope {
        user_id: take_str("user_id"),
        agent_id: take_str("agent_id"),
        run_id: take_str("run_id"),
    };
    let created_at = metadata
        .remove("created_at")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let updated_at = metadata
        .remove("updated_at")
        .and_then(|v| v.as_u64())
        .unwrap_or(created_at);
    let mut item = MemoryItem::new(id, text, scope).with_metadata(metadata);
    item.hash = hash;
    item.created_at = created_at;
    item.updated_at = updated_at;
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_record() {
        let mut item = MemoryItem::new("m1", "Likes tea", Scope::user("u").with_run("r"));
        item.metadata.insert("source".into(), "chat".into());
        let record = to_record(&item, vec![1.0]);
        assert_eq!(record.metadata["data"], "Likes tea");
        assert_eq!(record.metadata["user_id"], "u");
        assert!(!record.metadata.contains_key("agent_id"));
        let back = from_record(record.id, record.metadata).unwrap();
        assert_eq!(back, item);
    }

    #[test]
    fn reserved_keys_and_foreign_records_are_refused() {
        let mut meta = Metadata::new();
        meta.insert("hash".into(), "x".into());
        assert_eq!(
            check_caller_metadata(&meta).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            from_record("x".into(), Metadata::new()).unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }
}
