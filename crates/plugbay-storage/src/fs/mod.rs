//! [`FsStore`]: objects as files under a root directory (feature `fs`).

mod list;
mod paths;
mod sidecar;
mod write;

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use plugbay_core::{Error, Result};
use tokio::io::AsyncReadExt;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_util::io::ReaderStream;
use url::Url;

use self::paths::{check_not_reserved, io_error};
use self::sidecar::{EtagNeed, Sidecar, open_object};
use self::write::{Commit, commit, copy_to_temp, stream_to_temp};
use crate::key::Key;
use crate::store::ObjectStore;
use crate::types::{
    Body, CopyMode, CopyOptions, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta,
    PresignMethod, PutMode, PutOptions, StorageCapabilities,
};

const LOCK_STRIPES: usize = 64;
const READ_CHUNK: usize = 64 * 1024;

/// An [`ObjectStore`] that keeps each object as a file under a root folder:
/// key `a/b.txt` is the file `<root>/a/b.txt`.
///
/// - **Atomic writes**: a put streams into `<root>/.plugbay-tmp/`, fsyncs,
///   then renames into place; readers see the old file or the new one. A
///   failed or cancelled put leaves no partial object and no temp file.
///   Memory stays bounded whatever the body size.
/// - **Create-only** puts use `hard_link`, which the kernel refuses if the
///   target exists: race-free even between processes. `IfMatch` is checked
///   under a per-key lock (race-free within one process).
/// - **Metadata** (content type, cache control, disposition, user metadata,
///   etag) lives in JSON sidecars under `<root>/.plugbay-meta/`; the etag is
///   the hex SHA-256 of the content, so it is stable for unchanged content.
///   Files placed in the root by other tools are served too (their etag is
///   computed on demand).
/// - **Confinement**: keys cannot contain `..` or absolute paths ([`Key`]
///   rules), and a symlink that leads outside the root is refused with
///   `PermissionDenied` on every operation; listings do not follow symlinks.
///   (This guards against links already present, not against a concurrent
///   attacker swapping folders mid-call.)
/// - **Limits**: keys starting with `.plugbay-tmp/` or `.plugbay-meta/` are
///   reserved; a key and a key below it (`a` and `a/b`) cannot both exist;
///   each segment must fit the filesystem's name limit (usually 255 bytes).
///   Presigning is `Unsupported`.
///
/// ```
/// use plugbay_storage::{FsStore, Key, ObjectStoreExt};
///
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = FsStore::new(dir.path())?;
/// let key = Key::new("notes/today.txt")?;
/// store.put(&key, "hi").await?;
/// assert_eq!(std::fs::read(dir.path().join("notes/today.txt")).unwrap(), b"hi");
/// # Ok::<(), plugbay_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct FsStore {
    inner: Arc<Inner>,
    fsync: bool,
}

struct Inner {
    root: PathBuf,
    locks: Vec<Arc<Mutex<()>>>,
}

impl FsStore {
    /// A store rooted at `root`, which must be an existing folder.
    /// `NotFound` if it does not exist, `Config` if it is not a folder.
    pub fn new(root: impl AsRef<Path>) -> Result<FsStore> {
        let given = root.as_ref();
        let root = std::fs::canonicalize(given)
            .map_err(|e| io_error(e, "open", &given.display().to_string()))?;
        if !root.is_dir() {
            return Err(Error::config("the filesystem store root is not a folder")
                .with_provider("fs")
                .with_context("root", given.display().to_string()));
        }
        Ok(FsStore {
            inner: Arc::new(Inner {
                root,
                locks: (0..LOCK_STRIPES)
                    .map(|_| Arc::new(Mutex::new(())))
                    .collect(),
            }),
            fsync: true,
        })
    }

    /// Like [`FsStore::new`], creating the root folder (and its parents)
    /// first if needed.
    pub fn create(root: impl AsRef<Path>) -> Result<FsStore> {
        let root = root.as_ref();
        std::fs::create_dir_all(root)
            .map_err(|e| io_error(e, "open", &root.display().to_string()))?;
        FsStore::new(root)
    }

    /// Turn fsync of written files on (the default) or off. Off trades
    /// durability across power loss for speed (scratch data, tests); writes
    /// stay atomic either way.
    pub fn with_fsync(mut self, fsync: bool) -> FsStore {
        self.fsync = fsync;
        self
    }

