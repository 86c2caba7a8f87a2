//! [`OpenAiConfig`]: everything an OpenAI(-compatible) client needs, with a
//! `Debug` that never shows the key.

use std::time::Duration;

use plugbay_core::{RetryPolicy, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::types::ChatCapabilities;

/// The OpenAI API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The chat model used when none is configured.
pub const DEFAULT_CHAT_MODEL: &str = "gpt-4o-mini";
/// The embedding model used when none is configured.
pub const DEFAULT_EMBEDDING_MODEL: &str = "text-embedding-3-small";
/// OpenAI's limit on inputs per embeddings request.
pub const OPENAI_MAX_BATCH: usize = 2048;
/// A conservative batch size for OpenAI-compatible servers, whose limits
/// vary (TEI defaults to 32 per request, vLLM and Ollama accept more).
pub const COMPATIBLE_MAX_BATCH: usize = 256;
/// The Azure OpenAI `api-version` used when none is configured (the latest
/// GA data-plane version when this was written).
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";
/// The per-attempt timeout of the official SDKs (10 minutes: long
/// completions and streams must not be cut).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The `gen_ai.provider.name` of OpenAI.
pub const PROVIDER_OPENAI: &str = "openai";
/// The `gen_ai.provider.name` of Azure OpenAI.
pub const PROVIDER_AZURE: &str = "azure.ai.openai";

/// Which request field carries the token limit.
///
/// OpenAI documents `max_completion_tokens` and calls `max_tokens`
/// deprecated (reasoning models reject it); older OpenAI-compatible servers
/// only know `max_tokens`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MaxTokensField {
    /// `max_completion_tokens` (OpenAI and Azure OpenAI).
    #[default]
    MaxCompletionTokens,
    /// `max_tokens` (the default for custom base URLs).
    MaxTokens,
}

impl MaxTokensField {
    /// The JSON field name.
    pub fn as_str(self) -> &'static str {
        match self {
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            MaxTokensField::MaxTokens => "max_tokens",
        }
    }

    /// Read `max_tokens` / `max_completion_tokens`.
    pub fn parse(value: &str) -> Option<MaxTokensField> {
        match value.trim() {
            "max_completion_tokens" => Some(MaxTokensField::MaxCompletionTokens),
            "max_tokens" => Some(MaxTokensField::MaxTokens),
            _ => None,
        }
    }
}

/// Settings of an OpenAI or OpenAI-compatible client. Build it with
/// [`OpenAiBuilder`](super::OpenAiBuilder); the fields are public for
/// inspection and for serde-based configuration.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct OpenAiConfig {
    /// The API key: sent as `Authorization: Bearer`, or as `api-key` on
    /// Azure. Optional for custom base URLs (local servers).
    #[serde(skip_serializing)]
    pub api_key: Option<SecretString>,
    /// The API root, without a trailing slash (`https://api.openai.com/v1`,
    /// `http://127.0.0.1:8000/v1`); for Azure the resource endpoint
    /// (`https://NAME.openai.azure.com`).
    pub base_url: String,
    /// `OpenAI-Organization` header.
    pub organization: Option<String>,
    /// `OpenAI-Project` header.
    pub project: Option<String>,
    /// The chat model (on Azure: the chat deployment name).
    pub model: String,
    /// The embedding model (on Azure: the embedding deployment name).
    pub embedding_model: String,
    /// `dimensions` sent with embedding requests (text-embedding-3 models
    /// can shorten their vectors).
    pub embedding_dimensions: Option<usize>,
    /// The most inputs per embeddings request.
    pub max_batch: usize,
    /// Bound on each attempt; for a stream, on the wait for its head and
    /// then on each silence between its chunks.
    pub timeout: Duration,
    /// Retries, backoff and budget. OpenAI's default also retries 409.
    #[serde(skip)]
    pub retry_policy: RetryPolicy,
    /// Which field carries [`ChatRequest::max_tokens`](crate::ChatRequest::max_tokens).
    pub max_tokens_field: MaxTokensField,
    /// Ask streams for a final usage chunk (`stream_options.include_usage`);
    /// turn off for servers that reject `stream_options`.
    pub stream_usage: bool,
    /// The name in errors, logs and `gen_ai.provider.name`.
    pub provider_name: String,
    /// `Some(api-version)` selects Azure OpenAI: deployment URLs and the
    /// `api-key` header.
    pub azure_api_version: Option<String>,
    /// Parameters added to every chat request unless the request sets them
    /// (`{"temperature": 0.2}`, server-specific knobs).
    pub default_params: Map<String, Value>,
    /// What the server supports, when it differs from OpenAI's full set.
    pub capabilities: Option<ChatCapabilities>,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            organization: None,
            project: None,
            model: DEFAULT_CHAT_MODEL.to_owned(),
            embedding_model: DEFAULT_EMBEDDING_MODEL.to_owned(),
            embedding_dimensions: None,
            max_batch: OPENAI_MAX_BATCH,
            timeout: DEFAULT_TIMEOUT,
            retry_policy: RetryPolicy::default().retry_on_conflict(true),
            max_tokens_field: MaxTokensField::MaxCompletionTokens,
            stream_usage: true,
            provider_name: PROVIDER_OPENAI.to_owned(),
            azure_api_version: None,
            default_params: Map::new(),
            capabilities: None,
        }
    }
}

impl OpenAiConfig {
    /// `true` when this talks to Azure OpenAI deployments.
    pub fn is_azure(&self) -> bool {
        self.azure_api_version.is_some()
    }

    /// `true` when the base URL is OpenAI's own API.
    pub fn is_official(&self) -> bool {
        self.base_url.trim_end_matches('/') == DEFAULT_BASE_URL
    }

    /// The chat capabilities: the configured override, else OpenAI's set.
    pub fn chat_capabilities(&self) -> ChatCapabilities {
        self.capabilities.clone().unwrap_or_else(|| {
            ChatCapabilities::none()
                .tools(true)
                .parallel_tool_calls(true)
                .streaming(true)
                .streaming_usage(self.stream_usage)
                .json_schema(true)
                .json_object(true)
                .vision(true)
                .seed(true)
        })
    }
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &plugbay_core::redact::redact(&self.base_url))
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("model", &self.model)
            .field("embedding_model", &self.embedding_model)
            .field("embedding_dimensions", &self.embedding_dimensions)
            .field("max_batch", &self.max_batch)
            .field("timeout", &self.timeout)
            .field("retry_policy", &self.retry_policy)
            .field("max_tokens_field", &self.max_tokens_field)
            .field("stream_usage", &self.stream_usage)
            .field("provider_name", &self.provider_name)
            .field("azure_api_version", &self.azure_api_version)
            .field("default_params", &self.default_params.keys())
            .field("capabilities", &self.capabilities)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let config = OpenAiConfig {
            api_key: Some(SecretString::from("sk-very-secret-123")),
            ..OpenAiConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(config.is_official() && !config.is_azure());
    }

    #[test]
    fn max_tokens_field_names() {
        assert_eq!(
            MaxTokensField::parse("max_tokens"),
            Some(MaxTokensField::MaxTokens)
        );
        assert_eq!(MaxTokensField::default().as_str(), "max_completion_tokens");
        assert_eq!(MaxTokensField::parse("nope"), None);
    }
}
