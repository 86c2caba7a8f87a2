//! [`Providers`]: one backend per concern, built from settings by
//! [`ProvidersBuilder`].

mod assembly;
mod backends;
mod llm;
mod probe;
mod select;
mod stores;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_backends;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use plugbay_auth::{DynTokenIssuer, DynTokenVerifier};
use plugbay_cache::{DynKeyValue, DynRateLimiter};
use plugbay_core::{Result, SecretResolver, Settings};
use plugbay_data::DynDocumentStore;
use plugbay_llm::{DynChatModel, DynEmbeddingModel};
use plugbay_memory::{DynMemory, DynVectorStore, InMemoryVectorStore};
use plugbay_storage::DynObjectStore;
use plugbay_telemetry::{DynAnalytics, DynErrorReporter, DynMetrics};
use plugbay_webhooks::{DynNotifier, DynWebhookVerifier, ReplayGuard, VerifiedWebhooks};

use crate::report::{Concern, ConcernReport, ConcernStatus};

#[cfg(any(feature = "openai", feature = "mem0"))]
pub(crate) use assembly::refused_key;
use assembly::{Assembly, overridden};
pub(crate) use assembly::{Probe, Selected};

/// A whole provider set: one backend per integration concern.
///
/// Build it from settings with [`Providers::from_settings`] or, to inject
/// backends, with [`ProvidersBuilder`]. Cloning is cheap (shared `Arc`s).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use plugbay::{Concern, Providers};
/// use plugbay::core::Settings;
///
/// let settings = Settings::from_map([
///     ("PLUGBAY_STORAGE_URL", "memory://"),
///     ("PLUGBAY_VECTOR_URL", "memory://"),
/// ]);
/// let providers = Providers::from_settings(&settings).await?;
/// let storage = providers.report().into_iter().find(|r| r.concern == Concern::Storage).unwrap();
/// assert_eq!((storage.backend.as_str(), storage.is_default), ("memory", false));
/// assert!(providers.readiness().await.iter().all(|s| s.ready));
/// # Ok::<(), plugbay::core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Providers {
    storage: DynObjectStore,
    vectors: DynVectorStore,
    memory: DynMemory,
    chat: DynChatModel,
    embedder: DynEmbeddingModel,
    kv: DynKeyValue,
    rate_limiter: DynRateLimiter,
    token_verifier: DynTokenVerifier,
    token_issuer: Option<DynTokenIssuer>,
    documents: DynDocumentStore,
    errors: DynErrorReporter,
    analytics: DynAnalytics,
    metrics: DynMetrics,
    notifier: DynNotifier,
    webhooks: BTreeMap<String, DynWebhookVerifier>,
    secrets: Arc<SecretResolver>,
    settings: Settings,
    reports: Arc<Vec<ConcernReport>>,
    probes: Arc<BTreeMap<Concern, Probe>>,
    vector_snapshot: Option<Arc<InMemoryVectorStore>>,
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for report in self.reports.iter() {
            map.entry(&report.concern.as_str(), &report.backend);
        }
        map.finish()
    }
}

impl Providers {
    /// Build every concern from `settings` (see [`crate::keys`]), falling
    /// back to the embedded defaults for what is not configured.
    ///
    /// # Errors
    /// `Config` for a malformed setting or an unknown scheme/name, and
    /// `Unsupported` for a backend this build lacks; the error's context
    /// names the setting (`setting=PLUGBAY_STORAGE_URL`).
    pub async fn from_settings(settings: &Settings) -> Result<Providers> {
        ProvidersBuilder::from_settings(settings).build().await
    }

    /// A builder over `settings`, for overriding single backends.
    pub fn builder(settings: &Settings) -> ProvidersBuilder {
        ProvidersBuilder::from_settings(settings)
    }

    /// Object storage.
    pub fn storage(&self) -> &DynObjectStore {
        &self.storage
    }

    /// Vector store (also used by the memory engine).
    pub fn vectors(&self) -> &DynVectorStore {
        &self.vectors
    }

    /// Conversation memory.
    pub fn memory(&self) -> &DynMemory {
        &self.memory
    }

    /// Chat model.
    pub fn chat_model(&self) -> &DynChatModel {
        &self.chat
    }

