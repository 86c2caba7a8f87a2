//! [`SecretResolver`]: a registry of [`SecretSource`]s by scheme, with a
//! TTL cache that serves the last good value when a refresh fails.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use tokio::time::Instant;

use super::secret::{DynSecretSource, EnvSecretSource, FileSecretSource, SecretRef, SecretSource};
use crate::error::{Error, Result};

/// The default time a resolved secret is reused (AWS's own caching
/// client also keeps secrets for an hour).
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(3600);

struct CacheEntry {
    value: SecretString,
    fetched: Instant,
}

/// Resolves [`SecretRef`]s through the [`SecretSource`] registered for
/// their scheme, caching values for a TTL and serving the stale value when
/// a refresh fails (the failure is logged, without the value).
///
/// A scheme with no source answers [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported),
/// naming the crate feature that provides it.
///
/// ```
/// use plugbay_core::{ExposeSecret, SecretResolver, Settings};
/// # fn main() -> plugbay_core::Result<()> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// let settings = Settings::from_map([("DB_PASSWORD", "s3cret")]);
/// let resolver = SecretResolver::with_defaults(&settings);
/// let value = resolver.resolve(&"env://DB_PASSWORD".parse()?).await?;
/// assert_eq!(value.expose_secret(), "s3cret");
/// # Ok(()) })
/// # }
/// ```
pub struct SecretResolver {
    sources: BTreeMap<&'static str, DynSecretSource>,
    ttl: Duration,
    cache: Mutex<HashMap<SecretRef, CacheEntry>>,
}

impl fmt::Debug for SecretResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.cache.lock().map(|c| c.len()).unwrap_or(0);
        f.debug_struct("SecretResolver")
            .field("schemes", &self.sources.keys().collect::<Vec<_>>())
            .field("ttl", &self.ttl)
            .field("cached", &cached)
            .finish()
    }
}

impl Default for SecretResolver {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretResolver {
    /// An empty resolver (every scheme unsupported until registered).
    pub fn new() -> Self {
        SecretResolver {
            sources: BTreeMap::new(),
            ttl: DEFAULT_SECRET_TTL,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A resolver with `env://` (over `settings`) and `file://` sources.
    pub fn with_defaults(settings: &super::Settings) -> Self {
        Self::new()
            .with_source(EnvSecretSource::from_shared(settings.shared_vars()))
            .with_source(FileSecretSource::new())
    }

    /// Register `source` for its scheme, replacing any earlier one.
    pub fn with_source(self, source: impl SecretSource + 'static) -> Self {
        self.with_shared_source(Arc::new(source))
    }

    /// Register an already shared source.
    pub fn with_shared_source(mut self, source: DynSecretSource) -> Self {
        self.sources.insert(source.scheme(), source);
        self
    }

    /// How long a resolved value is reused before asking the source again.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The schemes with a registered source.
    pub fn schemes(&self) -> Vec<&'static str> {
        self.sources.keys().copied().collect()
    }

    /// Forget every cached value.
    pub fn clear_cache(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    /// Forget the cached value of one reference.
    pub fn invalidate(&self, reference: &SecretRef) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(reference);
        }
    }

    fn cached(&self, reference: &SecretRef) -> Option<(SecretString, bool)> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.get(reference)?;
        let fresh = entry.fetched.elapsed() < self.ttl;
        Some((entry.value.clone(), fresh))
    }

