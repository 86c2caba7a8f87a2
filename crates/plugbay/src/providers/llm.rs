//! The chat model (`PLUGBAY_LLM`) and the embedding model
//! (`PLUGBAY_EMBEDDINGS`).
//!
//! Chat: an explicit `PLUGBAY_LLM` is honoured or fails; when it is unset,
//! `OPENAI_API_KEY` means OpenAI and `HF_TOKEN` means Hugging Face (as the
//! seed application did), the mock otherwise. A key whose backend this
//! build lacks is noted, not fatal, so a seed `.env` still starts.
//!
//! Embeddings never follow a key on their own: vectors written by one
//! embedder cannot be searched with another, so switching is explicit.
//! Remote embedders are wrapped in `CachedEmbeddings` over the key-value
//! store, so a text is embedded (and paid for) once.

use std::sync::Arc;
#[cfg(feature = "openai")]
use std::time::Duration;

use plugbay_cache::DynKeyValue;
use plugbay_core::{Error, Result, Settings};
use plugbay_llm::{DynChatModel, DynEmbeddingModel, HashingEmbedder, MockChatModel};

use super::select::{from_setting, named};
use super::{Probe, Selected};
use crate::keys;
use crate::report::{Concern, ConcernReport};

/// How long a cached embedding is kept.
#[cfg(feature = "openai")]
const EMBEDDING_CACHE_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The chat model.
pub(crate) async fn chat(settings: &Settings) -> Result<Selected<DynChatModel>> {
    if let Some(value) = settings.get(keys::LLM).map(str::trim) {
        let (model, probe) = chat_by_name(settings, value)
            .await
            .map_err(|e| named(e, keys::LLM))?;
        let report = ConcernReport::new(Concern::Llm, model.provider(), false)
            .with_note(describe_chat(&model, &from_setting(keys::LLM)));
        return Ok(Selected::new(model, report).with_probe(probe));
    }
    let mut notes = Vec::new();
    for (key, name, built) in [
        (keys::OPENAI_API_KEY, "openai", cfg!(feature = "openai")),
        (keys::HF_TOKEN, "huggingface", cfg!(feature = "huggingface")),
    ] {
        if !settings.contains(key) {
            continue;
        }
        if built {
            let (model, probe) = chat_by_name(settings, name)
                .await
                .map_err(|e| named(e, key))?;
            let why = format!("{key} is set ({} unset)", keys::LLM);
            let report = ConcernReport::new(Concern::Llm, model.provider(), false)
                .with_note(describe_chat(&model, &why));
            return Ok(Selected::new(model, report).with_probe(probe));
        }
        let note =
            format!("{key} is set but this build lacks the `{name}` feature: using the mock");
        tracing::warn!(concern = "llm", "{note}");
        notes.push(note);
    }
    let mock: DynChatModel = Arc::new(MockChatModel::new());
    notes.insert(
        0,
        "mock LLM: replies are `[mock] <last user message>`".to_owned(),
    );
    let report =
        ConcernReport::new(Concern::Llm, mock.provider(), true).with_note(notes.join("; "));
    Ok(Selected::new(mock, report))
}

fn describe_chat(model: &DynChatModel, why: &str) -> String {
    if model.provider() == "mock" {
        return format!("mock LLM: replies are `[mock] <last user message>`, {why}");
    }
    format!("model {}, {why}", model.model())
}

/// `mock`, `openai`, `huggingface` (or `hf`), or an OpenAI URL form.
async fn chat_by_name(settings: &Settings, value: &str) -> Result<(DynChatModel, Option<Probe>)> {
    if is_url(value)? {
        return openai::chat_from_url(settings, value).await;
    }
    match value.to_ascii_lowercase().as_str() {
        "mock" => Ok((Arc::new(MockChatModel::new()), None)),
        "openai" => openai::chat(settings).await,
        "huggingface" | "hf" => huggingface::chat(settings).await,
        other => Err(Error::config(format!(
            "unknown LLM backend `{other}` (expected mock, openai, huggingface or an \
             openai+http://host/v1 URL)"
        ))),
    }
}

/// The embedding model; remote ones are cached in `kv`.
pub(crate) async fn embedder(
    settings: &Settings,
    kv: &DynKeyValue,
) -> Result<Selected<DynEmbeddingModel>> {
    let Some(value) = settings.get(keys::EMBEDDINGS).map(str::trim) else {
        let local: DynEmbeddingModel = Arc::new(HashingEmbedder::default());
        let report = ConcernReport::new(Concern::Embeddings, local.provider(), true)
            .with_note("local feature hashing: lexical similarity, not semantic");
        return Ok(Selected::new(local, report));
    };
    let (model, probe) = embedder_by_name(settings, value, kv)
        .await
        .map_err(|e| named(e, keys::EMBEDDINGS))?;
    let dims = model.dimensions().map_or_else(
        || "dimensions known after the first call".to_owned(),
        |d| format!("{d} dimensions"),
    );
    let mut note = format!(
        "model {} ({dims}), {}",
        model.model(),
        from_setting(keys::EMBEDDINGS)
    );
    if !matches!(model.provider(), "hashing" | "mock") {
        note.push_str(&format!(
            ", cached in the key-value store ({})",
            kv.backend()
        ));
    }
    let report = ConcernReport::new(Concern::Embeddings, model.provider(), false).with_note(note);
    Ok(Selected::new(model, report).with_probe(probe))
}

