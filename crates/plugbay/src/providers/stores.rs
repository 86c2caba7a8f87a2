//! Storage, vectors, conversation memory and the key-value store: each
//! picked from its one setting, dispatched by URL scheme (or name) to the
//! constructors in [`super::backends`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plugbay_cache::{DynKeyValue, DynRateLimiter};
use plugbay_core::{Error, ErrorKind, ExposeSecret as _, Result, Settings};
use plugbay_llm::{DynChatModel, DynEmbeddingModel};
use plugbay_memory::{
    CollectionSpec, DynHistoryStore, DynMemory, DynVectorStore, InMemoryHistory,
    InMemoryVectorStore, JsonlHistory, LocalMemory, Metric,
};
use plugbay_storage::DynObjectStore;

use super::backends;
use super::select::{data_dir, from_setting, named};
use super::{Probe, Selected};
use crate::keys;
use crate::report::{Concern, ConcernReport};

/// The collection the local memory engine keeps its memories in.
pub(crate) const MEMORY_COLLECTION: &str = "memories";

/// The snapshot file the embedded vector store persists to, under the
/// data folder, when [`keys::VECTOR_URL`] is unset.
pub(crate) const VECTOR_SNAPSHOT_FILE: &str = "vectors.snapshot";

/// The local memory engine's history file, under the data folder, used
/// when the vectors persist to a snapshot (an in-memory history next to
/// durable vectors would forget how every memory came to be).
pub(crate) const MEMORY_HISTORY_FILE: &str = "memory-history.jsonl";

/// How long a snapshot-backed vector store waits after a write before it
/// saves: short enough that a crash loses little, long enough that a burst
/// of writes shares one save. Graceful shutdown flushes the rest.
pub(crate) const SNAPSHOT_DEBOUNCE: Duration = Duration::from_secs(1);

/// The lower-cased scheme of `url` (`""` when it has none).
fn scheme(url: &str) -> String {
    url.split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_default()
}

pub(crate) async fn storage(settings: &Settings) -> Result<Selected<DynObjectStore>> {
    // A URL with credentials in it (cloudinary://key:secret@cloud) may be a
    // secret reference, `env://CLOUDINARY_URL` say.
    if let Some(url) = settings
        .secret(keys::STORAGE_URL)
        .await
        .map_err(|e| named(e, keys::STORAGE_URL))?
    {
        let url = url.expose_secret().trim();
        let store = match scheme(url).as_str() {
            "s3" | "s3a" => backends::s3(settings, url).await,
            "gs" | "gcs" | "firebase" => backends::gcs(settings, url).await,
            // memory, file, fs, cloudinary: the URL says everything.
            _ => plugbay_storage::from_url(url),
        }
        .map_err(|e| named(e, keys::STORAGE_URL))?;
        let report = ConcernReport::new(Concern::Storage, store.backend(), false)
            .with_note(from_setting(keys::STORAGE_URL));
        return Ok(Selected::new(store, report));
    }
    let dir = data_dir(settings)?.join("files");
    let url = url::Url::from_directory_path(&dir).map_err(|()| {
        named(
            Error::config(format!(
                "the data folder {} is not a usable path",
                dir.display()
            )),
            keys::DATA_DIR,
        )
    })?;
    let store = plugbay_storage::from_url(url.as_str()).map_err(|e| named(e, keys::DATA_DIR))?;
    let report = ConcernReport::new(Concern::Storage, store.backend(), true)
        .with_note(format!("{url} (under {})", keys::DATA_DIR));
    Ok(Selected::new(store, report))
}

/// The vector store, and the in-memory store again when it persists to a
/// snapshot (so that shutdown can flush it).
pub(crate) async fn vectors(
    settings: &Settings,
) -> Result<(Selected<DynVectorStore>, Option<Arc<InMemoryVectorStore>>)> {
    let Some(url) = settings.get(keys::VECTOR_URL).map(str::trim) else {
        let path = data_dir(settings)?.join(VECTOR_SNAPSHOT_FILE);
        let store = Arc::new(snapshot_store(path.clone()).map_err(|e| named(e, keys::DATA_DIR))?);
        let shared: DynVectorStore = store.clone();
        let report =
            ConcernReport::new(Concern::Vectors, shared.backend(), true).with_note(format!(
                "in process, persisted to the snapshot file {} (under {}; {}=memory:// keeps \
                 the vectors in memory only)",
                path.display(),
                keys::DATA_DIR,
                keys::VECTOR_URL
            ));
        return Ok((Selected::new(shared, report), Some(store)));
    };
    let mut snapshot = None;
    let store: DynVectorStore = match scheme(url).as_str() {
        "memory" => memory_vectors(settings, url).map(|store| {
            let store = Arc::new(store);
            if snapshot_path(url).is_some() {
                snapshot = Some(store.clone());
            }
            let shared: DynVectorStore = store;
            shared
        }),
        "qdrant" | "qdrant+http" | "qdrant+https" | "http" | "https" => {
            backends::qdrant(settings, url).await
        }
        "pinecone" => backends::pinecone(settings, url).await,
        _ => plugbay_memory::from_url(url),
    }
    .map_err(|e| named(e, keys::VECTOR_URL))?;
    let note = match &snapshot {
        Some(_) => format!(
            "{}, persisted to a snapshot file",
            from_setting(keys::VECTOR_URL)
        ),
        None => from_setting(keys::VECTOR_URL),
    };
    let report = ConcernReport::new(Concern::Vectors, store.backend(), false).with_note(note);
    Ok((Selected::new(store, report), snapshot))
}

