//! Streaming uploads: one PutObject when the body fits in a part, else a
//! multipart upload with equal non-final parts, a bounded number of parts
//! in flight, and an abort on any failure or cancellation.
//!
//! Memory: a part is buffered only when a slot is free, and a slot is held
//! until its part is uploaded, so at most `concurrency` parts (plus one
//! incoming chunk) are in memory: peak ≈ `part_size × concurrency`.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http::Method;
use plugbay_core::{Error, ErrorKind, Result};
use tokio::task::JoinSet;

use super::client::{
    PROVIDER, S3Client, header, object_headers, put_mode_error, with_key, written_meta,
};
use super::config::{MAX_PART_SIZE, MAX_PARTS};
use super::error::S3ErrorMapper;
use super::payload::{Payload, PayloadBuilder};
use super::request::S3Request;
use super::xml;
use crate::key::Key;
use crate::types::{Body, ByteStream, ObjectMeta, PutMode, PutOptions};

const MIB: u64 = 1024 * 1024;
/// S3's largest object: 5 TiB.
pub(crate) const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * MIB;

/// Part size and parallelism of uploads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UploadSettings {
    pub(crate) part_size: u64,
    pub(crate) concurrency: usize,
}

impl UploadSettings {
    /// The part size for a body of `hint` bytes: the configured one, raised
    /// (to whole MiB) when the body would otherwise need over 10,000 parts.
    pub(crate) fn part_size_for(&self, hint: Option<u64>) -> Result<usize> {
        let mut size = self.part_size;
        if let Some(total) = hint {
            if total > MAX_OBJECT_SIZE {
                return Err(
                    Error::new(ErrorKind::PayloadTooLarge, "S3 objects are at most 5 TiB")
                        .with_context("size", total.to_string()),
                );
            }
            let needed = total.div_ceil(MAX_PARTS);
            if needed > size {
                size = needed.div_ceil(MIB) * MIB;
            }
        }
        let size = size.min(MAX_PART_SIZE);
        usize::try_from(size).map_err(|_| Error::config("the part size does not fit in memory"))
    }
}

