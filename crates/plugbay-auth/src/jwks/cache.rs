//! [`JwksCache`]: an issuer's signing keys, fetched from its `jwks_uri`.
//!
//! - Reads are lock-free: the key set is an immutable snapshot behind an
//!   `ArcSwap`, so the verification hot path is one atomic load and a hash
//!   lookup, with no network and no await.
//! - A token naming an unknown `kid` (the issuer may have rotated) triggers
//!   a refetch, but at most one per cooldown (30 s): fetches are
//!   single-flight behind an async mutex, and kids still unknown after a
//!   fetch go into a negative cache until the cooldown passes. A storm of
//!   tokens with random kids therefore costs at most one request per
//!   cooldown, not one per token.
//! - Fetches use a dedicated client: 5 s timeout, no redirects (a JWKS
//!   endpoint that redirects is a misconfiguration or an attack).
//! - When a refetch fails, the keys already held keep being served.
//! - The set is also refreshed when older than `max_age` (1 h), without
//!   making requests wait for one another.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use plugbay_core::http::{Call, HttpClient, RetryPolicy};
use plugbay_core::{Error, ErrorKind, Result};
use url::Url;

use super::parse::parse_jwks;
use crate::clock::{DynClock, SystemClock, unix_millis};
use crate::keys::{JwtAlgorithm, JwtKey};

/// Default minimum time between two fetches of the same JWKS.
pub const DEFAULT_JWKS_COOLDOWN: Duration = Duration::from_secs(30);
/// Default age after which a key set is refreshed on next use.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// Timeout of one JWKS fetch.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Most unknown kids remembered at once (the negative cache is cleared
/// when full, which at worst allows one more fetch after the cooldown).
const MAX_NEGATIVE: usize = 10_000;

#[derive(Default)]
struct KeySnapshot {
    by_kid: HashMap<String, Arc<JwtKey>>,
    all: Vec<Arc<JwtKey>>,
    /// Unix millis of the successful fetch; 0 = never loaded.
    fetched_at_ms: u64,
}

impl KeySnapshot {
    fn find(&self, kid: Option<&str>, alg: JwtAlgorithm) -> Option<Arc<JwtKey>> {
        match kid {
            Some(kid) => self
                .by_kid
                .get(kid)
                .filter(|k| k.algorithm() == alg)
                .cloned(),
            None => self.all.iter().find(|k| k.algorithm() == alg).cloned(),
        }
    }
}

struct Inner {
    provider: String,
    uri: Url,
    http: HttpClient,
    algorithms: Vec<JwtAlgorithm>,
    cooldown: Duration,
    max_age: Duration,
    clock: DynClock,
    keys: ArcSwap<KeySnapshot>,
    refresh: tokio::sync::Mutex<()>,
    /// Unix millis of the last fetch attempt (success or not); 0 = never.
    last_attempt_ms: AtomicU64,
    negative: Mutex<HashMap<String, u64>>,
    fetches: AtomicU64,
}

/// The signing keys of one issuer, cached from its JWKS endpoint. Cheap to
/// clone (shared).
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("uri", &self.inner.uri.as_str())
            .field("algorithms", &self.inner.algorithms)
            .field("keys", &self.inner.keys.load().all.len())
            .finish_non_exhaustive()
    }
}

/// Builds a [`JwksCache`].
#[derive(Debug, Clone)]
pub struct JwksCacheBuilder {
    provider: String,
    uri: String,
    algorithms: Vec<JwtAlgorithm>,
    cooldown: Duration,
    max_age: Duration,
    clock: Option<DynClock>,
    retry_policy: RetryPolicy,
}

