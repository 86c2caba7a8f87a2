//! [`OpenAiClient`]: the configured connection (URLs, auth headers, error
//! mapper, retry policy) shared by the chat and embedding models.

use std::sync::Arc;

use bytes::Bytes;
use plugbay_core::http::{Call, ErrorMapper, HttpClient};
use plugbay_core::{Error, ExposeSecret, Result};
use url::Url;

use super::config::OpenAiConfig;
use super::error::OpenAiErrorMapper;
use super::{OpenAiChatModel, OpenAiEmbeddingModel};

/// Which API an URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Chat,
    Embeddings,
}

impl Endpoint {
    fn path(self) -> [&'static str; 2] {
        match self {
            Endpoint::Chat => ["chat", "completions"],
            Endpoint::Embeddings => ["embeddings", ""],
        }
    }
}

/// A configured OpenAI(-compatible) connection: cheap to clone, shared by
/// the [`OpenAiChatModel`] and [`OpenAiEmbeddingModel`] it makes. Build it
/// with [`OpenAiBuilder::build`](super::OpenAiBuilder::build).
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    inner: Arc<ClientInner>,
}

#[derive(Debug)]
struct ClientInner {
    config: OpenAiConfig,
    http: HttpClient,
    mapper: Arc<dyn ErrorMapper>,
    base: Url,
}

impl OpenAiClient {
    pub(crate) fn new(config: OpenAiConfig, http: HttpClient) -> Result<OpenAiClient> {
        let trimmed = config.base_url.trim_end_matches('/');
        let base = Url::parse(trimmed).map_err(|e| {
            Error::config(format!("the OpenAI base URL is not a valid URL: {e}"))
                .with_provider(config.provider_name.clone())
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::config("the OpenAI base URL must be an http(s) URL")
                .with_provider(config.provider_name.clone()));
        }
        Ok(OpenAiClient {
            inner: Arc::new(ClientInner {
                config,
                http,
                mapper: Arc::new(OpenAiErrorMapper),
                base,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OpenAiConfig {
        &self.inner.config
    }

    /// The HTTP client (shares its pool with every clone).
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The provider name (`gen_ai.provider.name`).
    pub fn provider(&self) -> &str {
        &self.inner.config.provider_name
    }

    /// A chat model using the configured model.
    pub fn chat_model(&self) -> OpenAiChatModel {
        OpenAiChatModel::from_client(self.clone())
    }

    /// An embedding model using the configured embedding model.
    pub fn embedding_model(&self) -> OpenAiEmbeddingModel {
        OpenAiEmbeddingModel::from_client(self.clone())
    }

    /// The URL of `endpoint` for `model` (the deployment on Azure).
    pub(crate) fn url(&self, endpoint: Endpoint, model: &str) -> Result<Url> {
        let mut url = self.inner.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| Error::config("the OpenAI base URL cannot take a path"))?;
            segments.pop_if_empty();
            if self.inner.config.is_azure() {
                segments.extend(["openai", "deployments", model]);
            }
            for part in endpoint.path().into_iter().filter(|p| !p.is_empty()) {
                segments.push(part);
            }
        }
        if let Some(version) = &self.inner.config.azure_api_version {
            url.query_pairs_mut().append_pair("api-version", version);
        }
        Ok(url)
    }

    /// The call descriptor: retry-safe (the API documents completions and
    /// embeddings as safe to repeat), OpenAI's error mapper, the configured
    /// retry policy and timeout.
    pub(crate) fn call(&self, operation: &'static str) -> Call {
        let config = &self.inner.config;
        Call::new(config.provider_name.clone(), operation)
            .idempotent(true)
            .with_shared_error_mapper(self.inner.mapper.clone())
            .with_retry_policy(config.retry_policy.clone())
            .with_timeout(config.timeout)
    }

    /// One attempt's request: headers, auth (exposed only here) and body.
    pub(crate) fn request(
        &self,
        http: &reqwest::Client,
        url: &Url,
        body: &Bytes,
        stream: bool,
    ) -> reqwest::RequestBuilder {
        let config = &self.inner.config;
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut request = http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, accept)
            .body(body.clone());
        if let Some(key) = &config.api_key {
            request = if config.is_azure() {
                match reqwest::header::HeaderValue::from_str(key.expose_secret()) {
                    Ok(mut value) => {
                        value.set_sensitive(true);
                        request.header("api-key", value)
                    }
                    // Let the request builder report the bad key as InvalidInput.
                    Err(_) => request.header("api-key", key.expose_secret()),
                }
            } else {
                request.bearer_auth(key.expose_secret())
            };
        }
        if let Some(org) = &config.organization {
            request = request.header("OpenAI-Organization", org);
        }
        if let Some(project) = &config.project {
            request = request.header("OpenAI-Project", project);
        }
        request
    }
}
