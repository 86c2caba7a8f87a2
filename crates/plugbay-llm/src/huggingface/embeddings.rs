//! [`HuggingFaceEmbeddings`]: hf-inference feature extraction or a
//! self-hosted TEI behind [`EmbeddingModel`].

use std::sync::OnceLock;

use async_trait::async_trait;
use plugbay_core::{ErrorKind, Result};
use tokio::sync::OnceCell;
use tracing::Instrument;

use super::client::{HfClient, TeiInfo};
use super::config::PROVIDER;
use crate::model::{EmbeddingModel, embed_in_batches};
use crate::types::Embeddings;

/// Where the vectors come from.
#[derive(Debug)]
enum Endpoint {
    /// The hf-inference feature-extraction pipeline of `model`.
    Inference,
    /// A TEI server at `base`, whose `/info` is read once.
    Tei {
        base: String,
        info: OnceCell<TeiInfo>,
    },
}

/// Text embeddings from Hugging Face: the hf-inference feature-extraction
/// pipeline behind the router, or a self-hosted Text Embeddings Inference
/// (TEI) server. Build it with
/// [`HuggingFaceBuilder::build_embeddings`](super::HuggingFaceBuilder::build_embeddings).
///
/// - hf-inference: `POST {base}/hf-inference/models/{model}/pipeline/feature-extraction`
///   with `{"inputs": [...]}`. Sentence-level answers (`[[f32]]`) are used
///   as they are; token-level answers (`[[[f32]]]`) are mean-pooled, then
///   normalised if `normalize` is on. A cold model's 503 is a retryable
///   `Unavailable` with `retry_after` from its `estimated_time` (or send
///   `x-wait-for-model` with `wait_for_model(true)`).
/// - TEI: `POST {tei}/embed` with `{inputs, normalize, truncate}`. Batches
///   are split by `GET /info`'s `max_client_batch_size` (read once and
///   kept; 32 when the server has no `/info`).
/// - `dimensions()` is the configured size, else the size of the first
///   answer once one arrived.
#[derive(Debug)]
pub struct HuggingFaceEmbeddings {
    client: HfClient,
    endpoint: Endpoint,
    model: String,
    dimensions: OnceLock<usize>,
}

impl HuggingFaceEmbeddings {
    pub(crate) fn inference(client: HfClient, model: String) -> HuggingFaceEmbeddings {
        HuggingFaceEmbeddings::assemble(client, Endpoint::Inference, model)
    }

    pub(crate) fn tei(client: HfClient, base: String, model: String) -> HuggingFaceEmbeddings {
        let endpoint = Endpoint::Tei {
            base,
            info: OnceCell::new(),
        };
        HuggingFaceEmbeddings::assemble(client, endpoint, model)
    }

    fn assemble(client: HfClient, endpoint: Endpoint, model: String) -> HuggingFaceEmbeddings {
        let dimensions = OnceLock::new();
        if let Some(dims) = client.config().dimensions {
            let _ = dimensions.set(dims);
        }
        HuggingFaceEmbeddings {
            client,
            endpoint,
            model,
            dimensions,
        }
    }

    /// `true` when this talks to a TEI server.
    pub fn is_tei(&self) -> bool {
        matches!(self.endpoint, Endpoint::Tei { .. })
    }

    /// The TEI server's `/info`, fetched on first use and kept. `None` for
    /// hf-inference. A server without `/info` (404) gives the defaults.
    pub async fn tei_info(&self) -> Result<Option<&TeiInfo>> {
        let Endpoint::Tei { base, info } = &self.endpoint else {
            return Ok(None);
        };
        let info = info
            .get_or_try_init(|| async {
                match self.client.tei_info(base).await {
                    Ok(info) => Ok(info),
                    Err(error)
                        if matches!(
                            error.kind(),
                            ErrorKind::NotFound | ErrorKind::Unsupported | ErrorKind::Protocol
                        ) =>
                    {
                        tracing::warn!(error = %error, "TEI /info is unavailable; using a batch size of 32");
                        Ok(TeiInfo::default())
                    }
                    Err(error) => Err(error),
                }
            })
            .await?;
        Ok(Some(info))
    }

    async fn batch_limit(&self) -> Result<usize> {
        let configured = self.client.config().max_batch.max(1);
        Ok(match self.tei_info().await? {
            Some(info) => configured.min(info.max_client_batch_size.max(1)),
            None => configured,
        })
    }

    async fn embed_batch(&self, inputs: &[String]) -> Result<Embeddings> {
        let vectors = match &self.endpoint {
            Endpoint::Inference => self.client.feature_extraction(&self.model, inputs).await?,
            Endpoint::Tei { base, .. } => self.client.tei_embed(base, inputs).await?,
        };
        if let Some(first) = vectors.first() {
            let _ = self.dimensions.set(first.len());
        }
        Ok(Embeddings::new(vectors, self.model.clone()))
    }
}

#[async_trait]
impl EmbeddingModel for HuggingFaceEmbeddings {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn dimensions(&self) -> Option<usize> {
        self.dimensions.get().copied()
    }

    fn max_batch(&self) -> usize {
        let configured = self.client.config().max_batch.max(1);
        match &self.endpoint {
            Endpoint::Tei { info, .. } => info.get().map_or(configured, |i| {
                configured.min(i.max_client_batch_size.max(1))
            }),
            Endpoint::Inference => configured,
        }
    }

    async fn embed(&self, inputs: &[String]) -> Result<Embeddings> {
        if inputs.is_empty() {
            return Ok(Embeddings::new(Vec::new(), self.model.clone()));
        }
        let span = tracing::info_span!(
            "plugbay.llm.embed",
            gen_ai.operation.name = "embeddings",
            gen_ai.provider.name = PROVIDER,
            gen_ai.request.model = self.model.as_str(),
            inputs = inputs.len(),
            endpoint = if self.is_tei() { "tei" } else { "hf-inference" },
        );
        async {
            let limit = self.batch_limit().await?;
            let mut all = embed_in_batches(inputs, limit, |chunk| self.embed_batch(chunk)).await?;
            all.model = self.model.clone();
            Ok(all)
        }
        .instrument(span)
        .await
    }
}
