//! Mapping keys to paths under the root without ever leaving it, and
//! mapping I/O errors to shared kinds.

use std::io;
use std::path::{Path, PathBuf};

use plugbay_core::{Error, ErrorKind, Result};

use crate::key::Key;

/// Temp files of puts in progress; excluded from listings.
pub(super) const TMP_DIR: &str = ".plugbay-tmp";
/// Sidecar metadata files; excluded from listings.
pub(super) const META_DIR: &str = ".plugbay-meta";

/// An I/O error as a shared kind, with the provider, operation and key.
pub(super) fn io_error(err: io::Error, op: &'static str, key: &str) -> Error {
    let kind = match err.kind() {
        // A file where the key needs a directory: there is no such object.
        io::ErrorKind::NotADirectory => Some(ErrorKind::NotFound),
        io::ErrorKind::IsADirectory | io::ErrorKind::DirectoryNotEmpty => {
            Some(ErrorKind::InvalidInput)
        }
        _ => None,
    };
    let mut mapped = Error::from(err);
    if let Some(kind) = kind {
        mapped = mapped.with_kind(kind);
    }
    mapped
        .with_provider("fs")
        .with_operation(op)
        .with_context("key", key)
}

pub(super) fn escapes(op: &'static str, key: &str) -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        "the key resolves through a symbolic link to a path outside the store root",
    )
    .with_provider("fs")
    .with_operation(op)
    .with_context("key", key)
}

fn conflict(op: &'static str, key: &str) -> Error {
    Error::invalid_input(
        "a parent of this key is an object; the filesystem store cannot hold both `a` and `a/b`",
    )
    .with_provider("fs")
    .with_operation(op)
    .with_context("key", key)
}

/// Reject keys that would land in the store's own bookkeeping folders.
pub(super) fn check_not_reserved(key: &Key, op: &'static str) -> Result<()> {
    let first = key.segments().next().unwrap_or_default();
    if first == TMP_DIR || first == META_DIR {
        return Err(Error::invalid_input(format!(
            "keys under `{TMP_DIR}/` and `{META_DIR}/` are reserved by the filesystem store"
        ))
        .with_provider("fs")
        .with_operation(op)
        .with_context("key", key.as_str()));
    }
    Ok(())
}

/// The path of `key`'s data file (not checked for symlinks).
pub(super) fn data_path(root: &Path, key: &Key) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(key.segments());
    path
}

/// Whether a resolved path is a place objects may live: under the root and
/// outside the bookkeeping folders.
fn inside(root: &Path, real: &Path) -> bool {
    real.starts_with(root)
        && !real.starts_with(root.join(TMP_DIR))
        && !real.starts_with(root.join(META_DIR))
}

/// The real path of an existing object, after following any symlinks and
/// checking they stay inside the root. `NotFound` if nothing is there.
pub(super) fn resolve_existing(root: &Path, key: &Key, op: &'static str) -> Result<PathBuf> {
    let real = std::fs::canonicalize(data_path(root, key)).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
            Error::not_found("no object under this key")
                .with_provider("fs")
                .with_operation(op)
                .with_context("key", key.as_str())
        }
        _ => io_error(e, op, key.as_str()),
    })?;
    if !inside(root, &real) {
        return Err(escapes(op, key.as_str()));
    }
    Ok(real)
}

/// The real parent directory of `key`, if it exists, checked to be inside
/// the root. Used by delete, which must not create anything.
pub(super) fn resolve_parent(root: &Path, key: &Key, op: &'static str) -> Result<Option<PathBuf>> {
    let path = data_path(root, key);
    let Some(parent) = path.parent() else {
        return Ok(None);
    };
    match std::fs::canonicalize(parent) {
        Ok(real) if real == root || inside(root, &real) => Ok(Some(real)),
        Ok(_) => Err(escapes(op, key.as_str())),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(io_error(e, op, key.as_str())),
    }
}

/// Create the parent directories of `key` one at a time, refusing to follow
/// a symlink that leads outside the root (so nothing is ever created
/// outside it), and return the path to write the object at.
pub(super) fn prepare_parents(root: &Path, key: &Key, op: &'static str) -> Result<PathBuf> {
    let segments: Vec<&str> = key.segments().collect();
    let (last, parents) = segments
        .split_last()
        .ok_or_else(|| Error::internal("a key always has a segment"))?;
    let mut dir = root.to_path_buf();
    for segment in parents {
        dir.push(segment);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                let real = std::fs::canonicalize(&dir).map_err(|_| escapes(op, key.as_str()))?;
                if !(real == root || inside(root, &real)) {
                    return Err(escapes(op, key.as_str()));
                }
                if !real.is_dir() {
                    return Err(conflict(op, key.as_str()));
                }
            }
            Ok(_) => return Err(conflict(op, key.as_str())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(e, op, key.as_str())),
            },
            Err(e) => return Err(io_error(e, op, key.as_str())),
        }
    }
    dir.push(last);
    if let Ok(m) = std::fs::symlink_metadata(&dir)
        && m.is_dir()
    {
        return Err(Error::invalid_input(
            "this key names a folder of other objects; the filesystem store cannot hold both `a` and `a/b`",
        )
        .with_provider("fs")
        .with_operation(op)
        .with_context("key", key.as_str()));
    }
    Ok(dir)
}

