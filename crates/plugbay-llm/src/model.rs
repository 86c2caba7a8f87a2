//! The [`ChatModel`] and [`EmbeddingModel`] traits and their conveniences.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use plugbay_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;

use crate::stream::collect_stream;
use crate::types::{
    ChatCapabilities, ChatRequest, ChatResponse, ChatStream, Embeddings, ResponseFormat,
};

/// A chat completion model: OpenAI-compatible servers, Hugging Face, or the
/// mock.
///
/// Contracts every backend keeps (the conformance suite checks them):
/// - a request with no messages is `InvalidInput`, before any network call;
/// - `request.model`, when set, overrides the configured model;
/// - failures use the shared kinds (`RateLimited`, `QuotaExceeded`,
///   `Unauthenticated`, `Unavailable`, `Protocol` for unreadable answers),
///   so callers can swap backends;
/// - a feature the backend lacks (see [`ChatModel::capabilities`]) is either
///   ignored where that is harmless (`seed`) or `Unsupported`.
#[async_trait]
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    /// The backend's short name (`"openai"`, `"huggingface"`, `"mock"`), for
    /// logs and telemetry (`gen_ai.provider.name`).
    fn provider(&self) -> &str;

    /// The model used when a request does not name one.
    fn model(&self) -> &str;

    /// What this backend supports.
    fn capabilities(&self) -> ChatCapabilities;

    /// Send the conversation and wait for the whole reply.
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse>;

    /// Send the conversation and stream the reply as [`ChatEvent`]s
    /// (see its docs for the event order).
    ///
    /// Errors that happen before the first byte (bad request, auth, rate
    /// limit) are returned here; errors after that arrive as an `Err` item
    /// and end the stream. A backend without streaming returns
    /// `Unsupported` (its capabilities say `streaming: false`).
    ///
    /// [`ChatEvent`]: crate::ChatEvent
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream>;
}

/// A shared, type-erased [`ChatModel`].
pub type DynChatModel = Arc<dyn ChatModel>;

macro_rules! forward_chat_model {
    ($ty:ty) => {
        #[async_trait]
        impl<T: ChatModel + ?Sized> ChatModel for $ty {
            fn provider(&self) -> &str {
                (**self).provider()
            }
            fn model(&self) -> &str {
                (**self).model()
            }
            fn capabilities(&self) -> ChatCapabilities {
                (**self).capabilities()
            }
            async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
                (**self).chat(request).await
            }
            async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
                (**self).chat_stream(request).await
            }
        }
    };
}

forward_chat_model!(Arc<T>);
forward_chat_model!(Box<T>);

/// Conveniences over any [`ChatModel`].
#[async_trait]
pub trait ChatModelExt: ChatModel {
    /// Send one user message and return the reply text.
    async fn complete(&self, prompt: &str) -> Result<String> {
        let response = self.chat(ChatRequest::from_prompt(prompt)).await?;
        Ok(response.text().into_owned())
    }

    /// Structured output: ask for JSON and parse the reply into `T`.
    ///
    /// If the request has no `response_format`, JSON mode
    /// ([`ResponseFormat::JsonObject`]) is set when the backend supports it;
    /// pass a [`ResponseFormat::JsonSchema`] yourself to constrain the shape.
    /// A reply wrapped in a Markdown code fence is unwrapped. A reply that
    /// is not JSON, or does not fit `T`, is a `Protocol` error.
    async fn chat_json<T: DeserializeOwned>(&self, mut request: ChatRequest) -> Result<T> {
        if request.response_format.is_none() && self.capabilities().json_object {
            request.response_format = Some(ResponseFormat::JsonObject);
        }
        let response = self.chat(request).await?;
        parse_json_reply(&response.text())
    }

    /// Stream the reply and fold it into a [`ChatResponse`] with
    /// [`collect_stream`].
    async fn chat_streamed(&self, request: ChatRequest) -> Result<ChatResponse> {
        let stream = self.chat_stream(request).await?;
        collect_stream(stream).await
    }
}

impl<M: ChatModel + ?Sized> ChatModelExt for M {}

/// Parse a model's JSON reply, tolerating a surrounding Markdown code fence.
pub(crate) fn parse_json_reply<T: DeserializeOwned>(text: &str) -> Result<T> {
    let mut body = text.trim();
    if let Some(rest) = body.strip_prefix("```") {
        // Skip the fence's language tag (```json), on its own line or not.
        body = match rest.split_once('\n') {
            Some((_, after)) => after,
            None => rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric()),
        };
        body = body.trim_end().strip_suffix("```").unwrap_or(body).trim();
    }
    serde_json::from_str(body).map_err(|err| {
        Error::new(
            ErrorKind::Protocol,
            format!("the model's reply is not the expected JSON: {err}"),
        )
        .with_operation("chat_json")
        .with_source(err)
    })
}

/// A text embedding model.
///
/// Callers may pass any number of inputs: a backend splits them into
/// batches of at most [`EmbeddingModel::max_batch`] itself and returns one
/// vector per input, in input order. An empty input list gives an empty
/// result without a call.
#[async_trait]
pub trait EmbeddingModel: Send + Sync + std::fmt::Debug {
    /// The backend's short name (`"openai"`, `"huggingface"`, `"hashing"`).
    fn provider(&self) -> &str;

    /// The model name.
    fn model(&self) -> &str;

    /// Vector length, when known before the first call.
    fn dimensions(&self) -> Option<usize>;