/// The `snapshot=` parameter of a `memory://` URL.
fn snapshot_path(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "snapshot")
        .map(|(_, v)| v.into_owned())
}

/// `memory://`, or `memory://?snapshot=vectors.snap` for a store saved to
/// that file (relative paths are under the data folder) and loaded from it
/// at start.
fn memory_vectors(settings: &Settings, url: &str) -> Result<InMemoryVectorStore> {
    let rest = &url["memory://".len()..];
    let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !host.trim_end_matches('/').is_empty() {
        return Err(Error::config(
            "memory:// vector URLs take no host or path (use ?snapshot=FILE to persist)",
        ));
    }
    let mut snapshot: Option<PathBuf> = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "snapshot" if !value.trim().is_empty() => {
                let path = PathBuf::from(value.trim());
                snapshot = Some(if path.is_absolute() {
                    path
                } else {
                    data_dir(settings)?.join(path)
                });
            }
            other => {
                return Err(Error::config(format!(
                    "unknown memory:// vector URL option `{other}` (expected snapshot=FILE)"
                )));
            }
        }
    }
    match snapshot {
        Some(path) => snapshot_store(path),
        None => Ok(InMemoryVectorStore::new()),
    }
}

/// An in-memory vector store loaded from, and saved (debounced) to, the
/// snapshot file at `path`.
fn snapshot_store(path: PathBuf) -> Result<InMemoryVectorStore> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    InMemoryVectorStore::builder()
        .snapshot(path)
        .snapshot_debounce(SNAPSHOT_DEBOUNCE)
        .build()
}

/// The key-value URL and the setting it came from (`None`: the default).
/// A URL holding a password may be a secret reference.
async fn cache_url(settings: &Settings) -> Result<(String, Option<&'static str>)> {
    for key in [keys::CACHE_URL, keys::REDIS_URL] {
        if settings.contains(key) {
            let value = settings.secret(key).await.map_err(|e| named(e, key))?;
            let url = value
                .map(|v| v.expose_secret().trim().to_owned())
                .unwrap_or_default();
            return Ok((url, Some(key)));
        }
    }
    Ok(("memory://".to_owned(), None))
}

/// The key-value store and, when the store is shared between instances
/// (Redis), a rate limiter sharing its connection.
pub(crate) async fn key_value(
    settings: &Settings,
) -> Result<(Selected<DynKeyValue>, Option<DynRateLimiter>)> {
    let (url, source) = cache_url(settings).await?;
    let built = match scheme(&url).as_str() {
        "redis" | "rediss" | "redis+unix" | "valkey" | "valkeys" => backends::redis(settings, &url),
        _ => plugbay_cache::from_url(&url).map(|kv| (kv, None)),
    };
    let (kv, limiter) = built.map_err(|e| match source {
        Some(key) => named(e, key),
        None => e,
    })?;
    let report = match source {
        Some(key) => {
            ConcernReport::new(Concern::Cache, kv.backend(), false).with_note(from_setting(key))
        }
        None => ConcernReport::new(Concern::Cache, kv.backend(), true).with_note(
            "in process: sessions, refresh tokens and webhook dedupe are lost on restart",
        ),
    };
    Ok((Selected::new(kv, report), limiter))
}

