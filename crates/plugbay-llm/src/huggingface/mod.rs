//! Hugging Face backends (feature `huggingface`): chat through the
//! Inference Providers router or a self-hosted TGI, embeddings through
//! hf-inference feature extraction or a self-hosted TEI.
//!
//! ```no_run
//! use plugbay_llm::{ChatModelExt, EmbeddingModelExt, HuggingFaceBuilder};
//! # async fn demo() -> plugbay_core::Result<()> {
//! let settings = plugbay_core::Settings::from_env()?; // HF_TOKEN, TEI_URL, ...
//! let builder = HuggingFaceBuilder::from_settings(&settings).await?;
//! let reply = builder.build_chat()?.complete("Say hi").await?;
//! let vector = builder.build_embeddings()?.embed_one("hello").await?;
//! # let _ = (reply, vector); Ok(()) }
//! ```

mod chat;
mod client;
mod config;
mod embeddings;
mod error;
mod pooling;

use std::sync::Arc;
use std::time::Duration;

use plugbay_core::http::{ErrorMapper, HttpClient};
use plugbay_core::{Error, Result, RetryPolicy, SecretString, Settings};

pub use chat::HuggingFaceChat;
pub use client::TeiInfo;
pub use config::{
    DEFAULT_BASE_URL, DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL, DEFAULT_MAX_BATCH,
    DEFAULT_TIMEOUT, HuggingFaceConfig, PROVIDER, TGI_MODEL,
};
pub use embeddings::HuggingFaceEmbeddings;
pub use error::HfErrorMapper;

use client::{HfClient, check_model_id};

use crate::openai::{MaxTokensField, OpenAiBuilder};

/// The settings [`HuggingFaceBuilder::from_settings`] reads.
pub mod keys {
    /// The access token (`hf_...`); may be a secret reference.
    pub const HF_TOKEN: &str = "HF_TOKEN";
    /// The router root (default `https://router.huggingface.co`).
    pub const HF_BASE_URL: &str = "HF_BASE_URL";
    /// The chat model.
    pub const HF_MODEL: &str = "HF_MODEL";
    /// The embedding model.
    pub const HF_EMBEDDING_MODEL: &str = "HF_EMBEDDING_MODEL";
    /// A self-hosted Text Embeddings Inference server.
    pub const TEI_URL: &str = "TEI_URL";
    /// A self-hosted Text Generation Inference server.
    pub const TGI_URL: &str = "TGI_URL";
}

/// Builds the Hugging Face chat and embedding models.
///
/// ```
/// use plugbay_llm::{EmbeddingModel, HuggingFaceBuilder};
/// let embeddings = HuggingFaceBuilder::default()
///     .tei_url("http://127.0.0.1:8080")
///     .embedding_model("BAAI/bge-small-en-v1.5")
///     .normalize(true)
///     .build_embeddings()?;
/// assert_eq!(embeddings.model(), "BAAI/bge-small-en-v1.5");
/// assert!(embeddings.is_tei());
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct HuggingFaceBuilder {
    config: HuggingFaceConfig,
    retry_policy: Option<RetryPolicy>,
    http: Option<HttpClient>,
    embedding_model_set: bool,
}

impl HuggingFaceBuilder {
    /// A builder with the defaults (router, no token).
    pub fn new() -> HuggingFaceBuilder {
        HuggingFaceBuilder::default()
    }

    /// Read `HF_TOKEN` (a secret, possibly a reference), `HF_BASE_URL`,
    /// `HF_MODEL`, `HF_EMBEDDING_MODEL`, `TEI_URL` and `TGI_URL`. Unset
    /// keys keep the defaults; a malformed URL is a `Config` error naming
    /// its key.
    pub async fn from_settings(settings: &Settings) -> Result<HuggingFaceBuilder> {
        let mut builder = HuggingFaceBuilder::default();
        if let Some(token) = settings.secret(keys::HF_TOKEN).await? {
            builder = builder.token(token);
        }
        for key in [keys::HF_BASE_URL, keys::TEI_URL, keys::TGI_URL] {
            // Validates the URL and names the key when it is malformed.
            settings.get_url(key)?;
        }
        if let Some(url) = settings.get(keys::HF_BASE_URL) {
            builder = builder.base_url(url.trim());
        }
        if let Some(model) = settings.get(keys::HF_MODEL) {
            builder = builder.model(model.trim());
        }
        if let Some(model) = settings.get(keys::HF_EMBEDDING_MODEL) {
            builder = builder.embedding_model(model.trim());
        }
        if let Some(url) = settings.get(keys::TEI_URL) {
            builder = builder.tei_url(url.trim());
        }
        if let Some(url) = settings.get(keys::TGI_URL) {
            builder = builder.tgi_url(url.trim());
        }
        Ok(builder)
    }

    /// Start from a whole configuration.
    pub fn from_config(config: HuggingFaceConfig) -> HuggingFaceBuilder {
        HuggingFaceBuilder {
            embedding_model_set: true,
            config,
            ..HuggingFaceBuilder::default()
        }
    }

