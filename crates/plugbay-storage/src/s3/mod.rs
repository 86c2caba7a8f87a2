//! [`S3Store`]: Amazon S3 and S3-compatibles (MinIO, Cloudflare R2, s3s,
//! moto ...) behind [`ObjectStore`] (feature `s3`).

mod builder;
mod client;
pub mod config;
mod credentials;
mod error;
mod multipart;
mod parallel_read;
mod payload;
mod read;
mod request;
mod signer;
mod xml;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::Method;
use plugbay_core::{Error, ErrorKind, Result};
use url::Url;

pub use self::builder::S3Builder;
use self::client::S3Client;
use self::config::MAX_PRESIGN_EXPIRY;
pub use self::config::{AddressingStyle, PayloadSigning, S3Config};
pub use self::credentials::S3Credentials;
use self::multipart::{MAX_OBJECT_SIZE, UploadSettings};
use crate::key::Key;
use crate::store::ObjectStore;
use crate::types::{
    Body, CopyMode, CopyOptions, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta,
    PresignMethod, PutMode, PutOptions, StorageCapabilities,
};

/// An [`ObjectStore`] over one S3 bucket.
///
/// - **Signing**: SigV4 through the `aws-sigv4` crate, with static,
///   web-identity (STS) or IMDSv2 credentials (see [`S3Builder`]); bodies
///   hashed or `UNSIGNED-PAYLOAD` per [`PayloadSigning`]. No extra
///   checksums (`x-amz-checksum-*`) are sent: several S3-compatibles
///   reject them.
/// - **Uploads** stream: a body that fits in one part (default 8 MiB) is
///   one PutObject (`Content-Length: 0` for empty ones); a larger one is a
///   multipart upload with equal parts, `concurrency` (default 4) parts in
///   flight, about `part_size × concurrency` bytes in memory, and an
///   AbortMultipartUpload on any failure or cancellation.
/// - **Conditional writes**: `PutMode::Create` sends `If-None-Match: *`,
///   `PutMode::IfMatch` sends `If-Match` (on PutObject and on
///   CompleteMultipartUpload); a 412 on a create-only write is
///   `AlreadyExists`. Turn them off with
///   [`S3Builder::conditional_writes`] for servers that ignore them
///   (puts in those modes are then `Unsupported`).
/// - **Downloads** stream and resume after a cut with a `Range` request
///   pinned to the ETag (`If-Match`), at most `read_resume_attempts` times.
/// - **Errors** come from S3's XML `<Code>`: `NoSuchKey` → `NotFound`,
///   `PreconditionFailed` → `PreconditionFailed`, `SlowDown` →
///   `RateLimited` (retried), `AccessDenied` → `PermissionDenied`,
///   `SignatureDoesNotMatch` → `Unauthenticated`, `NoSuchBucket` →
///   `Config`; errors inside 200 answers of CompleteMultipartUpload and
///   CopyObject are detected.
/// - **Etags** are S3's quoted `ETag` values, passed back unchanged in
///   conditions.
///
/// ```no_run
/// use plugbay_storage::{Key, ObjectStoreExt};
/// use plugbay_storage::s3::S3Builder;
///
/// # async fn demo() -> plugbay_core::Result<()> {
/// // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION ... from the environment.
/// let store = S3Builder::from_url("s3://my-bucket?region=eu-west-1")?.build()?;
/// store.put(&Key::new("hello.txt")?, "hi").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct S3Store {
    client: Arc<S3Client>,
    config: Arc<S3Config>,
}

/// A multipart upload that was started and neither completed nor aborted
/// (see [`S3Store::pending_uploads`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingUpload {
    /// The key being uploaded.
    pub key: String,
    /// The upload id.
    pub upload_id: String,
}

impl S3Store {
    /// Start building a store.
    pub fn builder() -> S3Builder {
        S3Builder::default()
    }

    fn assemble(client: Arc<S3Client>, config: Arc<S3Config>) -> S3Store {
        S3Store { client, config }
    }

