//! [`from_url`]: pick a [`DocumentStore`](crate::DocumentStore) backend from
//! one setting.

use plugbay_core::{Error, ErrorKind, Result};

use crate::memory::InMemoryDocumentStore;
use crate::store::DynDocumentStore;

/// Open the document store a URL names (typically `DATABASE_URL` or
/// `MONGODB_URI`), so a deployment swaps backends by configuration.
///
/// - `memory://` — an [`InMemoryDocumentStore`].
/// - `postgres://`, `postgresql://`, `mongodb://`, `mongodb+srv://` —
///   `Unsupported` for now: those backends arrive in a later release behind
///   the `postgres` and `mongodb` features.
///
/// Anything else is a `Config` error. Error messages never echo the URL,
/// which may hold a password.
///
/// ```
/// let store = plugbay_data::from_url("memory://").unwrap();
/// assert_eq!(store.backend(), "memory");
/// let err = plugbay_data::from_url("postgres://app:secret@db/app").unwrap_err();
/// assert_eq!(err.kind(), plugbay_core::ErrorKind::Unsupported);
/// ```
pub fn from_url(url: &str) -> Result<DynDocumentStore> {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, ""),
    };
    let feature = match scheme.as_deref() {
        Some("memory") => {
            if !rest.trim_matches('/').is_empty() {
                return Err(config("memory:// URLs take no host, path or options"));
            }
            return Ok(InMemoryDocumentStore::new().into_dyn());
        }
        Some("postgres" | "postgresql") => "postgres",
        Some("mongodb" | "mongodb+srv") => "mongodb",
        Some(other) => {
            return Err(config(
                "unknown document store URL scheme (expected memory://, postgres:// or mongodb://)",
            )
            .with_context("scheme", other.to_owned()));
        }
        None => return Err(config("the document store URL has no scheme")),
    };
    Err(Error::unsupported(format!(
        "this document store needs the `{feature}` feature of plugbay-data, which is not available in this release"
    )))
}

fn config(message: &'static str) -> Error {
    Error::new(ErrorKind::Config, message).with_operation("from_url")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(from_url("memory://").unwrap().backend(), "memory");
        assert_eq!(from_url("Memory:///").unwrap().backend(), "memory");
        for (url, feature) in [
            ("postgres://u:hunter2@h/db", "`postgres`"),
            ("postgresql://h/db", "`postgres`"),
            ("mongodb+srv://u:hunter2@cluster/x", "`mongodb`"),
        ] {
            let err = from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{url}");
            let shown = format!("{err} {err:?}");
            assert!(
                shown.contains(feature) && !shown.contains("hunter2"),
                "{shown}"
            );
        }
        for bad in ["memory://x", "sqlite://db", "nonsense"] {
            assert_eq!(
                from_url(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }
}
