#![doc = include_str!("../README.md")]

mod content_range;
pub mod key;
pub mod memory;
mod paging;
pub mod store;
pub mod types;

#[cfg(feature = "fs")]
pub mod fs;

#[cfg(feature = "s3")]
pub mod s3;

#[cfg(feature = "gcs")]
pub mod gcs;

#[cfg(feature = "cloudinary")]
pub mod cloudinary;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use std::sync::Arc;

use plugbay_core::{Error, Result};

pub use key::{Key, MAX_KEY_LEN};
pub use memory::InMemoryStore;
pub use store::{DynObjectStore, ObjectStore, ObjectStoreExt};
pub use types::{
    Body, ByteRange, ByteStream, CopyMode, CopyOptions, GetOptions, GetResult, ListOptions,
    ListPage, ObjectMeta, PresignMethod, PutMode, PutOptions, StorageCapabilities,
};

#[cfg(feature = "fs")]
pub use fs::FsStore;

#[cfg(feature = "s3")]
pub use s3::{S3Builder, S3Store};

#[cfg(feature = "gcs")]
pub use gcs::{FirebaseStorage, GcsBuilder, GcsStore};

#[cfg(feature = "cloudinary")]
pub use cloudinary::{CloudinaryBuilder, CloudinaryStore, Transformation};

/// Build a store from a URL, so an application swaps backends by changing
/// one setting:
///
/// - `memory://` — a new, empty [`InMemoryStore`];
/// - `file:///abs/path` or `fs://relative/path` (`fs:///abs/path` too) — an
///   [`FsStore`] rooted there, creating the directory if needed (feature `fs`);
/// - `s3://bucket?region=..&endpoint=..&path_style=true` — an `S3Store`
///   with credentials from the `AWS_*` variables (feature `s3`; see
///   `S3Builder::from_url`);
/// - `gs://bucket` (also `gcs://`) — a `GcsStore`, credentials from
///   `GOOGLE_APPLICATION_CREDENTIALS` or an emulator from
///   `STORAGE_EMULATOR_HOST` (feature `gcs`; see `GcsBuilder::from_url`);
/// - `firebase://project` or `firebase://bucket.firebasestorage.app` — the
///   same store over the project's default Firebase bucket (feature `gcs`);
/// - `cloudinary://key:secret@cloud` — a `CloudinaryStore` (feature
///   `cloudinary`; see `CloudinaryBuilder::from_url`);
/// - any scheme whose feature is off is `Unsupported` naming the feature;
/// - anything else is a `Config` error.
///
/// ```
/// use plugbay_core::ErrorKind;
///
/// let store = plugbay_storage::from_url("memory://")?;
/// assert_eq!(store.backend(), "memory");
/// let err = plugbay_storage::from_url("ftp://host/x").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Config);
/// # Ok::<(), plugbay_core::Error>(())
/// ```
pub fn from_url(url: &str) -> Result<DynObjectStore> {
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .ok_or_else(|| {
            Error::config("a storage URL needs a scheme such as memory://, file:// or s3://")
                .with_context("url", url)
        })?;
    match scheme.as_str() {
        "memory" | "mem" => Ok(Arc::new(InMemoryStore::new())),
        "file" | "fs" => fs_from_url(&scheme, url),
        "s3" | "s3a" => s3_from_url(url),
        "gs" | "gcs" | "firebase" => gcs_from_url(url),
        "cloudinary" => cloudinary_from_url(url),
        _ => Err(Error::config(format!(
            "unknown storage URL scheme `{scheme}` (expected memory://, file://, fs://, s3://, gs:// or cloudinary://)"
        ))
        .with_context("url", url)),
    }
}

// Unused only when every backend feature is on.
#[cfg_attr(
    all(feature = "s3", feature = "gcs", feature = "cloudinary"),
    allow(dead_code)
)]
fn not_yet(url: &str, what: &str, feature: &str) -> Error {
    Error::unsupported(format!(
        "the {what} backend is not available yet: it will be provided by the `{feature}` feature of plugbay-storage"
    ))
    .with_context("url", url)
}

/// `s3://bucket?region=..&endpoint=..&path_style=true`, credentials from
/// the `AWS_*` variables (see [`S3Builder::from_url`]).
#[cfg(feature = "s3")]
fn s3_from_url(url: &str) -> Result<DynObjectStore> {
    Ok(Arc::new(S3Builder::from_url(url)?.build()?))
}

