//! Whole-object downloads as parallel ranged GETs (opt-in,
//! `S3Builder::download_concurrency`): the first request asks for the
//! first part and learns the size and ETag; the other parts are fetched by
//! tasks ahead of the reader (`concurrency - 1` while the first part
//! streams, then `concurrency`, so `concurrency` requests stay in flight),
//! each pinned to the ETag (`If-Match`) and resumable like any read, and
//! handed out in order. Memory: at most `part_size × (concurrency + 1)`
//! (the parts in flight plus the one being read). On one connection a server
//! that is slower than the client caps a single stream; several ranges let
//! it use more cores, and the client reads fuller socket buffers.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};
use plugbay_core::{Error, ErrorKind, Result};
use tokio::task::JoinHandle;

use super::client::{PROVIDER, S3Client};
use super::read;
use crate::key::Key;
use crate::types::{ByteRange, GetOptions, GetResult};

/// Part size and parallelism of a download.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DownloadSettings {
    pub(crate) part_size: u64,
    pub(crate) concurrency: usize,
    pub(crate) resume_attempts: u32,
}

/// GetObject of a whole object (`opts.range` is `None`) in parallel parts.
pub(crate) async fn get_object(
    client: Arc<S3Client>,
    key: &Key,
    opts: &GetOptions,
    settings: DownloadSettings,
) -> Result<GetResult> {
    let mut first_opts = opts.clone();
    first_opts.range = Some(ByteRange::new(0..settings.part_size));
    let first =
        match read::get_object(client.clone(), key, &first_opts, settings.resume_attempts).await {
            Ok(first) => first,
            // An empty object has no byte 0: S3 refuses the range (416).
            Err(e) if e.status() == Some(416) => {
                return read::get_object(client, key, opts, settings.resume_attempts).await;
            }
            Err(e) => return Err(e),
        };
    let meta = first.meta.clone();
    let size = meta.size;
    let first_end = first.range.end;
    let Some(etag) = meta.etag.clone().filter(|_| first_end < size) else {
        // Everything came in the first answer, or nothing pins the other
        // parts to the same version: read the rest as one plain stream.
        if first_end >= size {
            return Ok(GetResult::new(meta, 0..size, first.into_stream()));
        }
        let rest = opts.clone().range(first_end..size);
        let rest = read::get_object(client, key, &rest, settings.resume_attempts).await?;
        let body = first.into_stream().chain(rest.into_stream()).boxed();
        return Ok(GetResult::new(meta, 0..size, body));
    };
    let mut ahead = Parts {
        client,
        key: key.clone(),
        etag,
        next: first_end,
        size,
        settings,
        running: VecDeque::new(),
    };
    // Started now, not when the reader reaches them: they download while
    // the first part streams (which is the remaining request in flight).
    ahead.start(settings.concurrency.saturating_sub(1));
    let rest = stream::unfold(ahead, Parts::next_part)
        .map_ok(|chunks| stream::iter(chunks.into_iter().map(Ok)))
        .try_flatten();
    let body = first.into_stream().chain(rest).boxed();
    Ok(GetResult::new(meta, 0..size, body))
}

/// The parts after the first, fetched ahead of the reader.
struct Parts {
    client: Arc<S3Client>,
    key: Key,
    etag: String,
    /// Offset of the first part not started yet.
    next: u64,
    size: u64,
    settings: DownloadSettings,
    running: VecDeque<AbortOnDrop>,
}

impl Parts {
    /// Keep `ahead` parts in flight ahead of the reader.
    fn start(&mut self, ahead: usize) {
        let ahead = ahead.max(1);
        while self.running.len() < ahead && self.next < self.size {
            let end = (self.next + self.settings.part_size).min(self.size);
            let opts = GetOptions::new()
                .range(self.next..end)
                .if_match(self.etag.clone());
            let (client, key) = (self.client.clone(), self.key.clone());
            let attempts = self.settings.resume_attempts;
            self.running.push_back(AbortOnDrop(tokio::spawn(async move {
                let part = read::get_object(client, &key, &opts, attempts)
                    .await
                    .map_err(|e| changed_while_reading(e, &key))?;
                part.into_stream().try_collect::<Vec<Bytes>>().await
            })));
            self.next = end;
        }
    }

    /// The next part in order, topping the parts in flight up to
    /// `concurrency` first (a finished part handed out is only memory, so
    /// it does not count as a request in flight).
    async fn next_part(mut self) -> Option<(Result<Vec<Bytes>>, Parts)> {
        self.start(self.settings.concurrency);
        let mut task = self.running.pop_front()?;
        let result = match (&mut task.0).await {
            Ok(result) => result,
            Err(join) => Err(Error::internal("a download part task failed").with_source(join)),
        };
        if result.is_err() {
            // Stop here: the stream ends after the error.
            self.running.clear();
            self.next = self.size;
        }
        Some((result, self))
    }
}