async fn embedder_by_name(
    settings: &Settings,
    value: &str,
    kv: &DynKeyValue,
) -> Result<(DynEmbeddingModel, Option<Probe>)> {
    if is_url(value)? {
        return openai::embedder_from_url(settings, value, kv).await;
    }
    match value.to_ascii_lowercase().as_str() {
        "local" | "hashing" => Ok((Arc::new(HashingEmbedder::default()), None)),
        "openai" => openai::embedder(settings, kv).await,
        "huggingface" | "hf" => huggingface::embedder(settings, kv).await,
        other => Err(Error::config(format!(
            "unknown embedding backend `{other}` (expected local, openai, huggingface or an \
             openai+http://host/v1 URL)"
        ))),
    }
}

/// Whether `value` is a URL: an OpenAI form (`openai://`,
/// `openai+http(s)://`, `azure-openai://`), or a `Config` error for any
/// other scheme.
fn is_url(value: &str) -> Result<bool> {
    let Some((scheme, _)) = value.split_once("://") else {
        return Ok(false);
    };
    match scheme.to_ascii_lowercase().as_str() {
        "openai" | "openai+http" | "openai+https" | "azure-openai" | "azure+openai" => Ok(true),
        other => Err(Error::config(format!(
            "`{other}://` is not a model URL (expected openai://, openai+http://host/v1, \
             openai+https://host/v1 or azure-openai://host)"
        ))),
    }
}

#[cfg_attr(feature = "huggingface", allow(dead_code))]
fn not_built(feature: &'static str) -> Error {
    Error::unsupported(format!(
        "the `{feature}` backend is not in this build (enable the `{feature}` feature of plugbay)"
    ))
    .with_context("feature", feature)
}

#[cfg(feature = "openai")]
mod openai {
    use std::sync::Arc;

    use futures::FutureExt as _;
    use plugbay_cache::DynKeyValue;
    use plugbay_core::http::Call;
    use plugbay_core::{ExposeSecret as _, Result, RetryPolicy, Settings};
    use plugbay_llm::{
        CachedEmbeddings, DynChatModel, DynEmbeddingModel, OpenAiBuilder, OpenAiClient,
    };

    use super::super::refused_key;
    use super::{EMBEDDING_CACHE_TTL, Probe};
    use crate::keys;

    pub(super) async fn chat(settings: &Settings) -> Result<(DynChatModel, Option<Probe>)> {
        let client = OpenAiBuilder::from_settings(settings).await?.build()?;
        Ok((Arc::new(client.chat_model()), models_probe(&client)))
    }

    pub(super) async fn chat_from_url(
        settings: &Settings,
        url: &str,
    ) -> Result<(DynChatModel, Option<Probe>)> {
        let client = from_url(settings, url).await?;
        Ok((Arc::new(client.chat_model()), models_probe(&client)))
    }

    pub(super) async fn embedder(
        settings: &Settings,
        kv: &DynKeyValue,
    ) -> Result<(DynEmbeddingModel, Option<Probe>)> {
        let client = OpenAiBuilder::from_settings(settings).await?.build()?;
        Ok((cached(client.embedding_model(), kv), models_probe(&client)))
    }

    pub(super) async fn embedder_from_url(
        settings: &Settings,
        url: &str,
        kv: &DynKeyValue,
    ) -> Result<(DynEmbeddingModel, Option<Probe>)> {
        let client = from_url(settings, url).await?;
        Ok((cached(client.embedding_model(), kv), models_probe(&client)))
    }

    pub(super) fn cached<E>(model: E, kv: &DynKeyValue) -> DynEmbeddingModel
    where
        E: plugbay_llm::EmbeddingModel + 'static,
    {
        Arc::new(CachedEmbeddings::new(model, kv.clone()).with_ttl(Some(EMBEDDING_CACHE_TTL)))
    }

