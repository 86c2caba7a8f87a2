//! Wire calls: sign, send through the shared `HttpClient`, read the answer.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use http::Method;
use http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap,
    LAST_MODIFIED,
};
use plugbay_core::http::{Call, HttpClient, HttpResponse};
use plugbay_core::{Error, ErrorKind, Result};

use super::credentials::CredentialProvider;
use super::error::S3ErrorMapper;
use super::payload::Payload;
use super::request::{Endpoint, S3Request, copy_source};
use super::signer::Signer;
use super::xml;
use crate::key::Key;
use crate::types::{CopyMode, ListOptions, ListPage, ObjectMeta, PutMode, PutOptions};

/// The provider name on every error and span.
pub(crate) const PROVIDER: &str = "s3";
/// S3's page size limit.
pub(crate) const MAX_LIST_PAGE: usize = 1000;

/// Everything needed to talk to one bucket.
#[derive(Debug)]
pub(crate) struct S3Client {
    pub(crate) http: HttpClient,
    pub(crate) endpoint: Endpoint,
    pub(crate) bucket: String,
    pub(crate) signer: Signer,
    pub(crate) credentials: CredentialProvider,
    pub(crate) timeout: Duration,
    pub(crate) upload_timeout: Duration,
    /// Bounds a download's wait for its head and each silence of its body.
    pub(crate) read_timeout: Duration,
}

impl S3Client {
    /// A metadata call bounded by the configured timeout.
    pub(crate) fn call(&self, operation: &'static str) -> Call {
        Call::new(PROVIDER, operation)
            .with_error_mapper(S3ErrorMapper::default())
            .with_timeout(self.timeout)
    }

    async fn sign(&self, mut request: S3Request) -> Result<S3Request> {
        if let Some(creds) = self.credentials.credentials().await? {
            // Signed once per call: retries reuse the signature, which S3
            // accepts for 15 minutes, longer than any retry budget.
            let signed = self
                .signer
                .sign_headers(&creds, &request, SystemTime::now())?;
            request.headers.extend(signed);
        }
        Ok(request)
    }

    /// Send and return the unread 2xx response (for streamed bodies).
    pub(crate) async fn send(&self, call: &Call, request: S3Request) -> Result<reqwest::Response> {
        let request = self.sign(request).await?;
        self.http.send(call, |c| build(c, &request)).await
    }

    /// Send and read the whole response.
    pub(crate) async fn execute(&self, call: &Call, request: S3Request) -> Result<HttpResponse> {
        let request = self.sign(request).await?;
        self.http.execute(call, |c| build(c, &request)).await
    }

    /// PutObject of a body held in memory.
    pub(crate) async fn put_object(
        &self,
        key: &Key,
        body: Payload,
        opts: &PutOptions,
    ) -> Result<ObjectMeta> {
        let size = body.len() as u64;
        let mut request = S3Request::new(Method::PUT, self.endpoint.object_url(key.as_str(), &[])?)
            .with_body(body);
        object_headers(&mut request, opts)?;
        mode_headers(&mut request, &opts.mode)?;
        let call = self.call("put").with_timeout(self.upload_timeout);
        let response = self
            .execute(&call, request)
            .await
            .map_err(|e| put_mode_error(e, &opts.mode, key))?;
        Ok(written_meta(key, size, response.headers(), opts))
    }

