//! [`ProvidersBuilder`]: settings plus per-concern overrides, assembled
//! into a [`Providers`] set.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use plugbay_auth::{DynTokenIssuer, DynTokenVerifier, SocialLogin};
use plugbay_cache::{DynKeyValue, DynRateLimiter};
use plugbay_core::{Result, Settings};
use plugbay_data::DynDocumentStore;
use plugbay_llm::{DynChatModel, DynEmbeddingModel};
use plugbay_memory::{DynMemory, DynVectorStore};
use plugbay_storage::DynObjectStore;
use plugbay_webhooks::{DynNotifier, DynWebhookVerifier};

use super::assembly::{Assembly, Selected, overridden};
use super::{Providers, llm, login, select, stores};
use crate::report::Concern;

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
    social_login: Option<SocialLogin>,
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

    /// Use this social login instead of the one the settings configure.
    pub fn social_login(mut self, login: SocialLogin) -> Self {
        self.social_login = Some(login);
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
        let mut social_login = self.social_login;
        let mut external_identity = None;
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
                let selected = login::select(&settings, &kv).await?;
                set.reports.push(selected.report);
                external_identity = selected.external;
                if social_login.is_none() {
                    social_login = selected.social;
                }
                (Some(selected.issuer), selected.verifier)
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
            social_login,
            external_identity,
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