    /// An OpenAI URL form. The key: `OPENAI_API_KEY` for `openai://`,
    /// `AZURE_OPENAI_API_KEY` (else `OPENAI_API_KEY`) for
    /// `azure-openai://`, and only `PLUGBAY_LLM_API_KEY` for a compatible
    /// server (`openai+http(s)://`): the OpenAI key is never sent to
    /// another host.
    async fn from_url(settings: &Settings, url: &str) -> Result<OpenAiClient> {
        let mut builder = OpenAiBuilder::from_url(url)?;
        let scheme = url
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        let candidates: &[&str] = match scheme.as_str() {
            "openai" => &[keys::OPENAI_API_KEY],
            "azure-openai" | "azure+openai" => &["AZURE_OPENAI_API_KEY", keys::OPENAI_API_KEY],
            _ => &[keys::LLM_API_KEY],
        };
        for key in candidates {
            if let Some(secret) = settings.secret(key).await? {
                builder = builder.api_key(secret);
                break;
            }
        }
        builder.build()
    }

    /// `GET {base}/models`: free, and proves the server answers and takes
    /// the key. A refused key makes the backend not ready. Azure lists
    /// deployments elsewhere: not probed.
    pub(super) fn models_probe(client: &OpenAiClient) -> Option<Probe> {
        let config = client.config();
        if config.azure_api_version.is_some() {
            return None;
        }
        let http = client.http().with_retry_policy(RetryPolicy::none());
        let url = format!("{}/models", config.base_url.trim_end_matches('/'));
        let key = config.api_key.clone();
        let provider = client.provider().to_owned();
        Some(Arc::new(move || {
            let (http, url, key) = (http.clone(), url.clone(), key.clone());
            let call = Call::new(provider.clone(), "readiness");
            async move {
                let outcome = http
                    .execute(&call, |c| {
                        let request = c.get(&url);
                        match &key {
                            Some(key) => request.bearer_auth(key.expose_secret()),
                            None => request,
                        }
                    })
                    .await;
                outcome.map(drop).map_err(refused_key)
            }
            .boxed()
        }))
    }
}

#[cfg(not(feature = "openai"))]
mod openai {
    use plugbay_cache::DynKeyValue;
    use plugbay_core::{Result, Settings};
    use plugbay_llm::{DynChatModel, DynEmbeddingModel};

    use super::{Probe, not_built};

    pub(super) async fn chat(_: &Settings) -> Result<(DynChatModel, Option<Probe>)> {
        Err(not_built("openai"))
    }

    pub(super) async fn chat_from_url(
        _: &Settings,
        _: &str,
    ) -> Result<(DynChatModel, Option<Probe>)> {
        Err(not_built("openai"))
    }

    pub(super) async fn embedder(
        _: &Settings,
        _: &DynKeyValue,
    ) -> Result<(DynEmbeddingModel, Option<Probe>)> {
        Err(not_built("openai"))
    }

    pub(super) async fn embedder_from_url(
        _: &Settings,
        _: &str,
        _: &DynKeyValue,
    ) -> Result<(DynEmbeddingModel, Option<Probe>)> {
        Err(not_built("openai"))
    }
}

#[cfg(feature = "huggingface")]
mod huggingface {
    use std::sync::Arc;

    use futures::FutureExt as _;
    use plugbay_cache::DynKeyValue;
    use plugbay_core::{Result, Settings};
    use plugbay_llm::{DynChatModel, DynEmbeddingModel, HuggingFaceBuilder};

    use super::Probe;
    use super::openai::{cached, models_probe};

    pub(super) async fn chat(settings: &Settings) -> Result<(DynChatModel, Option<Probe>)> {
        let chat = HuggingFaceBuilder::from_settings(settings)
            .await?
            .build_chat()?;
        let probe = models_probe(chat.get_ref().client());
        Ok((Arc::new(chat), probe))
    }

    /// Readiness: a TEI server's `GET /info`; hf-inference is not probed
    /// (there is no free call that proves the model is warm).
    pub(super) async fn embedder(
        settings: &Settings,
        kv: &DynKeyValue,
    ) -> Result<(DynEmbeddingModel, Option<Probe>)> {
        let model = Arc::new(
            HuggingFaceBuilder::from_settings(settings)
                .await?
                .build_embeddings()?,
        );
        let probe: Option<Probe> = model.is_tei().then(|| {
            let model = model.clone();
            let probe: Probe = Arc::new(move || {
                let model = model.clone();
                async move { model.tei_info().await.map(drop) }.boxed()
            });
            probe
        });
        Ok((cached(model, kv), probe))
    }
}

#[cfg(not(feature = "huggingface"))]
mod huggingface {
    use plugbay_cache::DynKeyValue;
    use plugbay_core::{Result, Settings};
    use plugbay_llm::{DynChatModel, DynEmbeddingModel};

    use super::{Probe, not_built};

    pub(super) async fn chat(_: &Settings) -> Result<(DynChatModel, Option<Probe>)> {
        Err(not_built("huggingface"))
    }

    pub(super) async fn embedder(
        _: &Settings,
        _: &DynKeyValue,
    ) -> Result<(DynEmbeddingModel, Option<Probe>)> {
        Err(not_built("huggingface"))
    }
}