    /// The access token (`hf_...`).
    pub fn token(mut self, token: impl Into<SecretString>) -> Self {
        self.config.token = Some(token.into());
        self
    }

    /// The router root (`https://router.huggingface.co`; a trailing `/v1`
    /// is tolerated).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.config.base_url = url.into();
        self
    }

    /// The chat model (router: `org/name`, optionally `:provider`).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.config.model = model.into();
        self
    }

    /// The embedding model.
    pub fn embedding_model(mut self, model: impl Into<String>) -> Self {
        self.config.embedding_model = model.into();
        self.embedding_model_set = true;
        self
    }

    /// Send embeddings to this TEI server instead of hf-inference.
    pub fn tei_url(mut self, url: impl Into<String>) -> Self {
        self.config.tei_url = Some(url.into());
        self
    }

    /// Send chat to this TGI server instead of the router.
    pub fn tgi_url(mut self, url: impl Into<String>) -> Self {
        self.config.tgi_url = Some(url.into());
        self
    }

    /// Ask for unit-length vectors.
    pub fn normalize(mut self, normalize: bool) -> Self {
        self.config.normalize = Some(normalize);
        self
    }

    /// Ask the server to truncate over-long inputs.
    pub fn truncate(mut self, truncate: bool) -> Self {
        self.config.truncate = Some(truncate);
        self
    }

    /// Wait for cold hf-inference models server-side (`x-wait-for-model`).
    pub fn wait_for_model(mut self, wait: bool) -> Self {
        self.config.wait_for_model = wait;
        self
    }

    /// The most inputs per embedding request.
    pub fn max_batch(mut self, max_batch: usize) -> Self {
        self.config.max_batch = max_batch.max(1);
        self
    }

    /// The vector length, when known in advance.
    pub fn dimensions(mut self, dimensions: usize) -> Self {
        self.config.dimensions = Some(dimensions);
        self
    }

    /// Bound each attempt (default 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Retries, backoff and budget (default: the client's policy).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.config.retry_policy = policy.clone();
        self.retry_policy = Some(policy);
        self
    }

    /// Share an existing HTTP client (connection pool, sleeper).
    pub fn http_client(mut self, http: HttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// The configuration so far.
    pub fn config(&self) -> &HuggingFaceConfig {
        &self.config
    }

    fn http(&self) -> Result<HttpClient> {
        let http = match &self.http {
            Some(http) => http.clone(),
            None => HttpClient::builder()
                .timeout(self.config.timeout)
                .retry_policy(self.config.retry_policy.clone())
                .build()?,
        };
        Ok(match &self.retry_policy {
            Some(policy) => http.with_retry_policy(policy.clone()),
            None => http,
        })
    }

    fn needs_token(&self, what: &str) -> Result<()> {
        if self.config.token.is_none() {
            return Err(Error::config(format!(
                "{what} through the Hugging Face router needs an access token (set `{}`)",
                keys::HF_TOKEN
            ))
            .with_provider(PROVIDER));
        }
        Ok(())
    }

    /// Build the chat model: TGI when a TGI URL is set (model `tgi` unless
    /// one was named), else the router (which needs a token).
    pub fn build_chat(&self) -> Result<HuggingFaceChat> {
        let tgi = self.config.tgi_url.is_some();
        if !tgi {
            self.needs_token("chat")?;
        }
        let mut builder = OpenAiBuilder::compatible(PROVIDER, self.config.chat_base_url())
            .model(self.config.chat_model())
            .timeout(self.config.timeout)
            .retry_policy(self.config.retry_policy.clone())
            .max_tokens_field(MaxTokensField::MaxTokens)
            .capabilities(HuggingFaceChat::default_capabilities(tgi));
        if let Some(token) = &self.config.token {
            builder = builder.api_key(token.clone());
        }
        if let Some(http) = &self.http {
            builder = builder.http_client(http.clone());
        }
        Ok(HuggingFaceChat::new(builder.build_chat()?, tgi))
    }

    /// Build the embedding model: TEI when a TEI URL is set, else
    /// hf-inference (which needs a token).
    pub fn build_embeddings(&self) -> Result<HuggingFaceEmbeddings> {
        let mapper: Arc<dyn ErrorMapper> = Arc::new(HfErrorMapper);
        let client = HfClient::new(self.http()?, Arc::new(self.config.clone()), mapper);
        match &self.config.tei_url {
            Some(url) => {
                url::Url::parse(url).map_err(|e| {
                    Error::config(format!("TEI URL `{url}` is not a URL: {e}"))
                        .with_provider(PROVIDER)
                })?;
                // A TEI server runs one model: name it only if told.
                let model = if self.embedding_model_set {
                    self.config.embedding_model.clone()
                } else {
                    "tei".to_owned()
                };
                Ok(HuggingFaceEmbeddings::tei(client, url.clone(), model))
            }
            None => {
                self.needs_token("hf-inference embedding")?;
                check_model_id(&self.config.embedding_model)?;
                Ok(HuggingFaceEmbeddings::inference(
                    client,
                    self.config.embedding_model.clone(),
                ))
            }
        }
    }
}
