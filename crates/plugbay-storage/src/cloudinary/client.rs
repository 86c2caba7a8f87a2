//! Wire calls: signed multipart uploads (whole or chunked), destroy, and
//! Admin API reads with basic auth.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use plugbay_core::http::{Call, HttpClient};
use plugbay_core::{Error, ErrorKind, ExposeSecret, Result};
use serde::Deserialize;

use super::builder::CloudinaryConfig;
use super::error::CloudinaryErrorMapper;
use super::signature::sign_params;
use crate::key::Key;
use crate::types::ObjectMeta;

pub(crate) const PROVIDER: &str = "cloudinary";

/// A resource as the Upload and Admin APIs describe it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Resource {
    pub(crate) public_id: String,
    #[serde(default)]
    pub(crate) version: Option<u64>,
    #[serde(default)]
    pub(crate) bytes: Option<u64>,
    #[serde(default)]
    pub(crate) etag: Option<String>,
    #[serde(default)]
    pub(crate) format: Option<String>,
}

impl Resource {
    pub(crate) fn to_meta(&self) -> Result<ObjectMeta> {
        let key = Key::new(self.public_id.as_str())
            .map_err(|e| e.with_kind(ErrorKind::Protocol).with_provider(PROVIDER))?;
        let mut meta = ObjectMeta::new(key, self.bytes.unwrap_or(0));
        meta.etag = self.etag.clone();
        // The version is the upload's Unix time.
        meta.version = self.version.map(|v| v.to_string());
        meta.last_modified = self.version.map(|v| UNIX_EPOCH + Duration::from_secs(v));
        Ok(meta)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResourceList {
    #[serde(default)]
    pub(crate) resources: Vec<Resource>,
    #[serde(default)]
    pub(crate) next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DestroyReply {
    result: String,
}

#[derive(Debug)]
pub(crate) struct CloudinaryClient {
    pub(crate) http: HttpClient,
    pub(crate) config: std::sync::Arc<CloudinaryConfig>,
}

impl CloudinaryClient {
    fn call(&self, op: &'static str) -> Call {
        Call::new(PROVIDER, op).with_error_mapper(CloudinaryErrorMapper)
    }

    fn api(&self, tail: &str) -> String {
        format!(
            "{}/v1_1/{}/{tail}",
            self.config.api_base.as_str().trim_end_matches('/'),
            self.config.cloud_name
        )
    }

    fn rtype(&self) -> &'static str {
        self.config.resource_type.as_str()
    }

    /// The signed parameters of a request (timestamp, signature, api_key added).
    fn signed(&self, mut params: BTreeMap<&'static str, String>) -> BTreeMap<&'static str, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        params.insert("timestamp", now.to_string());
        let signature = sign_params(
            &params,
            self.config.api_secret.expose_secret(),
            self.config.signature_algorithm,
        );
        params.insert("signature", signature);
        params.insert("api_key", self.config.api_key.clone());
        params
    }

    /// Upload `data` as `key`, whole or as one chunk of a chunked upload
    /// (`chunk` = upload id and `Content-Range`).
    pub(crate) async fn upload(
        &self,
        key: &Key,
        data: Bytes,
        chunk: Option<(&str, String)>,
    ) -> Result<Option<Resource>> {
        let params = self.signed(BTreeMap::from([
            ("public_id", key.as_str().to_owned()),
            ("overwrite", "true".to_owned()),
            ("invalidate", "true".to_owned()),
        ]));
        let boundary = format!("plugbay-{}", uuid::Uuid::new_v4().simple());
        let mut body = BytesMut::with_capacity(data.len() + 1024);
        for (name, value) in &params {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        let filename = key.file_name().replace(['"', '\r', '\n'], "_");
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let body = body.freeze();
        let url = self.api(&format!("{}/upload", self.rtype()));
        // Same public id, same bytes: repeating an overwrite is harmless.
        let call = self.call("put").idempotent(true);
        let response = self
            .http
            .execute(&call, |c| {
                let rb = c
                    .post(&url)
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .body(body.clone());
                match &chunk {
                    Some((id, range)) => rb
                        .header("x-unique-upload-id", *id)
                        .header("content-range", range.as_str()),
                    None => rb,
                }
            })
            .await
            .map_err(|e| e.with_context("key", key.as_str()))?;
        let value: serde_json::Value = response
            .json()
            .map_err(|e| e.with_provider(PROVIDER).with_operation("put"))?;
        if value.get("public_id").is_none() && chunk.is_some() {
            return Ok(None); // an intermediate chunk
        }
        let resource: Resource = serde_json::from_value(value).map_err(|e| {
            Error::protocol("upload answer without a resource")
                .with_provider(PROVIDER)
                .with_source(e)
        })?;
        Ok(Some(resource))
    }

    /// Destroy; `{"result": "not found"}` is success too.
    pub(crate) async fn destroy(&self, key: &Key) -> Result<()> {
        let params = self.signed(BTreeMap::from([
            ("public_id", key.as_str().to_owned()),
            ("invalidate", "true".to_owned()),
        ]));
        let url = self.api(&format!("{}/destroy", self.rtype()));
        let call = self.call("delete").idempotent(true);
        let form: Vec<(&str, String)> = params.into_iter().collect();
        let reply: DestroyReply = self
            .http
            .execute_json(&call, |c| c.post(&url).form(&form))
            .await
            .map_err(|e| e.with_context("key", key.as_str()))?;
        match reply.result.as_str() {
            "ok" | "not found" => Ok(()),
            other => Err(Error::protocol(format!("destroy answered `{other}`"))
                .with_provider(PROVIDER)
                .with_operation("delete")
                .with_context("key", key.as_str())),
        }
    }

    fn admin(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.basic_auth(
            &self.config.api_key,
            Some(self.config.api_secret.expose_secret()),
        )
    }

    /// Admin API: one resource's details (`NotFound` if absent).
    pub(crate) async fn resource(&self, key: &Key) -> Result<Resource> {
        let id = key
            .as_str()
            .split('/')
            .map(super::enc)
            .collect::<Vec<_>>()
            .join("/");
        let url = self.api(&format!("resources/{}/upload/{id}", self.rtype()));
        self.http
            .execute_json(&self.call("head"), |c| self.admin(c.get(&url)))
            .await
            .map_err(|e| e.with_context("key", key.as_str()))
    }

    /// Admin API: resources by prefix, one page.
    pub(crate) async fn list(
        &self,
        prefix: &str,
        max: usize,
        cursor: Option<&str>,
    ) -> Result<ResourceList> {
        let mut url = format!(
            "{}?max_results={max}",
            self.api(&format!("resources/{}/upload", self.rtype()))
        );
        if !prefix.is_empty() {
            url.push_str(&format!("&prefix={}", super::enc(prefix)));
        }
        if let Some(c) = cursor {
            url.push_str(&format!("&next_cursor={}", super::enc(c)));
        }
        self.http
            .execute_json(&self.call("list"), |c| self.admin(c.get(&url)))
            .await
    }
}