    /// The canonical root folder.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The per-key write lock. Keys share one of a fixed set of stripes, so
    /// the lock table never grows. The guard is owned so it can move into
    /// the blocking task: a cancelled call must not release the lock while
    /// its commit is still running.
    async fn lock(&self, key: &Key) -> OwnedMutexGuard<()> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let stripe = (hasher.finish() % LOCK_STRIPES as u64) as usize;
        self.inner.locks[stripe].clone().lock_owned().await
    }
}

impl fmt::Debug for FsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsStore")
            .field("root", &self.inner.root)
            .field("fsync", &self.fsync)
            .finish()
    }
}

/// Run blocking filesystem work off the async threads.
async fn blocking<T, F>(work: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal(format!("filesystem task failed: {e}")).with_provider("fs"))?
}

#[async_trait]
impl ObjectStore for FsStore {
    fn backend(&self) -> &'static str {
        "fs"
    }

    fn capabilities(&self) -> StorageCapabilities {
        StorageCapabilities::full()
            .with_presign(false, false)
            .with_streaming_put(true, false)
            .with_versions(false)
    }

    async fn put_opts(&self, key: &Key, body: Body, opts: PutOptions) -> Result<ObjectMeta> {
        check_not_reserved(key, "put")?;
        let root = self.inner.root.clone();
        let (temp, written) = stream_to_temp(&root, body, self.fsync, key).await?;
        let sidecar = Sidecar {
            key: key.as_str().to_owned(),
            etag: written.etag,
            stamp: written.stamp,
            content_type: opts.content_type,
            cache_control: opts.cache_control,
            content_disposition: opts.content_disposition,
            metadata: opts.metadata,
        };
        let mode = match opts.mode {
            PutMode::Create => Commit::Create,
            PutMode::IfMatch(etag) => Commit::IfMatch(etag),
            _ => Commit::Overwrite,
        };
        let guard = self.lock(key).await;
        let key = key.clone();
        blocking(move || {
            let _guard = guard;
            commit(&root, &key, temp, &sidecar, &mode, "put")?;
            // Report exactly what a head would now see.
            open_object(&root, &key, EtagNeed::Optional, "put").map(|o| o.meta)
        })
        .await
    }

    async fn get_opts(&self, key: &Key, opts: GetOptions) -> Result<GetResult> {
        check_not_reserved(key, "get")?;
        let root = self.inner.root.clone();
        let owned = key.clone();
        let (file, meta, range) = blocking(move || {
            let need = if opts.if_match.is_some() || opts.if_none_match.is_some() {
                EtagNeed::Required
            } else {
                EtagNeed::Optional
            };
            let mut open = open_object(&root, &owned, need, "get")?;
            opts.check(&open.meta)?;
            let range = match &opts.range {
                Some(r) => r
                    .resolve(open.meta.size)
                    .map_err(|e| e.with_provider("fs").with_context("key", owned.as_str()))?,
                None => 0..open.meta.size,
            };
            if range.start > 0 {
                open.file
                    .seek(SeekFrom::Start(range.start))
                    .map_err(|e| io_error(e, "get", owned.as_str()))?;
            }
            Ok((open.file, open.meta, range))
        })
        .await?;
        let len = range.end - range.start;
        let reader = tokio::fs::File::from_std(file).take(len);
        let key = key.clone();
        let body = ReaderStream::with_capacity(reader, READ_CHUNK)
            .map_err(move |e| io_error(e, "get", key.as_str()))
            .boxed();
        Ok(GetResult::new(meta, range, body))
    }

    async fn head(&self, key: &Key) -> Result<ObjectMeta> {
        check_not_reserved(key, "head")?;
        let root = self.inner.root.clone();
        let key = key.clone();
        blocking(move || open_object(&root, &key, EtagNeed::Required, "head").map(|o| o.meta)).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        check_not_reserved(key, "delete")?;
        let root = self.inner.root.clone();
        let guard = self.lock(key).await;
        let key = key.clone();
        blocking(move || {
            let _guard = guard;
            write::remove(&root, &key)
        })
        .await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListPage> {
        let root = self.inner.root.clone();
        let prefix = prefix.to_owned();
        blocking(move || list::list_page(&root, &prefix, &opts)).await
    }

    async fn copy(&self, from: &Key, to: &Key, opts: CopyOptions) -> Result<ObjectMeta> {
        check_not_reserved(from, "copy")?;
        check_not_reserved(to, "copy")?;
        let root = self.inner.root.clone();
        let fsync = self.fsync;
        let (src, dst) = (from.clone(), to.clone());
        // Read the source into a temp file first, without holding any lock:
        // the open file stays the same content even if `from` is replaced.
        let (temp, sidecar) = blocking(move || {
            let open = open_object(&root, &src, EtagNeed::Required, "copy")?;
            let (temp, stamp) = copy_to_temp(&root, &open.file, fsync)
                .map_err(|e| io_error(e, "copy", src.as_str()))?;
            let meta = open.meta;
            let sidecar = Sidecar {
                key: dst.as_str().to_owned(),
                etag: meta.etag.unwrap_or_default(),
                stamp,
                content_type: meta.content_type,
                cache_control: meta.cache_control,
                content_disposition: meta.content_disposition,
                metadata: meta.metadata,
            };
            Ok((temp, sidecar))
        })
        .await?;
        let mode = match opts.mode {
            CopyMode::Create => Commit::Create,
            _ => Commit::Overwrite,
        };
        let guard = self.lock(to).await;
        let root = self.inner.root.clone();
        let to = to.clone();
        blocking(move || {
            let _guard = guard;
            commit(&root, &to, temp, &sidecar, &mode, "copy")?;
            open_object(&root, &to, EtagNeed::Optional, "copy").map(|o| o.meta)
        })
        .await
    }

    async fn presign(&self, _method: PresignMethod, _key: &Key, _expires: Duration) -> Result<Url> {
        Err(
            Error::unsupported("the filesystem store cannot presign URLs")
                .with_provider("fs")
                .with_operation("presign"),
        )
    }
}