    /// Whether the chat model is the mock (no real LLM configured).
    pub fn llm_is_mock(&self) -> bool {
        self.chat.provider() == "mock"
    }

    /// Embedding model.
    pub fn embedder(&self) -> &DynEmbeddingModel {
        &self.embedder
    }

    /// Key-value store (sessions, refresh tokens, webhook dedupe).
    pub fn key_value(&self) -> &DynKeyValue {
        &self.kv
    }

    /// Rate limiter.
    pub fn rate_limiter(&self) -> &DynRateLimiter {
        &self.rate_limiter
    }

    /// Access-token verifier.
    pub fn token_verifier(&self) -> &DynTokenVerifier {
        &self.token_verifier
    }

    /// Token issuer, when this process issues tokens (the local JWT);
    /// `None` when tokens come from elsewhere.
    pub fn token_issuer(&self) -> Option<&DynTokenIssuer> {
        self.token_issuer.as_ref()
    }

    /// Document store.
    pub fn documents(&self) -> &DynDocumentStore {
        &self.documents
    }

    /// Error reporter.
    pub fn error_reporter(&self) -> &DynErrorReporter {
        &self.errors
    }

    /// Product analytics.
    pub fn analytics(&self) -> &DynAnalytics {
        &self.analytics
    }

    /// Metrics.
    pub fn metrics(&self) -> &DynMetrics {
        &self.metrics
    }

    /// Outgoing notifications.
    pub fn notifier(&self) -> &DynNotifier {
        &self.notifier
    }

    /// The verifier for `provider` (`"stripe"`, `"github"`, `"auth0"`), if
    /// its secret is configured.
    pub fn webhook_verifier(&self, provider: &str) -> Option<&DynWebhookVerifier> {
        self.webhooks.get(provider)
    }

    /// The providers with a configured webhook verifier.
    pub fn webhook_providers(&self) -> impl Iterator<Item = &str> {
        self.webhooks.keys().map(String::as_str)
    }

    /// Replay protection over the key-value store (seven-day window).
    pub fn replay_guard(&self) -> ReplayGuard {
        ReplayGuard::new(self.kv.clone())
    }

    /// Verification plus replay protection for `provider`, if configured.
    pub fn webhooks(&self, provider: &str) -> Option<VerifiedWebhooks> {
        self.webhooks
            .get(provider)
            .map(|v| VerifiedWebhooks::new(v.clone(), self.replay_guard()))
    }

    /// The secret resolver used for settings.
    pub fn secret_resolver(&self) -> &Arc<SecretResolver> {
        &self.secrets
    }

    /// The settings, with the secret resolver attached.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Which backend each concern uses, in [`Concern::ALL`] order.
    pub fn report(&self) -> Vec<ConcernReport> {
        self.reports.as_ref().clone()
    }

    /// The report line of one concern.
    pub fn report_for(&self, concern: Concern) -> Option<&ConcernReport> {
        self.reports.iter().find(|r| r.concern == concern)
    }

    /// Probe every concern concurrently (each bounded by two seconds) and
    /// say whether it answers. Probes are cheap and side-effect free; paid
    /// APIs (a real LLM) are not called.
    pub async fn readiness(&self) -> Vec<ConcernStatus> {
        probe::readiness(self, Duration::from_secs(2)).await
    }

    /// Flush buffered telemetry, waiting at most `timeout` per pipe, and
    /// save the vector snapshot when the vectors persist to one (the
    /// embedded default `<data dir>/vectors.snapshot`, or
    /// `memory://?snapshot=..`). Call it on graceful shutdown: writes since
    /// the last debounced save are lost otherwise.
    ///
    /// # Errors
    /// The first flush failure (`Timeout` when a pipe did not drain, I/O
    /// errors writing the snapshot).
    pub async fn flush(&self, timeout: Duration) -> Result<()> {
        let snapshot = async {
            match &self.vector_snapshot {
                Some(store) => store.flush().await,
                None => Ok(()),
            }
        };
        let (errors, analytics, metrics, snapshot) = futures::join!(
            self.errors.flush(timeout),
            self.analytics.flush(timeout),
            self.metrics.flush(timeout),
            snapshot
        );
        errors.and(analytics).and(metrics).and(snapshot)
    }
}

