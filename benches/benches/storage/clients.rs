//! The clients under test, all set to the same part size × concurrency:
//! plugbay's `S3Store` (payload signed and unsigned), `object_store`'s
//! `AmazonS3` (signs payloads) and OpenDAL's S3 service (UNSIGNED-PAYLOAD).

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStoreExt as _, PutPayload, WriteMultipart};
use opendal::Operator;
use plugbay_storage::s3::{PayloadSigning, S3Builder, S3Credentials, S3Store};
use plugbay_storage::{Body, Key, ObjectStoreExt as _};

use super::measure::{CONCURRENCY, PART_SIZE, source};
use super::peer::S3Peer;

type BenchResult<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One client under test.
#[derive(Clone)]
pub(crate) enum Client {
    Plugbay(S3Store),
    ObjectStore(Arc<AmazonS3>),
    OpenDal(Operator),
}

/// Every client, in table order, by name.
pub(crate) const NAMES: [&str; 4] = [
    "plugbay (signed)",
    "plugbay (unsigned)",
    "object_store 0.14 (signed)",
    "opendal 0.59 (unsigned)",
];

impl Client {
    pub(crate) fn build(name: &str, peer: &S3Peer) -> BenchResult<Client> {
        match name {
            "plugbay (signed)" => plugbay(peer, PayloadSigning::Signed),
            "plugbay (unsigned)" => plugbay(peer, PayloadSigning::Unsigned),
            "object_store 0.14 (signed)" => {
                let store = AmazonS3Builder::new()
                    .with_endpoint(&peer.endpoint)
                    .with_allow_http(true)
                    .with_bucket_name(&peer.bucket)
                    .with_region("us-east-1")
                    .with_access_key_id(&peer.access_key)
                    .with_secret_access_key(&peer.secret_key)
                    .build()
                    .map_err(err)?;
                Ok(Client::ObjectStore(Arc::new(store)))
            }
            "opendal 0.59 (unsigned)" => {
                // Without `auto-register-services`, the reqwest transport is
                // installed by hand (first install wins; idempotent).
                opendal::install_default();
                let builder = opendal::services::S3::default()
                    .endpoint(&peer.endpoint)
                    .bucket(&peer.bucket)
                    .region("us-east-1")
                    .access_key_id(&peer.access_key)
                    .secret_access_key(&peer.secret_key)
                    .disable_config_load()
                    .disable_ec2_metadata();
                Ok(Client::OpenDal(Operator::new(builder).map_err(err)?))
            }
            other => Err(format!("unknown client `{other}`")),
        }
    }

    /// Upload `total` bytes from the chunked source under `key`.
    pub(crate) async fn upload(&self, key: &str, pattern: &Bytes, total: u64) -> BenchResult<()> {
        let mut chunks = source(pattern, total);
        match self {
            Client::Plugbay(store) => {
                let body = Body::from_stream(chunks.map(Ok)).with_size_hint(total);
                store
                    .put(&Key::new(key).map_err(err)?, body)
                    .await
                    .map_err(err)?;
            }
            Client::ObjectStore(store) => {
                let upload = store.put_multipart(&Path::from(key)).await.map_err(err)?;
                let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
                while let Some(chunk) = chunks.next().await {
                    // At most CONCURRENCY parts in flight after the put.
                    writer.wait_for_capacity(CONCURRENCY).await.map_err(err)?;
                    writer.put(chunk);
                }
                writer.finish().await.map_err(err)?;
            }
            Client::OpenDal(op) => {
                let mut writer = op
                    .writer_with(key)
                    .chunk(PART_SIZE)
                    .concurrent(CONCURRENCY)
                    .await
                    .map_err(err)?;
                while let Some(chunk) = chunks.next().await {
                    writer.write(chunk).await.map_err(err)?;
                }
                writer.close().await.map_err(err)?;
            }
        }
        Ok(())
    }

