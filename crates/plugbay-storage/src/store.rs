//! The [`ObjectStore`] trait, its [`ObjectStoreExt`] conveniences and the
//! [`DynObjectStore`] alias.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use plugbay_core::{ErrorKind, Result};
use url::Url;

use crate::key::Key;
use crate::types::{
    Body, ByteRange, CopyOptions, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta,
    PresignMethod, PutMode, PutOptions, StorageCapabilities,
};

/// A bucket of objects addressed by [`Key`]: local filesystem, memory, S3,
/// GCS/Firebase or Cloudinary behind one interface.
///
/// The same failure has the same [`ErrorKind`] on every backend: a missing
/// object is `NotFound`, a lost create race `AlreadyExists`, a failed
/// condition `PreconditionFailed`, an unsatisfiable range or bad prefix
/// `InvalidInput`, an operation the backend cannot do `Unsupported` (check
/// [`ObjectStore::capabilities`] first).
///
/// ```
/// use plugbay_storage::{InMemoryStore, Key, ObjectStore, ObjectStoreExt};
///
/// # tokio_test_block_on(async {
/// let store = InMemoryStore::new();
/// let key = Key::new("docs/hello.txt")?;
/// store.put(&key, "hello").await?;
/// assert_eq!(store.get(&key).await?.bytes().await?, "hello");
/// assert_eq!(store.list_all("docs/").await?.len(), 1);
/// # Ok::<(), plugbay_core::Error>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[async_trait]
pub trait ObjectStore: Send + Sync + Debug {
    /// The backend's short name (`"memory"`, `"fs"`, `"s3"` ...), for logs
    /// and health checks.
    fn backend(&self) -> &'static str;

    /// What this backend supports.
    fn capabilities(&self) -> StorageCapabilities;

    /// Write `body` under `key` and return the new object's metadata.
    ///
    /// The write is atomic: readers see the old object or the whole new one,
    /// never a mix; if the body stream fails, its error is returned
    /// unchanged and no object is created or changed. `PutMode::Create`
    /// fails with `AlreadyExists` when the key exists; `PutMode::IfMatch`
    /// fails with `PreconditionFailed` when the current etag differs or the
    /// key is absent. A mode the backend cannot honour atomically is
    /// `Unsupported`.
    async fn put_opts(&self, key: &Key, body: Body, opts: PutOptions) -> Result<ObjectMeta>;

    /// Read an object (or `opts.range` of it) as a stream.
    ///
    /// `NotFound` if absent; `InvalidInput` if the range selects no byte;
    /// `PreconditionFailed` if a condition in `opts` does not hold (see
    /// [`GetOptions`]). `GetResult::range` is the range actually served.
    async fn get_opts(&self, key: &Key, opts: GetOptions) -> Result<GetResult>;

    /// The object's metadata without its body; `NotFound` if absent.
    async fn head(&self, key: &Key) -> Result<ObjectMeta>;

    /// Delete an object. Deleting an absent key succeeds (idempotent).
    async fn delete(&self, key: &Key) -> Result<()>;

    /// One page of the objects whose keys start with `prefix` (a plain
    /// string prefix, `""` for all; it may end in `/`), in ascending byte
    /// order of key. A prefix that [`Key::validate_prefix`] rejects is
    /// `InvalidInput`. Follow [`ListPage::next_token`] for further pages.
    ///
    /// The prefix is a `&str`, not a [`Key`], because S3 and GCS prefixes
    /// are arbitrary string prefixes (`photos/`, `photos/2024-`), which
    /// the key rules (no trailing `/`) would reject.
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListPage>;

    /// Copy `from` to `to` inside this store, keeping content type and
    /// metadata. `NotFound` if `from` is absent; with `CopyMode::Create`,
    /// `AlreadyExists` if `to` exists.
    async fn copy(&self, from: &Key, to: &Key, opts: CopyOptions) -> Result<ObjectMeta>;

    /// A URL that lets its bearer `method` the object without credentials
    /// until `expires` has passed. `Unsupported` where the backend cannot
    /// sign (see [`StorageCapabilities::presign`]); `InvalidInput` if
    /// `expires` exceeds the backend's limit (S3: 7 days).
    async fn presign(&self, method: PresignMethod, key: &Key, expires: Duration) -> Result<Url>;
}

/// A shared, type-erased [`ObjectStore`].
pub type DynObjectStore = Arc<dyn ObjectStore>;

