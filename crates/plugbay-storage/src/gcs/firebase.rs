//! [`FirebaseStorage`]: a [`GcsStore`] over a Firebase project's bucket,
//! plus the token download URLs Firebase apps use.

use std::time::Duration;

use async_trait::async_trait;
use plugbay_core::{Error, ErrorKind, Result};
use url::Url;

use super::GcsStore;
use super::client::enc;
use super::upload::DOWNLOAD_TOKENS;
use crate::key::Key;
use crate::store::ObjectStore;
use crate::types::{
    Body, CopyOptions, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta, PresignMethod,
    PutOptions, StorageCapabilities,
};

/// Firebase Storage: Google Cloud Storage under the hood (every
/// [`ObjectStore`] call goes to the inner [`GcsStore`]), with download URLs
/// of the form
/// `https://firebasestorage.googleapis.com/v0/b/{bucket}/o/{path}?alt=media&token={uuid}`.
///
/// A download token is a UUID listed in the object's
/// `firebaseStorageDownloadTokens` custom metadata (comma-separated). Turn
/// on [`GcsBuilder::download_tokens`](super::GcsBuilder::download_tokens)
/// to give each upload one, as the Firebase client SDKs do.
///
/// ```no_run
/// use plugbay_storage::gcs::GcsBuilder;
/// use plugbay_storage::{Key, ObjectStoreExt};
///
/// # async fn demo() -> plugbay_core::Result<()> {
/// let storage = GcsBuilder::firebase("my-project").download_tokens(true).build_firebase()?;
/// let key = Key::new("avatars/u-42.png")?;
/// storage.put(&key, vec![1u8, 2, 3]).await?;
/// let url = storage.download_url(&key).await?;
/// assert!(url.as_str().contains("token="));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FirebaseStorage {
    store: GcsStore,
}

impl FirebaseStorage {
    /// Wrap a store built for the Firebase bucket.
    pub fn new(store: GcsStore) -> FirebaseStorage {
        FirebaseStorage { store }
    }

    /// The underlying GCS store.
    pub fn gcs(&self) -> &GcsStore {
        &self.store
    }

    /// The download URL for `key` with a given token (no request made).
    pub fn download_url_with_token(&self, key: &Key, token: &str) -> Result<Url> {
        let config = self.store.config();
        let base = config.firebase_download_base.as_str().trim_end_matches('/');
        let url = format!(
            "{base}/v0/b/{}/o/{}?alt=media&token={}",
            enc(&config.bucket),
            enc(key.as_str()),
            enc(token)
        );
        Url::parse(&url).map_err(|e| Error::internal(format!("download URL did not parse: {e}")))
    }

    /// The download URL for `key` with its first download token. An object
    /// without one gets a new UUID token first (a metadata patch guarded by
    /// `ifMetagenerationMatch`, so a concurrent change is not overwritten:
    /// that race answers `PreconditionFailed`). `NotFound` if absent.
    pub async fn download_url(&self, key: &Key) -> Result<Url> {
        let client = &self.store.client;
        let resource = client.get_resource(key).await?;
        let existing = resource
            .metadata_value(DOWNLOAD_TOKENS)
            .and_then(|v| v.split(',').map(str::trim).find(|t| !t.is_empty()))
            .map(str::to_owned);
        let token = match existing {
            Some(token) => token,
            None => {
                let metageneration =
                    super::client::int_text(&resource.metageneration).ok_or_else(|| {
                        Error::protocol("object resource without a metageneration")
                            .with_provider("gcs")
                    })?;
                let token = uuid::Uuid::new_v4().to_string();
                let patch = [(DOWNLOAD_TOKENS.to_owned(), token.clone())].into();
                client
                    .patch_metadata(key, &metageneration, &patch)
                    .await
                    .map_err(|e| {
                        if e.kind() == ErrorKind::PreconditionFailed {
                            e.with_context(
                                "why",
                                "the object changed while adding a download token",
                            )
                        } else {
                            e
                        }
                    })?;
                token
            }
        };
        self.download_url_with_token(key, &token)
    }
}

#[async_trait]
impl ObjectStore for FirebaseStorage {
    fn backend(&self) -> &'static str {
        "firebase"
    }
    fn capabilities(&self) -> StorageCapabilities {
        self.store.capabilities()
    }
    async fn put_opts(&self, key: &Key, body: Body, opts: PutOptions) -> Result<ObjectMeta> {
        self.store.put_opts(key, body, opts).await
    }
    async fn get_opts(&self, key: &Key, opts: GetOptions) -> Result<GetResult> {
        self.store.get_opts(key, opts).await
    }
    async fn head(&self, key: &Key) -> Result<ObjectMeta> {
        self.store.head(key).await
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        self.store.delete(key).await
    }
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListPage> {
        self.store.list(prefix, opts).await
    }
    async fn copy(&self, from: &Key, to: &Key, opts: CopyOptions) -> Result<ObjectMeta> {
        self.store.copy(from, to, opts).await
    }
    async fn presign(&self, method: PresignMethod, key: &Key, expires: Duration) -> Result<Url> {
        self.store.presign(method, key, expires).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcs::GcsBuilder;

    #[test]
    fn download_urls_encode_the_path() {
        let storage = GcsBuilder::firebase("proj")
            .anonymous(true)
            .build_firebase()
            .unwrap();
        let key = Key::new("avatars/a b+c.png").unwrap();
        let url = storage.download_url_with_token(&key, "0f0e-uuid").unwrap();
        assert_eq!(
            url.as_str(),
            "https://firebasestorage.googleapis.com/v0/b/proj.firebasestorage.app/o/avatars%2Fa%20b%2Bc.png?alt=media&token=0f0e-uuid"
        );
        assert_eq!(storage.backend(), "firebase");
    }
}