    /// The most inputs the backend sends in one provider call.
    fn max_batch(&self) -> usize;

    /// Embed `inputs`, one vector per input, in order (see the trait docs on
    /// batching).
    async fn embed(&self, inputs: &[String]) -> Result<Embeddings>;
}

/// A shared, type-erased [`EmbeddingModel`].
pub type DynEmbeddingModel = Arc<dyn EmbeddingModel>;

macro_rules! forward_embedding_model {
    ($ty:ty) => {
        #[async_trait]
        impl<T: EmbeddingModel + ?Sized> EmbeddingModel for $ty {
            fn provider(&self) -> &str {
                (**self).provider()
            }
            fn model(&self) -> &str {
                (**self).model()
            }
            fn dimensions(&self) -> Option<usize> {
                (**self).dimensions()
            }
            fn max_batch(&self) -> usize {
                (**self).max_batch()
            }
            async fn embed(&self, inputs: &[String]) -> Result<Embeddings> {
                (**self).embed(inputs).await
            }
        }
    };
}

forward_embedding_model!(Arc<T>);
forward_embedding_model!(Box<T>);

/// Conveniences over any [`EmbeddingModel`].
#[async_trait]
pub trait EmbeddingModelExt: EmbeddingModel {
    /// Embed one text.
    async fn embed_one(&self, input: &str) -> Result<Vec<f32>> {
        let embeddings = self.embed(&[input.to_owned()]).await?;
        embeddings.vectors.into_iter().next().ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                "the embedding model returned no vector",
            )
            .with_provider(self.provider().to_owned())
            .with_operation("embed")
        })
    }
}

impl<M: EmbeddingModel + ?Sized> EmbeddingModelExt for M {}

/// Run `embed_batch` over `inputs` in chunks of at most `max_batch` and join
/// the results in order; for backends implementing
/// [`EmbeddingModel::embed`]. A chunk answered with the wrong number of
/// vectors is a `Protocol` error.
pub async fn embed_in_batches<'a, F, Fut>(
    inputs: &'a [String],
    max_batch: usize,
    mut embed_batch: F,
) -> Result<Embeddings>
where
    F: FnMut(&'a [String]) -> Fut,
    Fut: Future<Output = Result<Embeddings>>,
{
    let mut all = Embeddings::default();
    for chunk in inputs.chunks(max_batch.max(1)) {
        let part = embed_batch(chunk).await?;
        if part.vectors.len() != chunk.len() {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "asked for {} embeddings, got {}",
                    chunk.len(),
                    part.vectors.len()
                ),
            )
            .with_operation("embed"));
        }
        all.extend(part);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Answer {
        n: u32,
    }

    #[test]
    fn json_reply_parses_plain_and_fenced() {
        assert_eq!(
            parse_json_reply::<Answer>(r#" {"n": 1} "#).unwrap(),
            Answer { n: 1 }
        );
        assert_eq!(
            parse_json_reply::<Answer>("```json\n{\"n\": 2}\n```").unwrap(),
            Answer { n: 2 }
        );
        assert_eq!(
            parse_json_reply::<Answer>("```\n{\"n\": 3}```").unwrap(),
            Answer { n: 3 }
        );
        assert_eq!(
            parse_json_reply::<Answer>("```json {\"n\": 4}```").unwrap(),
            Answer { n: 4 }
        );
        let err = parse_json_reply::<Answer>("sure! here it is").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
        let err = parse_json_reply::<Answer>(r#"{"m": 1}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
    }

    #[tokio::test]
    async fn embed_in_batches_splits_and_keeps_order() {
        let inputs: Vec<String> = (0..7).map(|i| i.to_string()).collect();
        let mut sizes = Vec::new();
        let out = embed_in_batches(&inputs, 3, |chunk| {
            sizes.push(chunk.len());
            let vectors = chunk
                .iter()
                .map(|s| vec![s.parse::<f32>().unwrap()])
                .collect();
            async move { Ok(Embeddings::new(vectors, "m")) }
        })
        .await
        .unwrap();
        assert_eq!(sizes, vec![3, 3, 1]);
        let flat: Vec<f32> = out.vectors.into_iter().flatten().collect();
        assert_eq!(flat, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[tokio::test]
    async fn boxed_and_shared_models_forward_every_method() {
        let chat: Box<dyn ChatModel> = Box::new(crate::MockChatModel::new().with_model("boxed"));
        assert_eq!((chat.provider(), chat.model()), ("mock", "boxed"));
        assert!(chat.capabilities().tools);
        assert_eq!(chat.complete("hi").await.unwrap(), "[mock] hi");
        let streamed = chat
            .chat_streamed(ChatRequest::from_prompt("yo"))
            .await
            .unwrap();
        assert_eq!(streamed.text(), "[mock] yo");

        let embed: DynEmbeddingModel = Arc::new(Box::new(crate::HashingEmbedder::new(32)));
        assert_eq!(embed.dimensions(), Some(32));
        assert_eq!(embed.provider(), "hashing");
        assert_eq!(embed.embed_one("hello").await.unwrap().len(), 32);
    }

    #[tokio::test]
    async fn embed_in_batches_rejects_a_short_answer() {
        let inputs = vec!["a".to_owned(), "b".to_owned()];
        let err = embed_in_batches(&inputs, 10, |_| async {
            Ok(Embeddings::new(vec![vec![1.0]], "m"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
    }
}
