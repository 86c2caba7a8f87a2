//! OpenAI chat and embeddings (feature `openai`), for OpenAI itself, every
//! OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI, the Hugging
//! Face router) and Azure OpenAI.
//!
//! ```no_run
//! use plugbay_llm::openai::OpenAiBuilder;
//! use plugbay_llm::{ChatModelExt, EmbeddingModelExt};
//! # async fn demo() -> plugbay_core::Result<()> {
//! // OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL, ... (see the crate README)
//! let client = OpenAiBuilder::from_env().await?.build()?;
//! let reply = client.chat_model().complete("Say hi").await?;
//! let vector = client.embedding_model().embed_one("hello").await?;
//!
//! // A local vLLM / llama.cpp / Ollama server: no key needed.
//! let local = OpenAiBuilder::from_url("openai+http://127.0.0.1:8000/v1?model=qwen2.5")?
//!     .build_chat()?;
//! # let _ = (reply, vector, local); Ok(()) }
//! ```
//!
//! Requests are retried (the API documents completions as safe to repeat)
//! on 408, 409, 429 and 5xx, honouring `retry-after-ms`, `retry-after` and
//! `x-should-retry`; `insufficient_quota` is `QuotaExceeded` and never
//! retried. Streams are retried only before their first byte. Each call
//! runs in a `gen_ai` span with the OpenTelemetry GenAI attributes.

mod body;
mod builder;
mod chunk;
mod client;
mod config;
mod error;
mod fold;
mod stream;
mod telemetry;
mod template;
mod wire;

use std::borrow::Cow;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use plugbay_core::{Error, ErrorKind, Result, SecretString};
use tracing::Instrument;

pub use builder::OpenAiBuilder;
pub use client::OpenAiClient;
pub use config::{
    COMPATIBLE_MAX_BATCH, DEFAULT_AZURE_API_VERSION, DEFAULT_BASE_URL, DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL, DEFAULT_TIMEOUT, MaxTokensField, OPENAI_MAX_BATCH, OpenAiConfig,
    PROVIDER_AZURE, PROVIDER_OPENAI,
};
pub use error::OpenAiErrorMapper;
pub use fold::{ChunkFolder, FoldState};

use client::{Endpoint, Operation};
use stream::OpenAiChatStream;

use crate::model::{ChatModel, EmbeddingModel, embed_in_batches};
use crate::types::{
    ChatCapabilities, ChatEvent, ChatRequest, ChatResponse, ChatStream, Embeddings,
};

/// A [`ChatModel`] over the chat-completions API.
///
/// Build it with [`OpenAiBuilder`] (`OpenAiChatModel::builder()`), from an
/// [`OpenAiClient`], or with [`OpenAiChatModel::compatible`] for an
/// OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiChatModel {
    client: OpenAiClient,
    model: String,
    /// The chat URL of `model`, built once (`None` if it cannot be built:
    /// each call then reports why).
    url: Option<url::Url>,
}

impl OpenAiChatModel {
    /// Start a builder (the same as `OpenAiBuilder::default()`).
    pub fn builder() -> OpenAiBuilder {
        OpenAiBuilder::default()
    }

    /// A chat model on an OpenAI-compatible server at `base_url` (its `/v1`
    /// root), with an optional bearer `token`, reporting itself as
    /// `provider` (`"huggingface"`, `"vllm"`). Compatible-server defaults
    /// apply (see [`OpenAiBuilder::compatible`]).
    pub fn compatible(
        provider: impl Into<String>,
        base_url: impl Into<String>,
        token: Option<SecretString>,
        model: impl Into<String>,
    ) -> Result<OpenAiChatModel> {
        let mut builder = OpenAiBuilder::compatible(provider, base_url).model(model);
        if let Some(token) = token {
            builder = builder.api_key(token);
        }
        builder.build_chat()
    }

    pub(crate) fn from_client(client: OpenAiClient) -> OpenAiChatModel {
        let model = client.config().model.clone();
        let url = client.url(Endpoint::Chat, &model).ok();
        OpenAiChatModel { client, model, url }
    }

    /// The same connection with another default model.
    pub fn with_model(mut self, model: impl Into<String>) -> OpenAiChatModel {
        self.model = model.into();
        self.url = self.client.url(Endpoint::Chat, &self.model).ok();
        self
    }

