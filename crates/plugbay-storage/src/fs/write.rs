//! Atomic writes: stream into a temp file under `.plugbay-tmp/`, fsync, then
//! move it into place with `rename` (overwrite) or `hard_link` (create-only:
//! the kernel refuses an existing target, so the check and the write are
//! one atomic step even across processes).

use std::io;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use plugbay_core::{Error, ErrorKind, Result};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::paths::{TMP_DIR, io_error, prepare_parents, remove_empty_parents};
use super::sidecar::{EtagNeed, Sidecar, Stamp, open_object, sidecar_path};
use crate::key::Key;
use crate::types::Body;

/// A temp file that is deleted when dropped: on success after it has been
/// moved into place (a no-op), on failure or cancellation so no partial
/// file is ever left behind.
#[derive(Debug)]
pub(super) struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// A fresh, unused temp path under the root (the folder is created).
    pub(super) fn allocate(root: &Path) -> io::Result<TempFile> {
        let dir = root.join(TMP_DIR);
        std::fs::create_dir_all(&dir)?;
        Ok(TempFile {
            path: dir.join(format!("{}.part", uuid::Uuid::new_v4().simple())),
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What was written to a temp file.
#[derive(Debug, Clone)]
pub(super) struct Written {
    pub(super) etag: String,
    pub(super) stamp: Stamp,
}

/// Stream `body` into a new temp file, hashing as it goes; memory use is
/// bounded by one chunk plus tokio's file buffer, whatever the body size.
pub(super) async fn stream_to_temp(
    root: &Path,
    body: Body,
    fsync: bool,
    key: &Key,
) -> Result<(TempFile, Written)> {
    let root_owned = root.to_path_buf();
    let temp = tokio::task::spawn_blocking(move || TempFile::allocate(&root_owned))
        .await
        .map_err(|e| Error::internal(format!("temp file task failed: {e}")))?
        .map_err(|e| io_error(e, "put", key.as_str()))?;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp.path())
        .await
        .map_err(|e| io_error(e, "put", key.as_str()))?;
    let mut hasher = Sha256::new();
    let mut stream = body.into_stream();
    while let Some(chunk) = stream.next().await {
        // A failed body aborts the put; dropping `temp` removes the file.
        let chunk = chunk?;
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| io_error(e, "put", key.as_str()))?;
    }
    file.flush()
        .await
        .map_err(|e| io_error(e, "put", key.as_str()))?;
    if fsync {
        file.sync_all()
            .await
            .map_err(|e| io_error(e, "put", key.as_str()))?;
    }
    let md = file
        .metadata()
        .await
        .map_err(|e| io_error(e, "put", key.as_str()))?;
    drop(file);
    let written = Written {
        etag: hex::encode(hasher.finalize()),
        stamp: Stamp::of(&md),
    };
    Ok((temp, written))
}

/// Copy an open file into a new temp file (blocking; bounded memory).
pub(super) fn copy_to_temp(
    root: &Path,
    mut source: &std::fs::File,
    fsync: bool,
) -> io::Result<(TempFile, Stamp)> {
    let temp = TempFile::allocate(root)?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp.path())?;
    io::copy(&mut source, &mut out)?;
    if fsync {
        out.sync_all()?;
    }
    let stamp = Stamp::of(&out.metadata()?);
    Ok((temp, stamp))
}

/// How the temp file replaces the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Commit {
    Overwrite,
    Create,
    IfMatch(String),
}

/// Move `temp` into place as `key` and write its sidecar. The caller holds
/// `key`'s lock, which makes the if-match check and the rename one step for
/// this process. Blocking.
pub(super) fn commit(
    root: &Path,
    key: &Key,
    temp: TempFile,
    sidecar: &Sidecar,
    mode: &Commit,
    op: &'static str,
) -> Result<()> {
    if let Commit::IfMatch(want) = mode {
        let current = match open_object(root, key, EtagNeed::Required, op) {
            Ok(open) => open.meta.etag,
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if current.as_deref() != Some(want.as_str()) {
            return Err(Error::new(
                ErrorKind::PreconditionFailed,
                "the current etag does not match",
            )
            .with_provider("fs")
            .with_operation(op)
            .with_context("key", key.as_str()));
        }
    }
    // Prepare the sidecar first so that a failure to write it aborts the put
    // before anything visible changes.
    let sidecar_temp = TempFile::allocate(root).map_err(|e| io_error(e, op, key.as_str()))?;
    let json = serde_json::to_vec(sidecar)?;
    std::fs::write(sidecar_temp.path(), json).map_err(|e| io_error(e, op, key.as_str()))?;

    // A concurrent delete may remove a parent folder it found empty between
    // our mkdir and our rename; recreate it and try again.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let dest = prepare_parents(root, key, op)?;
        let placed = match mode {
            Commit::Create => std::fs::hard_link(temp.path(), &dest),
            Commit::Overwrite | Commit::IfMatch(_) => std::fs::rename(temp.path(), &dest),
        };
        match placed {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound && attempts < 5 => continue,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(
                    Error::new(ErrorKind::AlreadyExists, "the key already exists")
                        .with_provider("fs")
                        .with_operation(op)
                        .with_context("key", key.as_str()),
                );
            }
            Err(e) => {
                remove_empty_parents(root, key);
                return Err(io_error(e, op, key.as_str()));
            }
        }
    }
    drop(temp);

    let meta_path = sidecar_path(root, key);
    let placed = meta_path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::rename(sidecar_temp.path(), &meta_path));
    if let Err(e) = placed {
        // The object itself is in place; readers fall back to hashing it.
        tracing::warn!(key = key.as_str(), error = %e, "fs store: could not write sidecar metadata");
    }
    Ok(())
}

