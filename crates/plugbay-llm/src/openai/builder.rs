//! [`OpenAiBuilder`]: setters, settings (`OPENAI_*`, `AZURE_OPENAI_*`) and
//! the `openai://` URL forms.

use std::time::Duration;

use plugbay_core::http::HttpClient;
use plugbay_core::{Error, Result, RetryPolicy, SecretString};
use serde_json::Value;

use super::config::{
    COMPATIBLE_MAX_BATCH, DEFAULT_AZURE_API_VERSION, DEFAULT_BASE_URL, MaxTokensField,
    OpenAiConfig, PROVIDER_AZURE,
};
use super::{OpenAiChatModel, OpenAiClient, OpenAiEmbeddingModel};
use crate::types::ChatCapabilities;

mod settings;
#[cfg(test)]
mod tests;

/// Builds an [`OpenAiClient`] (and from it the chat and embedding models).
///
/// ```
/// use std::time::Duration;
/// use plugbay_llm::openai::OpenAiBuilder;
/// use plugbay_llm::ChatModel;
/// let chat = OpenAiBuilder::default()
///     .api_key("sk-test")
///     .organization("org-1")
///     .model("gpt-4o")
///     .timeout(Duration::from_secs(30))
///     .build_chat()?;
/// assert_eq!((chat.provider(), chat.model()), ("openai", "gpt-4o"));
///
/// // An OpenAI-compatible server needs no key.
/// let local = OpenAiBuilder::from_url("openai+http://127.0.0.1:11434/v1?model=llama3.2")?
///     .build_chat()?;
/// assert_eq!(local.model(), "llama3.2");
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenAiBuilder {
    config: OpenAiConfig,
    http: Option<HttpClient>,
    compatible: bool,
    max_tokens_field_set: bool,
    max_batch_set: bool,
}

impl OpenAiBuilder {
    /// A builder for an OpenAI-compatible server at `base_url` (its `/v1`
    /// root) reporting itself as `provider`: no key required, `max_tokens`
    /// as the token-limit field, batches of [`COMPATIBLE_MAX_BATCH`]
    /// embeddings. Each default can be changed with its setter.
    pub fn compatible(provider: impl Into<String>, base_url: impl Into<String>) -> OpenAiBuilder {
        let mut builder = OpenAiBuilder::default()
            .provider_name(provider)
            .base_url(base_url);
        builder.compatible = true;
        builder
    }

    /// A builder for Azure OpenAI at `endpoint`
    /// (`https://NAME.openai.azure.com`): deployment URLs with
    /// `api-version` [`DEFAULT_AZURE_API_VERSION`], the `api-key` header,
    /// provider `azure.ai.openai`. The model names are deployment names.
    pub fn azure(endpoint: impl Into<String>) -> OpenAiBuilder {
        let mut builder = OpenAiBuilder::default()
            .base_url(endpoint)
            .provider_name(PROVIDER_AZURE);
        builder.config.azure_api_version = Some(DEFAULT_AZURE_API_VERSION.to_owned());
        builder
    }

    /// The API key (Bearer token; `api-key` on Azure).
    pub fn api_key(mut self, key: impl Into<SecretString>) -> OpenAiBuilder {
        self.config.api_key = Some(key.into());
        self
    }

    /// The API root (default `https://api.openai.com/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> OpenAiBuilder {
        self.config.base_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// The `OpenAI-Organization` header.
    pub fn organization(mut self, organization: impl Into<String>) -> OpenAiBuilder {
        self.config.organization = Some(organization.into());
        self
    }

    /// The `OpenAI-Project` header.
    pub fn project(mut self, project: impl Into<String>) -> OpenAiBuilder {
        self.config.project = Some(project.into());
        self
    }

    /// The chat model (Azure: chat deployment).
    pub fn model(mut self, model: impl Into<String>) -> OpenAiBuilder {
        self.config.model = model.into();
        self
    }

    /// The embedding model (Azure: embedding deployment).
    pub fn embedding_model(mut self, model: impl Into<String>) -> OpenAiBuilder {
        self.config.embedding_model = model.into();
        self
    }

    /// Ask for vectors of this length (text-embedding-3 models).
    pub fn embedding_dimensions(mut self, dimensions: usize) -> OpenAiBuilder {
        self.config.embedding_dimensions = Some(dimensions);
        self
    }

