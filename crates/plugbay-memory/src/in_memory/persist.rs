//! When the in-memory store writes its snapshot: on demand and, when
//! configured, a debounced delay after writes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use plugbay_core::{Error, Result};

use super::{BACKEND, Inner, Shared, snapshot};

/// Snapshot bookkeeping: a write generation, the generation last saved,
/// and whether a debounced save is pending.
#[derive(Debug)]
pub(crate) struct Persistence {
    path: PathBuf,
    debounce: Option<Duration>,
    generation: AtomicU64,
    saved: AtomicU64,
    scheduled: AtomicBool,
    /// Serialises saves so two never race on the rename.
    save_lock: Mutex<()>,
}

impl Persistence {
    pub(crate) fn new(path: PathBuf, debounce: Option<Duration>) -> Persistence {
        Persistence {
            path,
            debounce,
            generation: AtomicU64::new(0),
            saved: AtomicU64::new(0),
            scheduled: AtomicBool::new(false),
            save_lock: Mutex::new(()),
        }
    }

    /// Record a write; with a debounce, make sure a save is pending.
    pub(crate) fn touched(&self, inner: &Arc<Inner>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let Some(delay) = self.debounce else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(inner);
        handle.spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(p) = &inner.persistence {
                // Cleared before saving: a write during the save schedules
                // the next one.
                p.scheduled.store(false, Ordering::Release);
            }
            if let Err(err) = save(&inner, true).await {
                tracing::warn!(error = %err, "debounced vector store snapshot failed");
            }
        });
    }

    pub(crate) fn is_dirty(&self) -> bool {
        self.generation.load(Ordering::SeqCst) != self.saved.load(Ordering::SeqCst)
    }

    fn save_sync(&self, inner: &Inner, only_if_dirty: bool) -> Result<()> {
        let _serial = self
            .save_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Read before copying: writes racing with the save leave the
        // store dirty for the next one.
        let generation = self.generation.load(Ordering::SeqCst);
        if only_if_dirty && generation == self.saved.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut collections: Vec<(String, Shared)> = inner
            .collections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, c)| (name.clone(), Arc::clone(c)))
            .collect();
        collections.sort_by(|a, b| a.0.cmp(&b.0));
        snapshot::save(&self.path, &collections, None).map_err(|e| e.with_provider(BACKEND))?;
        self.saved.fetch_max(generation, Ordering::SeqCst);
        Ok(())
    }
}

/// Save `inner`'s snapshot on a blocking thread (inline without a Tokio
/// runtime). A store without a snapshot path has nothing to save.
pub(crate) async fn save(inner: &Arc<Inner>, only_if_dirty: bool) -> Result<()> {
    if inner.persistence.is_none() {
        return Ok(());
    }
    let inner = Arc::clone(inner);
    let work = move || match &inner.persistence {
        Some(p) => p.save_sync(&inner, only_if_dirty),
        None => Ok(()),
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        Error::internal("the snapshot task failed")
            .with_provider(BACKEND)
            .with_operation("save_snapshot")
            .with_source(e)
    })?
}