    /// HeadObject.
    pub(crate) async fn head_object(&self, key: &Key) -> Result<ObjectMeta> {
        let request = S3Request::new(Method::HEAD, self.endpoint.object_url(key.as_str(), &[])?);
        let response = self
            .execute(&self.call("head"), request)
            .await
            .map_err(|e| with_key(e, key))?;
        let size = header(response.headers(), CONTENT_LENGTH.as_str())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| missing_header("Content-Length", "head", key))?;
        Ok(meta_from_headers(key, response.headers(), size))
    }

    /// DeleteObject; an absent key is success.
    pub(crate) async fn delete_object(&self, key: &Key) -> Result<()> {
        let request = S3Request::new(Method::DELETE, self.endpoint.object_url(key.as_str(), &[])?);
        match self.execute(&self.call("delete"), request).await {
            Ok(_) => Ok(()),
            // AWS answers 204 for absent keys; some compatibles say 404.
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(with_key(e, key)),
        }
    }

    /// One ListObjectsV2 page.
    pub(crate) async fn list_objects(&self, prefix: &str, opts: &ListOptions) -> Result<ListPage> {
        Key::validate_prefix(prefix)?;
        let max_keys = match opts.max_keys {
            Some(0) => return Err(Error::invalid_input("max_keys must be at least 1")),
            Some(n) => n.min(MAX_LIST_PAGE),
            None => MAX_LIST_PAGE,
        };
        if opts.delimiter.as_deref() == Some("") {
            return Err(Error::invalid_input("the list delimiter must not be empty"));
        }
        let max_keys = max_keys.to_string();
        let mut query = vec![("list-type", "2"), ("max-keys", max_keys.as_str())];
        if !prefix.is_empty() {
            query.push(("prefix", prefix));
        }
        if let Some(delimiter) = &opts.delimiter {
            query.push(("delimiter", delimiter));
        }
        match (&opts.continuation_token, &opts.start_after) {
            (Some(token), _) => query.push(("continuation-token", token)),
            (None, Some(after)) => query.push(("start-after", after)),
            (None, None) => {}
        }
        let request = S3Request::new(Method::GET, self.endpoint.bucket_url(&query)?);
        let response = self.execute(&self.call("list"), request).await?;
        let result: xml::ListBucketResult = xml::decode(response.body(), "ListBucketResult")
            .map_err(|e| e.with_provider(PROVIDER).with_operation("list"))?;
        let mut objects = Vec::with_capacity(result.contents.len());
        for item in result.contents {
            let Ok(key) = Key::new(item.key.as_str()) else {
                // Written by another tool under a name our key rules reject
                // (`a//b`, `../x`): not addressable through this API.
                tracing::warn!(key = %item.key.escape_debug(), "skipping an S3 object whose key is not a valid plugbay key");
                continue;
            };
            let mut meta = ObjectMeta::new(key, item.size);
            meta.etag = item.etag;
            meta.last_modified = item.last_modified.as_deref().and_then(xml::parse_timestamp);
            objects.push(meta);
        }
        let prefixes = result
            .common_prefixes
            .into_iter()
            .map(|p| p.prefix)
            .collect();
        let next_token = match (result.is_truncated, result.next_continuation_token) {
            (true, Some(token)) if !token.is_empty() => Some(token),
            (true, _) => {
                return Err(Error::protocol(
                    "a truncated listing came without a NextContinuationToken",
                )
                .with_provider(PROVIDER)
                .with_operation("list"));
            }
            (false, _) => None,
        };
        Ok(ListPage::new(objects, prefixes, next_token))
    }

    /// CopyObject inside the bucket, keeping content type and metadata.
    pub(crate) async fn copy_object(&self, from: &Key, to: &Key, mode: CopyMode) -> Result<()> {
        let mut request = S3Request::new(Method::PUT, self.endpoint.object_url(to.as_str(), &[])?);
        request.header_str(
            "x-amz-copy-source",
            &copy_source(&self.bucket, from.as_str()),
        )?;
        request.header_str("x-amz-metadata-directive", "COPY")?;
        if mode == CopyMode::Create {
            request.header_str("if-none-match", "*")?;
        }
        // CopyObject can fail inside a 200 body.
        let call = self
            .call("copy")
            .with_error_mapper(S3ErrorMapper::detecting_errors_in_success())
            .with_timeout(self.upload_timeout);
        let response = self.execute(&call, request).await.map_err(|e| {
            let e = e
                .with_context("from", from.as_str())
                .with_context("to", to.as_str());
            if mode == CopyMode::Create && e.kind() == ErrorKind::PreconditionFailed {
                e.with_kind(ErrorKind::AlreadyExists)
            } else {
                e
            }
        })?;
        let _: xml::CopyObjectResult = xml::decode(response.body(), "CopyObjectResult")
            .map_err(|e| e.with_provider(PROVIDER).with_operation("copy"))?;
        Ok(())
    }
}

fn build(client: &reqwest::Client, request: &S3Request) -> reqwest::RequestBuilder {
    let mut builder = client.request(request.method.clone(), request.url.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name.clone(), value.clone());
    }
    if request.method == Method::PUT || request.method == Method::POST || !request.body.is_empty() {
        // Explicit, so an empty upload still says `Content-Length: 0`.
        builder = builder
            .header(CONTENT_LENGTH, request.body.len())
            .body(request.body.to_reqwest());
    }
    builder
}

/// Content type, cache control, disposition, user metadata and the
/// storage class (`PutOptions::extra["storage_class"]`).
pub(crate) fn object_headers(request: &mut S3Request, opts: &PutOptions) -> Result<()> {
    if let Some(v) = &opts.content_type {
        request.header_str(CONTENT_TYPE.as_str(), v)?;
    }
    if let Some(v) = &opts.cache_control {
        request.header_str(CACHE_CONTROL.as_str(), v)?;
    }
    if let Some(v) = &opts.content_disposition {
        request.header_str(CONTENT_DISPOSITION.as_str(), v)?;
    }
    for (name, value) in &opts.metadata {
        request.header_str(&format!("x-amz-meta-{name}"), value)?;
    }
    if let Some(class) = opts.extra.get("storage_class") {
        request.header_str("x-amz-storage-class", class)?;
    }
    Ok(())
}

