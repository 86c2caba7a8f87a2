//! GetObject with a resumable body: a download cut mid-stream (reset,
//! stall past the read timeout, early end) continues with a `Range`
//! request pinned to the object's ETag (`If-Match`), so the bytes can never
//! come from two versions of the object. Resumes are bounded.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use http::Method;
use http::header::{CONTENT_LENGTH, CONTENT_RANGE};
use plugbay_core::http::IdleBounded;
use plugbay_core::{Error, ErrorKind, Result};

use super::client::{PROVIDER, S3Client, header, meta_from_headers, with_key};
use super::request::S3Request;
use crate::content_range::parse_content_range;
use crate::key::Key;
use crate::types::{ByteRange, GetOptions, GetResult};

/// GetObject, streamed, resuming up to `resume_attempts` times.
pub(crate) async fn get_object(
    client: Arc<S3Client>,
    key: &Key,
    opts: &GetOptions,
    resume_attempts: u32,
) -> Result<GetResult> {
    if let Some(range) = &opts.range {
        // Ranges that select nothing whatever the size are refused here:
        // `bytes=-0` and inverted ranges have no valid HTTP form.
        let empty = match *range {
            ByteRange::Bounded { start, end } => start >= end,
            ByteRange::Suffix(n) => n == 0,
            _ => false,
        };
        if empty {
            return Err(
                Error::invalid_input(format!("range {range} selects no byte"))
                    .with_context("key", key.as_str()),
            );
        }
    }
    let mut request = S3Request::new(Method::GET, client.endpoint.object_url(key.as_str(), &[])?);
    if let Some(value) = opts.range.as_ref().and_then(ByteRange::to_http_header) {
        request.header_str("range", &value)?;
    }
    if let Some(etag) = &opts.if_match {
        request.header_str("if-match", etag)?;
    }
    if let Some(etag) = &opts.if_none_match {
        request.header_str("if-none-match", etag)?;
    }
    if let Some(at) = opts.if_modified_since {
        request.header_str("if-modified-since", &httpdate::fmt_http_date(at))?;
    }
    if let Some(at) = opts.if_unmodified_since {
        request.header_str("if-unmodified-since", &httpdate::fmt_http_date(at))?;
    }
    // The read timeout bounds the wait for the head and then each silence
    // of the body (no total cap: a download may take long); the body
    // resumes after a stall.
    let call = download_call(&client, "get");
    let response = client
        .send(&call, request)
        .await
        .map_err(|e| with_key(e, key))?;
    let headers = response.headers().clone();
    let (range, size) = served_range(&headers, response.status().as_u16(), key)?;
    let meta = meta_from_headers(key, &headers, size);
    // Some S3-compatibles (s3s-fs) ignore conditional headers on GET; the
    // served object's own metadata settles it, so a condition can never
    // pass silently. Dropping the response closes its connection.
    opts.check(&meta)
        .map_err(|e| e.with_provider(PROVIDER).with_operation("get"))?;
    let body = idle_body(&client, response);
    let state = ReadState {
        client,
        key: key.clone(),
        etag: meta.etag.clone(),
        pos: range.start,
        end: range.end,
        resumes_left: resume_attempts,
        body: Some(body),
    };
    let body = futures::stream::unfold(state, ReadState::next).boxed();
    Ok(GetResult::new(meta, range, body))
}

/// The range served and the whole object's size, from `Content-Range`
/// (206) or `Content-Length` (200).
fn served_range(headers: &http::HeaderMap, status: u16, key: &Key) -> Result<(Range<u64>, u64)> {
    let protocol = |what: &str| {
        Error::protocol(format!("GetObject answer has {what}"))
            .with_provider(PROVIDER)
            .with_operation("get")
            .with_context("key", key.as_str())
    };
    if status == 206 {
        let value = header(headers, CONTENT_RANGE.as_str())
            .ok_or_else(|| protocol("a 206 status without Content-Range"))?;
        return parse_content_range(value).ok_or_else(|| protocol("an unreadable Content-Range"));
    }
    let size: u64 = header(headers, CONTENT_LENGTH.as_str())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| protocol("no Content-Length"))?;
    Ok((0..size, size))
}

