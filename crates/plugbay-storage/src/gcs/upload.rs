//! Uploads: one multipart request (metadata + media) for a body that fits
//! in one chunk, a resumable session otherwise.
//!
//! Resumable sessions send chunks of `chunk_size` (a multiple of 256 KiB)
//! with `Content-Range: bytes a-b/*`; the server answers 308 with the range
//! it kept until the last chunk (`bytes a-b/total`) finishes the object.
//! After a failed chunk the session is asked how much it kept (`bytes
//! */*`) and the rest of the chunk is sent again, at most `chunk_retries`
//! times in a row. Memory stays at about two chunks: the one being sent
//! and the one being read. A body stream that fails cancels the session,
//! so no object appears.

use bytes::{Buf, Bytes, BytesMut};
use futures::StreamExt;
use plugbay_core::http::map_reqwest_error;
use plugbay_core::{Error, ErrorKind, Result};
use serde_json::{Map, Value};

use super::client::{GcsClient, ObjectResource, PROVIDER, query, with_key};
use super::error::map_parts;
use crate::key::Key;
use crate::types::{Body, ByteStream, ObjectMeta, PutMode, PutOptions};

/// The custom metadata Firebase reads download tokens from.
pub(crate) const DOWNLOAD_TOKENS: &str = "firebaseStorageDownloadTokens";

pub(crate) async fn put(
    client: &GcsClient,
    key: &Key,
    body: Body,
    opts: &PutOptions,
) -> Result<ObjectMeta> {
    let condition = condition(&opts.mode, key)?;
    let chunk = client.config.chunk_size;
    let (mut buffer, mut rest) = match body {
        Body::Bytes(bytes) if bytes.len() <= chunk => {
            return multipart(client, key, bytes, opts, condition).await;
        }
        Body::Bytes(bytes) => (BytesMut::new(), Some(slices(bytes, chunk))),
        Body::Stream { stream, .. } => (BytesMut::new(), Some(stream)),
    };
    // Read up to one chunk: a body that ends there is one request.
    while buffer.len() <= chunk {
        let Some(stream) = rest.as_mut() else { break };
        match stream.next().await {
            Some(Ok(piece)) => buffer.extend_from_slice(&piece),
            Some(Err(e)) => return Err(e),
            None => rest = None,
        }
    }
    if rest.is_none() && buffer.len() <= chunk {
        return multipart(client, key, buffer.freeze(), opts, condition).await;
    }
    let session = start_session(client, key, opts, &condition).await?;
    let result = send_chunks(client, &session, buffer, rest).await;
    if result.is_err() {
        cancel(client, &session).await;
    }
    result.map_err(|e| map_mode(with_key(e, key), &opts.mode))
}

/// A `Bytes` body as zero-copy slices of one chunk each.
fn slices(bytes: Bytes, chunk: usize) -> ByteStream {
    let pieces: Vec<Result<Bytes>> = (0..bytes.len())
        .step_by(chunk.max(1))
        .map(|start| Ok(bytes.slice(start..(start + chunk).min(bytes.len()))))
        .collect();
    futures::stream::iter(pieces).boxed()
}

/// The query parameter for a put mode. An etag that is not a generation
/// number can never match: `PreconditionFailed` without a request.
fn condition(mode: &PutMode, key: &Key) -> Result<Option<(&'static str, String)>> {
    match mode {
        PutMode::Overwrite => Ok(None),
        PutMode::Create => Ok(Some(("ifGenerationMatch", "0".to_owned()))),
        PutMode::IfMatch(etag) if etag == "*" => Ok(Some(("ifGenerationNotMatch", "0".to_owned()))),
        PutMode::IfMatch(etag) => match etag.parse::<u64>() {
            Ok(generation) if generation > 0 => {
                Ok(Some(("ifGenerationMatch", generation.to_string())))
            }
            _ => Err(Error::new(
                ErrorKind::PreconditionFailed,
                "if-match etag is not a GCS generation, so it cannot match",
            )
            .with_provider(PROVIDER)
            .with_operation("put")
            .with_context("key", key.as_str())),
        },
    }
}