    /// Download `key` as a stream; the number of bytes read.
    pub(crate) async fn download(&self, key: &str) -> BenchResult<u64> {
        let mut n = 0u64;
        match self {
            Client::Plugbay(store) => {
                let mut body = store
                    .get(&Key::new(key).map_err(err)?)
                    .await
                    .map_err(err)?
                    .into_stream();
                while let Some(chunk) = body.try_next().await.map_err(err)? {
                    n += chunk.len() as u64;
                }
            }
            Client::ObjectStore(store) => {
                let mut body = store
                    .get(&Path::from(key))
                    .await
                    .map_err(err)?
                    .into_stream();
                while let Some(chunk) = body.try_next().await.map_err(err)? {
                    n += chunk.len() as u64;
                }
            }
            Client::OpenDal(op) => {
                let reader = op
                    .reader_with(key)
                    .chunk(PART_SIZE)
                    .concurrent(CONCURRENCY)
                    .await
                    .map_err(err)?;
                let mut body = reader.into_bytes_stream(..).await.map_err(err)?;
                while let Some(chunk) = body.try_next().await.map_err(err)? {
                    n += chunk.len() as u64;
                }
            }
        }
        Ok(n)
    }

    /// PutObject of one in-memory body.
    pub(crate) async fn put_small(&self, key: &str, body: Bytes) -> BenchResult<()> {
        match self {
            Client::Plugbay(store) => {
                store
                    .put(&Key::new(key).map_err(err)?, body)
                    .await
                    .map_err(err)?;
            }
            Client::ObjectStore(store) => {
                store
                    .put(&Path::from(key), PutPayload::from(body))
                    .await
                    .map_err(err)?;
            }
            Client::OpenDal(op) => {
                op.write(key, body).await.map_err(err)?;
            }
        }
        Ok(())
    }

    /// GetObject of one small object, read whole; its size.
    pub(crate) async fn get_small(&self, key: &str) -> BenchResult<u64> {
        Ok(match self {
            Client::Plugbay(store) => store
                .get_bytes(&Key::new(key).map_err(err)?)
                .await
                .map_err(err)?
                .len() as u64,
            Client::ObjectStore(store) => store
                .get(&Path::from(key))
                .await
                .map_err(err)?
                .bytes()
                .await
                .map_err(err)?
                .len() as u64,
            Client::OpenDal(op) => op.read(key).await.map_err(err)?.len() as u64,
        })
    }

    /// `count` small puts, CONCURRENCY at a time.
    pub(crate) async fn put_many(
        &self,
        prefix: &str,
        count: usize,
        body: &Bytes,
    ) -> BenchResult<()> {
        futures::stream::iter(0..count)
            .map(|i| self.put_small_owned(format!("{prefix}/{i:05}"), body.clone()))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<()>()
            .await
    }

    /// `count` small gets, CONCURRENCY at a time; the bytes read.
    pub(crate) async fn get_many(&self, prefix: &str, count: usize) -> BenchResult<u64> {
        futures::stream::iter(0..count)
            .map(|i| self.get_small_owned(format!("{prefix}/{i:05}")))
            .buffer_unordered(CONCURRENCY)
            .try_fold(0u64, |acc, n| async move { Ok(acc + n) })
            .await
    }

    async fn put_small_owned(&self, key: String, body: Bytes) -> BenchResult<()> {
        self.put_small(&key, body).await
    }

    async fn get_small_owned(&self, key: String) -> BenchResult<u64> {
        self.get_small(&key).await
    }
}

fn plugbay(peer: &S3Peer, signing: PayloadSigning) -> BenchResult<Client> {
    let store = S3Builder::new(&peer.bucket)
        .endpoint(&peer.endpoint)
        .path_style(true)
        .region("us-east-1")
        .credentials(S3Credentials::new(&peer.access_key, &peer.secret_key))
        .payload_signing(signing)
        .part_size(PART_SIZE as u64)
        .concurrency(CONCURRENCY)
        // Like OpenDAL's reader below: 4 ranged GETs of 8 MiB in flight.
        .download_concurrency(CONCURRENCY)
        .build()
        .map_err(err)?;
    Ok(Client::Plugbay(store))
}
