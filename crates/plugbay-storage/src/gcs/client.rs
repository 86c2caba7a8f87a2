//! Wire calls of the JSON API: URLs, authorisation, object resources and
//! the small operations (metadata, delete, rewrite, patch).

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use plugbay_core::http::{Call, HttpClient, HttpResponse};
use plugbay_core::{Error, ErrorKind, ExposeSecret, Result};
use serde::Deserialize;
use serde_json::Value;

use super::auth::Auth;
use super::config::GcsConfig;
use super::error::GcsErrorMapper;
use super::time::parse_rfc3339;
use crate::key::Key;
use crate::types::{CopyMode, ObjectMeta};

pub(crate) const PROVIDER: &str = "gcs";

/// RFC 3986 unreserved characters stay; everything else is escaped
/// (`/` too: object names are one path segment in the JSON API).
pub(crate) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode one URL component.
pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Build `?a=b&c=d` from pairs, each value percent-encoded (`+` and space
/// included, which form encoding would confuse).
pub(crate) fn query(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(name);
        out.push('=');
        out.push_str(&enc(value));
    }
    out
}

/// The JSON API client of one bucket.
#[derive(Debug)]
pub(crate) struct GcsClient {
    pub(crate) http: HttpClient,
    pub(crate) auth: Auth,
    pub(crate) config: GcsConfig,
    base: String,
}

impl GcsClient {
    pub(crate) fn new(http: HttpClient, auth: Auth, config: GcsConfig) -> GcsClient {
        let base = config.endpoint.as_str().trim_end_matches('/').to_owned();
        GcsClient {
            http,
            auth,
            config,
            base,
        }
    }

    pub(crate) fn call(&self, operation: &'static str) -> Call {
        Call::new(PROVIDER, operation).with_error_mapper(GcsErrorMapper)
    }

    /// `{base}/storage/v1/b/{bucket}/o`
    pub(crate) fn objects_url(&self) -> String {
        format!("{}/storage/v1/b/{}/o", self.base, enc(&self.config.bucket))
    }

    /// `{base}/storage/v1/b/{bucket}/o/{name}`
    pub(crate) fn object_url(&self, name: &str) -> String {
        format!("{}/{}", self.objects_url(), enc(name))
    }

    /// `{base}/upload/storage/v1/b/{bucket}/o`
    pub(crate) fn upload_url(&self) -> String {
        format!(
            "{}/upload/storage/v1/b/{}/o",
            self.base,
            enc(&self.config.bucket)
        )
    }

    /// Send through the retry loop with a bearer token; a 401 with a
    /// service account drops the cached token and tries once more.
    pub(crate) async fn execute<F>(&self, call: &Call, build: F) -> Result<HttpResponse>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync,
    {
        let mut refreshed = false;
        loop {
            let token = self.auth.bearer().await?;
            let result = self
                .http
                .execute(call, |c| with_token(build(c), token.as_ref()))
                .await;
            match result {
                Err(e) if self.should_refresh(&e, refreshed) => {
                    self.auth.invalidate().await;
                    refreshed = true;
                }
                other => return other,
            }
        }
    }

    /// Like [`GcsClient::execute`], returning the unread body.
    pub(crate) async fn send<F>(&self, call: &Call, build: F) -> Result<reqwest::Response>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync,
    {
        let mut refreshed = false;
        loop {
            let token = self.auth.bearer().await?;
            let result = self
                .http
                .send(call, |c| with_token(build(c), token.as_ref()))
                .await;
            match result {
                Err(e) if self.should_refresh(&e, refreshed) => {
                    self.auth.invalidate().await;
                    refreshed = true;
                }
                other => return other,
            }
        }
    }

    fn should_refresh(&self, e: &Error, refreshed: bool) -> bool {
        !refreshed && e.status() == Some(401) && matches!(self.auth, Auth::ServiceAccount(_))
    }

    /// The object's resource (JSON metadata); `NotFound` if absent.
    pub(crate) async fn get_resource(&self, key: &Key) -> Result<ObjectResource> {
        let url = self.object_url(key.as_str());
        let response = self
            .execute(&self.call("head"), |c| c.get(&url))
            .await
            .map_err(|e| with_key(e, key))?;
        response.json::<ObjectResource>().map_err(|e| {
            e.with_provider(PROVIDER)
                .with_operation("head")
                .with_context("key", key.as_str())
        })
    }