/// A failed `ifGenerationMatch=0` means the object exists.
fn map_mode(e: Error, mode: &PutMode) -> Error {
    if e.kind() == ErrorKind::PreconditionFailed && *mode == PutMode::Create {
        e.with_kind(ErrorKind::AlreadyExists)
    } else {
        e
    }
}

/// The object resource sent with an upload.
fn resource_json(client: &GcsClient, key: &Key, opts: &PutOptions) -> String {
    let mut resource = Map::new();
    resource.insert("name".into(), Value::from(key.as_str()));
    let fields = [
        ("contentType", &opts.content_type),
        ("cacheControl", &opts.cache_control),
        ("contentDisposition", &opts.content_disposition),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            resource.insert(name.into(), Value::from(v.as_str()));
        }
    }
    let mut metadata: Map<String, Value> = opts
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    if client.config.download_tokens && !metadata.contains_key(DOWNLOAD_TOKENS) {
        let token = uuid::Uuid::new_v4().to_string();
        metadata.insert(DOWNLOAD_TOKENS.into(), Value::from(token));
    }
    if !metadata.is_empty() {
        resource.insert("metadata".into(), Value::Object(metadata));
    }
    Value::Object(resource).to_string()
}

fn content_type(opts: &PutOptions) -> &str {
    opts.content_type
        .as_deref()
        .unwrap_or("application/octet-stream")
}

async fn multipart(
    client: &GcsClient,
    key: &Key,
    data: Bytes,
    opts: &PutOptions,
    condition: Option<(&'static str, String)>,
) -> Result<ObjectMeta> {
    let boundary = format!("plugbay-{}", uuid::Uuid::new_v4().simple());
    let json = resource_json(client, key, opts);
    let mut body = BytesMut::with_capacity(data.len() + json.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{json}\r\n--{boundary}\r\nContent-Type: {}\r\n\r\n",
            content_type(opts)
        )
        .as_bytes(),
    );
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let body = body.freeze();
    let mut pairs = vec![("uploadType", "multipart".to_owned())];
    pairs.extend(condition);
    let url = format!("{}{}", client.upload_url(), query(&pairs));
    // Google's own libraries retry uploads, conditional ones included.
    let call = client.call("put").idempotent(true);
    let response = client
        .execute(&call, |c| {
            c.post(&url)
                .header(
                    "content-type",
                    format!("multipart/related; boundary={boundary}"),
                )
                .body(body.clone())
        })
        .await
        .map_err(|e| map_mode(with_key(e, key), &opts.mode))?;
    let resource: ObjectResource = response
        .json()
        .map_err(|e| e.with_provider(PROVIDER).with_operation("put"))?;
    resource.to_meta()
}

async fn start_session(
    client: &GcsClient,
    key: &Key,
    opts: &PutOptions,
    condition: &Option<(&'static str, String)>,
) -> Result<String> {
    let mut pairs = vec![("uploadType", "resumable".to_owned())];
    pairs.extend(condition.clone());
    let url = format!("{}{}", client.upload_url(), query(&pairs));
    let json = resource_json(client, key, opts);
    let call = client.call("put_resumable_start").idempotent(true);
    let response = client
        .execute(&call, |c| {
            c.post(&url)
                .header("content-type", "application/json; charset=UTF-8")
                .header("x-upload-content-type", content_type(opts))
                .body(json.clone())
        })
        .await
        .map_err(|e| map_mode(with_key(e, key), &opts.mode))?;
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("http://") || v.starts_with("https://"))
        .ok_or_else(|| {
            Error::protocol("resumable upload started without a usable Location")
                .with_provider(PROVIDER)
                .with_operation("put_resumable_start")
        })?;
    Ok(location.to_owned())
}

