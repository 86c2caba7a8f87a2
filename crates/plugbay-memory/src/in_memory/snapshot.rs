//! The snapshot file of the in-memory store.
//!
//! Format (version 1, little-endian throughout):
//!
//! ```text
//! magic     8 bytes  "PBVSNAP\0"
//! version   u32      1
//! flags     u32      0 (reserved)
//! count     u64      number of collections
//! per collection:
//!   name      u32 length + UTF-8
//!   dims      u64
//!   metric    u8     0 cosine, 1 dot, 2 euclidean
//!   rows      u64
//!   per row:  id (u32 length + UTF-8), metadata (u32 length + JSON object)
//!   vectors   rows × dims f32
//! digest    32 bytes SHA-256 of every byte before it
//! ```
//!
//! Every length is checked against the bytes left in the file before
//! anything is allocated, and the digest is checked before the snapshot
//! is used, so a truncated or corrupted file is an error, never a panic
//! and never a silently empty store. Saving writes a temporary file in
//! the same directory, fsyncs it, renames it over the old snapshot and
//! fsyncs the directory: a crash leaves the old or the new snapshot,
//! never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use plugbay_core::{Error, Result};
use sha2::{Digest, Sha256};

use crate::store::{validate_id, validate_vector};
use crate::types::{Metadata, Metric, VectorRecord, validate_collection_name};

use super::collection::Collection;

const MAGIC: &[u8; 8] = b"PBVSNAP\0";
const VERSION: u32 = 1;
const DIGEST_LEN: u64 = 32;

/// One collection read back from a snapshot.
#[derive(Debug)]
pub(crate) struct LoadedCollection {
    pub(crate) name: String,
    pub(crate) dims: usize,
    pub(crate) metric: Metric,
    pub(crate) records: Vec<VectorRecord>,
}

fn corrupt(path: &Path, what: impl Into<String>) -> Error {
    Error::protocol(format!(
        "snapshot file is corrupt or not a plugbay vector snapshot: {}",
        what.into()
    ))
    .with_operation("load_snapshot")
    .with_context("path", path.display().to_string())
}

fn io_error(path: &Path, op: &'static str, err: io::Error) -> Error {
    Error::from(err)
        .with_operation(op)
        .with_context("path", path.display().to_string())
}

fn metric_code(metric: Metric) -> u8 {
    match metric {
        Metric::Cosine => 0,
        Metric::Dot => 1,
        Metric::Euclidean => 2,
    }
}

/// A writer that hashes what it writes and, in tests, fails after a
/// byte budget to simulate a full disk or a crash mid-write.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    budget: Option<u64>,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(budget) = &mut self.budget {
            if (bytes.len() as u64) > *budget {
                return Err(io::Error::other("snapshot write budget exhausted"));
            }
            *budget -= bytes.len() as u64;
        }
        self.hasher.update(bytes);
        self.inner.write_all(bytes)
    }

    fn put_u32(&mut self, v: u32) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }

    fn put_u64(&mut self, v: u64) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }

    fn put_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        let len = u32::try_from(bytes.len())
            .map_err(|_| io::Error::other("a snapshot field is larger than 4 GiB"))?;
        self.put_u32(len)?;
        self.put(bytes)
    }
}

fn write_collection<W: Write>(
    w: &mut HashingWriter<W>,
    name: &str,
    c: &Collection,
) -> io::Result<()> {
    w.put_bytes(name.as_bytes())?;
    w.put_u64(c.dims as u64)?;
    w.put(&[metric_code(c.metric)])?;
    w.put_u64(c.len() as u64)?;
    for (id, meta) in c.ids.iter().zip(&c.metadata) {
        w.put_bytes(id.as_bytes())?;
        let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
        w.put_bytes(&json)?;
    }
    let mut buf = Vec::with_capacity(64 * 1024);
    for chunk in c.data.chunks(16 * 1024) {
        buf.clear();
        for x in chunk {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        w.put(&buf)?;
    }
    Ok(())
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "snapshot".into(), |n| n.to_string_lossy().into_owned());
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Write every collection to `path` atomically. `fail_after` (tests)
/// makes the write fail after that many bytes.
pub(crate) fn save(
    path: &Path,
    collections: &[(String, Arc<RwLock<Collection>>)],
    fail_after: Option<u64>,
) -> Result<()> {
    let tmp = temp_path(path);
    let result = write_file(&tmp, collections, fail_after)
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| io_error(path, "save_snapshot", e)));
    if result.is_err() {
        // The old snapshot is untouched; only the partial temp file goes.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable (best effort: not every platform
    // can open a directory).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn write_file(
    tmp: &Path,
    collections: &[(String, Arc<RwLock<Collection>>)],
    fail_after: Option<u64>,
) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(|e| io_error(tmp, "save_snapshot", e))?;
    let mut w = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        hasher: Sha256::new(),
        budget: fail_after,
    };
    let written = (|| -> io::Result<()> {
        w.put(MAGIC)?;
        w.put_u32(VERSION)?;
        w.put_u32(0)?;
        w.put_u64(collections.len() as u64)?;
        for (name, collection) in collections {
            // Each collection is read under its own lock: the snapshot is
            // consistent per collection, not across collections.
            let guard = collection.read().unwrap_or_else(PoisonError::into_inner);
            write_collection(&mut w, name, &guard)?;
        }
        let digest = w.hasher.clone().finalize();
        w.put(&digest)?;
        let file = w
            .inner
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.sync_all()
    })();
    written.map_err(|e| io_error(tmp, "save_snapshot", e))
}

