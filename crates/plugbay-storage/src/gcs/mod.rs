//! [`GcsStore`]: Google Cloud Storage over its JSON API, and
//! [`FirebaseStorage`], the same store over a Firebase project's bucket
//! with Firebase download URLs (feature `gcs`).

mod auth;
mod builder;
mod client;
pub mod config;
mod error;
mod firebase;
mod list;
mod presign;
mod read;
mod resume;
mod time;
mod upload;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use plugbay_core::{Error, Result};
use url::Url;

use self::auth::Auth;
pub use self::builder::GcsBuilder;
use self::client::GcsClient;
pub use self::config::{GcsConfig, ServiceAccountKey};
pub use self::firebase::FirebaseStorage;
pub use self::presign::MAX_PRESIGN_EXPIRY;
use crate::key::Key;
use crate::store::ObjectStore;
use crate::types::{
    Body, CopyMode, CopyOptions, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta,
    PresignMethod, PutOptions, StorageCapabilities,
};

/// The largest object GCS stores: 5 TiB.
pub const MAX_OBJECT_SIZE: u64 = 5 << 40;

/// An [`ObjectStore`] over one Google Cloud Storage bucket (JSON API).
///
/// - **Etags are generations.** `ObjectMeta::etag` (and `version`) is the
///   object's `generation` as a decimal string: it changes with every
///   write of content and is what GCS preconditions compare, so
///   `PutMode::IfMatch(etag)` becomes `ifGenerationMatch=<etag>` and
///   `PutMode::Create` `ifGenerationMatch=0`. An etag that is not a
///   generation number never matches (`PreconditionFailed`).
/// - **Uploads**: a body up to one chunk (default 8 MiB) is one
///   `uploadType=multipart` request (metadata + media); a larger or longer
///   stream a resumable session in chunks (multiples of 256 KiB), resumed
///   after a failed chunk by asking the session what it kept; about two
///   chunks in memory; the session is cancelled when the body fails.
/// - **Downloads** read the object's resource, check `GetOptions`
///   conditions against it, then stream `alt=media` pinned to that
///   generation (`ifGenerationMatch`), with `Range` for partial reads.
///   The per-attempt timeout bounds only the wait for the answer's head:
///   the body has no total time cap, and the read timeout (30 s,
///   [`GcsBuilder::read_timeout`]) bounds each wait for bytes. A body cut mid-stream (reset, stall, early end) resumes with
///   `Range: bytes=<next>-<last>` pinned to the same generation, at most
///   `read_resume_attempts` times (default 3,
///   [`GcsBuilder::read_resume_attempts`]), each byte handed out once; a
///   412 or 404 on a resume (the object was replaced or deleted) ends the
///   stream with `PreconditionFailed` or `NotFound`, and a body that ends
///   short of or runs past its length fails with `Protocol`.
/// - **Listings** use `prefix`, `delimiter`, `startOffset` and
///   `maxResults`, with plugbay's own cursor as the continuation token.
/// - **Copies** use `rewriteTo`, following `rewriteToken` until done;
///   create-only copies send `ifGenerationMatch=0`.
/// - **Presigned URLs**: V4 (`GOOG4-RSA-SHA256`) signed with the service
///   account key, GET and PUT, up to 7 days; `Unsupported` without a key.
/// - **Auth**: a service account's RS256 JWT exchanged for an access token
///   (cached, refreshed 5 minutes early by one caller at a time, dropped
///   and refreshed once on a 401), a fixed access token, or nothing for
///   emulators (`STORAGE_EMULATOR_HOST`) and public buckets.
///
/// ```no_run
/// use plugbay_storage::{Key, ObjectStoreExt};
/// use plugbay_storage::gcs::GcsBuilder;
///
/// # async fn demo() -> plugbay_core::Result<()> {
/// // GOOGLE_APPLICATION_CREDENTIALS names a service-account key file.
/// let store = GcsBuilder::from_url("gs://my-bucket")?.build()?;
/// store.put(&Key::new("hello.txt")?, "hi").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GcsStore {
    client: Arc<GcsClient>,
}

impl GcsStore {
    /// Start building a store for `bucket`.
    pub fn builder(bucket: impl Into<String>) -> GcsBuilder {
        GcsBuilder::new(bucket)
    }

    /// The configuration the store was built with.
    pub fn config(&self) -> &GcsConfig {
        &self.client.config
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.client.config.bucket
    }

    fn can_sign(&self) -> bool {
        matches!(self.client.auth, Auth::ServiceAccount(_)) && !self.client.config.emulator
    }
}

#[async_trait]
impl ObjectStore for GcsStore {
    fn backend(&self) -> &'static str {
        "gcs"
    }

    fn capabilities(&self) -> StorageCapabilities {
        let sign = self.can_sign();
        StorageCapabilities::full()
            .with_presign(sign, sign)
            .with_copy(true, self.client.config.conditional_copy)
            .with_max_object_size(Some(MAX_OBJECT_SIZE))
            .with_max_list_page(list::MAX_PAGE)
    }

    async fn put_opts(&self, key: &Key, body: Body, opts: PutOptions) -> Result<ObjectMeta> {
        upload::put(&self.client, key, body, &opts).await
    }

    async fn get_opts(&self, key: &Key, opts: GetOptions) -> Result<GetResult> {
        read::get(&self.client, key, &opts).await
    }

    async fn head(&self, key: &Key) -> Result<ObjectMeta> {
        self.client.get_resource(key).await?.to_meta()
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.client.delete(key).await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListPage> {
        list::list(&self.client, prefix, &opts).await
    }

    async fn copy(&self, from: &Key, to: &Key, opts: CopyOptions) -> Result<ObjectMeta> {
        if opts.mode == CopyMode::Create && !self.client.config.conditional_copy {
            return Err(Error::unsupported(
                "create-only copies need a server that honours ifGenerationMatch on rewrites (GcsBuilder::conditional_copy)",
            )
            .with_provider(client::PROVIDER)
            .with_operation("copy"));
        }
        self.client.rewrite(from, to, opts.mode).await
    }

    async fn presign(&self, method: PresignMethod, key: &Key, expires: Duration) -> Result<Url> {
        match &self.client.auth {
            Auth::ServiceAccount(source) if !self.client.config.emulator => {
                let email = self
                    .client
                    .config
                    .service_account
                    .as_ref()
                    .map(|k| k.client_email.as_str())
                    .unwrap_or_default();
                presign::signed_url(
                    source,
                    email,
                    &self.client.config.bucket,
                    key,
                    method,
                    expires,
                    SystemTime::now(),
                )
            }
            _ => Err(
                Error::unsupported("GCS signed URLs need a service-account key to sign with")
                    .with_provider(client::PROVIDER)
                    .with_operation("presign"),
            ),
        }
    }
}