/// What a chunk (or a status query) achieved.
enum Progress {
    /// The server holds this many bytes of the object.
    Kept(u64),
    /// The object is complete.
    Done(Box<ObjectResource>),
}

async fn send_chunks(
    client: &GcsClient,
    session: &str,
    mut buffer: BytesMut,
    mut rest: Option<ByteStream>,
) -> Result<ObjectMeta> {
    let chunk = client.config.chunk_size;
    let mut offset: u64 = 0;
    let mut stalled = 0;
    loop {
        while buffer.len() <= chunk {
            let Some(stream) = rest.as_mut() else { break };
            match stream.next().await {
                Some(Ok(piece)) => buffer.extend_from_slice(&piece),
                Some(Err(e)) => return Err(e),
                None => rest = None,
            }
        }
        let last = rest.is_none() && buffer.len() <= chunk;
        let len = if last { buffer.len() } else { chunk };
        let piece = Bytes::copy_from_slice(&buffer[..len]);
        let total = last.then_some(offset + len as u64);
        match send_with_recovery(client, session, offset, piece, total).await? {
            Progress::Done(resource) => {
                let meta = resource.to_meta()?;
                if total != Some(meta.size) {
                    return Err(Error::protocol(format!(
                        "resumable upload finished with {} bytes, expected {total:?}",
                        meta.size
                    ))
                    .with_provider(PROVIDER)
                    .with_operation("put_resumable"));
                }
                return Ok(meta);
            }
            Progress::Kept(kept) => {
                if kept < offset || kept > offset + len as u64 {
                    return Err(Error::protocol(format!(
                        "resumable session reports {kept} bytes kept after sending {offset}..{}",
                        offset + len as u64
                    ))
                    .with_provider(PROVIDER)
                    .with_operation("put_resumable"));
                }
                if kept == offset {
                    stalled += 1;
                    if stalled > client.config.chunk_retries {
                        return Err(Error::protocol(format!(
                            "resumable session made no progress at byte {offset}"
                        ))
                        .with_provider(PROVIDER)
                        .with_operation("put_resumable"));
                    }
                } else {
                    stalled = 0;
                }
                buffer.advance((kept - offset) as usize);
                offset = kept;
            }
        }
    }
}

/// Send `data` (object bytes from `start`); after a retryable failure ask
/// the session what it kept and send only the rest.
async fn send_with_recovery(
    client: &GcsClient,
    session: &str,
    start: u64,
    data: Bytes,
    total: Option<u64>,
) -> Result<Progress> {
    let (mut start, mut data) = (start, data);
    let mut failures = 0;
    loop {
        let error = match put_chunk(client, session, start, &data, total).await {
            Ok(progress) => return Ok(progress),
            Err(e) if e.is_retryable() && failures < client.config.chunk_retries => e,
            Err(e) => return Err(e),
        };
        failures += 1;
        tracing::debug!(
            failures,
            error.kind = error.kind().as_str(),
            "resending a GCS chunk"
        );
        let wait = error
            .retry_after()
            .unwrap_or_else(|| client.http.retry_policy().backoff(failures - 1));
        tokio::time::sleep(wait).await;
        match put_chunk(client, session, 0, &Bytes::new(), total).await? {
            Progress::Done(resource) if total.is_some() => return Ok(Progress::Done(resource)),
            Progress::Done(_) => {
                return Err(Error::protocol(
                    "the resumable session finished before the last chunk",
                )
                .with_provider(PROVIDER));
            }
            Progress::Kept(kept) => {
                let end = start + data.len() as u64;
                if kept < start || kept > end {
                    return Err(Error::protocol(format!(
                        "resumable session reports {kept} bytes kept, expected {start}..={end}"
                    ))
                    .with_provider(PROVIDER));
                }
                data = data.slice((kept - start) as usize..);
                start = kept;
                if data.is_empty() && total.is_none() {
                    return Ok(Progress::Kept(kept));
                }
            }
        }
    }
}