/// Remove the now-empty directories between `key`'s parent and the root.
/// Stops at the first directory that is not empty (or cannot be removed).
pub(super) fn remove_empty_parents(root: &Path, key: &Key) {
    let path = data_path(root, key);
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) {
            break;
        }
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;
    use crate::conformance::assert_kind;
    use crate::fs::test_support::{key, store, temp_files};
    use crate::store::{ObjectStore, ObjectStoreExt};
    use crate::types::{CopyOptions, ListOptions};

    #[cfg(unix)]
    #[tokio::test]
    async fn symlinks_leading_outside_the_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"top secret").unwrap();
        let (dir, store) = store();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            dir.path().join("leak.txt"),
        )
        .unwrap();

        let through_dir = key("escape/secret.txt");
        assert_kind(store.get(&through_dir).await, ErrorKind::PermissionDenied);
        assert_kind(store.head(&through_dir).await, ErrorKind::PermissionDenied);
        assert_kind(
            store.get(&key("leak.txt")).await,
            ErrorKind::PermissionDenied,
        );
        assert_kind(
            store.put(&key("escape/new/dir/planted.txt"), "x").await,
            ErrorKind::PermissionDenied,
        );
        assert_kind(
            store.put(&through_dir, "overwrite").await,
            ErrorKind::PermissionDenied,
        );
        assert_kind(
            store.delete(&through_dir).await,
            ErrorKind::PermissionDenied,
        );
        assert_kind(
            store
                .copy(&through_dir, &key("inside"), CopyOptions::new())
                .await,
            ErrorKind::PermissionDenied,
        );
        assert_kind(
            store.list("escape/", ListOptions::new()).await,
            ErrorKind::PermissionDenied,
        );
        // Nothing outside was read, written, created or removed.
        let outside_entries: Vec<_> = std::fs::read_dir(outside.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(outside_entries, [std::ffi::OsString::from("secret.txt")]);
        assert_eq!(
            std::fs::read(outside.path().join("secret.txt")).unwrap(),
            b"top secret"
        );
        assert!(!store.exists(&key("inside")).await.unwrap());
        // Listings do not follow symlinks at all.
        assert!(store.list_all("").await.unwrap().is_empty());
        assert!(temp_files(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn symlinks_inside_the_root_are_followed() {
        let (dir, store) = store();
        store.put(&key("real/file"), "data").await.unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("alias")).unwrap();
        assert_eq!(store.get_bytes(&key("alias/file")).await.unwrap(), "data");
        // A link into the bookkeeping folders is refused like an escape.
        std::os::unix::fs::symlink(dir.path().join(META_DIR), dir.path().join("meta")).unwrap();
        assert_kind(
            store.put(&key("meta/x"), "x").await,
            ErrorKind::PermissionDenied,
        );
    }

    #[test]
    fn dot_dot_and_reserved_keys_never_reach_the_filesystem() {
        assert_eq!(
            Key::new("../outside").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            Key::new("a/../../x").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let reserved = key(".plugbay-meta/x");
        assert_eq!(
            check_not_reserved(&reserved, "put").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        check_not_reserved(&key(".plugbay-other/x"), "put").unwrap();
    }

    #[tokio::test]
    async fn reserved_folders_are_rejected_and_hidden() {
        let (_dir, store) = store();
        assert_kind(
            store.put(&key(".plugbay-tmp/x"), "x").await,
            ErrorKind::InvalidInput,
        );
        assert_kind(
            store.get(&key(".plugbay-meta/x")).await,
            ErrorKind::InvalidInput,
        );
        store.put(&key("visible"), "x").await.unwrap();
        let all = store.list_all("").await.unwrap();
        assert_eq!(all.len(), 1);
        let grouped = store
            .list("", ListOptions::new().delimiter("/"))
            .await
            .unwrap();
        assert!(grouped.common_prefixes.is_empty(), "{grouped:?}");
    }

    #[tokio::test]
    async fn delete_removes_empty_folders_but_keeps_busy_ones() {
        let (dir, store) = store();
        store.put(&key("x/y/z/deep"), "1").await.unwrap();
        store.put(&key("x/keep"), "2").await.unwrap();
        store.delete(&key("x/y/z/deep")).await.unwrap();
        assert!(!dir.path().join("x/y").exists());
        assert!(dir.path().join("x/keep").exists());
        store.delete(&key("x/keep")).await.unwrap();
        assert!(!dir.path().join("x").exists());
        assert!(dir.path().exists());
    }

    #[tokio::test]
    async fn file_and_folder_conflicts_are_invalid_input() {
        let (_dir, store) = store();
        store.put(&key("a"), "file").await.unwrap();
        assert_kind(
            store.put(&key("a/b"), "below a file").await,
            ErrorKind::InvalidInput,
        );
        store.put(&key("d/e"), "x").await.unwrap();
        assert_kind(
            store.put(&key("d"), "over a folder").await,
            ErrorKind::InvalidInput,
        );
        assert_kind(store.get(&key("d")).await, ErrorKind::NotFound);
        assert_kind(store.get(&key("a/b")).await, ErrorKind::NotFound);
        store.delete(&key("d")).await.unwrap();
        assert_eq!(store.get_bytes(&key("d/e")).await.unwrap(), "x");
    }
}