    /// The configuration the store was built with.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// Multipart uploads under `prefix` that were started and never
    /// completed or aborted (ListMultipartUploads, first 1000). A failed or
    /// cancelled upload of this store aborts itself; this finds leftovers
    /// of crashed processes.
    pub async fn pending_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>> {
        let uploads = multipart::list_uploads(&self.client, prefix).await?;
        Ok(uploads
            .into_iter()
            .map(|(key, upload_id)| PendingUpload { key, upload_id })
            .collect())
    }

    /// Abort a pending multipart upload (idempotent).
    pub async fn abort_upload(&self, upload: &PendingUpload) -> Result<()> {
        multipart::abort(&self.client, &upload.key, &upload.upload_id).await
    }

    fn anonymous(&self) -> bool {
        self.config.anonymous
    }
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn backend(&self) -> &'static str {
        "s3"
    }

    fn capabilities(&self) -> StorageCapabilities {
        let writes = self.config.conditional_writes;
        let presign = !self.anonymous();
        StorageCapabilities::full()
            .with_presign(presign, presign)
            .with_conditional_put(writes, writes)
            .with_copy(true, self.config.conditional_copy)
            .with_versions(false)
            .with_max_object_size(Some(MAX_OBJECT_SIZE))
            .with_max_list_page(client::MAX_LIST_PAGE)
    }

    async fn put_opts(&self, key: &Key, body: Body, opts: PutOptions) -> Result<ObjectMeta> {
        if !matches!(opts.mode, PutMode::Overwrite) && !self.config.conditional_writes {
            return Err(Error::unsupported(
                "conditional puts are turned off for this S3 store (conditional_writes = false)",
            )
            .with_provider(client::PROVIDER)
            .with_operation("put")
            .with_context("key", key.as_str()));
        }
        let settings = UploadSettings {
            part_size: self.config.part_size,
            concurrency: self.config.concurrency,
        };
        multipart::put(&self.client, key, body, opts, settings).await
    }

    async fn get_opts(&self, key: &Key, opts: GetOptions) -> Result<GetResult> {
        if opts.range.is_none() && self.config.download_concurrency > 1 {
            let settings = parallel_read::DownloadSettings {
                part_size: self.config.part_size,
                concurrency: self.config.download_concurrency,
                resume_attempts: self.config.read_resume_attempts,
            };
            return parallel_read::get_object(self.client.clone(), key, &opts, settings).await;
        }
        read::get_object(
            self.client.clone(),
            key,
            &opts,
            self.config.read_resume_attempts,
        )
        .await
    }

    async fn head(&self, key: &Key) -> Result<ObjectMeta> {
        self.client.head_object(key).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.client.delete_object(key).await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListPage> {
        self.client.list_objects(prefix, &opts).await
    }

    async fn copy(&self, from: &Key, to: &Key, opts: CopyOptions) -> Result<ObjectMeta> {
        if opts.mode == CopyMode::Create && !self.config.conditional_copy {
            return Err(Error::unsupported(
                "create-only copies need a server that honours If-None-Match on CopyObject (conditional_copy = true)",
            )
            .with_provider(client::PROVIDER)
            .with_operation("copy"));
        }
        self.client.copy_object(from, to, opts.mode).await?;
        self.client.head_object(to).await
    }

    async fn presign(&self, method: PresignMethod, key: &Key, expires: Duration) -> Result<Url> {
        if expires.is_zero() || expires > MAX_PRESIGN_EXPIRY {
            return Err(Error::invalid_input(
                "a presigned S3 URL must expire after more than 0 s and at most 7 days",
            )
            .with_context("expires_secs", expires.as_secs().to_string()));
        }
        let Some(creds) = self.client.credentials.credentials().await? else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "an anonymous S3 store cannot presign URLs",
            )
            .with_provider(client::PROVIDER)
            .with_operation("presign"));
        };
        let http_method = match method {
            PresignMethod::Get => Method::GET,
            PresignMethod::Put => Method::PUT,
        };
        let url = self.client.endpoint.object_url(key.as_str(), &[])?;
        self.client
            .signer
            .presign(&creds, &http_method, &url, expires, SystemTime::now())
    }
}