/// One PUT to the session. Bypasses the client's retry loop: resending a
/// chunk blindly could repeat bytes, so recovery asks the session first.
/// An empty `data` is a status query (`bytes */total`).
async fn put_chunk(
    client: &GcsClient,
    session: &str,
    start: u64,
    data: &Bytes,
    total: Option<u64>,
) -> Result<Progress> {
    let total_text = total.map_or_else(|| "*".to_owned(), |t| t.to_string());
    let range = if data.is_empty() {
        format!("bytes */{total_text}")
    } else {
        format!(
            "bytes {start}-{}/{total_text}",
            start + data.len() as u64 - 1
        )
    };
    let op = if data.is_empty() {
        "put_resumable_status"
    } else {
        "put_resumable_chunk"
    };
    let fail = |e: Error| e.with_provider(PROVIDER).with_operation(op);
    let mut request = client
        .http
        .reqwest()
        .put(session)
        .header("content-range", range)
        .header("content-length", data.len().to_string())
        .body(data.clone());
    if let Some(timeout) = client.http.timeout() {
        request = request.timeout(timeout);
    }
    let response = request
        .send()
        .await
        .map_err(|e| fail(map_reqwest_error(e)))?;
    let status = response.status().as_u16();
    let kept_header = response
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after =
        plugbay_core::http::parse_retry_after(response.headers(), std::time::SystemTime::now());
    let body = response
        .bytes()
        .await
        .map_err(|e| fail(map_reqwest_error(e)))?;
    match status {
        200 | 201 => {
            let resource: ObjectResource = plugbay_core::http::decode_json(&body).map_err(fail)?;
            Ok(Progress::Done(Box::new(resource)))
        }
        308 => match kept_header {
            None => Ok(Progress::Kept(0)),
            Some(value) => parse_kept(&value).map(Progress::Kept).ok_or_else(|| {
                fail(Error::protocol(format!(
                    "unreadable Range `{value}` in a 308"
                )))
            }),
        },
        _ => {
            let mut e = fail(map_parts(status, &body));
            if let Some(wait) = retry_after {
                e = e.with_retry_after(wait);
            }
            Err(e)
        }
    }
}

/// `bytes=0-262143` → 262144 bytes kept.
fn parse_kept(value: &str) -> Option<u64> {
    let span = value.trim().strip_prefix("bytes=")?;
    let (first, last) = span.split_once('-')?;
    let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
    (first == 0).then_some(last + 1)
}

/// Best-effort cancel (`DELETE` gives 499); a session left behind expires
/// after a week and never becomes an object.
async fn cancel(client: &GcsClient, session: &str) {
    let mut request = client
        .http
        .reqwest()
        .delete(session)
        .header("content-length", "0");
    if let Some(timeout) = client.http.timeout() {
        request = request.timeout(timeout);
    }
    let result = request.send().await;
    if let Err(e) = result {
        tracing::debug!(error = %map_reqwest_error(e), "cancelling a GCS upload session failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_and_ranges() {
        let key = Key::new("k").unwrap();
        assert_eq!(condition(&PutMode::Overwrite, &key).unwrap(), None);
        assert_eq!(
            condition(&PutMode::Create, &key).unwrap(),
            Some(("ifGenerationMatch", "0".to_owned()))
        );
        assert_eq!(
            condition(&PutMode::IfMatch("17".into()), &key).unwrap(),
            Some(("ifGenerationMatch", "17".to_owned()))
        );
        let err = condition(&PutMode::IfMatch("\"abc\"".into()), &key).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
        assert_eq!(parse_kept("bytes=0-262143"), Some(262_144));
        assert_eq!(parse_kept("bytes=5-9"), None);
        assert_eq!(parse_kept("junk"), None);
    }
}