/// Conveniences over [`ObjectStore`], available on every store (including
/// `dyn ObjectStore`).
#[async_trait]
pub trait ObjectStoreExt: ObjectStore {
    /// Write `body`, replacing any existing object.
    async fn put<B>(&self, key: &Key, body: B) -> Result<ObjectMeta>
    where
        B: Into<Body> + Send,
    {
        self.put_opts(key, body.into(), PutOptions::default()).await
    }

    /// Write `body` only if `key` is absent: `Some(meta)` if this call
    /// created it, `None` if it already existed.
    async fn put_if_absent<B>(&self, key: &Key, body: B) -> Result<Option<ObjectMeta>>
    where
        B: Into<Body> + Send,
    {
        let opts = PutOptions::default().mode(PutMode::Create);
        match self.put_opts(key, body.into(), opts).await {
            Ok(meta) => Ok(Some(meta)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Read the whole object as a stream.
    async fn get(&self, key: &Key) -> Result<GetResult> {
        self.get_opts(key, GetOptions::default()).await
    }

    /// Read the whole object into memory.
    async fn get_bytes(&self, key: &Key) -> Result<Bytes> {
        self.get(key).await?.bytes().await
    }

    /// Read a byte range into memory.
    async fn get_range<R>(&self, key: &Key, range: R) -> Result<Bytes>
    where
        R: Into<ByteRange> + Send,
    {
        let opts = GetOptions::default().range(range);
        self.get_opts(key, opts).await?.bytes().await
    }

    /// Whether `key` exists.
    async fn exists(&self, key: &Key) -> Result<bool> {
        match self.head(key).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every object under `prefix` (no delimiter), following all pages.
    async fn list_all(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let opts = match token.take() {
                Some(t) => ListOptions::default().continuation_token(t),
                None => ListOptions::default(),
            };
            let page = self.list(prefix, opts).await?;
            all.extend(page.objects);
            match page.next_token {
                Some(next) => token = Some(next),
                None => return Ok(all),
            }
        }
    }
}

impl<T: ObjectStore + ?Sized> ObjectStoreExt for T {}

macro_rules! forward_object_store {
    ($ty:ty) => {
        #[async_trait]
        impl<T: ObjectStore + ?Sized> ObjectStore for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capabilities(&self) -> StorageCapabilities {
                (**self).capabilities()
            }
            async fn put_opts(
                &self,
                key: &Key,
                body: Body,
                opts: PutOptions,
            ) -> Result<ObjectMeta> {
                (**self).put_opts(key, body, opts).await
            }
            async fn get_opts(&self, key: &Key, opts: GetOptions) -> Result<GetResult> {
                (**self).get_opts(key, opts).await
            }
            async fn head(&self, key: &Key) -> Result<ObjectMeta> {
                (**self).head(key).await
            }
            async fn delete(&self, key: &Key) -> Result<()> {
                (**self).delete(key).await
            }
            async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListPage> {
                (**self).list(prefix, opts).await
            }
            async fn copy(&self, from: &Key, to: &Key, opts: CopyOptions) -> Result<ObjectMeta> {
                (**self).copy(from, to, opts).await
            }
            async fn presign(
                &self,
                method: PresignMethod,
                key: &Key,
                expires: Duration,
            ) -> Result<Url> {
                (**self).presign(method, key, expires).await
            }
        }
    };
}

forward_object_store!(Arc<T>);
forward_object_store!(Box<T>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryStore;

    #[tokio::test]
    async fn wrappers_forward_and_ext_works_on_dyn() {
        let arc: DynObjectStore = Arc::new(InMemoryStore::new());
        let boxed: Box<dyn ObjectStore> = Box::new(arc.clone());
        assert_eq!(boxed.backend(), "memory");
        let key = Key::new("x/y").unwrap();
        assert!(!boxed.exists(&key).await.unwrap());
        assert!(boxed.put_if_absent(&key, "one").await.unwrap().is_some());
        assert!(boxed.put_if_absent(&key, "two").await.unwrap().is_none());
        assert_eq!(arc.get_bytes(&key).await.unwrap(), "one");
        assert_eq!(arc.get_range(&key, 1..3).await.unwrap(), "ne");
        assert!(arc.exists(&key).await.unwrap());
        assert_eq!(arc.list_all("x/").await.unwrap().len(), 1);
    }
}
