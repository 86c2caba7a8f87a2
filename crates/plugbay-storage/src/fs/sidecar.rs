//! Sidecar metadata: one JSON file per object under `.plugbay-meta/`.
//!
//! Why sidecars rather than extended attributes: xattrs are missing or
//! size-limited on tmpfs, overlayfs, NFS and non-Linux systems, and are lost
//! by many copy tools; a JSON file works everywhere.
//!
//! The data file and its sidecar cannot be replaced in one atomic step, so
//! each sidecar records a [`Stamp`] (size, mtime, inode) of the data file it
//! describes. A reader opens the data file first and trusts the sidecar only
//! if its stamp matches the open file; otherwise the sidecar is stale (a put
//! in flight, a crash between the two renames, a file written by another
//! tool). Because the etag is the SHA-256 of the content, a stale sidecar
//! never yields a wrong etag: the reader recomputes it from the file.

use std::collections::BTreeMap;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use plugbay_core::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::paths::{META_DIR, io_error, resolve_existing};
use crate::key::Key;
use crate::types::ObjectMeta;

/// Identifies one version of a data file. Renames and hard links keep all
/// three fields, so the stamp taken from a temp file still matches after it
/// is moved into place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Stamp {
    size: u64,
    mtime_secs: i64,
    mtime_nanos: u32,
    ino: u64,
}

impl Stamp {
    pub(super) fn of(md: &Metadata) -> Stamp {
        let (mtime_secs, mtime_nanos) = match md.modified().map(|t| t.duration_since(UNIX_EPOCH)) {
            Ok(Ok(d)) => (
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Ok(Err(before)) => (
                -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
                before.duration().subsec_nanos(),
            ),
            Err(_) => (0, 0),
        };
        Stamp {
            size: md.len(),
            mtime_secs,
            mtime_nanos,
            ino: inode(md),
        }
    }
}

#[cfg(unix)]
fn inode(md: &Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(md)
}

#[cfg(not(unix))]
fn inode(_md: &Metadata) -> u64 {
    0
}

/// What a sidecar holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Sidecar {
    pub(super) key: String,
    pub(super) etag: String,
    pub(super) stamp: Stamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) metadata: BTreeMap<String, String>,
}

impl Sidecar {
    /// Object metadata from this sidecar and the data file's `stat`.
    pub(super) fn to_meta(&self, key: &Key, md: &Metadata) -> ObjectMeta {
        ObjectMeta {
            etag: Some(self.etag.clone()),
            last_modified: md.modified().ok(),
            content_type: self.content_type.clone(),
            cache_control: self.cache_control.clone(),
            content_disposition: self.content_disposition.clone(),
            metadata: self.metadata.clone(),
            ..ObjectMeta::new(key.clone(), md.len())
        }
    }
}

/// Where `key`'s sidecar lives: a flat, hash-sharded folder, so sidecar
/// paths never collide with each other whatever the keys look like.
pub(super) fn sidecar_path(root: &Path, key: &Key) -> PathBuf {
    let digest = hex::encode(Sha256::digest(key.as_str().as_bytes()));
    root.join(META_DIR)
        .join(&digest[..2])
        .join(format!("{digest}.json"))
}

/// The sidecar of `key`, if one exists and parses (a damaged sidecar is
/// treated as missing: the content is still there).
pub(super) fn read_sidecar(root: &Path, key: &Key) -> Option<Sidecar> {
    let text = std::fs::read(sidecar_path(root, key)).ok()?;
    let sidecar: Sidecar = serde_json::from_slice(&text).ok()?;
    (sidecar.key == key.as_str()).then_some(sidecar)
}

/// An open data file and the metadata that belongs to exactly that file.
#[derive(Debug)]
pub(super) struct OpenObject {
    pub(super) file: File,
    pub(super) meta: ObjectMeta,
}

/// Whether a read needs the etag even when the sidecar is stale (costs a
/// full read of the file in that rare case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EtagNeed {
    Required,
    Optional,
}