    /// Resolve `reference`: a fresh cached value, else the source's answer
    /// (cached when the source allows), else — if the source fails — the
    /// stale cached value, else the source's error.
    pub async fn resolve(&self, reference: &SecretRef) -> Result<SecretString> {
        let scheme = reference.scheme();
        let Some(source) = self.sources.get(scheme) else {
            return Err(unsupported_scheme(scheme));
        };
        let cached = self.cached(reference);
        if let Some((value, true)) = &cached {
            return Ok(value.clone());
        }
        match source.resolve(reference).await {
            Ok(value) => {
                if source.cacheable()
                    && let Ok(mut cache) = self.cache.lock()
                {
                    cache.insert(
                        reference.clone(),
                        CacheEntry {
                            value: value.clone(),
                            fetched: Instant::now(),
                        },
                    );
                }
                Ok(value)
            }
            Err(error) => match cached {
                Some((stale, _)) => {
                    tracing::warn!(
                        reference = %reference,
                        error = %error,
                        "secret refresh failed; serving the cached value"
                    );
                    Ok(stale)
                }
                None => Err(error.with_context("reference", reference.to_string())),
            },
        }
    }
}

/// The `Unsupported` error for a scheme without a registered source.
fn unsupported_scheme(scheme: &str) -> Error {
    let message = match scheme {
        "aws-sm" | "azure-kv" => format!(
            "`{scheme}://` secret references need the `{scheme}` feature of the \
             `plugbay-secrets` crate and a resolver from \
             `plugbay_secrets::default_resolver`"
        ),
        _ => format!(
            "no secret source is registered for `{scheme}://` references \
             (use `SecretResolver::with_defaults` or `with_source`)"
        ),
    };
    Error::unsupported(message).with_operation("resolve_secret")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use async_trait::async_trait;
    use secrecy::ExposeSecret;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Answers `v<n>` on the n-th call, or fails when told to.
    #[derive(Debug, Default)]
    struct FlakySource {
        calls: AtomicUsize,
        failing: AtomicBool,
    }

    #[async_trait]
    impl SecretSource for FlakySource {
        fn scheme(&self) -> &'static str {
            "aws-sm"
        }
        async fn resolve(&self, _reference: &SecretRef) -> Result<SecretString> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.failing.load(Ordering::SeqCst) {
                return Err(Error::new(ErrorKind::Unavailable, "backend down"));
            }
            Ok(SecretString::from(format!("v{n}")))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn caches_for_the_ttl_then_refreshes_and_serves_stale_on_error() {
        let source = Arc::new(FlakySource::default());
        let resolver = SecretResolver::new()
            .with_shared_source(source.clone())
            .ttl(Duration::from_secs(60));
        let r: SecretRef = "aws-sm://db#password".parse().unwrap();

        assert_eq!(resolver.resolve(&r).await.unwrap().expose_secret(), "v1");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(resolver.resolve(&r).await.unwrap().expose_secret(), "v1");
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);

        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(resolver.resolve(&r).await.unwrap().expose_secret(), "v2");
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);

        source.failing.store(true, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(
            resolver.resolve(&r).await.unwrap().expose_secret(),
            "v2",
            "stale value served on error"
        );
        assert_eq!(source.calls.load(Ordering::SeqCst), 3);

        resolver.invalidate(&r);
        let err = resolver.resolve(&r).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.to_string().contains("aws-sm://db#password"), "{err}");
    }

    #[tokio::test]
    async fn unregistered_schemes_are_unsupported_and_name_the_feature() {
        let resolver = SecretResolver::new().with_source(FileSecretSource::new());
        assert_eq!(resolver.schemes(), vec!["file"]);
        let err = resolver
            .resolve(&"aws-sm://x".parse().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains("`aws-sm` feature"), "{err}");
        assert!(err.message().contains("plugbay-secrets"), "{err}");
        let err = resolver
            .resolve(&"azure-kv://v/n".parse().unwrap())
            .await
            .unwrap_err();
        assert!(err.message().contains("`azure-kv` feature"), "{err}");
        let err = resolver
            .resolve(&"env://X".parse().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[tokio::test]
    async fn env_values_are_not_cached() {
        let settings = super::super::Settings::from_map([("K", "one")]);
        let resolver = SecretResolver::with_defaults(&settings);
        let r: SecretRef = "env://K".parse().unwrap();
        assert_eq!(resolver.resolve(&r).await.unwrap().expose_secret(), "one");
        assert!(format!("{resolver:?}").contains("cached: 0"));
    }
}