/// Helpers shared by the tests of the fs submodules.
#[cfg(test)]
pub(super) mod test_support {
    use std::path::Path;

    use super::FsStore;
    use crate::key::Key;

    pub(crate) fn store() -> (tempfile::TempDir, FsStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path()).unwrap();
        (dir, store)
    }

    pub(crate) fn key(s: &str) -> Key {
        Key::new(s).unwrap()
    }

    /// Names of the files in the temp folder (none once puts are done).
    pub(crate) fn temp_files(root: &Path) -> Vec<String> {
        match std::fs::read_dir(root.join(super::paths::TMP_DIR)) {
            Ok(read) => read
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::test_support::{key, store, temp_files};
    use super::*;
    use crate::conformance;
    use crate::store::ObjectStoreExt;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_conformance() {
        let (dir, store) = store();
        conformance::run_all(&store).await;
        assert!(temp_files(dir.path()).is_empty());
        // Every scenario cleaned up, and empty folders went with it.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != paths::TMP_DIR && n != paths::META_DIR)
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test]
    async fn objects_are_plain_files_under_the_root() {
        let (dir, store) = store();
        store.put(&key("a/b/c.txt"), "content").await.unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("a/b/c.txt")).unwrap(),
            b"content"
        );
        // Files written by other tools are served, with a computed etag.
        std::fs::write(dir.path().join("foreign.bin"), b"from elsewhere").unwrap();
        let head = store.head(&key("foreign.bin")).await.unwrap();
        assert_eq!(head.size, 14);
        assert_eq!(head.etag, Some(conformance::checksum(b"from elsewhere")));
        assert_eq!(
            store.get_bytes(&key("foreign.bin")).await.unwrap(),
            "from elsewhere"
        );
        let listed = store.list_all("").await.unwrap();
        let names: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(names, ["a/b/c.txt", "foreign.bin"]);
    }

    #[test]
    fn opening_a_missing_or_non_folder_root_fails() {
        let dir = tempfile::tempdir().unwrap();
        let missing = FsStore::new(dir.path().join("nope")).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        let not_dir = FsStore::new(dir.path().join("file")).unwrap_err();
        assert_eq!(not_dir.kind(), ErrorKind::Config);
        let created = FsStore::create(dir.path().join("new/root")).unwrap();
        assert!(created.root().is_dir());
        assert_eq!(created.with_fsync(false).backend(), "fs");
    }

    #[tokio::test]
    async fn unsynced_store_still_writes_atomically() {
        let (dir, store) = store();
        let store = store.with_fsync(false);
        store.put(&key("fast"), "no fsync").await.unwrap();
        assert_eq!(store.get_bytes(&key("fast")).await.unwrap(), "no fsync");
        assert!(temp_files(dir.path()).is_empty());
        let err = store
            .presign(PresignMethod::Put, &key("fast"), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }
}