/// A reader that hashes what it reads and refuses to read (or allocate)
/// past the end of the file's payload.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    remaining: u64,
}

impl<R: Read> HashingReader<R> {
    fn take(&mut self, path: &Path, n: u64, what: &str) -> Result<Vec<u8>> {
        if n > self.remaining {
            return Err(corrupt(path, format!("truncated while reading {what}")));
        }
        let mut buf = vec![0u8; n as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| io_error(path, "load_snapshot", e))?;
        self.remaining -= n;
        self.hasher.update(&buf);
        Ok(buf)
    }

    fn array<const N: usize>(&mut self, path: &Path, what: &str) -> Result<[u8; N]> {
        let bytes = self.take(path, N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&bytes);
        Ok(out)
    }

    fn u32(&mut self, path: &Path, what: &str) -> Result<u32> {
        self.array::<4>(path, what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, path: &Path, what: &str) -> Result<u64> {
        self.array::<8>(path, what).map(u64::from_le_bytes)
    }

    fn string(&mut self, path: &Path, what: &str) -> Result<String> {
        let len = self.u32(path, what)?;
        let bytes = self.take(path, u64::from(len), what)?;
        String::from_utf8(bytes).map_err(|_| corrupt(path, format!("{what} is not UTF-8")))
    }
}

/// Read the snapshot at `path`; `Ok(None)` when there is no file.
pub(crate) fn load(path: &Path) -> Result<Option<Vec<LoadedCollection>>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "load_snapshot", e)),
    };
    let size = file
        .metadata()
        .map_err(|e| io_error(path, "load_snapshot", e))?
        .len();
    if size < MAGIC.len() as u64 + 16 + DIGEST_LEN {
        return Err(corrupt(path, "file is too short"));
    }
    let mut r = HashingReader {
        inner: BufReader::with_capacity(1 << 20, file),
        hasher: Sha256::new(),
        remaining: size - DIGEST_LEN,
    };
    if &r.array::<8>(path, "magic")? != MAGIC {
        return Err(corrupt(path, "bad magic bytes"));
    }
    let version = r.u32(path, "version")?;
    if version != VERSION {
        return Err(corrupt(
            path,
            format!("format version {version}, this build reads version {VERSION}"),
        ));
    }
    let _flags = r.u32(path, "flags")?;
    let count = r.u64(path, "collection count")?;
    let mut collections = Vec::new();
    for _ in 0..count {
        collections.push(read_collection(&mut r, path)?);
    }
    if r.remaining != 0 {
        return Err(corrupt(path, "trailing bytes before the digest"));
    }
    let computed = r.hasher.clone().finalize();
    let mut stored = [0u8; DIGEST_LEN as usize];
    r.inner
        .read_exact(&mut stored)
        .map_err(|e| io_error(path, "load_snapshot", e))?;
    if computed.as_slice() != stored {
        return Err(corrupt(path, "checksum mismatch"));
    }
    Ok(Some(collections))
}

fn read_collection<R: Read>(r: &mut HashingReader<R>, path: &Path) -> Result<LoadedCollection> {
    let name = r.string(path, "collection name")?;
    validate_collection_name(&name).map_err(|_| corrupt(path, "invalid collection name"))?;
    let dims = r.u64(path, "dimensions")?;
    let metric = match r.array::<1>(path, "metric")?[0] {
        0 => Metric::Cosine,
        1 => Metric::Dot,
        2 => Metric::Euclidean,
        other => return Err(corrupt(path, format!("unknown metric code {other}"))),
    };
    let rows = r.u64(path, "row count")?;
    // Every row needs at least its two length prefixes and its vector.
    let min_row = 8u64.saturating_add(dims.saturating_mul(4));
    if dims == 0 || rows.saturating_mul(min_row) > r.remaining {
        return Err(corrupt(
            path,
            format!("collection `{name}` claims more data than the file holds"),
        ));
    }
    let dims = dims as usize;
    let mut heads = Vec::with_capacity(rows as usize);
    for _ in 0..rows {
        let id = r.string(path, "record id")?;
        validate_id(&id).map_err(|_| corrupt(path, "invalid record id"))?;
        let len = r.u32(path, "metadata")?;
        let json = r.take(path, u64::from(len), "metadata")?;
        let meta: Metadata = serde_json::from_slice(&json)
            .map_err(|_| corrupt(path, format!("metadata of `{id}` is not a JSON object")))?;
        heads.push((id, meta));
    }
    let mut records = Vec::with_capacity(heads.len());
    for (id, meta) in heads {
        let bytes = r.take(path, dims as u64 * 4, "vectors")?;
        let vector: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        validate_vector(&vector, dims)
            .map_err(|_| corrupt(path, format!("vector of `{id}` is not finite")))?;
        records.push(VectorRecord::new(id, vector).with_metadata(meta));
    }
    Ok(LoadedCollection {
        name,
        dims,
        metric,
        records,
    })
}
