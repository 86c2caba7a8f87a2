//! [`CloudinaryStore`]: Cloudinary's Upload and Admin APIs behind
//! [`ObjectStore`], as far as they fit (feature `cloudinary`).

mod builder;
mod client;
mod error;
mod signature;
mod transform;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use plugbay_core::http::{Call, HttpClient, map_reqwest_error};
use plugbay_core::{Error, Result};
use url::Url;

pub use self::builder::{
    CloudinaryBuilder, CloudinaryConfig, DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, ResourceType,
};
use self::client::{CloudinaryClient, PROVIDER};
pub use self::signature::{SignatureAlgorithm, sign_params};
pub use self::transform::{Crop, Transformation};
use crate::key::Key;
use crate::store::ObjectStore;
use crate::types::{
    Body, CopyOptions, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta, PresignMethod,
    PutMode, PutOptions, StorageCapabilities,
};

const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Cloudinary as an [`ObjectStore`], where its APIs fit the contract.
///
/// - **Keys are public ids**, verbatim. With the default `raw` resource
///   type the id keeps its extension and the bytes are stored as given;
///   with `image`/`video` ids have no extension and delivery adds one.
/// - **put**: a signed multipart upload (`overwrite=true`); bodies larger
///   than one chunk (default 20 MiB, at least 5 MiB) go up as a chunked
///   upload (`X-Unique-Upload-Id` + `Content-Range`, one chunk in memory).
///   No conditional puts: `PutMode::Create`/`IfMatch` are `Unsupported`.
///   Empty bodies are refused by Cloudinary (`InvalidInput`).
/// - **head** and **list** use the Admin API (basic auth; rate limited per
///   hour, 420 → `RateLimited`). Listings filter by prefix, at most 500 per
///   page, sorted within a page only (Cloudinary orders by upload time),
///   no delimiter grouping. Content type and custom metadata are not kept.
/// - **get** reads the metadata (Admin API), then downloads the delivery
///   URL pinned to the version; no ranges.
/// - **delete** is `destroy`; `"not found"` counts as done (idempotent).
/// - **copy** and **presign** are `Unsupported`.
/// - [`CloudinaryStore::delivery_url`] builds CDN URLs with
///   [`Transformation`]s (`c_fill,w_300,h_200/f_auto,q_auto`).
#[derive(Debug, Clone)]
pub struct CloudinaryStore {
    client: Arc<CloudinaryClient>,
}