    /// The chat URL for `model`: the one built ahead for the default model.
    fn chat_url(&self, model: &str) -> Result<Cow<'_, url::Url>> {
        match &self.url {
            Some(url) if model == self.model => Ok(Cow::Borrowed(url)),
            _ => self.client.url(Endpoint::Chat, model).map(Cow::Owned),
        }
    }

    /// The underlying client.
    pub fn client(&self) -> &OpenAiClient {
        &self.client
    }

    fn prepare<'a>(&'a self, request: &'a ChatRequest, operation: &'static str) -> Result<&'a str> {
        if request.messages.is_empty() {
            return Err(
                Error::invalid_input("a chat request needs at least one message")
                    .with_provider(self.client.provider().to_owned())
                    .with_operation(operation),
            );
        }
        Ok(request
            .model
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.model))
    }

    fn decorate(&self, error: Error, operation: &'static str) -> Error {
        let error = if error.provider().is_none() {
            error.with_provider(self.client.provider().to_owned())
        } else {
            error
        };
        if error.operation().is_none() {
            error.with_operation(operation)
        } else {
            error
        }
    }

    async fn chat_inner(
        &self,
        request: &ChatRequest,
        model: &str,
        span: &tracing::Span,
    ) -> Result<ChatResponse> {
        let body = Bytes::from(body::chat_body(
            self.client.config(),
            model,
            request,
            false,
        )?);
        let url = self.chat_url(model)?;
        let call = self.client.call(Operation::Chat);
        let response = self
            .client
            .http()
            .execute(call, |http| self.client.request(http, &url, &body, false))
            .await?;
        telemetry::record_rate_limits(span, response.headers());
        let attempts = response.attempts();
        let parsed: wire::WireChatResponse = response
            .json()
            .map_err(|e| e.with_context("attempts", attempts.to_string()))?;
        let reply = parsed.into_response(model).map_err(|e| {
            e.with_status(200)
                .with_context("attempts", attempts.to_string())
        })?;
        telemetry::record_response(
            span,
            reply.id.as_deref(),
            Some(&reply.model),
            reply.usage.as_ref(),
            Some(&reply.finish_reason),
        );
        Ok(reply)
    }

    async fn open_stream(
        &self,
        request: &ChatRequest,
        model: &str,
        span: &tracing::Span,
    ) -> Result<ChatStream> {
        let body = Bytes::from(body::chat_body(self.client.config(), model, request, true)?);
        let url = self.chat_url(model)?;
        let call = self.client.call(Operation::ChatStream);
        let response = self
            .client
            .http()
            .send(call, |http| self.client.request(http, &url, &body, true))
            .await?;
        telemetry::record_rate_limits(span, response.headers());
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            // Some compatible servers ignore `stream: true`: replay the
            // whole reply as events.
            let events = self.replay_json(response, model, span).await?;
            return Ok(futures::stream::iter(events.into_iter().map(Ok)).boxed());
        }
        // reqwest's byte stream is `Unpin`; it is held as is.
        let stream = OpenAiChatStream::new(
            response.bytes_stream(),
            self.client.provider().to_owned(),
            span.clone(),
            Some(self.client.config().timeout),
        );
        Ok(Box::pin(stream))
    }

    async fn replay_json(
        &self,
        response: reqwest::Response,
        model: &str,
        span: &tracing::Span,
    ) -> Result<Vec<ChatEvent>> {
        let value: serde_json::Value = plugbay_core::http::read_json(response).await?;
        if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
            return Err(error::stream_error(error));
        }
        let parsed: wire::WireChatResponse = serde_json::from_value(value)
            .map_err(|e| Error::protocol("unreadable chat completion").with_source(e))?;
        let reply = parsed.into_response(model)?;
        telemetry::record_response(
            span,
            reply.id.as_deref(),
            Some(&reply.model),
            reply.usage.as_ref(),
            Some(&reply.finish_reason),
        );
        let mut events = Vec::new();
        let text = reply.text();
        if !text.is_empty() {
            events.push(ChatEvent::text(text.into_owned()));
        }
        events.extend(reply.tool_calls().iter().cloned().map(ChatEvent::ToolCall));
        events.extend(reply.usage.map(ChatEvent::Usage));
        events.push(ChatEvent::Finish {
            reason: reply.finish_reason,
            response_id: reply.id,
            model: Some(reply.model),
        });
        Ok(events)
    }
}

