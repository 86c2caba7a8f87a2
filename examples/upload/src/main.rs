//! Streams a large file to the configured object store with a progress
//! bar, then prints a presigned URL (S3) or the local path (folder store).
//! See README.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use plugbay_core::{Error, ErrorKind, Result};
use plugbay_storage::{Body, DynObjectStore, Key, ObjectStoreExt, PresignMethod};
use tokio_util::io::ReaderStream;

/// The store used when `PLUGBAY_STORAGE_URL` is not set.
const DEFAULT_URL: &str = "fs://plugbay-uploads";
/// The read size: big enough to keep syscalls rare, small next to a part.
const READ_CHUNK: usize = 1024 * 1024;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("upload failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let Some(file) = args.next().map(PathBuf::from) else {
        return Err(Error::invalid_input(
            "usage: plugbay-example-upload FILE [KEY]  (store from PLUGBAY_STORAGE_URL)",
        ));
    };
    let key = match args.next() {
        Some(key) => Key::new(key.to_string_lossy())?,
        None => default_key(&file)?,
    };
    let url = std::env::var("PLUGBAY_STORAGE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let store = plugbay_storage::from_url(&url)?;
    let size = tokio::fs::metadata(&file).await?.len();

    let progress = progress_bar(size);
    let started = Instant::now();
    let meta = upload(&store, &key, &file, size, &progress).await;
    progress.finish_and_clear();
    let meta = meta?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "uploaded {} ({} bytes) to {} in {secs:.1} s ({:.0} MiB/s), etag {}",
        key,
        meta.size,
        store.backend(),
        meta.size as f64 / (1024.0 * 1024.0) / secs.max(1e-9),
        meta.etag.as_deref().unwrap_or("-"),
    );
    println!("{}", where_to_get(&store, &url, &key).await?);
    Ok(())
}

/// Stream `file` to `store`: read in chunks, counted on the bar as they
/// are handed over; the size is the hint that lets S3 pick multipart.
async fn upload(
    store: &DynObjectStore,
    key: &Key,
    file: &Path,
    size: u64,
    progress: &ProgressBar,
) -> Result<plugbay_storage::ObjectMeta> {
    let reader = tokio::fs::File::open(file).await?;
    let bar = progress.clone();
    let chunks = ReaderStream::with_capacity(reader, READ_CHUNK).map(move |chunk| {
        let chunk = chunk.map_err(Error::from)?;
        bar.inc(chunk.len() as u64);
        Ok(chunk)
    });
    let body = Body::from_stream(chunks).with_size_hint(size);
    tokio::select! {
        meta = store.put(key, body) => meta,
        _ = tokio::signal::ctrl_c() => Err(Error::new(ErrorKind::Internal, "cancelled (Ctrl-C); the partial upload was aborted")),
    }
}

fn progress_bar(size: u64) -> ProgressBar {
    let bar = ProgressBar::new(size);
    // A template error is a bug in this constant, not an input: fall back
    // to indicatif's default look rather than fail the upload.
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The file name as the key.
fn default_key(file: &Path) -> Result<Key> {
    let name = file
        .file_name()
        .ok_or_else(|| Error::invalid_input("the file has no name; give a KEY"))?;
    Key::new(name.to_string_lossy())
}

/// A presigned GET URL when the store can make one, else the local path
/// for folder stores, else just the key.
async fn where_to_get(store: &DynObjectStore, url: &str, key: &Key) -> Result<String> {
    let expires = std::env::var("PLUGBAY_PRESIGN_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(3600), Duration::from_secs);
    if store.capabilities().presign(PresignMethod::Get) {
        match store.presign(PresignMethod::Get, key, expires).await {
            Ok(link) => {
                return Ok(format!("download (valid {} s): {link}", expires.as_secs()));
            }
            Err(e) if e.kind() == ErrorKind::Unsupported => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(root) = local_root(url) {
        return Ok(format!("stored at {}", root.join(key.as_str()).display()));
    }
    Ok(format!(
        "stored as `{key}` ({} offers no download URL)",
        store.backend()
    ))
}

/// The folder of a `file:///abs` or `fs://relative` URL.
fn local_root(url: &str) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("fs://") {
        return Some(PathBuf::from(rest));
    }
    url::Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "file")?
        .to_file_path()
        .ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Write;

    use super::*;

    #[test]
    fn local_roots_and_default_keys() {
        assert_eq!(local_root("fs://up"), Some(PathBuf::from("up")));
        assert_eq!(local_root("file:///tmp/up"), Some(PathBuf::from("/tmp/up")));
        assert_eq!(local_root("s3://bucket"), None);
        assert_eq!(
            default_key(Path::new("/a/b/big.bin")).unwrap().as_str(),
            "big.bin"
        );
        assert_eq!(
            default_key(Path::new("/")).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[tokio::test]
    async fn streams_a_file_to_a_folder_store_and_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.bin");
        // Several read chunks, with a ragged end.
        let data: Vec<u8> = (0..3 * READ_CHUNK + 123)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        std::fs::File::create(&file)
            .unwrap()
            .write_all(&data)
            .unwrap();
        let url = format!("file://{}", dir.path().join("store").display());
        let store = plugbay_storage::from_url(&url).unwrap();
        let key = Key::new("in/data.bin").unwrap();
        let bar = ProgressBar::hidden();
        let meta = upload(&store, &key, &file, data.len() as u64, &bar)
            .await
            .unwrap();
        assert_eq!(meta.size, data.len() as u64);
        assert_eq!(bar.position(), data.len() as u64);
        assert_eq!(store.get_bytes(&key).await.unwrap(), data);
        let said = where_to_get(&store, &url, &key).await.unwrap();
        let path = dir.path().join("store/in/data.bin");
        assert_eq!(said, format!("stored at {}", path.display()));
        assert_eq!(std::fs::read(path).unwrap(), data);
    }

    #[tokio::test]
    async fn a_missing_file_is_not_found() {
        let store = plugbay_storage::from_url("memory://").unwrap();
        let key = Key::new("k").unwrap();
        let err = upload(
            &store,
            &key,
            Path::new("/no/such/file"),
            0,
            &ProgressBar::hidden(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