impl CloudinaryStore {
    fn assemble(config: Arc<CloudinaryConfig>, http: HttpClient) -> CloudinaryStore {
        CloudinaryStore {
            client: Arc::new(CloudinaryClient { http, config }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CloudinaryConfig {
        &self.client.config
    }

    /// The delivery URL of `key` with `transformation` (none when empty),
    /// optionally pinned to a version:
    /// `{delivery}/{cloud}/{type}/upload/{transformation}/v{version}/{public_id}`.
    ///
    /// ```
    /// use plugbay_storage::cloudinary::{CloudinaryBuilder, Crop, Transformation};
    /// use plugbay_storage::Key;
    ///
    /// let store = CloudinaryBuilder::from_url("cloudinary://k:s@demo?resource_type=image")?.build()?;
    /// let t = Transformation::new().crop(Crop::Fill).width(300).height(200).format_auto().quality_auto();
    /// let url = store.delivery_url(&Key::new("avatars/u-42")?, &t, None)?;
    /// assert_eq!(url.as_str(), "https://res.cloudinary.com/demo/image/upload/c_fill,w_300,h_200/f_auto,q_auto/avatars/u-42");
    /// # Ok::<(), plugbay_core::Error>(())
    /// ```
    pub fn delivery_url(
        &self,
        key: &Key,
        transformation: &Transformation,
        version: Option<u64>,
    ) -> Result<Url> {
        let config = &self.client.config;
        let mut url = format!(
            "{}/{}/{}/upload/",
            config.delivery_base.as_str().trim_end_matches('/'),
            config.cloud_name,
            config.resource_type.as_str()
        );
        if !transformation.is_empty() {
            url.push_str(&transformation.to_string());
            url.push('/');
        }
        if let Some(v) = version {
            url.push_str(&format!("v{v}/"));
        }
        url.push_str(
            &key.as_str()
                .split('/')
                .map(enc)
                .collect::<Vec<_>>()
                .join("/"),
        );
        Url::parse(&url).map_err(|e| Error::internal(format!("delivery URL did not parse: {e}")))
    }

    async fn put_chunked(
        &self,
        key: &Key,
        first: BytesMut,
        mut rest: crate::types::ByteStream,
    ) -> Result<ObjectMeta> {
        let chunk = self.client.config.chunk_size;
        let upload_id = uuid::Uuid::new_v4().simple().to_string();
        let mut buffer = first;
        let mut offset = 0u64;
        let mut ended = false;
        loop {
            while !ended && buffer.len() <= chunk {
                match rest.next().await {
                    Some(Ok(piece)) => buffer.extend_from_slice(&piece),
                    Some(Err(e)) => return Err(e),
                    None => ended = true,
                }
            }
            let last = ended && buffer.len() <= chunk;
            let len = if last { buffer.len() } else { chunk };
            let piece: Bytes = buffer.split_to(len).freeze();
            let end = offset + len as u64 - 1;
            let total = if last {
                (offset + len as u64).to_string()
            } else {
                "-1".to_owned()
            };
            let range = format!("bytes {offset}-{end}/{total}");
            let answer = self
                .client
                .upload(key, piece, Some((&upload_id, range)))
                .await?;
            offset += len as u64;
            if last {
                let resource = answer.ok_or_else(|| {
                    Error::protocol("the last chunk was answered without a resource")
                        .with_provider(PROVIDER)
                })?;
                return resource.to_meta();
            }
        }
    }
}

fn unsupported(what: &str) -> Error {
    Error::unsupported(format!("Cloudinary does not support {what}")).with_provider(PROVIDER)
}

#[async_trait]
impl ObjectStore for CloudinaryStore {
    fn backend(&self) -> &'static str {
        "cloudinary"
    }

    fn capabilities(&self) -> StorageCapabilities {
        StorageCapabilities::new()
            .with_get_conditions(true)
            .with_streaming_put(true, true)
            .with_versions(true)
            .with_max_key_len(255)
            .with_max_list_page(500)
    }

    async fn put_opts(&self, key: &Key, body: Body, opts: PutOptions) -> Result<ObjectMeta> {
        if opts.mode != PutMode::Overwrite {
            return Err(unsupported("conditional puts (create-only or if-match)"));
        }
        if key.as_str().contains(['?', '&', '#', '%', '<', '>', '\\']) {
            return Err(Error::invalid_input(
                "Cloudinary public ids cannot contain ? & # % < > \\",
            )
            .with_context("key", key.as_str()));
        }
        let chunk = self.client.config.chunk_size;
        let mut rest = body.into_stream();
        let mut buffer = BytesMut::new();
        let mut ended = false;
        while !ended && buffer.len() <= chunk {
            match rest.next().await {
                Some(Ok(piece)) => buffer.extend_from_slice(&piece),
                Some(Err(e)) => return Err(e),
                None => ended = true,
            }
        }
        if ended {
            let resource = self.client.upload(key, buffer.freeze(), None).await?;
            return resource
                .ok_or_else(|| {
                    Error::protocol("upload answered without a resource").with_provider(PROVIDER)
                })?
                .to_meta();
        }
        self.put_chunked(key, buffer, rest).await
    }

    async fn get_opts(&self, key: &Key, opts: GetOptions) -> Result<GetResult> {
        let resource = self.client.resource(key).await?;
        let meta = resource.to_meta()?;
        opts.check(&meta)
            .map_err(|e| e.with_provider(PROVIDER).with_operation("get"))?;
        if opts.range.is_some() {
            return Err(unsupported("byte ranges"));
        }
        let mut id = key.clone();
        if self.client.config.resource_type != ResourceType::Raw
            && let Some(format) = &resource.format
        {
            id = Key::new(format!("{}.{format}", key.as_str()))?;
        }
        let url = self.delivery_url(&id, &Transformation::new(), resource.version)?;
        let call = Call::new(PROVIDER, "get");
        let response = self
            .client
            .http
            .send(&call, |c| c.get(url.as_str()))
            .await?;
        let size = meta.size;
        let body = response
            .bytes_stream()
            .map(|r| {
                r.map_err(|e| {
                    map_reqwest_error(e)
                        .with_provider(PROVIDER)
                        .with_operation("get")
                })
            })
            .boxed();
        Ok(GetResult::new(meta, 0..size, body))
    }

    async fn head(&self, key: &Key) -> Result<ObjectMeta> {
        self.client.resource(key).await?.to_meta()
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.client.destroy(key).await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListPage> {
        Key::validate_prefix(prefix)?;
        if opts.delimiter.is_some() {
            return Err(unsupported("delimiter listings"));
        }
        if opts.start_after.is_some() {
            return Err(unsupported("start_after in listings"));
        }
        let max = match opts.max_keys {
            Some(0) => return Err(Error::invalid_input("max_keys must be at least 1")),
            Some(n) => n.min(500),
            None => 500,
        };
        let page = self
            .client
            .list(prefix, max, opts.continuation_token.as_deref())
            .await?;
        let mut objects = Vec::with_capacity(page.resources.len());
        for resource in &page.resources {
            // Prefix matching is the Admin API's; keep only exact string prefixes.
            if resource.public_id.starts_with(prefix) {
                objects.push(resource.to_meta()?);
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(ListPage::new(
            objects,
            Vec::new(),
            page.next_cursor.filter(|c| !c.is_empty()),
        ))
    }

    async fn copy(&self, _from: &Key, _to: &Key, _opts: CopyOptions) -> Result<ObjectMeta> {
        Err(unsupported("copy"))
    }

    async fn presign(&self, _method: PresignMethod, _key: &Key, _expires: Duration) -> Result<Url> {
        Err(unsupported(
            "presigned URLs (use delivery_url for public assets)",
        ))
    }
}
