//! [`from_url`]: pick a vector store backend from one setting.

use std::sync::Arc;

use plugbay_core::{Error, ErrorKind, Result};

use crate::in_memory::InMemoryVectorStore;
use crate::store::DynVectorStore;

/// Build a vector store from a URL, so an integrator swaps backends by
/// changing one setting (`VECTOR_STORE_URL`, say).
///
/// | URL | backend |
/// | --- | --- |
/// | `memory://` | [`InMemoryVectorStore`] |
/// | `qdrant://host:6333`, `qdrant+http://..`, `qdrant+https://..`, `http(s)://host:6333` | Qdrant (feature `qdrant`; key from `QDRANT_API_KEY`) |
/// | `pinecone://index-name`, `pinecone://index-host` | Pinecone (feature `pinecone`; key from `PINECONE_API_KEY`) |
///
/// ```
/// let store = plugbay_memory::from_url("memory://").unwrap();
/// assert_eq!(store.backend(), "memory");
/// ```
///
/// # Errors
/// `Unsupported` for a backend this build does not include (naming the
/// feature); `Config` for an unknown scheme or a malformed URL.
pub fn from_url(url: &str) -> Result<DynVectorStore> {
    let Some((scheme, _rest)) = url.split_once("://") else {
        return Err(
            Error::config("a vector store URL looks like `scheme://...`")
                .with_operation("from_url"),
        );
    };
    match scheme.to_ascii_lowercase().as_str() {
        "memory" => Ok(Arc::new(InMemoryVectorStore::new())),
        "qdrant" | "qdrant+http" | "qdrant+https" | "http" | "https" => qdrant(url),
        "pinecone" => pinecone(url),
        other => Err(Error::new(
            ErrorKind::Config,
            format!("unknown vector store scheme `{other}` (expected memory, qdrant, http(s) or pinecone)"),
        )
        .with_operation("from_url")),
    }
}

#[cfg(feature = "qdrant")]
fn qdrant(url: &str) -> Result<DynVectorStore> {
    let store = crate::qdrant::QdrantBuilder::from_url(url)?.build()?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "qdrant"))]
fn qdrant(_url: &str) -> Result<DynVectorStore> {
    Err(not_built("qdrant"))
}

#[cfg(feature = "pinecone")]
fn pinecone(url: &str) -> Result<DynVectorStore> {
    let store = crate::pinecone::PineconeBuilder::from_url(url)?.build()?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "pinecone"))]
fn pinecone(_url: &str) -> Result<DynVectorStore> {
    Err(not_built("pinecone"))
}

#[allow(dead_code)]
fn not_built(feature: &'static str) -> Error {
    Error::unsupported(format!(
        "the `{feature}` vector store backend is not available in this build (feature `{feature}` of plugbay-memory)"
    ))
    .with_operation("from_url")
    .with_context("feature", feature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(url: &str) -> ErrorKind {
        from_url(url)
            .map(|_| ErrorKind::Internal)
            .unwrap_or_else(|e| e.kind())
    }

    #[test]
    fn memory_scheme_builds_the_in_memory_store() {
        assert_eq!(from_url("memory://").unwrap().backend(), "memory");
        assert_eq!(from_url("MEMORY://anything").unwrap().backend(), "memory");
    }

    #[cfg(feature = "qdrant")]
    #[test]
    fn qdrant_schemes_build_the_qdrant_store() {
        for url in [
            "qdrant://localhost:6333",
            "qdrant+https://q.example:6333",
            "http://localhost:6333",
        ] {
            assert_eq!(from_url(url).unwrap().backend(), "qdrant", "{url}");
        }
        assert_eq!(kind("qdrant://h?bogus=1"), ErrorKind::Config);
    }

    #[cfg(feature = "pinecone")]
    #[test]
    fn pinecone_scheme_needs_a_key() {
        // The key comes from PINECONE_API_KEY, which tests do not set.
        if std::env::var("PINECONE_API_KEY").is_err() {
            assert_eq!(kind("pinecone://memories"), ErrorKind::Config);
        }
    }

    #[cfg(not(any(feature = "qdrant", feature = "pinecone")))]
    #[test]
    fn remote_schemes_name_their_future_feature() {
        for url in [
            "qdrant://localhost:6333",
            "http://localhost:6333",
            "https://q.example",
        ] {
            let err = from_url(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported);
            assert!(err.to_string().contains("qdrant"), "{err}");
        }
        let err = from_url("pinecone://idx-abc.svc.pinecone.io").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains("pinecone"), "{err}");
    }

    #[test]
    fn unknown_or_malformed_urls_are_config_errors() {
        assert_eq!(kind("redis://localhost"), ErrorKind::Config);
        assert_eq!(kind("memory"), ErrorKind::Config);
    }
}
