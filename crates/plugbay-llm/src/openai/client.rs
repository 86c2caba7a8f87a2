//! [`OpenAiClient`]: the configured connection (URLs, auth headers, error
//! mapper, retry policy) shared by the chat and embedding models.

use std::sync::Arc;

use bytes::Bytes;
use plugbay_core::http::{Call, ErrorMapper, HttpClient};
use plugbay_core::{Error, ExposeSecret, Result};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::config::OpenAiConfig;
use super::error::OpenAiErrorMapper;
use super::{OpenAiChatModel, OpenAiEmbeddingModel};

/// The operations, each with its call descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Chat,
    ChatStream,
    Embeddings,
}

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
    base: Url,
    /// The per-operation call descriptors, built once.
    calls: Calls,
    /// Every request's headers, built once; `None` when the per-request
    /// builder must run (see [`StaticHeaders::new`]).
    headers: Option<StaticHeaders>,
}

#[derive(Debug)]
struct Calls {
    chat: Call,
    chat_stream: Call,
    embeddings: Call,
}

/// The headers of a JSON call and of a streaming call: content type,
/// accept, the key (marked sensitive) and the organization and project.
#[derive(Debug)]
struct StaticHeaders {
    json: HeaderMap,
    stream: HeaderMap,
}

impl StaticHeaders {
    /// `None` when a configured value is not a valid header value (the
    /// per-request builder then reports it as `InvalidInput`, as before),
    /// or when the base URL carries credentials (the builder turns them
    /// into basic auth) or no host (the builder rejects it).
    fn new(config: &OpenAiConfig, base: &Url) -> Option<StaticHeaders> {
        if !base.has_host() || !base.username().is_empty() || base.password().is_some() {
            return None;
        }
        let mut json = HeaderMap::new();
        json.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        json.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(key) = &config.api_key {
            let (name, text) = if config.is_azure() {
                (HeaderName::from_static("api-key"), None)
            } else {
                (
                    AUTHORIZATION,
                    Some(format!("Bearer {}", key.expose_secret())),
                )
            };
            let mut value = match &text {
                Some(text) => HeaderValue::from_str(text),
                None => HeaderValue::from_str(key.expose_secret()),
            }
            .ok()?;
            value.set_sensitive(true);
            json.insert(name, value);
        }
        if let Some(org) = &config.organization {
            json.insert(
                HeaderName::from_static("openai-organization"),
                HeaderValue::from_str(org).ok()?,
            );
        }
        if let Some(project) = &config.project {
            json.insert(
                HeaderName::from_static("openai-project"),
                HeaderValue::from_str(project).ok()?,
            );
        }
        let mut stream = json.clone();
        stream.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        Some(StaticHeaders { json, stream })
    }
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
        let mapper: Arc<dyn ErrorMapper> = Arc::new(OpenAiErrorMapper);
        // Retry-safe (the API documents completions and embeddings as safe
        // to repeat), OpenAI's error mapper, the configured retry policy
        // and timeout.
        let call = |operation: &'static str| {
            Call::new(config.provider_name.clone(), operation)
                .idempotent(true)
                .with_shared_error_mapper(mapper.clone())
                .with_retry_policy(config.retry_policy.clone())
                .with_timeout(config.timeout)
        };
        let calls = Calls {
            chat: call("chat"),
            // A stream's timeout covers the wait for its head; the stream
            // then bounds the silence between chunks (`OpenAiChatStream`).
            chat_stream: call("chat_stream").head_timeout_only(),
            embeddings: call("embeddings"),
        };
        let headers = StaticHeaders::new(&config, &base);
        Ok(OpenAiClient {
            inner: Arc::new(ClientInner {
                config,
                http,
                base,
                calls,
                headers,
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

    /// The call descriptor of `operation` (built once with the client).
    pub(crate) fn call(&self, operation: Operation) -> &Call {
        let calls = &self.inner.calls;
        match operation {
            Operation::Chat => &calls.chat,
            Operation::ChatStream => &calls.chat_stream,
            Operation::Embeddings => &calls.embeddings,
        }
    }

    /// One attempt's request: headers, auth (exposed only here) and body.
    pub(crate) fn request(
        &self,
        http: &reqwest::Client,
        url: &Url,
        body: &Bytes,
        stream: bool,
    ) -> reqwest::RequestBuilder {
        let Some(headers) = &self.inner.headers else {
            return self.build_request(http, url, body, stream);
        };
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        *request.headers_mut() = if stream {
            headers.stream.clone()
        } else {
            headers.json.clone()
        };
        *request.body_mut() = Some(body.clone().into());
        reqwest::RequestBuilder::from_parts(http.clone(), request)
    }

    /// The request built header by header, for configurations whose
    /// headers could not be built ahead (a key that is not a valid header
    /// value is reported by the builder as `InvalidInput`).
    fn build_request(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::OpenAiBuilder;

    fn built(client: &OpenAiClient, fast: bool, stream: bool) -> reqwest::Request {
        let http = client.http().reqwest();
        let url = client.url(Endpoint::Chat, "m").unwrap();
        let body = Bytes::from_static(b"{}");
        let builder = if fast {
            client.request(http, &url, &body, stream)
        } else {
            client.build_request(http, &url, &body, stream)
        };
        builder.build().unwrap()
    }

    fn header_list(request: &reqwest::Request) -> Vec<(String, String, bool)> {
        request
            .headers()
            .iter()
            .map(|(k, v)| {
                let text = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.to_string(), text, v.is_sensitive())
            })
            .collect()
    }

    /// The headers built once are the ones the builder makes per request.
    #[test]
    fn prepared_headers_match_the_per_request_builder() {
        let clients = [
            OpenAiBuilder::default()
                .api_key("sk-test")
                .organization("org-1")
                .project("proj-1")
                .build()
                .unwrap(),
            OpenAiBuilder::azure("https://res.openai.azure.com")
                .api_key("azure-key")
                .model("dep")
                .build()
                .unwrap(),
            OpenAiBuilder::compatible("vllm", "http://127.0.0.1:8000/v1")
                .model("m")
                .build()
                .unwrap(),
        ];
        for client in &clients {
            assert!(client.inner.headers.is_some());
            for stream in [false, true] {
                let fast = built(client, true, stream);
                let slow = built(client, false, stream);
                assert_eq!(header_list(&fast), header_list(&slow));
                assert_eq!(fast.url(), slow.url());
                assert_eq!(fast.method(), slow.method());
                assert_eq!(
                    fast.body().and_then(|b| b.as_bytes()),
                    slow.body().and_then(|b| b.as_bytes())
                );
            }
        }
        let headers = header_list(&built(&clients[0], true, true));
        assert!(headers.contains(&("accept".into(), "text/event-stream".into(), false)));
        assert!(headers.contains(&("authorization".into(), "Bearer sk-test".into(), true)));
    }

    #[test]
    fn unusable_values_fall_back_to_the_builder() {
        let bad_key = OpenAiBuilder::default()
            .api_key("sk-\nbroken")
            .build()
            .unwrap();
        assert!(bad_key.inner.headers.is_none());
        let http = bad_key.http().reqwest();
        let url = bad_key.url(Endpoint::Chat, "m").unwrap();
        let err = bad_key
            .request(http, &url, &Bytes::new(), false)
            .build()
            .unwrap_err();
        assert!(err.is_builder());

        let with_credentials = OpenAiBuilder::compatible("vllm", "http://u:p@127.0.0.1:8000/v1")
            .model("m")
            .build()
            .unwrap();
        assert!(with_credentials.inner.headers.is_none());
        let request = built(&with_credentials, true, false);
        assert!(request.headers().contains_key(AUTHORIZATION));
    }
}
