//! Where [`LocalMemory`](super::LocalMemory) keeps its event history:
//! the [`HistoryStore`] trait, [`InMemoryHistory`] (the default) and
//! [`JsonlHistory`], an append-only JSON-lines file that survives restarts.

use std::collections::HashMap;
use std::fmt::Debug;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use plugbay_core::{Error, Result};

use crate::memory::MemoryEvent;

/// An append-only log of [`MemoryEvent`]s, read back per memory.
#[async_trait]
pub trait HistoryStore: Send + Sync + Debug {
    /// Record `events` (oldest first). When this returns `Ok`, a durable
    /// store has made them durable.
    async fn append(&self, events: &[MemoryEvent]) -> Result<()>;

    /// The events of `memory_id`, oldest first; empty when there are none.
    async fn events(&self, memory_id: &str) -> Result<Vec<MemoryEvent>>;
}

/// A shared, type-erased [`HistoryStore`].
pub type DynHistoryStore = Arc<dyn HistoryStore>;

macro_rules! forward_history_store {
    ($ty:ty) => {
        #[async_trait]
        impl<T: HistoryStore + ?Sized> HistoryStore for $ty {
            async fn append(&self, events: &[MemoryEvent]) -> Result<()> {
                (**self).append(events).await
            }
            async fn events(&self, memory_id: &str) -> Result<Vec<MemoryEvent>> {
                (**self).events(memory_id).await
            }
        }
    };
}

forward_history_store!(Arc<T>);
forward_history_store!(Box<T>);

type EventIndex = HashMap<String, Vec<MemoryEvent>>;

fn index_events(index: &mut EventIndex, events: &[MemoryEvent]) {
    for event in events {
        index
            .entry(event.memory_id.clone())
            .or_default()
            .push(event.clone());
    }
}

/// History in process memory (lost on restart).
#[derive(Debug, Default)]
pub struct InMemoryHistory {
    events: Mutex<EventIndex>,
}

impl InMemoryHistory {
    /// An empty history.
    pub fn new() -> InMemoryHistory {
        InMemoryHistory::default()
    }
}

#[async_trait]
impl HistoryStore for InMemoryHistory {
    async fn append(&self, events: &[MemoryEvent]) -> Result<()> {
        let mut index = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        index_events(&mut index, events);
        Ok(())
    }

    async fn events(&self, memory_id: &str) -> Result<Vec<MemoryEvent>> {
        let index = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(index.get(memory_id).cloned().unwrap_or_default())
    }
}

/// History in a JSON-lines file, one [`MemoryEvent`] per line.
///
/// Every `append` writes its lines in one `write` and `fsync`s the file
/// before returning, so an acknowledged event survives a crash. Opening
/// the file reads it into memory; a torn last line (a crash mid-write) is
/// cut off so later appends start on a clean line. Reads are served from
/// memory. One process should own the file.
#[derive(Debug)]
pub struct JsonlHistory {
    path: PathBuf,
    state: Arc<Mutex<JsonlState>>,
}

#[derive(Debug)]
struct JsonlState {
    file: std::fs::File,
    index: EventIndex,
}

fn io_error(path: &Path, what: &str, err: std::io::Error) -> Error {
    Error::from(err)
        .with_operation("history")
        .with_context("path", path.display().to_string())
        .with_context("step", what.to_owned())
}