impl JwksCacheBuilder {
    /// The provider name used in errors and spans (default `jwks`).
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = provider.into();
        self
    }

    /// The algorithms keys may have (default RS256). HS256 is refused at
    /// build: a shared secret never comes from a JWKS.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = JwtAlgorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Minimum time between fetches (default 30 s).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Age after which the set is refreshed on next use (default 1 h).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Use `clock` for cooldowns and ages (tests).
    pub fn clock(mut self, clock: DynClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The retry policy of one fetch (default: one retry on transient
    /// errors, within the 5 s timeout per attempt).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// Build. `Config` for a URL that is not https (plain http is allowed
    /// on loopback, for tests), no algorithm, or an HMAC algorithm.
    pub fn build(self) -> Result<JwksCache> {
        let uri =
            Url::parse(&self.uri).map_err(|e| Error::config("invalid JWKS URL").with_source(e))?;
        let loopback = matches!(uri.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if uri.scheme() != "https" && !(uri.scheme() == "http" && loopback) {
            return Err(Error::config("the JWKS URL must use https"));
        }
        if self.algorithms.is_empty() {
            return Err(Error::config("pin at least one JWKS algorithm"));
        }
        if self.algorithms.iter().any(|a| a.is_symmetric()) {
            return Err(Error::config(
                "HMAC algorithms cannot be used with keys from a JWKS",
            ));
        }
        let http = HttpClient::builder()
            .timeout(JWKS_FETCH_TIMEOUT)
            .connect_timeout(JWKS_FETCH_TIMEOUT)
            .max_redirects(0)
            .retry_policy(self.retry_policy)
            .build()?;
        Ok(JwksCache {
            inner: Arc::new(Inner {
                provider: self.provider,
                uri,
                http,
                algorithms: self.algorithms,
                cooldown: self.cooldown,
                max_age: self.max_age,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                keys: ArcSwap::from_pointee(KeySnapshot::default()),
                refresh: tokio::sync::Mutex::new(()),
                last_attempt_ms: AtomicU64::new(0),
                negative: Mutex::new(HashMap::new()),
                fetches: AtomicU64::new(0),
            }),
        })
    }
}

fn unknown_key() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "token was signed by an unknown key",
    )
    .with_operation("verify")
    .with_context("reason", "unknown_key")
}

impl JwksCache {
    /// Start building a cache for the JWKS at `jwks_uri`.
    pub fn builder(jwks_uri: impl Into<String>) -> JwksCacheBuilder {
        JwksCacheBuilder {
            provider: "jwks".to_owned(),
            uri: jwks_uri.into(),
            algorithms: vec![JwtAlgorithm::RS256],
            cooldown: DEFAULT_JWKS_COOLDOWN,
            max_age: DEFAULT_JWKS_MAX_AGE,
            clock: None,
            retry_policy: RetryPolicy::default()
                .max_retries(1)
                .initial_backoff(Duration::from_millis(100)),
        }
    }

    /// The JWKS URL.
    pub fn uri(&self) -> &Url {
        &self.inner.uri
    }

    /// The algorithms keys may have.
    pub fn algorithms(&self) -> &[JwtAlgorithm] {
        &self.inner.algorithms
    }

    /// How many fetches were attempted so far.
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Whether a key set was loaded at least once.
    pub fn is_loaded(&self) -> bool {
        self.inner.keys.load().fetched_at_ms != 0
    }

    fn now_ms(&self) -> u64 {
        unix_millis(self.inner.clock.now())
    }

    fn cooling_down(&self, now: u64) -> bool {
        let last = self.inner.last_attempt_ms.load(Ordering::Acquire);
        last != 0 && now.saturating_sub(last) < millis(self.inner.cooldown)
    }

    fn negative_hit(&self, kid: &str, now: u64) -> bool {
        let negative = self
            .inner
            .negative
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        negative
            .get(kid)
            .is_some_and(|at| now.saturating_sub(*at) < millis(self.inner.cooldown))
    }

    fn remember_unknown(&self, kid: &str, now: u64) {
        let mut negative = self
            .inner
            .negative
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if negative.len() >= MAX_NEGATIVE {
            negative.clear();
        }
        negative.insert(kid.to_owned(), now);
    }