#[cfg(not(feature = "s3"))]
fn s3_from_url(url: &str) -> Result<DynObjectStore> {
    Err(not_yet(url, "S3", "s3"))
}

#[cfg(feature = "gcs")]
fn gcs_from_url(url: &str) -> Result<DynObjectStore> {
    Ok(Arc::new(GcsBuilder::from_url(url)?.build()?))
}

#[cfg(not(feature = "gcs"))]
fn gcs_from_url(url: &str) -> Result<DynObjectStore> {
    Err(not_yet(url, "Google Cloud Storage / Firebase", "gcs"))
}

#[cfg(feature = "cloudinary")]
fn cloudinary_from_url(url: &str) -> Result<DynObjectStore> {
    Ok(Arc::new(CloudinaryBuilder::from_url(url)?.build()?))
}

#[cfg(not(feature = "cloudinary"))]
fn cloudinary_from_url(url: &str) -> Result<DynObjectStore> {
    Err(not_yet(url, "Cloudinary", "cloudinary"))
}

#[cfg(feature = "fs")]
fn fs_from_url(scheme: &str, url: &str) -> Result<DynObjectStore> {
    let path = if scheme == "file" {
        let parsed = url::Url::parse(url).map_err(|e| {
            Error::config(format!("invalid file URL: {e}")).with_context("url", url)
        })?;
        parsed.to_file_path().map_err(|()| {
            Error::config("a file URL needs an absolute local path (file:///abs/path)")
                .with_context("url", url)
        })?
    } else {
        let rest = &url["fs://".len()..];
        if rest.is_empty() {
            return Err(Error::config("an fs URL needs a path (fs://relative/path)")
                .with_context("url", url));
        }
        std::path::PathBuf::from(rest)
    };
    Ok(Arc::new(FsStore::create(path)?))
}

#[cfg(not(feature = "fs"))]
fn fs_from_url(_scheme: &str, url: &str) -> Result<DynObjectStore> {
    Err(
        Error::unsupported("the filesystem backend needs the `fs` feature of plugbay-storage")
            .with_context("url", url),
    )
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    #[test]
    fn from_url_picks_backends_by_scheme() {
        assert_eq!(from_url("memory://").unwrap().backend(), "memory");
        for (url, feature, on) in [
            ("gs://bucket", "`gcs`", cfg!(feature = "gcs")),
            (
                "cloudinary://key:secret@cloud",
                "`cloudinary`",
                cfg!(feature = "cloudinary"),
            ),
        ] {
            if on {
                continue;
            }
            let err = from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{url}");
            assert!(err.message().contains(feature), "{err}");
        }
        for bad in ["ftp://x", "no-scheme"] {
            assert_eq!(
                from_url(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }

    #[cfg(not(feature = "s3"))]
    #[test]
    fn from_url_names_the_missing_s3_feature() {
        let err = from_url("s3://bucket?region=eu-west-1").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains("`s3`"), "{err}");
    }

    #[cfg(feature = "s3")]
    #[test]
    fn from_url_builds_s3_stores() {
        let store = from_url("s3://bucket?endpoint=http://127.0.0.1:9&anonymous=true").unwrap();
        assert_eq!(store.backend(), "s3");
        assert!(!store.capabilities().presign_get);
        let err = from_url("s3://bucket?anonymous=true&colour=red").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[cfg(feature = "fs")]
    #[test]
    fn from_url_builds_fs_stores() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("made by from_url");
        let url = url::Url::from_directory_path(&root).unwrap();
        let store = from_url(url.as_str()).unwrap();
        assert_eq!(store.backend(), "fs");
        assert!(root.is_dir());
        let abs = format!("fs://{}", dir.path().join("second").display());
        assert_eq!(from_url(&abs).unwrap().backend(), "fs");
        assert!(dir.path().join("second").is_dir());
        assert_eq!(
            from_url("file://remote-host/x").unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(from_url("fs://").unwrap_err().kind(), ErrorKind::Config);
    }

    #[cfg(not(feature = "fs"))]
    #[test]
    fn from_url_names_the_missing_fs_feature() {
        let err = from_url("file:///tmp/x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains("`fs`"), "{err}");
    }
}