/// The conversation memory: the local engine over the chat model, the
/// embedder and the vector store, or the Mem0 platform.
///
/// `PLUGBAY_MEMORY` decides; when it is unset, a configured `MEM0_API_KEY`
/// means Mem0 (as the seed application did), when this build has it.
/// The local engine keeps its history in [`MEMORY_HISTORY_FILE`] when
/// `durable_history` (the vectors persist to a snapshot), else in memory.
pub(crate) async fn memory(
    settings: &Settings,
    chat: &DynChatModel,
    embedder: &DynEmbeddingModel,
    vectors: &DynVectorStore,
    durable_history: bool,
) -> Result<Selected<DynMemory>> {
    let requested = settings
        .get(keys::MEMORY)
        .map(|n| n.trim().to_ascii_lowercase());
    let mut note = None;
    match requested.as_deref() {
        Some("mem0") => return mem0(settings, keys::MEMORY, from_setting(keys::MEMORY)).await,
        Some("local") | None => {}
        Some(other) => {
            return Err(named(
                Error::config(format!(
                    "unknown memory backend `{other}` (expected local or mem0)"
                )),
                keys::MEMORY,
            ));
        }
    }
    if requested.is_none() && settings.contains(keys::MEM0_API_KEY) {
        if cfg!(feature = "mem0") {
            let why = format!("{} is set ({} unset)", keys::MEM0_API_KEY, keys::MEMORY);
            return mem0(settings, keys::MEM0_API_KEY, why).await;
        }
        let warning = format!(
            "{} is set but this build lacks the `mem0` feature: using the local engine",
            keys::MEM0_API_KEY
        );
        tracing::warn!(concern = "memory", "{warning}");
        note = Some(warning);
    }
    let (history, history_note) = if durable_history {
        let path = data_dir(settings)?.join(MEMORY_HISTORY_FILE);
        let history = JsonlHistory::open(&path).map_err(|e| named(e, keys::DATA_DIR))?;
        let shown = path.display().to_string();
        let history: DynHistoryStore = Arc::new(history);
        (history, shown)
    } else {
        let history: DynHistoryStore = Arc::new(InMemoryHistory::new());
        (history, "in memory".to_owned())
    };
    let engine = LocalMemory::builder()
        .chat_model(chat.clone())
        .embedding_model(embedder.clone())
        .vector_store(vectors.clone())
        .collection(MEMORY_COLLECTION)
        .history_store(history)
        .build()?;
    let memory: DynMemory = Arc::new(engine);
    let mut text = format!(
        "in-process engine over llm={}, embeddings={}, vectors={}, history {history_note}",
        chat.provider(),
        embedder.provider(),
        vectors.backend()
    );
    if let Some(note) = note {
        text = format!("{text}; {note}");
    }
    let report =
        ConcernReport::new(Concern::Memory, memory.backend(), requested.is_none()).with_note(text);
    Ok(Selected::new(memory, report))
}

async fn mem0(settings: &Settings, key: &'static str, why: String) -> Result<Selected<DynMemory>> {
    let (memory, probe): (DynMemory, Option<Probe>) =
        backends::mem0(settings).await.map_err(|e| named(e, key))?;
    let report = ConcernReport::new(Concern::Memory, memory.backend(), false)
        .with_note(format!("hosted Mem0 platform, {why}"));
    Ok(Selected::new(memory, report).with_probe(probe))
}

/// Refuse to start when the local engine's persisted collection was made
/// by an embedder of another size: its memories could never be searched,
/// and every write would fail. Only local stores are checked here (a
/// remote one would cost a network round trip at start-up; there the
/// mismatch surfaces on the first write).
pub(crate) async fn check_memory_dimensions(
    embedder: &DynEmbeddingModel,
    vectors: &DynVectorStore,
) -> Result<()> {
    let (Some(dims), "memory") = (embedder.dimensions(), vectors.backend()) else {
        return Ok(());
    };
    let spec = CollectionSpec::new(MEMORY_COLLECTION, dims, Metric::Cosine);
    let outcome = tokio::time::timeout(Duration::from_secs(2), vectors.ensure_collection(spec))
        .await
        .unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Timeout,
                "ensure_collection timed out",
            ))
        });
    match outcome {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::AlreadyExists
                    | ErrorKind::Config
                    | ErrorKind::InvalidInput
                    | ErrorKind::PreconditionFailed
            ) =>
        {
            Err(named(
                Error::config(format!(
                    "the vector store's `{MEMORY_COLLECTION}` collection was written by another \
                     embedding model ({}); the embedder now is {}/{} with {dims} dimensions. \
                     Switch {} back, or point {} at a new snapshot file (or delete the old one) \
                     to start the memories afresh",
                    e.message(),
                    embedder.provider(),
                    embedder.model(),
                    keys::EMBEDDINGS,
                    keys::VECTOR_URL,
                )),
                keys::EMBEDDINGS,
            ))
        }
        Err(e) => {
            tracing::warn!(
                concern = "memory",
                error = %e,
                "could not check the memory collection's dimensions at start-up"
            );
            Ok(())
        }
    }
}