#[async_trait]
impl ChatModel for OpenAiChatModel {
    fn provider(&self) -> &str {
        self.client.provider()
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn capabilities(&self) -> ChatCapabilities {
        self.client.config().chat_capabilities()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let model = self.prepare(&request, "chat")?;
        let span = telemetry::span("chat", self.client.provider(), model);
        span.record("gen_ai.request.stream", false);
        let result = self
            .chat_inner(&request, model, &span)
            .instrument(span.clone())
            .await
            .map_err(|e| self.decorate(e, "chat"));
        if let Err(e) = &result {
            telemetry::record_error(&span, e);
        }
        result
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let model = self.prepare(&request, "chat_stream")?;
        let span = telemetry::span("chat", self.client.provider(), model);
        span.record("gen_ai.request.stream", true);
        let result = self
            .open_stream(&request, model, &span)
            .instrument(span.clone())
            .await
            .map_err(|e| self.decorate(e, "chat_stream"));
        if let Err(e) = &result {
            telemetry::record_error(&span, e);
        }
        result
    }
}

/// An [`EmbeddingModel`] over the embeddings API.
#[derive(Debug, Clone)]
pub struct OpenAiEmbeddingModel {
    client: OpenAiClient,
    model: String,
}

/// Vector lengths of OpenAI's embedding models, for `dimensions()` before
/// the first call.
fn known_dimensions(model: &str) -> Option<usize> {
    match model {
        "text-embedding-3-small" | "text-embedding-ada-002" => Some(1536),
        "text-embedding-3-large" => Some(3072),
        _ => None,
    }
}

impl OpenAiEmbeddingModel {
    /// Start a builder (the same as `OpenAiBuilder::default()`).
    pub fn builder() -> OpenAiBuilder {
        OpenAiBuilder::default()
    }

    pub(crate) fn from_client(client: OpenAiClient) -> OpenAiEmbeddingModel {
        let model = client.config().embedding_model.clone();
        OpenAiEmbeddingModel { client, model }
    }

    /// The same connection with another model.
    pub fn with_model(mut self, model: impl Into<String>) -> OpenAiEmbeddingModel {
        self.model = model.into();
        self
    }

    /// The underlying client.
    pub fn client(&self) -> &OpenAiClient {
        &self.client
    }

    async fn embed_batch(&self, inputs: &[String], span: &tracing::Span) -> Result<Embeddings> {
        let config = self.client.config();
        let body = Bytes::from(body::embeddings_body(
            &self.model,
            inputs,
            config.embedding_dimensions,
        )?);
        let url = self.client.url(Endpoint::Embeddings, &self.model)?;
        let call = self.client.call(Operation::Embeddings);
        let response = self
            .client
            .http()
            .execute(call, |http| self.client.request(http, &url, &body, false))
            .await?;
        telemetry::record_rate_limits(span, response.headers());
        let attempts = response.attempts();
        let parsed: wire::WireEmbeddings = response
            .json()
            .map_err(|e| e.with_context("attempts", attempts.to_string()))?;
        parsed
            .into_embeddings(inputs.len(), &self.model)
            .map_err(|e| {
                e.with_status(200)
                    .with_context("attempts", attempts.to_string())
            })
    }
}

#[async_trait]
impl EmbeddingModel for OpenAiEmbeddingModel {
    fn provider(&self) -> &str {
        self.client.provider()
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn dimensions(&self) -> Option<usize> {
        self.client
            .config()
            .embedding_dimensions
            .or_else(|| known_dimensions(&self.model))
    }

    fn max_batch(&self) -> usize {
        self.client.config().max_batch.max(1)
    }

    async fn embed(&self, inputs: &[String]) -> Result<Embeddings> {
        if inputs.is_empty() {
            return Ok(Embeddings::new(Vec::new(), self.model.clone()));
        }
        if let Some(i) = inputs.iter().position(|s| s.is_empty()) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("embedding input {i} is empty (the API rejects empty strings)"),
            )
            .with_provider(self.client.provider().to_owned())
            .with_operation("embeddings"));
        }
        let span = telemetry::span("embeddings", self.client.provider(), &self.model);
        let result = embed_in_batches(inputs, self.max_batch(), |chunk| {
            self.embed_batch(chunk, &span)
        })
        .instrument(span.clone())
        .await
        .map_err(|e| {
            let e = if e.provider().is_none() {
                e.with_provider(self.client.provider().to_owned())
            } else {
                e
            };
            if e.operation().is_none() {
                e.with_operation("embeddings")
            } else {
                e
            }
        });
        match &result {
            Ok(out) => {
                telemetry::record_response(&span, None, Some(&out.model), out.usage.as_ref(), None)
            }
            Err(e) => telemetry::record_error(&span, e),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_models_report_dimensions() {
        assert_eq!(known_dimensions("text-embedding-3-large"), Some(3072));
        assert_eq!(known_dimensions("nomic-embed-text"), None);
    }
}