    /// Delete; an absent object is success.
    pub(crate) async fn delete(&self, key: &Key) -> Result<()> {
        let url = self.object_url(key.as_str());
        match self.execute(&self.call("delete"), |c| c.delete(&url)).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(with_key(e, key)),
        }
    }

    /// Copy with `rewriteTo`, following `rewriteToken` until done (large or
    /// cross-location copies take several calls).
    pub(crate) async fn rewrite(&self, from: &Key, to: &Key, mode: CopyMode) -> Result<ObjectMeta> {
        let url = format!(
            "{}/rewriteTo/b/{}/o/{}",
            self.object_url(from.as_str()),
            enc(&self.config.bucket),
            enc(to.as_str())
        );
        let create = mode == CopyMode::Create;
        // A create-only rewrite repeated after a lost answer would report
        // AlreadyExists for its own copy: only plain copies are retried.
        let call = self.call("copy").idempotent(!create);
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let mut pairs = Vec::new();
            if create {
                pairs.push(("ifGenerationMatch", "0".to_owned()));
            }
            if let Some(t) = &token {
                pairs.push(("rewriteToken", t.clone()));
            }
            let full = format!("{url}{}", query(&pairs));
            let response = self
                .execute(&call, |c| {
                    c.post(&full)
                        .header("content-type", "application/json")
                        .body("{}")
                })
                .await
                .map_err(|e| match e.kind() {
                    ErrorKind::PreconditionFailed if create => e
                        .with_kind(ErrorKind::AlreadyExists)
                        .with_context("key", to.as_str()),
                    _ => with_key(e, from),
                })?;
            let reply: RewriteReply = response
                .json()
                .map_err(|e| e.with_provider(PROVIDER).with_operation("copy"))?;
            if reply.done {
                let resource = reply.resource.ok_or_else(|| {
                    Error::protocol("rewrite finished without an object resource")
                        .with_provider(PROVIDER)
                        .with_operation("copy")
                })?;
                return resource.to_meta();
            }
            token = Some(reply.rewrite_token.ok_or_else(|| {
                Error::protocol("unfinished rewrite without a rewriteToken")
                    .with_provider(PROVIDER)
                    .with_operation("copy")
            })?);
        }
        Err(Error::protocol("rewrite did not finish").with_provider(PROVIDER))
    }

    /// Merge `metadata` into the object's custom metadata, only if its
    /// metageneration is still `metageneration`.
    pub(crate) async fn patch_metadata(
        &self,
        key: &Key,
        metageneration: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<ObjectResource> {
        let url = format!(
            "{}{}",
            self.object_url(key.as_str()),
            query(&[("ifMetagenerationMatch", metageneration.to_owned())])
        );
        let body = serde_json::json!({ "metadata": metadata }).to_string();
        let response = self
            .execute(&self.call("patch_metadata"), |c| {
                c.patch(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await
            .map_err(|e| with_key(e, key))?;
        response
            .json()
            .map_err(|e| e.with_provider(PROVIDER).with_operation("patch_metadata"))
    }
}

fn with_token(
    rb: reqwest::RequestBuilder,
    token: Option<&plugbay_core::SecretString>,
) -> reqwest::RequestBuilder {
    match token {
        Some(t) => rb.bearer_auth(t.expose_secret()),
        None => rb,
    }
}

pub(crate) fn with_key(e: Error, key: &Key) -> Error {
    e.with_context("key", key.as_str())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RewriteReply {
    #[serde(default)]
    done: bool,
    #[serde(default)]
    rewrite_token: Option<String>,
    #[serde(default)]
    resource: Option<ObjectResource>,
}

/// The JSON API's object resource (the fields plugbay reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectResource {
    pub(crate) name: String,
    #[serde(default)]
    size: Option<Value>,
    #[serde(default)]
    pub(crate) generation: Option<Value>,
    #[serde(default)]
    pub(crate) metageneration: Option<Value>,
    #[serde(default)]
    updated: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    cache_control: Option<String>,
    #[serde(default)]
    content_disposition: Option<String>,
    #[serde(default)]
    pub(crate) metadata: Option<BTreeMap<String, Value>>,
}

/// GCS sends int64 fields as strings; accept numbers too.
pub(crate) fn int_text(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl ObjectResource {
    /// The plugbay view: `etag` and `version` are the generation.
    pub(crate) fn to_meta(&self) -> Result<ObjectMeta> {
        let key = Key::new(self.name.as_str()).map_err(|e| {
            e.with_kind(ErrorKind::Protocol)
                .with_provider(PROVIDER)
                .with_context("object", self.name.clone())
        })?;
        let size = int_text(&self.size)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| {
                Error::protocol("object resource without a readable size")
                    .with_provider(PROVIDER)
                    .with_context("key", self.name.clone())
            })?;
        let generation = int_text(&self.generation);
        let metadata = self
            .metadata
            .iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect();
        Ok(ObjectMeta {
            key,
            size,
            etag: generation.clone(),
            last_modified: self.updated.as_deref().and_then(parse_rfc3339),
            content_type: self.content_type.clone(),
            cache_control: self.cache_control.clone(),
            content_disposition: self.content_disposition.clone(),
            metadata,
            version: generation,
        })
    }

    /// One custom metadata value.
    pub(crate) fn metadata_value(&self, name: &str) -> Option<&str> {
        self.metadata.as_ref()?.get(name)?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_names_and_queries() {
        assert_eq!(enc("a b/c+d~é"), "a%20b%2Fc%2Bd~%C3%A9");
        assert_eq!(
            query(&[
                ("prefix", "x y+".to_owned()),
                ("maxResults", "5".to_owned())
            ]),
            "?prefix=x%20y%2B&maxResults=5"
        );
    }

    #[test]
    fn resources_become_meta() {
        let json = r#"{"name":"a/b.txt","size":"11","generation":"1700","metageneration":"2",
            "updated":"2024-01-02T03:04:05.5Z","contentType":"text/plain",
            "metadata":{"owner":"me","gone":null},"newField":{"x":1}}"#;
        let r: ObjectResource = serde_json::from_str(json).unwrap();
        let meta = r.to_meta().unwrap();
        assert_eq!(meta.size, 11);
        assert_eq!(meta.etag.as_deref(), Some("1700"));
        assert_eq!(meta.version.as_deref(), Some("1700"));
        assert_eq!(meta.metadata.len(), 1);
        assert!(meta.last_modified.is_some());
        let bad: ObjectResource = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(bad.to_meta().unwrap_err().kind(), ErrorKind::Protocol);
    }
}
