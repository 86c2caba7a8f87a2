//! [`InMemoryStore`]: an [`ObjectStore`] in process memory, for tests and
//! development. Always compiled.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream;
use plugbay_core::{Error, ErrorKind, Result};
use sha2::{Digest, Sha256};
use url::Url;

use crate::key::Key;
use crate::paging::{DEFAULT_PAGE, Flow, PageBuilder};
use crate::store::ObjectStore;
use crate::types::{
    Body, CopyMode, CopyOptions, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta,
    PresignMethod, PutMode, PutOptions, StorageCapabilities,
};

#[derive(Debug, Clone)]
struct Entry {
    data: Bytes,
    meta: ObjectMeta,
}

/// An [`ObjectStore`] that keeps objects in a map in memory.
///
/// Etags are the hex SHA-256 of the content (stable for unchanged
/// content); conditional puts are checked and applied under one lock, so
/// exactly one of several concurrent create-only puts wins. Streamed bodies
/// are collected in memory before the write. Presigning is `Unsupported`.
/// Clones share the same objects.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore {
    objects: Arc<Mutex<BTreeMap<Key, Entry>>>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> InMemoryStore {
        InMemoryStore::default()
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no object.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Key, Entry>> {
        // A panic while holding the lock cannot leave a half-written entry:
        // every mutation is a single insert or remove.
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn not_found(key: &Key, op: &'static str) -> Error {
    Error::not_found("no object under this key")
        .with_provider("memory")
        .with_operation(op)
        .with_context("key", key.as_str())
}

fn etag_of(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[async_trait]
impl ObjectStore for InMemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> StorageCapabilities {
        StorageCapabilities::full()
            .with_presign(false, false)
            .with_streaming_put(false, false)
            .with_versions(false)
    }

    async fn put_opts(&self, key: &Key, body: Body, opts: PutOptions) -> Result<ObjectMeta> {
        let data = body.collect().await?;
        let meta = ObjectMeta {
            etag: Some(etag_of(&data)),
            last_modified: Some(SystemTime::now()),
            content_type: opts.content_type,
            cache_control: opts.cache_control,
            content_disposition: opts.content_disposition,
            metadata: opts.metadata,
            ..ObjectMeta::new(key.clone(), data.len() as u64)
        };
        let mut objects = self.lock();
        match &opts.mode {
            PutMode::Overwrite => {}
            PutMode::Create => {
                if objects.contains_key(key) {
                    return Err(
                        Error::new(ErrorKind::AlreadyExists, "the key already exists")
                            .with_provider("memory")
                            .with_operation("put")
                            .with_context("key", key.as_str()),
                    );
                }
            }
            PutMode::IfMatch(want) => {
                let current = objects.get(key).and_then(|e| e.meta.etag.as_deref());
                if current != Some(want.as_str()) {
                    return Err(Error::new(
                        ErrorKind::PreconditionFailed,
                        "the current etag does not match",
                    )
                    .with_provider("memory")
                    .with_operation("put")
                    .with_context("key", key.as_str()));
                }
            }
        }
        objects.insert(
            key.clone(),
            Entry {
                data,
                meta: meta.clone(),
            },
        );
        Ok(meta)
    }

    async fn get_opts(&self, key: &Key, opts: GetOptions) -> Result<GetResult> {
        let entry = self
            .lock()
            .get(key)
            .cloned()
            .ok_or_else(|| not_found(key, "get"))?;
        opts.check(&entry.meta)?;
        let size = entry.data.len() as u64;
        let range = match &opts.range {
            Some(r) => r
                .resolve(size)
                .map_err(|e| e.with_context("key", key.as_str()))?,
            None => 0..size,
        };
        // Range bounds are within `size`, which came from a usize.
        let chunk = entry.data.slice(
            usize::try_from(range.start).unwrap_or(0)..usize::try_from(range.end).unwrap_or(0),
        );
        let body = if chunk.is_empty() {
            stream::empty().boxed()
        } else {
            stream::once(async move { Ok(chunk) }).boxed()
        };
        Ok(GetResult::new(entry.meta, range, body))
    }

    async fn head(&self, key: &Key) -> Result<ObjectMeta> {
        self.lock()
            .get(key)
            .map(|e| e.meta.clone())
            .ok_or_else(|| not_found(key, "head"))
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.lock().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListPage> {
        let mut page = PageBuilder::new(prefix, &opts, DEFAULT_PAGE)?;
        let objects = self.lock();
        // Keys order like their strings, so a range scan from the prefix
        // visits exactly the candidates, in listing order.
        for (key, entry) in objects.range::<str, _>((
            std::ops::Bound::Included(prefix),
            std::ops::Bound::Unbounded,
        )) {
            if !key.starts_with_prefix(prefix) {
                break;
            }
            if page.offer(key.as_str(), || Ok(Some(entry.meta.clone())))? == Flow::Full {
                break;
            }
        }
        Ok(page.finish())
    }

    async fn copy(&self, from: &Key, to: &Key, opts: CopyOptions) -> Result<ObjectMeta> {
        let mut objects = self.lock();
        let source = objects
            .get(from)
            .cloned()
            .ok_or_else(|| not_found(from, "copy"))?;
        if opts.mode == CopyMode::Create && objects.contains_key(to) {
            return Err(
                Error::new(ErrorKind::AlreadyExists, "the destination already exists")
                    .with_provider("memory")
                    .with_operation("copy")
                    .with_context("key", to.as_str()),
            );
        }
        let meta = ObjectMeta {
            key: to.clone(),
            last_modified: Some(SystemTime::now()),
            ..source.meta
        };
        objects.insert(
            to.clone(),
            Entry {
                data: source.data,
                meta: meta.clone(),
            },
        );
        Ok(meta)
    }

    async fn presign(&self, _method: PresignMethod, _key: &Key, _expires: Duration) -> Result<Url> {
        Err(Error::unsupported("the memory store cannot presign URLs")
            .with_provider("memory")
            .with_operation("presign"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;
    use crate::store::ObjectStoreExt;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_conformance() {
        let store = InMemoryStore::new();
        conformance::run_all(&store).await;
        // Every scenario cleans up after itself.
        assert!(store.is_empty(), "left {} objects", store.len());
    }

    #[tokio::test]
    async fn clones_share_objects_and_presign_is_unsupported() {
        let a = InMemoryStore::new();
        let b = a.clone();
        let key = Key::new("k").unwrap();
        a.put(&key, "v").await.unwrap();
        assert_eq!(b.get_bytes(&key).await.unwrap(), "v");
        assert_eq!(b.len(), 1);
        let err = a
            .presign(PresignMethod::Get, &key, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }
}