    /// The most inputs per embeddings request (OpenAI: 2048).
    pub fn max_batch(mut self, max_batch: usize) -> OpenAiBuilder {
        self.config.max_batch = max_batch.max(1);
        self.max_batch_set = true;
        self
    }

    /// Bound on each attempt (default 10 minutes, as the official SDKs).
    /// A non-streaming call is bounded whole; a stream is bounded until
    /// its response head and then by the silence between its chunks (a
    /// stalled stream ends in a `Timeout` error item), never by its length.
    pub fn timeout(mut self, timeout: Duration) -> OpenAiBuilder {
        self.config.timeout = timeout;
        self
    }

    /// The retry policy (default: 2 retries, OpenAI's backoff, 409 retried).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> OpenAiBuilder {
        self.config.retry_policy = policy;
        self
    }

    /// Change only the number of retries.
    pub fn max_retries(mut self, retries: u32) -> OpenAiBuilder {
        self.config.retry_policy = self.config.retry_policy.max_retries(retries);
        self
    }

    /// Which field carries the token limit (see [`MaxTokensField`]).
    pub fn max_tokens_field(mut self, field: MaxTokensField) -> OpenAiBuilder {
        self.config.max_tokens_field = field;
        self.max_tokens_field_set = true;
        self
    }

    /// Request the final usage chunk of streams (default on).
    pub fn stream_usage(mut self, on: bool) -> OpenAiBuilder {
        self.config.stream_usage = on;
        self
    }

    /// The provider name for errors, logs and `gen_ai.provider.name`.
    pub fn provider_name(mut self, name: impl Into<String>) -> OpenAiBuilder {
        self.config.provider_name = name.into();
        self
    }

    /// Use Azure OpenAI's deployment URLs with this `api-version`.
    pub fn azure_api_version(mut self, version: impl Into<String>) -> OpenAiBuilder {
        self.config.azure_api_version = Some(version.into());
        self
    }

    /// A parameter sent with every chat request that does not set it.
    pub fn default_param(mut self, key: impl Into<String>, value: Value) -> OpenAiBuilder {
        self.config.default_params.insert(key.into(), value);
        self
    }

    /// Declare what the server supports (compatible servers differ).
    pub fn capabilities(mut self, capabilities: ChatCapabilities) -> OpenAiBuilder {
        self.config.capabilities = Some(capabilities);
        self
    }

    /// Share an [`HttpClient`] (its pool and sleeper; tests pass one with a
    /// `RecordingSleeper`). The retry policy and timeout set here still
    /// apply per call.
    pub fn http_client(mut self, http: HttpClient) -> OpenAiBuilder {
        self.http = Some(http);
        self
    }

    /// The configuration so far.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// Build the client. `Config` errors: an invalid base URL; no API key
    /// for OpenAI itself or Azure (custom base URLs may go without).
    pub fn build(mut self) -> Result<OpenAiClient> {
        let official = self.config.base_url.trim_end_matches('/') == DEFAULT_BASE_URL;
        let azure = self.config.is_azure();
        if self.config.api_key.is_none() && (official || azure) {
            let which = if azure {
                "AZURE_OPENAI_API_KEY"
            } else {
                "OPENAI_API_KEY"
            };
            return Err(Error::config(format!(
                "an API key is required for {} (set {which} or call api_key())",
                if azure {
                    "Azure OpenAI"
                } else {
                    "api.openai.com"
                }
            ))
            .with_provider(self.config.provider_name.clone()));
        }
        // Only an explicit compatible server gets compatible defaults: a
        // custom OPENAI_BASE_URL may be a proxy in front of OpenAI, whose
        // reasoning models reject `max_tokens`.
        if self.compatible {
            if !self.max_tokens_field_set {
                self.config.max_tokens_field = MaxTokensField::MaxTokens;
            }
            if !self.max_batch_set {
                self.config.max_batch = COMPATIBLE_MAX_BATCH;
            }
        }
        let http = match self.http {
            Some(http) => http,
            None => HttpClient::builder()
                .timeout(self.config.timeout)
                .retry_policy(self.config.retry_policy.clone())
                .build()?,
        };
        OpenAiClient::new(self.config, http)
    }

    /// Build a chat model.
    pub fn build_chat(self) -> Result<OpenAiChatModel> {
        Ok(self.build()?.chat_model())
    }

    /// Build an embedding model.
    pub fn build_embedding(self) -> Result<OpenAiEmbeddingModel> {
        Ok(self.build()?.embedding_model())
    }
}