/// Write `body` under `key`: a single PutObject if it fits in one part,
/// else a multipart upload.
pub(crate) async fn put(
    client: &Arc<S3Client>,
    key: &Key,
    body: Body,
    opts: PutOptions,
    settings: UploadSettings,
) -> Result<ObjectMeta> {
    let part_size = settings.part_size_for(body.size_hint())?;
    let mut reader = PartReader::new(body.into_stream());
    let first = reader.next_part(part_size).await?.unwrap_or_default();
    if !reader.fill().await? {
        return client.put_object(key, first, &opts).await;
    }
    let upload_id = create(client, key, &opts).await?;
    let mut guard = AbortGuard {
        client: client.clone(),
        key: key.clone(),
        upload_id: upload_id.clone(),
        armed: true,
    };
    let concurrency = settings.concurrency.max(1);
    match upload(
        client,
        key,
        &upload_id,
        reader,
        first,
        part_size,
        concurrency,
        &opts,
    )
    .await
    {
        Ok(meta) => {
            guard.armed = false;
            Ok(meta)
        }
        Err(error) => {
            guard.abort_now().await;
            Err(error)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn upload(
    client: &Arc<S3Client>,
    key: &Key,
    upload_id: &str,
    mut reader: PartReader,
    first: Payload,
    part_size: usize,
    concurrency: usize,
    opts: &PutOptions,
) -> Result<ObjectMeta> {
    // Dropping the set (on error or cancellation) aborts the part tasks.
    let mut tasks: JoinSet<Result<(u32, String)>> = JoinSet::new();
    let mut parts: Vec<(u32, String)> = Vec::new();
    let mut pending = Some(first);
    let mut next_number: u32 = 1;
    let mut total: u64 = 0;
    loop {
        while tasks.len() < concurrency {
            let part = match pending.take() {
                Some(part) => part,
                None => match reader.next_part(part_size).await? {
                    Some(part) => part,
                    None => break,
                },
            };
            if u64::from(next_number) > MAX_PARTS {
                return Err(Error::new(
                    ErrorKind::PayloadTooLarge,
                    format!(
                        "the body needs more than {MAX_PARTS} parts of {part_size} bytes; raise the part size or give a size hint"
                    ),
                )
                .with_provider(PROVIDER)
                .with_operation("put")
                .with_context("key", key.as_str()));
            }
            total += part.len() as u64;
            let (client, key, upload_id) = (client.clone(), key.clone(), upload_id.to_owned());
            let number = next_number;
            tasks.spawn(async move {
                let etag = upload_part(&client, &key, &upload_id, number, part).await?;
                Ok((number, etag))
            });
            next_number += 1;
        }
        match tasks.join_next().await {
            Some(Ok(Ok(done))) => parts.push(done),
            Some(Ok(Err(error))) => return Err(error),
            Some(Err(join)) => {
                return Err(Error::internal("a part upload task failed").with_source(join));
            }
            None => break,
        }
    }
    parts.sort_unstable_by_key(|(number, _)| *number);
    let etag = complete(client, key, upload_id, &parts, &opts.mode).await?;
    let mut meta = written_meta(key, total, &http::HeaderMap::new(), opts);
    meta.etag = etag;
    if meta.etag.is_none() {
        meta.etag = client.head_object(key).await?.etag;
    }
    Ok(meta)
}

/// CreateMultipartUpload; returns the upload id.
async fn create(client: &S3Client, key: &Key, opts: &PutOptions) -> Result<String> {
    let url = client
        .endpoint
        .object_url(key.as_str(), &[("uploads", "")])?;
    let mut request = S3Request::new(Method::POST, url);
    object_headers(&mut request, opts)?;
    // Starting an upload twice only leaves an unused upload id behind, so
    // the POST is retried like the AWS SDKs do.
    let call = client.call("create_multipart").idempotent(true);
    let response = client
        .execute(&call, request)
        .await
        .map_err(|e| with_key(e, key))?;
    let result: xml::InitiateMultipartUploadResult =
        xml::decode(response.body(), "InitiateMultipartUploadResult")
            .map_err(|e| e.with_provider(PROVIDER).with_operation("create_multipart"))?;
    Ok(result.upload_id)
}

/// UploadPart; returns the part's ETag.
async fn upload_part(
    client: &S3Client,
    key: &Key,
    upload_id: &str,
    number: u32,
    part: Payload,
) -> Result<String> {
    let number_text = number.to_string();
    let url = client.endpoint.object_url(
        key.as_str(),
        &[("partNumber", &number_text), ("uploadId", upload_id)],
    )?;
    let request = S3Request::new(Method::PUT, url).with_body(part);
    let call = client
        .call("upload_part")
        .with_timeout(client.upload_timeout);
    let response = client
        .execute(&call, request)
        .await
        .map_err(|e| with_key(e, key).with_context("part", number_text.clone()))?;
    header(response.headers(), "etag")
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::protocol("UploadPart answered without an ETag")
                .with_provider(PROVIDER)
                .with_operation("upload_part")
                .with_context("key", key.as_str())
        })
}

/// CompleteMultipartUpload, with the put mode's condition; S3 may report a
/// failure inside a 200 body, which is detected (and retried).
async fn complete(
    client: &S3Client,
    key: &Key,
    upload_id: &str,
    parts: &[(u32, String)],
    mode: &PutMode,
) -> Result<Option<String>> {
    let url = client
        .endpoint
        .object_url(key.as_str(), &[("uploadId", upload_id)])?;
    let body = Bytes::from(xml::complete_multipart_body(parts));
    let mut request = S3Request::new(Method::POST, url).with_body(body);
    request.header_str("content-type", "application/xml")?;
    super::client::mode_headers(&mut request, mode)?;
    // AWS documents retrying CompleteMultipartUpload as safe.
    let call = client
        .call("complete_multipart")
        .idempotent(true)
        .with_error_mapper(S3ErrorMapper::detecting_errors_in_success())
        .with_timeout(client.upload_timeout);
    let response = client
        .execute(&call, request)
        .await
        .map_err(|e| put_mode_error(e, mode, key))?;
    let result: xml::CompleteMultipartUploadResult =
        xml::decode(response.body(), "CompleteMultipartUploadResult").map_err(|e| {
            e.with_provider(PROVIDER)
                .with_operation("complete_multipart")
        })?;
    Ok(result.etag)
}

/// AbortMultipartUpload; an upload already gone is success.
pub(crate) async fn abort(client: &S3Client, key: &str, upload_id: &str) -> Result<()> {
    let url = client
        .endpoint
        .object_url(key, &[("uploadId", upload_id)])?;
    let request = S3Request::new(Method::DELETE, url);
    match client
        .execute(&client.call("abort_multipart"), request)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.with_context("key", key.to_owned())),
    }
}

/// ListMultipartUploads under `prefix`: `(key, upload id)` pairs.
pub(crate) async fn list_uploads(client: &S3Client, prefix: &str) -> Result<Vec<(String, String)>> {
    let mut query = vec![("uploads", "")];
    if !prefix.is_empty() {
        query.push(("prefix", prefix));
    }
    let request = S3Request::new(Method::GET, client.endpoint.bucket_url(&query)?);
    let response = client
        .execute(&client.call("list_multipart"), request)
        .await?;
    let result: xml::ListMultipartUploadsResult =
        xml::decode(response.body(), "ListMultipartUploadsResult")
            .map_err(|e| e.with_provider(PROVIDER).with_operation("list_multipart"))?;
    Ok(result
        .uploads
        .into_iter()
        .map(|u| (u.key, u.upload_id))
        .collect())
}