/// Open `key` and pair it with its metadata, consistently: retries briefly
/// while a concurrent put is between its data and sidecar renames, then
/// falls back to hashing the file.
pub(super) fn open_object(
    root: &Path,
    key: &Key,
    need: EtagNeed,
    op: &'static str,
) -> Result<OpenObject> {
    const ATTEMPTS: u32 = 3;
    for attempt in 1..=ATTEMPTS {
        let path = resolve_existing(root, key, op)?;
        let file = File::open(&path).map_err(|e| io_error(e, op, key.as_str()))?;
        let md = file.metadata().map_err(|e| io_error(e, op, key.as_str()))?;
        if !md.is_file() {
            return Err(plugbay_core::Error::not_found("no object under this key")
                .with_provider("fs")
                .with_operation(op)
                .with_context("key", key.as_str()));
        }
        match read_sidecar(root, key) {
            Some(sidecar) if sidecar.stamp == Stamp::of(&md) => {
                let meta = sidecar.to_meta(key, &md);
                return Ok(OpenObject { file, meta });
            }
            _ if attempt < ATTEMPTS => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                let mut meta = ObjectMeta::new(key.clone(), md.len());
                meta.last_modified = md.modified().ok();
                if need == EtagNeed::Required {
                    let mut reader = &file;
                    meta.etag =
                        Some(hash_reader(&mut reader).map_err(|e| io_error(e, op, key.as_str()))?);
                    // Rewind for the caller, who reads from the start or seeks.
                    io::Seek::rewind(&mut reader).map_err(|e| io_error(e, op, key.as_str()))?;
                }
                return Ok(OpenObject { file, meta });
            }
        }
    }
    Err(plugbay_core::Error::internal(
        "unreachable: open_object loop ended",
    ))
}

/// Hex SHA-256 of everything `reader` yields, read in bounded chunks.
pub(super) fn hash_reader(reader: &mut impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Listing metadata for a file found by the walk: full metadata when the
/// sidecar matches, else size and date only (no hashing while listing).
/// `None` if the file vanished meanwhile.
pub(super) fn list_meta(root: &Path, key: &Key, path: &Path) -> Result<Option<ObjectMeta>> {
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) if md.is_file() => md,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(e, "list", key.as_str())),
    };
    match read_sidecar(root, key) {
        Some(sidecar) if sidecar.stamp == Stamp::of(&md) => Ok(Some(sidecar.to_meta(key, &md))),
        _ => {
            let mut meta = ObjectMeta::new(key.clone(), md.len());
            meta.last_modified = md.modified().ok();
            Ok(Some(meta))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::checksum;
    use crate::fs::FsStore;
    use crate::fs::test_support::{key, store};
    use crate::store::{ObjectStore, ObjectStoreExt};
    use crate::types::PutOptions;

    #[tokio::test]
    async fn etag_is_stable_for_unchanged_content_and_survives_reopen() {
        let (dir, store) = store();
        let k = key("same");
        let first = store.put(&k, "identical").await.unwrap();
        let second = store.put(&k, "identical").await.unwrap();
        assert_eq!(first.etag, second.etag);
        assert_eq!(first.etag, Some(checksum(b"identical")));
        let reopened = FsStore::new(dir.path()).unwrap();
        let opts = PutOptions::new()
            .content_type("text/plain")
            .metadata("m", "1");
        reopened
            .put_opts(&k, "identical".into(), opts)
            .await
            .unwrap();
        let head = FsStore::new(dir.path()).unwrap().head(&k).await.unwrap();
        assert_eq!(head.etag, first.etag);
        assert_eq!(head.content_type.as_deref(), Some("text/plain"));
        assert_eq!(head.metadata.get("m").map(String::as_str), Some("1"));
        assert!(sidecar_path(dir.path(), &k).is_file());
    }

    #[tokio::test]
    async fn stale_or_damaged_sidecars_are_not_trusted() {
        let (dir, store) = store();
        let k = key("edited");
        let opts = PutOptions::new().content_type("text/plain");
        store.put_opts(&k, "original".into(), opts).await.unwrap();
        // Another tool rewrites the file: the sidecar no longer fits.
        std::fs::write(dir.path().join("edited"), b"changed by hand!").unwrap();
        let head = store.head(&k).await.unwrap();
        assert_eq!(head.size, 16);
        assert_eq!(head.etag, Some(checksum(b"changed by hand!")));
        assert_eq!(head.content_type, None);
        // Listing does not hash: a stale sidecar gives no etag there.
        let listed = store.list_all("").await.unwrap();
        assert_eq!(listed[0].etag, None);
        assert_eq!(listed[0].size, 16);

        std::fs::write(sidecar_path(dir.path(), &k), b"{not json").unwrap();
        assert_eq!(store.get_bytes(&k).await.unwrap(), "changed by hand!");
        assert_eq!(read_sidecar(dir.path(), &k), None);
    }
}
