//! [`HuggingFaceConfig`]: token, endpoints and models, with a `Debug` that
//! never shows the token.

use std::time::Duration;

use plugbay_core::{RetryPolicy, SecretString};
use serde::{Deserialize, Serialize};

/// The Inference Providers router.
pub const DEFAULT_BASE_URL: &str = "https://router.huggingface.co";
/// The chat model used when none is configured (served by several
/// providers behind the router).
pub const DEFAULT_CHAT_MODEL: &str = "meta-llama/Llama-3.1-8B-Instruct";
/// The embedding model used when none is configured.
pub const DEFAULT_EMBEDDING_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// TEI's default `max_client_batch_size`, used until `/info` says otherwise.
pub const DEFAULT_MAX_BATCH: usize = 32;
/// The model name TGI expects on its OpenAI-compatible route.
pub const TGI_MODEL: &str = "tgi";
/// The per-attempt timeout (long generations and cold starts take a while).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The `gen_ai.provider.name` of every Hugging Face endpoint.
pub const PROVIDER: &str = "huggingface";

/// Settings of the Hugging Face backends. Build it with
/// [`HuggingFaceBuilder`](super::HuggingFaceBuilder); the fields are public
/// for inspection and serde-based configuration.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HuggingFaceConfig {
    /// The access token (`hf_...`), sent as `Authorization: Bearer`.
    /// Required by the router; optional for self-hosted TGI and TEI.
    #[serde(skip_serializing)]
    pub token: Option<SecretString>,
    /// The router root, without `/v1` (`https://router.huggingface.co`):
    /// chat goes to `{base_url}/v1/chat/completions`, embeddings to
    /// `{base_url}/hf-inference/models/{model}/pipeline/feature-extraction`.
    pub base_url: String,
    /// The chat model; on the router a provider may be pinned with a
    /// suffix (`model:provider`, `model:fastest`).
    pub model: String,
    /// The embedding model for hf-inference.
    pub embedding_model: String,
    /// A self-hosted Text Embeddings Inference server; when set,
    /// embeddings go there instead of hf-inference.
    pub tei_url: Option<String>,
    /// A self-hosted Text Generation Inference server; when set, chat goes
    /// there instead of the router.
    pub tgi_url: Option<String>,
    /// Ask for unit-length vectors (`normalize`); `None` leaves it to the
    /// server (TEI normalises by default). Token-level output that we pool
    /// ourselves is normalised when this is `Some(true)`.
    pub normalize: Option<bool>,
    /// Ask the server to truncate inputs longer than the model accepts
    /// (`truncate`) instead of rejecting them; `None` leaves it to the
    /// server.
    pub truncate: Option<bool>,
    /// Send `x-wait-for-model: true` so a cold hf-inference model is waited
    /// for server-side instead of answering 503.
    pub wait_for_model: bool,
    /// The most inputs per embedding request (TEI: also bounded by
    /// `/info`'s `max_client_batch_size`).
    pub max_batch: usize,
    /// The vector length, when known in advance.
    pub dimensions: Option<usize>,
    /// Bound on each attempt, including reading a streamed body.
    pub timeout: Duration,
    /// Retries, backoff and budget.
    #[serde(skip)]
    pub retry_policy: RetryPolicy,
}

impl Default for HuggingFaceConfig {
    fn default() -> Self {
        HuggingFaceConfig {
            token: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: DEFAULT_CHAT_MODEL.to_owned(),
            embedding_model: DEFAULT_EMBEDDING_MODEL.to_owned(),
            tei_url: None,
            tgi_url: None,
            normalize: None,
            truncate: None,
            wait_for_model: false,
            max_batch: DEFAULT_MAX_BATCH,
            dimensions: None,
            timeout: DEFAULT_TIMEOUT,
            retry_policy: RetryPolicy::default(),
        }
    }
}

impl HuggingFaceConfig {
    /// The router root with any trailing `/` or `/v1` removed.
    pub fn router_root(&self) -> &str {
        let trimmed = self.base_url.trim_end_matches('/');
        trimmed.strip_suffix("/v1").unwrap_or(trimmed)
    }

    /// The OpenAI-compatible chat base (`…/v1`): TGI's when configured,
    /// else the router's.
    pub fn chat_base_url(&self) -> String {
        match &self.tgi_url {
            Some(tgi) => {
                let root = tgi.trim_end_matches('/');
                let root = root.strip_suffix("/v1").unwrap_or(root);
                format!("{root}/v1")
            }
            None => format!("{}/v1", self.router_root()),
        }
    }

    /// The chat model sent on the wire: the configured one, or `tgi` for a
    /// TGI server left at the router's default.
    pub fn chat_model(&self) -> &str {
        if self.tgi_url.is_some() && self.model == DEFAULT_CHAT_MODEL {
            TGI_MODEL
        } else {
            &self.model
        }
    }
}

impl std::fmt::Debug for HuggingFaceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |url: &Option<String>| url.as_deref().map(plugbay_core::redact::redact);
        f.debug_struct("HuggingFaceConfig")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("base_url", &plugbay_core::redact::redact(&self.base_url))
            .field("model", &self.model)
            .field("embedding_model", &self.embedding_model)
            .field("tei_url", &redact(&self.tei_url))
            .field("tgi_url", &redact(&self.tgi_url))
            .field("normalize", &self.normalize)
            .field("truncate", &self.truncate)
            .field("wait_for_model", &self.wait_for_model)
            .field("max_batch", &self.max_batch)
            .field("dimensions", &self.dimensions)
            .field("timeout", &self.timeout)
            .field("retry_policy", &self.retry_policy)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let config = HuggingFaceConfig {
            token: Some(SecretString::from("hf_abcdefghijklmnop")),
            ..HuggingFaceConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hf_abc"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn endpoints_tolerate_v1_and_slashes() {
        let mut config = HuggingFaceConfig {
            base_url: "https://router.huggingface.co/v1/".to_owned(),
            ..HuggingFaceConfig::default()
        };
        assert_eq!(config.router_root(), "https://router.huggingface.co");
        assert_eq!(config.chat_base_url(), "https://router.huggingface.co/v1");
        assert_eq!(config.chat_model(), DEFAULT_CHAT_MODEL);
        config.tgi_url = Some("http://127.0.0.1:8080/".to_owned());
        assert_eq!(config.chat_base_url(), "http://127.0.0.1:8080/v1");
        assert_eq!(config.chat_model(), TGI_MODEL);
        config.model = "my/model".to_owned();
        assert_eq!(config.chat_model(), "my/model");
    }
}