/// `If-None-Match: *` for create-only, `If-Match` for compare-and-swap.
pub(crate) fn mode_headers(request: &mut S3Request, mode: &PutMode) -> Result<()> {
    match mode {
        PutMode::Overwrite => Ok(()),
        PutMode::Create => request.header_str("if-none-match", "*"),
        PutMode::IfMatch(etag) => request.header_str("if-match", etag),
    }
}

/// A failed condition on a create-only write means the key was taken; an
/// if-match write on an absent key (AWS: 404) is a failed condition.
pub(crate) fn put_mode_error(error: Error, mode: &PutMode, key: &Key) -> Error {
    let error = with_key(error, key);
    match (mode, error.kind()) {
        (PutMode::Create, ErrorKind::PreconditionFailed) => {
            error.with_kind(ErrorKind::AlreadyExists)
        }
        (PutMode::IfMatch(_), ErrorKind::NotFound) => {
            error.with_kind(ErrorKind::PreconditionFailed)
        }
        _ => error,
    }
}

pub(crate) fn with_key(error: Error, key: &Key) -> Error {
    error.with_context("key", key.as_str())
}

fn missing_header(name: &str, operation: &'static str, key: &Key) -> Error {
    Error::protocol(format!("the response has no valid {name} header"))
        .with_provider(PROVIDER)
        .with_operation(operation)
        .with_context("key", key.as_str())
}

pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Metadata of a written object: what the answer says plus what was sent.
pub(crate) fn written_meta(
    key: &Key,
    size: u64,
    headers: &HeaderMap,
    opts: &PutOptions,
) -> ObjectMeta {
    let mut meta = ObjectMeta::new(key.clone(), size);
    meta.etag = header(headers, ETAG.as_str()).map(str::to_owned);
    meta.version = header(headers, "x-amz-version-id").map(str::to_owned);
    meta.content_type = opts.content_type.clone();
    meta.cache_control = opts.cache_control.clone();
    meta.content_disposition = opts.content_disposition.clone();
    meta.metadata = opts.metadata.clone();
    meta
}

/// Metadata from HeadObject/GetObject headers; `size` is the whole object.
pub(crate) fn meta_from_headers(key: &Key, headers: &HeaderMap, size: u64) -> ObjectMeta {
    let mut meta = ObjectMeta::new(key.clone(), size);
    meta.etag = header(headers, ETAG.as_str()).map(str::to_owned);
    meta.last_modified =
        header(headers, LAST_MODIFIED.as_str()).and_then(|v| httpdate::parse_http_date(v).ok());
    meta.content_type = header(headers, CONTENT_TYPE.as_str()).map(str::to_owned);
    meta.cache_control = header(headers, CACHE_CONTROL.as_str()).map(str::to_owned);
    meta.content_disposition = header(headers, CONTENT_DISPOSITION.as_str()).map(str::to_owned);
    meta.version = header(headers, "x-amz-version-id")
        .filter(|v| *v != "null")
        .map(str::to_owned);
    let mut metadata = BTreeMap::new();
    for (name, value) in headers {
        if let Some(user) = name.as_str().strip_prefix("x-amz-meta-") {
            let value = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
            metadata.insert(user.to_owned(), value);
        }
    }
    meta.metadata = metadata;
    meta
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn metadata_from_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("etag", HeaderValue::from_static("\"abc\""));
        headers.insert(
            "last-modified",
            HeaderValue::from_static("Mon, 12 Oct 2009 17:50:00 GMT"),
        );
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.insert("x-amz-meta-owner", HeaderValue::from_static("me"));
        headers.insert("x-amz-version-id", HeaderValue::from_static("null"));
        let key = Key::new("k").unwrap();
        let meta = meta_from_headers(&key, &headers, 5);
        assert_eq!(meta.etag.as_deref(), Some("\"abc\""));
        assert_eq!(meta.size, 5);
        assert!(meta.last_modified.is_some());
        assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
        assert_eq!(meta.metadata.get("owner").map(String::as_str), Some("me"));
        assert_eq!(meta.version, None);
    }

    #[test]
    fn put_mode_errors_map_to_the_mode() {
        let key = Key::new("k").unwrap();
        let failed = || Error::new(ErrorKind::PreconditionFailed, "412");
        assert_eq!(
            put_mode_error(failed(), &PutMode::Create, &key).kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            put_mode_error(failed(), &PutMode::IfMatch("e".into()), &key).kind(),
            ErrorKind::PreconditionFailed
        );
        assert_eq!(
            put_mode_error(Error::not_found("404"), &PutMode::IfMatch("e".into()), &key).kind(),
            ErrorKind::PreconditionFailed
        );
        assert_eq!(
            put_mode_error(Error::not_found("404"), &PutMode::Overwrite, &key).kind(),
            ErrorKind::NotFound
        );
    }
}
