//! [`OpenAiBuilder`] from configuration: settings (`OPENAI_*`,
//! `AZURE_OPENAI_*`) and the `openai://`, `openai+http(s)://` and
//! `azure-openai://` URL forms.

use plugbay_core::{Error, Result, Settings};
use url::Url;

use super::OpenAiBuilder;
use crate::openai::config::MaxTokensField;

fn bad_url(url: &str, why: impl Into<String>) -> Error {
    Error::config(why.into()).with_context("url", plugbay_core::redact::redact(url))
}

impl OpenAiBuilder {
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
                    crate::openai::config::PROVIDER_OPENAI,
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
}
