//! [`HuggingFaceChat`]: the Inference Providers router or a self-hosted
//! TGI, both OpenAI-compatible, through the `openai` chat client.

use async_trait::async_trait;
use futures::StreamExt;
use plugbay_core::{Error, ErrorKind, Result};

use crate::model::ChatModel;
use crate::openai::OpenAiChatModel;
use crate::types::{ChatCapabilities, ChatRequest, ChatResponse, ChatStream};

/// Chat through Hugging Face: the Inference Providers router
/// (`https://router.huggingface.co/v1/chat/completions`, `Authorization:
/// Bearer hf_...`) or a self-hosted Text Generation Inference server
/// (`{tgi}/v1/chat/completions`). Build it with
/// [`HuggingFaceBuilder::build_chat`](super::HuggingFaceBuilder::build_chat).
///
/// Both speak the OpenAI chat API, so the wire work (requests, SSE
/// decoding, tool-call deltas, retries) is the [`OpenAiChatModel`]'s; this
/// type adds Hugging Face's defaults and error readings on top:
///
/// - 402 (included credits or a provider's billing exhausted) is
///   `QuotaExceeded`, never retried by callers;
/// - a 503 saying the model "is currently loading" is a retryable
///   `Unavailable` marked `cold_start`.
///
/// Capabilities: the router offers tools, streaming with usage, JSON mode
/// and JSON Schema (what a model honours depends on the provider serving
/// it); TGI offers tools and streaming with usage, not OpenAI's
/// `response_format` shapes.
#[derive(Debug, Clone)]
pub struct HuggingFaceChat {
    inner: OpenAiChatModel,
    tgi: bool,
}

impl HuggingFaceChat {
    pub(crate) fn new(inner: OpenAiChatModel, tgi: bool) -> HuggingFaceChat {
        HuggingFaceChat { inner, tgi }
    }

    /// The capabilities of the router (`tgi: false`) or of TGI.
    pub fn default_capabilities(tgi: bool) -> ChatCapabilities {
        let caps = ChatCapabilities::none()
            .tools(true)
            .parallel_tool_calls(true)
            .streaming(true)
            .streaming_usage(true)
            .seed(true);
        if tgi {
            caps
        } else {
            caps.json_object(true).json_schema(true)
        }
    }

    /// `true` when this talks to a TGI server rather than the router.
    pub fn is_tgi(&self) -> bool {
        self.tgi
    }

    /// The OpenAI-compatible client underneath.
    pub fn get_ref(&self) -> &OpenAiChatModel {
        &self.inner
    }

    /// Unwrap into the OpenAI-compatible client.
    pub fn into_inner(self) -> OpenAiChatModel {
        self.inner
    }
}

/// Hugging Face's readings of errors the OpenAI mapper reads generically.
pub(crate) fn refine(error: Error) -> Error {
    match error.status() {
        Some(402) if error.kind() != ErrorKind::QuotaExceeded => error
            .with_kind(ErrorKind::QuotaExceeded)
            .with_retryable(false),
        Some(503)
            if error
                .message()
                .to_ascii_lowercase()
                .contains("currently loading") =>
        {
            error
                .with_retryable(true)
                .with_context("cold_start", "true")
        }
        _ => error,
    }
}

#[async_trait]
impl ChatModel for HuggingFaceChat {
    fn provider(&self) -> &str {
        self.inner.provider()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn capabilities(&self) -> ChatCapabilities {
        self.inner.capabilities()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        self.inner.chat(request).await.map_err(refine)
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let stream = self.inner.chat_stream(request).await.map_err(refine)?;
        Ok(stream.map(|item| item.map_err(refine)).boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_required_is_quota_and_loading_is_a_cold_start() {
        let e = refine(Error::new(ErrorKind::Protocol, "HTTP 402: credits").with_status(402));
        assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
        assert!(!e.is_retryable());
        let e = refine(
            Error::new(
                ErrorKind::Unavailable,
                "HTTP 503: Model x is currently loading",
            )
            .with_status(503),
        );
        assert!(e.is_retryable());
        assert!(e.context().any(|(k, _)| k == "cold_start"));
        let e = refine(Error::new(ErrorKind::InvalidInput, "HTTP 400: bad").with_status(400));
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(HuggingFaceChat::default_capabilities(false).json_schema);
        assert!(!HuggingFaceChat::default_capabilities(true).json_schema);
    }
}