/// Builds [`Providers`] from settings, with per-concern overrides.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use plugbay::ProvidersBuilder;
/// use plugbay::core::Settings;
/// use plugbay::storage::InMemoryStore;
///
/// let settings = Settings::from_map([("PLUGBAY_VECTOR_URL", "memory://")]);
/// let providers = ProvidersBuilder::from_settings(&settings)
///     .storage(Arc::new(InMemoryStore::new()))
///     .build()
///     .await?;
/// assert_eq!(providers.storage().backend(), "memory");
/// # Ok::<(), plugbay::core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Default)]
pub struct ProvidersBuilder {
    settings: Settings,
    storage: Option<DynObjectStore>,
    vectors: Option<DynVectorStore>,
    memory: Option<DynMemory>,
    chat: Option<DynChatModel>,
    embedder: Option<DynEmbeddingModel>,
    kv: Option<DynKeyValue>,
    rate_limiter: Option<DynRateLimiter>,
    auth: Option<(Option<DynTokenIssuer>, DynTokenVerifier)>,
    documents: Option<DynDocumentStore>,
    notifier: Option<DynNotifier>,
    webhooks: BTreeMap<String, DynWebhookVerifier>,
}

impl fmt::Debug for ProvidersBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvidersBuilder")
            .field("settings", &self.settings)
            .field("storage", &self.storage.as_ref().map(|s| s.backend()))
            .field("vectors", &self.vectors.as_ref().map(|s| s.backend()))
            .field("memory", &self.memory.as_ref().map(|s| s.backend()))
            .field("chat", &self.chat.as_ref().map(|s| s.provider().to_owned()))
            .field("kv", &self.kv.as_ref().map(|s| s.backend()))
            .field("auth", &self.auth.is_some())
            .field("webhooks", &self.webhooks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ProvidersBuilder {
    /// A builder reading `settings` (cheap: settings share their map).
    pub fn from_settings(settings: &Settings) -> ProvidersBuilder {
        ProvidersBuilder {
            settings: settings.clone(),
            ..ProvidersBuilder::default()
        }
    }

    /// Use this object store.
    pub fn storage(mut self, store: DynObjectStore) -> Self {
        self.storage = Some(store);
        self
    }

    /// Use this vector store (for the memory engine too).
    pub fn vectors(mut self, store: DynVectorStore) -> Self {
        self.vectors = Some(store);
        self
    }

    /// Use this memory instead of the local engine.
    pub fn memory(mut self, memory: DynMemory) -> Self {
        self.memory = Some(memory);
        self
    }

    /// Use this chat model (for the memory engine too).
    pub fn chat_model(mut self, model: DynChatModel) -> Self {
        self.chat = Some(model);
        self
    }

    /// Use this embedding model (for the memory engine too).
    pub fn embedder(mut self, model: DynEmbeddingModel) -> Self {
        self.embedder = Some(model);
        self
    }

    /// Use this key-value store (sessions, refresh tokens, dedupe).
    pub fn key_value(mut self, kv: DynKeyValue) -> Self {
        self.kv = Some(kv);
        self
    }

    /// Use this rate limiter.
    pub fn rate_limiter(mut self, limiter: DynRateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Verify access tokens with `verifier`; `issuer` issues them when
    /// this process is the token authority (`None`: tokens come from an
    /// external identity provider, so there is no login here).
    pub fn auth(mut self, issuer: Option<DynTokenIssuer>, verifier: DynTokenVerifier) -> Self {
        self.auth = Some((issuer, verifier));
        self
    }

    /// Use this document store.
    pub fn documents(mut self, store: DynDocumentStore) -> Self {
        self.documents = Some(store);
        self
    }

    /// Use this notifier.
    pub fn notifier(mut self, notifier: DynNotifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Verify webhooks for `provider` with `verifier` (replaces what the
    /// settings configure for every provider).
    pub fn webhook_verifier(
        mut self,
        provider: impl Into<String>,
        verifier: DynWebhookVerifier,
    ) -> Self {
        self.webhooks.insert(provider.into(), verifier);
        self
    }

    /// Build the set.
    ///
    /// # Errors
    /// As [`Providers::from_settings`].
    pub async fn build(self) -> Result<Providers> {
        let resolver = Arc::new(plugbay_secrets::default_resolver(&self.settings));
        let settings = self.settings.clone().with_secret_resolver(resolver.clone());
        let mut set = Assembly::default();

        let storage = set
            .pick(
                self.storage,
                Concern::Storage,
                |s| s.backend().into(),
                stores::storage(&settings),
            )
            .await?;
        let mut vector_snapshot = None;
        let vectors = match self.vectors {
            Some(given) => set.given(Concern::Vectors, given, |s| s.backend().into()),
            None => {
                let (selected, snapshot) = stores::vectors(&settings).await?;
                vector_snapshot = snapshot;
                set.push(Concern::Vectors, selected)
            }
        };
        let mut shared_limiter = None;
        let kv = match self.kv {
            Some(given) => set.given(Concern::Cache, given, |k| k.backend().into()),
            None => {
                let (selected, limiter) = stores::key_value(&settings).await?;
                shared_limiter = limiter;
                set.push(Concern::Cache, selected)
            }
        };
        let kv_backend = kv.backend();
        let rate_limiter = set
            .pick(
                self.rate_limiter,
                Concern::RateLimit,
                |r| r.backend().into(),
                async { Ok(select::rate_limiter(kv_backend, shared_limiter).into()) },
            )
            .await?;
        let chat = set
            .pick(
                self.chat,
                Concern::Llm,
                |m| m.provider().into(),
                llm::chat(&settings),
            )
            .await?;
        let embedder = set
            .pick(
                self.embedder,
                Concern::Embeddings,
                |m| m.provider().into(),
                llm::embedder(&settings, &kv),
            )
            .await?;
        let memory_is_local = self.memory.is_none();
        let memory = set
            .pick(
                self.memory,
                Concern::Memory,
                |m| m.backend().into(),
                stores::memory(
                    &settings,
                    &chat,
                    &embedder,
                    &vectors,
                    vector_snapshot.is_some(),
                ),
            )
            .await?;
        if memory_is_local && memory.backend() == "local" {
            stores::check_memory_dimensions(&embedder, &vectors).await?;
        }
        let (token_issuer, token_verifier) = match self.auth {
            Some((issuer, verifier)) => {
                set.reports.push(overridden(
                    Concern::Auth,
                    if issuer.is_some() {
                        "custom issuer"
                    } else {
                        "verify only"
                    },
                ));
                (issuer, verifier)
            }
            None => {
                let local = select::auth(&settings, &kv).await?;
                set.reports.push(local.report);
                (Some(local.issuer), local.verifier)
            }
        };
        let documents = set
            .pick(
                self.documents,
                Concern::Documents,
                |d| d.backend().into(),
                async { select::documents(&settings).map(Selected::from) },
            )
            .await?;
        let (telemetry, report) = select::telemetry(&settings)?;
        set.reports.push(report);
        let notifier = set
            .pick(
                self.notifier,
                Concern::Notifier,
                |n| n.backend().into(),
                async { select::notifier(&settings).map(Selected::from) },
            )
            .await?;
        let webhooks = if self.webhooks.is_empty() {
            let (verifiers, report) = select::webhooks(&settings).await?;
            set.reports.push(report);
            verifiers
        } else {
            set.reports
                .push(select::webhooks_report(&self.webhooks, true));
            self.webhooks
        };
        set.reports.push(select::secrets(&resolver));
        set.reports.sort_by_key(|r| r.concern);
        let Assembly { reports, probes } = set;

        let providers = Providers {
            storage,
            vectors,
            memory,
            chat,
            embedder,
            kv,
            rate_limiter,
            token_verifier,
            token_issuer,
            documents,
            errors: telemetry.errors,
            analytics: telemetry.analytics,
            metrics: telemetry.metrics,
            notifier,
            webhooks,
            secrets: resolver,
            settings,
            reports: Arc::new(reports),
            probes: Arc::new(probes),
            vector_snapshot,
        };
        for report in providers.reports.iter() {
            tracing::info!(
                concern = report.concern.as_str(),
                backend = %report.backend,
                is_default = report.is_default,
                note = report.note.as_deref().unwrap_or(""),
                "provider selected"
            );
        }
        Ok(providers)
    }
}
