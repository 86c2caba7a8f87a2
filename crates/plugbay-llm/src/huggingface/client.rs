//! Wire calls: hf-inference feature extraction, TEI `/embed` and `/info`.

use std::sync::Arc;

use plugbay_core::http::{Call, ErrorMapper, HttpClient};
use plugbay_core::{Error, ExposeSecret, Result};
use serde::{Deserialize, Serialize};

use super::config::{DEFAULT_MAX_BATCH, HuggingFaceConfig, PROVIDER};
use super::pooling::{FeatureOutput, into_vectors};

/// What a TEI server says about itself (`GET /info`); only the fields we
/// use, all optional on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TeiInfo {
    /// The model the server runs.
    #[serde(default)]
    pub model_id: String,
    /// The most inputs the server accepts in one request.
    #[serde(default = "default_max_client_batch_size")]
    pub max_client_batch_size: usize,
    /// The longest input in tokens, when reported.
    #[serde(default)]
    pub max_input_length: Option<usize>,
}

fn default_max_client_batch_size() -> usize {
    DEFAULT_MAX_BATCH
}

impl Default for TeiInfo {
    fn default() -> Self {
        TeiInfo {
            model_id: String::new(),
            max_client_batch_size: DEFAULT_MAX_BATCH,
            max_input_length: None,
        }
    }
}

#[derive(Serialize)]
struct EmbedBody<'a> {
    inputs: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    normalize: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncate: Option<bool>,
}

/// The HTTP side of the embedding backends.
#[derive(Debug, Clone)]
pub(crate) struct HfClient {
    http: HttpClient,
    config: Arc<HuggingFaceConfig>,
    mapper: Arc<dyn ErrorMapper>,
}

/// Model ids are `org/name` with a conservative character set, checked so a
/// configured id cannot reshape the URL.
pub(crate) fn check_model_id(model: &str) -> Result<()> {
    let ok = !model.is_empty()
        && !model.starts_with('/')
        && !model.contains("..")
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "`{model}` is not a Hugging Face model id (expected `org/name`)"
        ))
        .with_provider(PROVIDER))
    }
}

impl HfClient {
    pub(crate) fn new(
        http: HttpClient,
        config: Arc<HuggingFaceConfig>,
        mapper: Arc<dyn ErrorMapper>,
    ) -> HfClient {
        HfClient {
            http,
            config,
            mapper,
        }
    }

    pub(crate) fn config(&self) -> &HuggingFaceConfig {
        &self.config
    }

    fn call(&self, operation: &'static str) -> Call {
        Call::new(PROVIDER, operation)
            .idempotent(true)
            .with_shared_error_mapper(self.mapper.clone())
            .with_timeout(self.config.timeout)
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.token {
            Some(token) => request.bearer_auth(token.expose_secret()),
            None => request,
        }
    }

    fn body<'a>(&self, inputs: &'a [String]) -> EmbedBody<'a> {
        EmbedBody {
            inputs,
            normalize: self.config.normalize,
            truncate: self.config.truncate,
        }
    }

    /// `POST {router}/hf-inference/models/{model}/pipeline/feature-extraction`.
    pub(crate) async fn feature_extraction(
        &self,
        model: &str,
        inputs: &[String],
    ) -> Result<Vec<Vec<f32>>> {
        let url = format!(
            "{}/hf-inference/models/{model}/pipeline/feature-extraction",
            self.config.router_root()
        );
        let body = self.body(inputs);
        let wait = self.config.wait_for_model;
        let output: FeatureOutput = self
            .http
            .execute_json(&self.call("embed"), |http| {
                let request = self.authorize(http.post(&url)).json(&body);
                if wait {
                    request.header("x-wait-for-model", "true")
                } else {
                    request
                }
            })
            .await?;
        into_vectors(output, inputs.len(), self.config.normalize == Some(true))
    }

    /// `POST {tei}/embed`.
    pub(crate) async fn tei_embed(&self, base: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>> {
        let url = format!("{}/embed", base.trim_end_matches('/'));
        let body = self.body(inputs);
        let output: FeatureOutput = self
            .http
            .execute_json(&self.call("embed"), |http| {
                self.authorize(http.post(&url)).json(&body)
            })
            .await?;
        into_vectors(output, inputs.len(), self.config.normalize == Some(true))
    }

    /// `GET {tei}/info`.
    pub(crate) async fn tei_info(&self, base: &str) -> Result<TeiInfo> {
        let url = format!("{}/info", base.trim_end_matches('/'));
        self.http
            .execute_json(&self.call("info"), |http| self.authorize(http.get(&url)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_checked() {
        for good in [
            "sentence-transformers/all-MiniLM-L6-v2",
            "BAAI/bge-small-en-v1.5",
            "gpt2",
        ] {
            assert!(check_model_id(good).is_ok(), "{good}");
        }
        for bad in ["", "/etc", "a/../b", "a?x=1", "a b", "a#b"] {
            assert!(check_model_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tei_info_tolerates_missing_fields() {
        let info: TeiInfo =
            serde_json::from_str(r#"{"model_id":"BAAI/bge","max_client_batch_size":8,"extra":1}"#)
                .unwrap();
        assert_eq!(
            (info.model_id.as_str(), info.max_client_batch_size),
            ("BAAI/bge", 8)
        );
        let info: TeiInfo = serde_json::from_str("{}").unwrap();
        assert_eq!(info, TeiInfo::default());
    }
}
