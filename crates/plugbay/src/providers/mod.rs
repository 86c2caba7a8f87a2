//! [`Providers`]: one backend per concern, built from settings by
//! [`ProvidersBuilder`].

mod assembly;
mod backends;
mod builder;
mod llm;
mod login;
mod probe;
mod select;
mod stores;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_backends;
#[cfg(test)]
mod tests_login;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use plugbay_auth::{DynTokenIssuer, DynTokenVerifier, SocialLogin};
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
pub(crate) use assembly::{Probe, Selected};
pub use builder::ProvidersBuilder;

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
    social_login: Option<SocialLogin>,
    external_identity: Option<&'static str>,
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

    /// Social login (Google, Microsoft, GitHub, Auth0, any OIDC provider),
    /// when at least one provider's client id is configured; logins end in
    /// a session of the local issuer.
    pub fn social_login(&self) -> Option<&SocialLogin> {
        self.social_login.as_ref()
    }

    /// The external identity provider whose access tokens are accepted
    /// beside the local ones (`Some("auth0")` in `PLUGBAY_AUTH=auth0`
    /// mode), `None` when only this process's tokens are.
    pub fn external_identity(&self) -> Option<&'static str> {
        self.external_identity
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