    /// The key for a token's `kid` (or, without one, the first key of the
    /// token's algorithm), fetching the set when the kid is unknown and the
    /// cooldown allows.
    ///
    /// `Unauthenticated` for a kid the issuer does not publish; the fetch
    /// error (`Unavailable`, `Timeout`, `Protocol`) when no key set could
    /// ever be loaded.
    pub async fn key(&self, kid: Option<&str>, alg: JwtAlgorithm) -> Result<Arc<JwtKey>> {
        {
            let snapshot = self.inner.keys.load();
            if let Some(key) = snapshot.find(kid, alg) {
                let stale = self.now_ms().saturating_sub(snapshot.fetched_at_ms)
                    > millis(self.inner.max_age);
                drop(snapshot);
                if stale {
                    self.refresh_if_idle().await;
                }
                return Ok(key);
            }
        }
        let kid_key = kid.unwrap_or("");
        let now = self.now_ms();
        if self.negative_hit(kid_key, now) {
            return Err(self.missing_error());
        }
        if self.cooling_down(now) {
            self.remember_unknown(kid_key, now);
            return Err(self.missing_error());
        }
        let _flight = self.inner.refresh.lock().await;
        // Someone else may have fetched while we waited for the lock.
        if let Some(key) = self.inner.keys.load().find(kid, alg) {
            return Ok(key);
        }
        let now = self.now_ms();
        if self.cooling_down(now) {
            self.remember_unknown(kid_key, now);
            return Err(self.missing_error());
        }
        match self.fetch_and_store(now).await {
            Ok(()) => match self.inner.keys.load().find(kid, alg) {
                Some(key) => Ok(key),
                None => {
                    self.remember_unknown(kid_key, now);
                    Err(unknown_key())
                }
            },
            Err(e) => {
                self.remember_unknown(kid_key, now);
                if self.is_loaded() {
                    Err(unknown_key())
                } else {
                    Err(e)
                }
            }
        }
    }

    fn missing_error(&self) -> Error {
        if self.is_loaded() {
            unknown_key()
        } else {
            Error::new(
                ErrorKind::Unavailable,
                "the issuer's signing keys could not be loaded yet",
            )
            .with_provider(self.inner.provider.clone())
            .with_operation("jwks")
        }
    }

    /// Refresh a stale set unless a fetch is already running or cooling
    /// down; failures keep the old keys.
    async fn refresh_if_idle(&self) {
        let now = self.now_ms();
        if self.cooling_down(now) {
            return;
        }
        let Ok(_flight) = self.inner.refresh.try_lock() else {
            return;
        };
        if self.cooling_down(now) {
            return;
        }
        if let Err(e) = self.fetch_and_store(now).await {
            tracing::warn!(provider = %self.inner.provider, error = %e, "JWKS refresh failed; serving cached keys");
        }
    }

    /// Fetch now, regardless of the cooldown (startup warm-up, tests).
    /// On failure the cached keys stay in place.
    pub async fn refresh(&self) -> Result<()> {
        let _flight = self.inner.refresh.lock().await;
        self.fetch_and_store(self.now_ms()).await
    }

    /// Caller holds the refresh lock.
    async fn fetch_and_store(&self, now: u64) -> Result<()> {
        self.inner
            .last_attempt_ms
            .store(now.max(1), Ordering::Release);
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let call = Call::new(self.inner.provider.clone(), "jwks");
        let uri = self.inner.uri.clone();
        let response = self
            .inner
            .http
            .execute(&call, |http| {
                http.get(uri.clone())
                    .header("accept", "application/json, application/jwk-set+json")
            })
            .await?;
        let keys = parse_jwks(response.body(), &self.inner.algorithms).map_err(|e| {
            e.with_provider(self.inner.provider.clone())
                .with_operation("jwks")
        })?;
        if keys.is_empty() {
            return Err(
                Error::protocol("the JWKS document holds no usable signing key")
                    .with_provider(self.inner.provider.clone())
                    .with_operation("jwks"),
            );
        }
        let mut snapshot = KeySnapshot {
            fetched_at_ms: now.max(1),
            ..KeySnapshot::default()
        };
        for key in keys {
            if let Some(kid) = key.kid() {
                snapshot.by_kid.insert(kid.to_owned(), key.clone());
            }
            snapshot.all.push(key);
        }
        self.inner.keys.store(Arc::new(snapshot));
        self.inner
            .negative
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        Ok(())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