/// A download call: its timeout bounds only the wait for the head.
fn download_call(client: &S3Client, operation: &'static str) -> plugbay_core::http::Call {
    plugbay_core::http::Call::new(PROVIDER, operation)
        .with_error_mapper(super::error::S3ErrorMapper::default())
        .with_timeout(client.read_timeout)
        .head_timeout_only()
}

/// A download's body, each silence bounded by the read timeout.
fn idle_body(client: &S3Client, response: reqwest::Response) -> BoxStream<'static, Result<Bytes>> {
    IdleBounded::new(response.bytes_stream(), client.read_timeout).boxed()
}

struct ReadState {
    client: Arc<S3Client>,
    key: Key,
    etag: Option<String>,
    /// Absolute offset of the next byte to hand out.
    pos: u64,
    /// One past the last byte of the range.
    end: u64,
    resumes_left: u32,
    /// `None` once the stream is finished (after the last byte or an error).
    body: Option<BoxStream<'static, Result<Bytes>>>,
}

impl ReadState {
    async fn next(mut self) -> Option<(Result<Bytes>, ReadState)> {
        loop {
            let body = self.body.as_mut()?;
            let cause = match body.next().await {
                Some(Ok(chunk)) if chunk.is_empty() => continue,
                Some(Ok(chunk)) => {
                    self.pos += chunk.len() as u64;
                    return Some((Ok(chunk), self));
                }
                Some(Err(e)) => e
                    .with_provider(PROVIDER)
                    .with_operation("get")
                    .with_context("key", self.key.as_str()),
                None if self.pos >= self.end => {
                    self.body = None;
                    return None;
                }
                None => Error::protocol("the download ended before its announced length")
                    .with_provider(PROVIDER)
                    .with_operation("get")
                    .with_context("key", self.key.as_str()),
            };
            if self.pos >= self.end {
                // Everything arrived; a failure after the last byte loses nothing.
                self.body = None;
                return None;
            }
            if let Err(error) = self.resume(cause).await {
                self.body = None;
                return Some((Err(error), self));
            }
        }
    }

    async fn resume(&mut self, cause: Error) -> Result<()> {
        let Some(etag) = self.etag.clone() else {
            return Err(cause.with_context("resume", "impossible without an ETag"));
        };
        if self.resumes_left == 0 {
            return Err(cause.with_context("resume", "attempts exhausted"));
        }
        self.resumes_left -= 1;
        tracing::debug!(
            key = %self.key,
            offset = self.pos,
            error = %cause,
            "resuming an S3 download"
        );
        let url = self.client.endpoint.object_url(self.key.as_str(), &[])?;
        let mut request = S3Request::new(Method::GET, url);
        request.header_str("range", &format!("bytes={}-{}", self.pos, self.end - 1))?;
        request.header_str("if-match", &etag)?;
        let call = download_call(&self.client, "get_resume");
        let response = self.client.send(&call, request).await.map_err(|e| {
            let e = with_key(e, &self.key);
            if e.kind() == ErrorKind::PreconditionFailed {
                Error::new(
                    ErrorKind::Protocol,
                    "the object changed while it was being read",
                )
                .with_provider(PROVIDER)
                .with_operation("get")
                .with_context("key", self.key.as_str())
                .with_source(e)
            } else {
                e
            }
        })?;
        let (range, _) = served_range(response.headers(), response.status().as_u16(), &self.key)?;
        if range.start != self.pos || response.status().as_u16() != 206 {
            return Err(
                Error::protocol("the resumed download did not continue where it stopped")
                    .with_provider(PROVIDER)
                    .with_operation("get")
                    .with_context("key", self.key.as_str()),
            );
        }
        self.body = Some(idle_body(&self.client, response));
        Ok(())
    }
}