fn changed_while_reading(error: Error, key: &Key) -> Error {
    if error.kind() == ErrorKind::PreconditionFailed {
        Error::new(
            ErrorKind::Protocol,
            "the object changed while it was being read",
        )
        .with_provider(PROVIDER)
        .with_operation("get")
        .with_context("key", key.as_str())
        .with_source(error)
    } else {
        error
    }
}

/// A part task that is cancelled when the download is dropped.
struct AbortOnDrop(JoinHandle<Result<Vec<Bytes>>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

    use super::super::S3Builder;
    use super::*;
    use crate::store::ObjectStoreExt;

    const PART: u64 = 5 * 1024 * 1024;

    /// Serves one object with `Range` support; the etag changes after
    /// `change_after` answers (to model an overwrite mid-download).
    struct RangedObject {
        data: Vec<u8>,
        change_after: usize,
        served: Mutex<usize>,
    }

    impl Respond for RangedObject {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let mut served = self.served.lock().unwrap();
            *served += 1;
            let etag = if *served > self.change_after {
                "\"v2\""
            } else {
                "\"v1\""
            };
            if let Some(wanted) = request.headers.get("if-match")
                && wanted.to_str().unwrap() != etag
            {
                return ResponseTemplate::new(412).set_body_string(
                    "<Error><Code>PreconditionFailed</Code><Message>x</Message></Error>",
                );
            }
            let size = self.data.len() as u64;
            let Some(range) = request.headers.get("range") else {
                return ResponseTemplate::new(200)
                    .insert_header("etag", etag)
                    .set_body_bytes(self.data.clone());
            };
            let spec = range.to_str().unwrap().strip_prefix("bytes=").unwrap();
            let (a, b) = spec.split_once('-').unwrap();
            let start: u64 = a.parse().unwrap();
            if start >= size {
                return ResponseTemplate::new(416).set_body_string(
                    "<Error><Code>InvalidRange</Code><Message>x</Message></Error>",
                );
            }
            let end = b.parse::<u64>().unwrap().min(size - 1);
            ResponseTemplate::new(206)
                .insert_header("etag", etag)
                .insert_header(
                    "content-range",
                    format!("bytes {start}-{end}/{size}").as_str(),
                )
                .set_body_bytes(self.data[start as usize..=end as usize].to_vec())
        }
    }

    async fn serve(data: Vec<u8>, change_after: usize) -> (MockServer, crate::s3::S3Store) {
        let server = MockServer::start().await;
        Mock::given(matchers::method("GET"))
            .respond_with(RangedObject {
                data,
                change_after,
                served: Mutex::new(0),
            })
            .mount(&server)
            .await;
        let store = S3Builder::new("bucket")
            .endpoint(server.uri())
            .anonymous(true)
            .part_size(PART)
            .download_concurrency(3)
            .build()
            .unwrap();
        (server, store)
    }

    fn ranges(requests: &[Request]) -> Vec<String> {
        let mut out: Vec<String> = requests
            .iter()
            .map(|r| {
                r.headers
                    .get("range")
                    .map_or("-".to_owned(), |v| v.to_str().unwrap().to_owned())
            })
            .collect();
        out.sort();
        out
    }

    #[tokio::test]
    async fn parts_come_back_in_order_pinned_to_the_etag() {
        let data: Vec<u8> = (0..2 * PART + 3).map(|i| (i % 251) as u8).collect();
        let (server, store) = serve(data.clone(), usize::MAX).await;
        let key = Key::new("big").unwrap();
        let got = store.get(&key).await.unwrap();
        assert_eq!(got.meta.size, data.len() as u64);
        assert_eq!(got.range, 0..data.len() as u64);
        assert_eq!(got.bytes().await.unwrap(), data);
        let requests = server.received_requests().await.unwrap();
        assert_eq!(
            ranges(&requests),
            [
                format!("bytes=0-{}", PART - 1),
                format!("bytes={}-{}", 2 * PART, 2 * PART + 2),
                format!("bytes={}-{}", PART, 2 * PART - 1),
            ]
        );
        assert!(
            requests[1..]
                .iter()
                .all(|r| r.headers.get("if-match").is_some())
        );
    }

    #[tokio::test]
    async fn small_and_empty_objects_take_one_request_or_the_fallback() {
        let (server, store) = serve(b"tiny".to_vec(), usize::MAX).await;
        assert_eq!(
            store.get_bytes(&Key::new("t").unwrap()).await.unwrap(),
            "tiny"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
        let (server, store) = serve(Vec::new(), usize::MAX).await;
        assert_eq!(store.get_bytes(&Key::new("e").unwrap()).await.unwrap(), "");
        assert_eq!(
            ranges(&server.received_requests().await.unwrap()),
            ["-", "bytes=0-5242879"]
        );
    }

    #[tokio::test]
    async fn an_object_replaced_mid_download_fails_the_stream() {
        let data: Vec<u8> = vec![7; (2 * PART + 1) as usize];
        let (_server, store) = serve(data, 1).await;
        let err = store
            .get_bytes(&Key::new("big").unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
    }
}