impl JsonlHistory {
    /// Open (or create) the history file at `path`, creating its folder.
    ///
    /// # Errors
    /// I/O errors; a line in the middle of the file that is not an event
    /// is a `Protocol` error (the file is not a history).
    pub fn open(path: impl AsRef<Path>) -> Result<JsonlHistory> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_error(&path, "create folder", e))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_error(&path, "open", e))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes)
            .map_err(|e| io_error(&path, "read", e))?;
        let mut index = EventIndex::new();
        let mut good_len = 0;
        // Complete lines end with '\n'; anything after the last one is a
        // torn write and is cut off below.
        while let Some(pos) = bytes[good_len..].iter().position(|b| *b == b'\n') {
            let line = &bytes[good_len..good_len + pos];
            if !line.iter().all(u8::is_ascii_whitespace) {
                let event: MemoryEvent = serde_json::from_slice(line).map_err(|e| {
                    Error::new(
                        plugbay_core::ErrorKind::Protocol,
                        format!("history file has a line that is not an event: {e}"),
                    )
                    .with_context("path", path.display().to_string())
                })?;
                index_events(&mut index, std::slice::from_ref(&event));
            }
            good_len += pos + 1;
        }
        if good_len < bytes.len() {
            file.set_len(good_len as u64)
                .map_err(|e| io_error(&path, "truncate", e))?;
        }
        Ok(JsonlHistory {
            path,
            state: Arc::new(Mutex::new(JsonlState { file, index })),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl HistoryStore for JsonlHistory {
    async fn append(&self, events: &[MemoryEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for event in events {
            serde_json::to_writer(&mut buf, event)?;
            buf.push(b'\n');
        }
        let state = self.state.clone();
        let path = self.path.clone();
        let events = events.to_vec();
        // Blocking file I/O and fsync off the async workers.
        tokio::task::spawn_blocking(move || {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            state
                .file
                .write_all(&buf)
                .map_err(|e| io_error(&path, "write", e))?;
            state
                .file
                .sync_data()
                .map_err(|e| io_error(&path, "fsync", e))?;
            index_events(&mut state.index, &events);
            Ok(())
        })
        .await
        .map_err(|e| Error::internal(format!("history writer task failed: {e}")))?
    }

    async fn events(&self, memory_id: &str) -> Result<Vec<MemoryEvent>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(state.index.get(memory_id).cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryEventKind;

    fn event(memory: &str, kind: MemoryEventKind, text: &str) -> MemoryEvent {
        MemoryEvent::new(memory, kind, None, Some(text.to_owned()))
    }

    #[tokio::test]
    async fn in_memory_history_groups_by_memory() {
        let h = InMemoryHistory::new();
        h.append(&[
            event("a", MemoryEventKind::Add, "x"),
            event("b", MemoryEventKind::Add, "y"),
        ])
        .await
        .unwrap();
        h.append(&[event("a", MemoryEventKind::Update, "z")])
            .await
            .unwrap();
        let a = h.events("a").await.unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].event, MemoryEventKind::Update);
        assert!(h.events("c").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn jsonl_history_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/history.jsonl");
        let h = JsonlHistory::open(&path).unwrap();
        h.append(&[event("a", MemoryEventKind::Add, "x")])
            .await
            .unwrap();
        h.append(&[
            event("a", MemoryEventKind::Delete, "x"),
            event("b", MemoryEventKind::Add, "y"),
        ])
        .await
        .unwrap();
        drop(h);
        let again = JsonlHistory::open(&path).unwrap();
        let a = again.events("a").await.unwrap();
        assert_eq!(
            a.iter().map(|e| e.event).collect::<Vec<_>>(),
            [MemoryEventKind::Add, MemoryEventKind::Delete]
        );
        assert_eq!(again.events("b").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_torn_last_line_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let h = JsonlHistory::open(&path).unwrap();
        h.append(&[event("a", MemoryEventKind::Add, "x")])
            .await
            .unwrap();
        drop(h);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"id":"e2","memory_id":"a","ev"#).unwrap();
        drop(f);
        let h = JsonlHistory::open(&path).unwrap();
        assert_eq!(h.events("a").await.unwrap().len(), 1);
        h.append(&[event("a", MemoryEventKind::Update, "y")])
            .await
            .unwrap();
        drop(h);
        let h = JsonlHistory::open(&path).unwrap();
        assert_eq!(h.events("a").await.unwrap().len(), 2);
    }

    #[test]
    fn a_corrupt_middle_line_is_a_protocol_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        std::fs::write(&path, "not json\n{}\n").unwrap();
        let err = JsonlHistory::open(&path).unwrap_err();
        assert_eq!(err.kind(), plugbay_core::ErrorKind::Protocol);
    }
}