/// Remove `key`'s data file and sidecar (blocking; missing is fine).
pub(super) fn remove(root: &Path, key: &Key) -> Result<()> {
    let Some(parent) = super::paths::resolve_parent(root, key, "delete")? else {
        return Ok(());
    };
    match std::fs::remove_file(parent.join(key.file_name())) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::IsADirectory
                    | io::ErrorKind::NotADirectory
            ) => {}
        // Linux answers EISDIR for unlink on a folder, macOS EPERM.
        Err(_) if parent.join(key.file_name()).is_dir() => {}
        Err(e) => return Err(io_error(e, "delete", key.as_str())),
    }
    match std::fs::remove_file(sidecar_path(root, key)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(e, "delete", key.as_str())),
    }
    remove_empty_parents(root, key);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use futures::stream;

    use super::*;
    use crate::conformance::{assert_kind, checksum, pseudo_random};
    use crate::fs::test_support::{key, store, temp_files};
    use crate::store::{ObjectStore, ObjectStoreExt};

    #[tokio::test]
    async fn failed_stream_leaves_no_temp_file() {
        let (dir, store) = store();
        let body = Body::from_stream(stream::iter(vec![
            Ok(Bytes::from(pseudo_random(1, 200_000))),
            Err(Error::new(ErrorKind::Timeout, "client stalled")),
        ]));
        assert_kind(store.put(&key("partial/x"), body).await, ErrorKind::Timeout);
        assert!(
            temp_files(dir.path()).is_empty(),
            "{:?}",
            temp_files(dir.path())
        );
        assert!(!dir.path().join("partial").exists());
    }

    #[tokio::test]
    async fn cancelled_put_leaves_no_temp_file() {
        let (dir, store) = store();
        let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes>>();
        tx.unbounded_send(Ok(Bytes::from(vec![7u8; 100_000])))
            .unwrap();
        let k = key("cancelled");
        let put = store.put(&k, Body::from_stream(rx));
        // The stream never ends, so the put cannot finish: let it write for
        // a while, then drop it (the timeout only decides when to cancel).
        let outcome = tokio::time::timeout(Duration::from_millis(200), put).await;
        assert!(outcome.is_err(), "the put cannot finish");
        drop(tx);
        assert!(
            temp_files(dir.path()).is_empty(),
            "{:?}",
            temp_files(dir.path())
        );
        assert_kind(store.head(&k).await, ErrorKind::NotFound);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_overwrites_leave_one_whole_value() {
        let (dir, store) = store();
        let k = key("contended");
        let writers = (0..8u8).map(|i| {
            let store = store.clone();
            let k = k.clone();
            tokio::spawn(async move {
                let chunks: Vec<_> = (0..8)
                    .map(|_| Ok(Bytes::from(vec![i; 32 * 1024])))
                    .collect();
                store.put(&k, Body::from_stream(stream::iter(chunks))).await
            })
        });
        for writer in futures::future::join_all(writers).await {
            writer.unwrap().unwrap();
        }
        let data = store.get_bytes(&k).await.unwrap();
        assert_eq!(data.len(), 256 * 1024);
        let first = data[0];
        assert!(
            data.iter().all(|b| *b == first),
            "bytes of different writers mixed"
        );
        let head = store.head(&k).await.unwrap();
        assert_eq!(head.etag, Some(checksum(&data)));
        assert!(temp_files(dir.path()).is_empty());
    }

    #[test]
    fn temp_files_delete_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let temp = TempFile::allocate(dir.path()).unwrap();
        std::fs::write(temp.path(), b"partial").unwrap();
        let path = temp.path().to_path_buf();
        drop(temp);
        assert!(!path.exists());
    }
}
