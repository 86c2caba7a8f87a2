//! [`OpenAiBuilder`]: setters, settings (`OPENAI_*`, `AZURE_OPENAI_*`) and
//! the `openai://` URL forms.

use std::time::Duration;

use plugbay_core::http::HttpClient;
use plugbay_core::{Error, Result, RetryPolicy, SecretString, Settings};
use serde_json::Value;
use url::Url;

use super::config::{
    COMPATIBLE_MAX_BATCH, DEFAULT_AZURE_API_VERSION, DEFAULT_BASE_URL, MaxTokensField,
    OpenAiConfig, PROVIDER_AZURE,
};
use super::{OpenAiChatModel, OpenAiClient, OpenAiEmbeddingModel};
use crate::types::ChatCapabilities;

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

fn bad_url(url: &str, why: impl Into<String>) -> Error {
    Error::config(why.into()).with_context("url", plugbay_core::redact::redact(url))
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

    /// Read settings: `OPENAI_API_KEY` (may be a secret reference),
    /// `OPENAI_BASE_URL`, `OPENAI_ORG_ID` or `OPENAI_ORGANIZATION`,
    /// `OPENAI_PROJECT_ID`, `OPENAI_MODEL`, `OPENAI_EMBEDDING_MODEL`,
    /// `OPENAI_EMBEDDING_DIMENSIONS`, `OPENAI_TIMEOUT`, `OPENAI_MAX_RETRIES`.
    /// With `AZURE_OPENAI_ENDPOINT` set (and no `OPENAI_BASE_URL`) it
    /// configures Azure OpenAI instead: `AZURE_OPENAI_API_KEY` (or
    /// `OPENAI_API_KEY`), `OPENAI_API_VERSION`, `AZURE_OPENAI_DEPLOYMENT`,
    /// `AZURE_OPENAI_EMBEDDING_DEPLOYMENT`.
    pub async fn from_settings(settings: &Settings) -> Result<OpenAiBuilder> {
        let azure_endpoint = settings
            .get("AZURE_OPENAI_ENDPOINT")
            .filter(|_| !settings.contains("OPENAI_BASE_URL"));
        let mut builder = match azure_endpoint {
            Some(endpoint) => {
                let mut b = OpenAiBuilder::azure(endpoint.trim());
                if let Some(version) = settings
                    .get("OPENAI_API_VERSION")
                    .or_else(|| settings.get("AZURE_OPENAI_API_VERSION"))
                {
                    b = b.azure_api_version(version.trim());
                }
                if let Some(key) = settings.secret("AZURE_OPENAI_API_KEY").await? {
                    b = b.api_key(key);
                }
                if let Some(deployment) = settings.get("AZURE_OPENAI_DEPLOYMENT") {
                    b = b.model(deployment.trim());
                }
                if let Some(deployment) = settings.get("AZURE_OPENAI_EMBEDDING_DEPLOYMENT") {
                    b = b.embedding_model(deployment.trim());
                }
                b
            }
            None => match settings.get_url("OPENAI_BASE_URL")? {
                Some(url) => OpenAiBuilder::default().base_url(url.as_str()),
                None => OpenAiBuilder::default(),
            },
        };
        if builder.config.api_key.is_none()
            && let Some(key) = settings.secret("OPENAI_API_KEY").await?
        {
            builder = builder.api_key(key);
        }
        if let Some(org) = settings
            .get("OPENAI_ORG_ID")
            .or_else(|| settings.get("OPENAI_ORGANIZATION"))
        {
            builder = builder.organization(org.trim());
        }
        if let Some(project) = settings
            .get("OPENAI_PROJECT_ID")
            .or_else(|| settings.get("OPENAI_PROJECT"))
        {
            builder = builder.project(project.trim());
        }
        if let Some(model) = settings.get("OPENAI_MODEL")
            && !builder.config.is_azure()
        {
            builder = builder.model(model.trim());
        }
        if let Some(model) = settings.get("OPENAI_EMBEDDING_MODEL")
            && !builder.config.is_azure()
        {
            builder = builder.embedding_model(model.trim());
        }
        if let Some(dims) = settings.get_parsed::<usize>("OPENAI_EMBEDDING_DIMENSIONS")? {
            builder = builder.embedding_dimensions(dims);
        }
        if let Some(timeout) = settings.get_duration("OPENAI_TIMEOUT")? {
            builder = builder.timeout(timeout);
        }
        if let Some(retries) = settings.get_parsed::<u32>("OPENAI_MAX_RETRIES")? {
            builder = builder.max_retries(retries);
        }
        Ok(builder)
    }

    /// [`OpenAiBuilder::from_settings`] over the process environment and
    /// `.env.local`.
    pub async fn from_env() -> Result<OpenAiBuilder> {
        OpenAiBuilder::from_settings(&Settings::from_env()?).await
    }

    /// Read a URL:
    ///
    /// - `openai://?model=gpt-4o` — OpenAI itself;
    /// - `openai+http://127.0.0.1:8000/v1?model=..` and `openai+https://..`
    ///   — an OpenAI-compatible server at that root (compatible defaults,
    ///   see [`OpenAiBuilder::compatible`]);
    /// - `azure-openai://NAME.openai.azure.com?deployment=..&api-version=..`
    ///   — Azure OpenAI.
    ///
    /// Query parameters: `model` (or `deployment`), `embedding_model` (or
    /// `embedding_deployment`), `dimensions`, `max_batch`, `timeout`
    /// (`30s`), `max_retries`, `organization`, `project`,
    /// `max_tokens_field` (`max_tokens` / `max_completion_tokens`),
    /// `stream_usage` (`true`/`false`), `provider`, `api-version`. Unknown
    /// parameters are a `Config` error. Keys never go in the URL: set them
    /// with [`OpenAiBuilder::api_key`] (or `OPENAI_API_KEY`).
    pub fn from_url(url: &str) -> Result<OpenAiBuilder> {
        let parsed =
            Url::parse(url).map_err(|e| bad_url(url, format!("invalid OpenAI URL: {e}")))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad_url(
                url,
                "put the API key in OPENAI_API_KEY or api_key(), not in the URL",
            ));
        }
        let host = parsed.host_str().unwrap_or_default();
        let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
        let path = parsed.path().trim_end_matches('/');
        let mut builder = match parsed.scheme() {
            "openai" if host.is_empty() => OpenAiBuilder::default(),
            "openai" => OpenAiBuilder::default().base_url(format!("https://{host}{port}{path}")),
            "openai+http" | "openai+https" if !host.is_empty() => {
                let scheme = &parsed.scheme()["openai+".len()..];
                OpenAiBuilder::compatible(
                    super::config::PROVIDER_OPENAI,
                    format!("{scheme}://{host}{port}{path}"),
                )
            }
            "azure-openai" | "azure+openai" if !host.is_empty() => {
                OpenAiBuilder::azure(format!("https://{host}{port}{path}"))
            }
            other => {
                return Err(bad_url(
                    url,
                    format!(
                        "`{other}://` is not an OpenAI URL (expected openai://, openai+http://host/v1, openai+https://host/v1 or azure-openai://host)"
                    ),
                ));
            }
        };
        for (key, value) in parsed.query_pairs() {
            builder = builder
                .apply_query(&key, value.trim())
                .map_err(|e| e.with_context("url", plugbay_core::redact::redact(url)))?;
        }
        Ok(builder)
    }

    fn apply_query(self, key: &str, value: &str) -> Result<OpenAiBuilder> {
        fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
            value.parse().map_err(|_| {
                Error::config(format!(
                    "URL parameter `{key}` has an invalid value `{value}`"
                ))
            })
        }
        Ok(match key {
            "model" | "deployment" => self.model(value),
            "embedding_model" | "embedding_deployment" => self.embedding_model(value),
            "dimensions" => self.embedding_dimensions(parse(key, value)?),
            "max_batch" => self.max_batch(parse(key, value)?),
            "max_retries" => self.max_retries(parse(key, value)?),
            "timeout" => self.timeout(plugbay_core::config::parse_duration(value).ok_or_else(|| {
                Error::config(format!("URL parameter `timeout` is not a duration: `{value}`"))
            })?),
            "organization" => self.organization(value),
            "project" => self.project(value),
            "provider" => self.provider_name(value),
            "api-version" | "api_version" => self.azure_api_version(value),
            "max_tokens_field" => self.max_tokens_field(MaxTokensField::parse(value).ok_or_else(|| {
                Error::config("URL parameter `max_tokens_field` must be max_tokens or max_completion_tokens")
            })?),
            "stream_usage" => self.stream_usage(plugbay_core::config::parse_bool(value).ok_or_else(|| {
                Error::config("URL parameter `stream_usage` must be true or false")
            })?),
            other => {
                return Err(Error::config(format!("unknown OpenAI URL parameter `{other}`")));
            }
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::{ErrorKind, ExposeSecret};

    #[test]
    fn url_forms() {
        let b = OpenAiBuilder::from_url(
            "openai://?model=gpt-4o&embedding_model=text-embedding-3-large&dimensions=256",
        )
        .unwrap();
        assert_eq!(b.config().base_url, DEFAULT_BASE_URL);
        assert_eq!(b.config().model, "gpt-4o");
        assert_eq!(b.config().embedding_dimensions, Some(256));

        let c = OpenAiBuilder::from_url("openai+http://127.0.0.1:8000/v1/?model=qwen&timeout=30s&max_retries=5&stream_usage=false")
            .unwrap()
            .build()
            .unwrap();
        let config = c.config();
        assert_eq!(config.base_url, "http://127.0.0.1:8000/v1");
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.retry_policy.max_retries, 5);
        assert!(!config.stream_usage);
        assert_eq!(config.max_tokens_field, MaxTokensField::MaxTokens);
        assert_eq!(config.max_batch, COMPATIBLE_MAX_BATCH);
        assert!(config.retry_policy.retry_on_conflict);

        let a = OpenAiBuilder::from_url(
            "azure-openai://res.openai.azure.com?deployment=gpt4o&api-version=2025-01-01-preview",
        )
        .unwrap();
        assert_eq!(a.config().base_url, "https://res.openai.azure.com");
        assert_eq!(
            a.config().azure_api_version.as_deref(),
            Some("2025-01-01-preview")
        );
        assert_eq!(a.config().provider_name, PROVIDER_AZURE);
        assert_eq!(a.config().model, "gpt4o");

        for bad in [
            "openai://?modle=x",
            "redis://localhost",
            "openai+http://user:sk-secret@host/v1",
            "openai://?max_batch=lots",
            "openai+http:///v1",
        ] {
            let err = OpenAiBuilder::from_url(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(!err.to_string().contains("sk-secret"), "{err}");
        }
    }

    #[test]
    fn keys_are_required_only_where_the_server_needs_them() {
        let err = OpenAiBuilder::default().build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("OPENAI_API_KEY"), "{err}");
        assert_eq!(
            OpenAiBuilder::azure("https://x.openai.azure.com")
                .build()
                .unwrap_err()
                .kind(),
            ErrorKind::Config
        );
        assert!(
            OpenAiBuilder::compatible("vllm", "http://127.0.0.1:1/v1")
                .build()
                .is_ok()
        );
        let explicit = OpenAiBuilder::compatible("vllm", "http://h/v1")
            .max_tokens_field(MaxTokensField::MaxCompletionTokens)
            .max_batch(64)
            .build()
            .unwrap();
        assert_eq!(
            explicit.config().max_tokens_field,
            MaxTokensField::MaxCompletionTokens
        );
        assert_eq!(explicit.config().max_batch, 64);
        // A custom base URL alone (a proxy in front of OpenAI) keeps OpenAI's defaults.
        let proxy = OpenAiBuilder::default()
            .base_url("http://proxy.internal/v1")
            .build()
            .unwrap();
        assert_eq!(
            proxy.config().max_tokens_field,
            MaxTokensField::MaxCompletionTokens
        );
        assert_eq!(
            proxy.config().max_batch,
            super::super::config::OPENAI_MAX_BATCH
        );
        let err = OpenAiBuilder::compatible("x", "not a url")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[tokio::test]
    async fn settings_for_openai_and_azure() {
        let settings = Settings::from_map([
            ("OPENAI_API_KEY", "sk-abc"),
            ("OPENAI_ORGANIZATION", "org-9"),
            ("OPENAI_PROJECT_ID", "proj_1"),
            ("OPENAI_MODEL", "gpt-4.1-mini"),
            ("OPENAI_EMBEDDING_MODEL", "text-embedding-3-large"),
            ("OPENAI_TIMEOUT", "45s"),
            ("OPENAI_MAX_RETRIES", "4"),
        ]);
        let b = OpenAiBuilder::from_settings(&settings).await.unwrap();
        let c = b.config();
        assert_eq!(c.api_key.as_ref().unwrap().expose_secret(), "sk-abc");
        assert_eq!(
            (c.organization.as_deref(), c.project.as_deref()),
            (Some("org-9"), Some("proj_1"))
        );
        assert_eq!(
            (c.model.as_str(), c.embedding_model.as_str()),
            ("gpt-4.1-mini", "text-embedding-3-large")
        );
        assert_eq!(c.timeout, Duration::from_secs(45));
        assert_eq!(c.retry_policy.max_retries, 4);

        let compat = Settings::from_map([("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1/")]);
        let b = OpenAiBuilder::from_settings(&compat).await.unwrap();
        assert_eq!(b.config().base_url, "http://127.0.0.1:8080/v1");
        assert!(b.build().is_ok(), "no key needed for a custom base URL");

        let azure = Settings::from_map([
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/"),
            ("AZURE_OPENAI_API_KEY", "az-key"),
            ("OPENAI_API_VERSION", "2024-06-01"),
            ("AZURE_OPENAI_DEPLOYMENT", "chat-dep"),
            ("OPENAI_MODEL", "ignored-on-azure"),
        ]);
        let b = OpenAiBuilder::from_settings(&azure).await.unwrap();
        let c = b.config();
        assert!(c.is_azure());
        assert_eq!(c.base_url, "https://res.openai.azure.com");
        assert_eq!(c.model, "chat-dep");
        assert_eq!(c.azure_api_version.as_deref(), Some("2024-06-01"));
        assert_eq!(c.api_key.as_ref().unwrap().expose_secret(), "az-key");

        let bad = Settings::from_map([("OPENAI_MAX_RETRIES", "many")]);
        let err = OpenAiBuilder::from_settings(&bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
