//! The optional backends: one small constructor each, behind the facade
//! feature named after the backend.
//!
//! Each reads the URL the concern's setting gave plus the backend's own
//! settings (keys, regions, prefixes) from [`Settings`], so secret
//! references work and nothing is read from the process environment behind
//! the caller's back. Without its feature a constructor hands the URL to the
//! capability crate's own `from_url`, which answers `Unsupported` naming the
//! missing feature. Adding a backend is one function here plus one match arm
//! in the concern's dispatch.

#[cfg(any(
    feature = "s3",
    feature = "gcs",
    feature = "qdrant",
    feature = "pinecone",
    feature = "mem0",
    feature = "redis"
))]
use std::sync::Arc;

use plugbay_cache::{DynKeyValue, DynRateLimiter};
use plugbay_core::{ExposeSecret as _, Result, Settings};
use plugbay_memory::{DynMemory, DynVectorStore};
use plugbay_storage::DynObjectStore;

use super::Probe;

/// `settings` with the values of `keys` that are secret references
/// replaced by what they resolve to, for builders that only read plain
/// values.
#[cfg_attr(not(any(feature = "s3", feature = "gcs")), allow(dead_code))]
async fn resolved(settings: &Settings, keys: &[&str]) -> Result<Settings> {
    let mut out = settings.clone();
    for key in keys {
        if settings.secret_ref(key)?.is_some()
            && let Some(value) = settings.secret(key).await?
        {
            out = out.with(*key, value.expose_secret());
        }
    }
    Ok(out)
}

/// `s3://bucket?region=..&endpoint=..`, credentials and region from the
/// `AWS_*` settings (see `S3Builder::from_settings`), `S3_BUCKET` unused
/// since the URL names the bucket.
#[cfg(feature = "s3")]
pub(crate) async fn s3(settings: &Settings, url: &str) -> Result<DynObjectStore> {
    let settings = resolved(
        settings,
        &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ],
    )
    .await?;
    let store = plugbay_storage::S3Builder::from_settings(&settings)?
        .url(url)?
        .build()?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "s3"))]
pub(crate) async fn s3(_settings: &Settings, url: &str) -> Result<DynObjectStore> {
    plugbay_storage::from_url(url)
}

/// `gs://bucket`, `firebase://project`; credentials from
/// `GOOGLE_APPLICATION_CREDENTIALS` / `GOOGLE_SERVICE_ACCOUNT_JSON`, an
/// emulator from `STORAGE_EMULATOR_HOST`.
#[cfg(feature = "gcs")]
pub(crate) async fn gcs(settings: &Settings, url: &str) -> Result<DynObjectStore> {
    let settings = resolved(settings, &["GOOGLE_SERVICE_ACCOUNT_JSON"]).await?;
    let store = plugbay_storage::GcsBuilder::from_settings(&settings)?
        .url(url)?
        .build()?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "gcs"))]
pub(crate) async fn gcs(_settings: &Settings, url: &str) -> Result<DynObjectStore> {
    plugbay_storage::from_url(url)
}

/// `qdrant://host:6333` (and `qdrant+https://`, `http(s)://`), key from
/// `QDRANT_API_KEY`.
#[cfg(feature = "qdrant")]
pub(crate) async fn qdrant(settings: &Settings, url: &str) -> Result<DynVectorStore> {
    let mut builder = plugbay_memory::qdrant::QdrantBuilder::from_url(url)?;
    if let Some(key) = settings.secret("QDRANT_API_KEY").await? {
        builder = builder.api_key(key);
    }
    Ok(Arc::new(builder.build()?))
}

#[cfg(not(feature = "qdrant"))]
pub(crate) async fn qdrant(_settings: &Settings, url: &str) -> Result<DynVectorStore> {
    plugbay_memory::from_url(url)
}

/// `pinecone://index-name` or `pinecone://index-host`, key from
/// `PINECONE_API_KEY`, optional `PINECONE_API_VERSION` and
/// `PINECONE_CONTROLLER_HOST`.
#[cfg(feature = "pinecone")]
pub(crate) async fn pinecone(settings: &Settings, url: &str) -> Result<DynVectorStore> {
    let mut builder = plugbay_memory::pinecone::PineconeBuilder::from_url(url)?;
    if let Some(key) = settings.secret("PINECONE_API_KEY").await? {
        builder = builder.api_key(key);
    }
    if let Some(version) = settings.get("PINECONE_API_VERSION") {
        builder = builder.api_version(version.trim());
    }
    if let Some(host) = settings.get("PINECONE_CONTROLLER_HOST") {
        builder = builder.control_url(host.trim());
    }
    Ok(Arc::new(builder.build()?))
}

#[cfg(not(feature = "pinecone"))]
pub(crate) async fn pinecone(_settings: &Settings, url: &str) -> Result<DynVectorStore> {
    plugbay_memory::from_url(url)
}

/// The hosted Mem0 platform from `MEM0_API_KEY` (required),
/// `MEM0_BASE_URL`, `MEM0_ORG_ID`, `MEM0_PROJECT_ID`; readiness is its
/// `GET /v1/ping/`.
#[cfg(feature = "mem0")]
pub(crate) async fn mem0(settings: &Settings) -> Result<(DynMemory, Option<Probe>)> {
    use futures::FutureExt as _;

    let memory = Arc::new(
        plugbay_memory::mem0::Mem0Builder::from_settings(settings)
            .await?
            .build()?,
    );
    let pinged = memory.clone();
    let probe: Probe = Arc::new(move || {
        let memory = pinged.clone();
        async move { memory.ping().await.map_err(super::refused_key) }.boxed()
    });
    Ok((memory, Some(probe)))
}

#[cfg(not(feature = "mem0"))]
pub(crate) async fn mem0(_settings: &Settings) -> Result<(DynMemory, Option<Probe>)> {
    Err(plugbay_core::Error::unsupported(
        "the `mem0` memory backend is not in this build (enable the `mem0` feature of plugbay)",
    )
    .with_context("feature", "mem0"))
}

/// `redis://` / `rediss://`: the key-value store plus a GCRA rate limiter
/// sharing its connection. `REDIS_KEY_PREFIX` applies unless the URL sets
/// `?prefix=`; `REDIS_CONNECT_TIMEOUT` / `REDIS_RESPONSE_TIMEOUT` bound
/// the calls. No connection is made until the first call.
#[cfg(feature = "redis")]
pub(crate) fn redis(
    settings: &Settings,
    url: &str,
) -> Result<(DynKeyValue, Option<DynRateLimiter>)> {
    use plugbay_cache::redis::{DEFAULT_KEY_PREFIX, RedisKeyValueBuilder};

    let mut builder = RedisKeyValueBuilder::from_url(url)?;
    if builder.config().key_prefix == DEFAULT_KEY_PREFIX
        && let Some(prefix) = settings.get("REDIS_KEY_PREFIX")
    {
        builder = builder.key_prefix(prefix.trim());
    }
    if let Some(timeout) = settings.get_duration("REDIS_CONNECT_TIMEOUT")? {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(timeout) = settings.get_duration("REDIS_RESPONSE_TIMEOUT")? {
        builder = builder.response_timeout(timeout);
    }
    let kv = builder.build()?;
    let limiter: DynRateLimiter = Arc::new(kv.rate_limiter());
    Ok((Arc::new(kv), Some(limiter)))
}

#[cfg(not(feature = "redis"))]
pub(crate) fn redis(
    _settings: &Settings,
    url: &str,
) -> Result<(DynKeyValue, Option<DynRateLimiter>)> {
    plugbay_cache::from_url(url).map(|kv| (kv, None))
}