/// Aborts the upload unless disarmed: awaited on failure, spawned when the
/// upload future is dropped (cancelled) mid-way.
struct AbortGuard {
    client: Arc<S3Client>,
    key: Key,
    upload_id: String,
    armed: bool,
}

impl AbortGuard {
    async fn abort_now(&mut self) {
        self.armed = false;
        if let Err(e) = abort(&self.client, self.key.as_str(), &self.upload_id).await {
            tracing::warn!(key = %self.key, error = %e, "could not abort a failed S3 multipart upload");
        }
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (client, key, upload_id) = (
            self.client.clone(),
            self.key.clone(),
            self.upload_id.clone(),
        );
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = abort(&client, key.as_str(), &upload_id).await {
                        tracing::warn!(key = %key, error = %e, "could not abort a cancelled S3 multipart upload");
                    }
                });
            }
            Err(_) => {
                tracing::warn!(key = %key, upload_id = %upload_id, "a cancelled S3 multipart upload was left behind (no runtime to abort it)");
            }
        }
    }
}

/// Cuts a chunk stream into parts of an exact size without copying the
/// chunks (see [`PayloadBuilder`]).
struct PartReader {
    stream: ByteStream,
    carry: Bytes,
    ended: bool,
}

impl PartReader {
    fn new(stream: ByteStream) -> PartReader {
        PartReader {
            stream,
            carry: Bytes::new(),
            ended: false,
        }
    }

    /// Make sure `carry` holds data unless the stream is over; whether it
    /// does. A stream error is returned unchanged.
    async fn fill(&mut self) -> Result<bool> {
        while self.carry.is_empty() && !self.ended {
            match self.stream.next().await {
                Some(Ok(chunk)) => self.carry = chunk,
                Some(Err(e)) => return Err(e),
                None => self.ended = true,
            }
        }
        Ok(!self.carry.is_empty())
    }

    /// The next `size` bytes (fewer at the end), or `None` when done.
    async fn next_part(&mut self, size: usize) -> Result<Option<Payload>> {
        if !self.fill().await? {
            return Ok(None);
        }
        let mut part = PayloadBuilder::default();
        while part.len() < size && self.fill().await? {
            let take = (size - part.len()).min(self.carry.len());
            part.push(self.carry.split_to(take));
        }
        Ok(Some(part.finish()))
    }
}

#[cfg(test)]
mod tests {
    use futures::stream;

    use super::*;

    fn reader(chunks: Vec<Result<Bytes>>) -> PartReader {
        PartReader::new(stream::iter(chunks).boxed())
    }

    #[tokio::test]
    async fn parts_are_exact_whatever_the_chunking() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for chunk in [1, 7, 64, 333, 1000] {
            let chunks = data
                .chunks(chunk)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let mut r = reader(chunks);
            let mut parts = Vec::new();
            while let Some(part) = r.next_part(300).await.unwrap() {
                parts.push(part);
            }
            let sizes: Vec<usize> = parts.iter().map(Payload::len).collect();
            assert_eq!(sizes, [300, 300, 300, 100], "chunk {chunk}");
            let joined: Vec<Bytes> = parts.iter().map(Payload::to_bytes).collect();
            assert_eq!(joined.concat(), data);
        }
    }

    #[tokio::test]
    async fn stream_errors_come_back_unchanged() {
        let mut r = reader(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(Error::new(ErrorKind::Unavailable, "source went away")),
        ]);
        let err = r.next_part(10).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.message(), "source went away");
    }

    #[tokio::test]
    async fn exact_fit_is_detected() {
        let mut r = reader(vec![Ok(Bytes::from_static(b"0123456789"))]);
        assert_eq!(
            r.next_part(10).await.unwrap().unwrap().to_bytes(),
            "0123456789"
        );
        assert!(!r.fill().await.unwrap());
        let mut r = reader(vec![
            Ok(Bytes::from_static(b"0123456789")),
            Ok(Bytes::from_static(b"x")),
        ]);
        r.next_part(10).await.unwrap();
        assert!(r.fill().await.unwrap());
    }

    #[test]
    fn part_size_grows_for_huge_bodies() {
        let settings = UploadSettings {
            part_size: 8 * MIB,
            concurrency: 4,
        };
        assert_eq!(settings.part_size_for(None).unwrap(), 8 * MIB as usize);
        assert_eq!(
            settings.part_size_for(Some(80_000 * MIB)).unwrap(),
            8 * MIB as usize
        );
        // 100 GiB needs parts of at least 10.24 MiB → 11 MiB.
        assert_eq!(
            settings.part_size_for(Some(100 * 1024 * MIB)).unwrap(),
            11 * MIB as usize
        );
        assert_eq!(
            settings
                .part_size_for(Some(MAX_OBJECT_SIZE + 1))
                .unwrap_err()
                .kind(),
            ErrorKind::PayloadTooLarge
        );
    }
}
