//! The body of a download, resumed after a cut: when the stream fails
//! (reset, stall past the read timeout) or ends before its last byte, a new
//! `alt=media` request asks for `Range: bytes=<next>-<last>`, still pinned
//! to the same generation (`ifGenerationMatch`), so every byte is handed
//! out once and all come from one version of the object. Resumes are
//! bounded by [`GcsConfig::read_resume_attempts`](super::GcsConfig::read_resume_attempts).

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use plugbay_core::http::IdleBounded;
use plugbay_core::{Error, Result};

use super::client::{GcsClient, PROVIDER, with_key};
use super::read::media_url;
use crate::content_range::parse_content_range;
use crate::key::Key;

/// The state of a resumable download body, driven by
/// `futures::stream::unfold(state, ReadState::next)`.
pub(super) struct ReadState {
    pub(super) client: Arc<GcsClient>,
    pub(super) key: Key,
    /// The generation every request is pinned to (`None`: no resume).
    pub(super) generation: Option<String>,
    /// The whole object's size.
    pub(super) size: u64,
    /// Absolute offset of the next byte to hand out.
    pub(super) pos: u64,
    /// One past the last byte of the range.
    pub(super) end: u64,
    pub(super) resumes_left: u32,
    /// `None` once the stream is finished (after the last byte or an error).
    pub(super) body: Option<BoxStream<'static, Result<Bytes>>>,
}

/// A download's body, each silence bounded by the read timeout (the
/// media call's own timeout bounds only the wait for its head).
pub(super) fn idle_body(
    client: &GcsClient,
    response: reqwest::Response,
) -> BoxStream<'static, Result<Bytes>> {
    IdleBounded::new(response.bytes_stream(), client.config.read_timeout).boxed()
}

impl ReadState {
    /// The next chunk, resuming the download when the body was cut.
    pub(super) async fn next(mut self) -> Option<(Result<Bytes>, ReadState)> {
        loop {
            let body = self.body.as_mut()?;
            let cause = match body.next().await {
                Some(Ok(chunk)) if chunk.is_empty() => continue,
                Some(Ok(chunk)) => {
                    self.pos += chunk.len() as u64;
                    return Some((Ok(chunk), self));
                }
                Some(Err(e)) => self.decorate(e),
                None if self.pos >= self.end => {
                    self.body = None;
                    return None;
                }
                None => self.decorate(Error::protocol(format!(
                    "the download ended at byte {} before byte {}",
                    self.pos, self.end
                ))),
            };
            if self.pos >= self.end {
                // Everything arrived; a failure after the last byte loses nothing.
                self.body = None;
                return None;
            }
            // Drop the cut body (and its connection) before asking again.
            self.body = None;
            if let Err(error) = self.resume(cause).await {
                return Some((Err(error), self));
            }
        }
    }

    fn decorate(&self, e: Error) -> Error {
        e.with_provider(PROVIDER)
            .with_operation("get")
            .with_context("key", self.key.as_str())
    }

    /// Ask for the rest of the range; on success `self.body` is the new
    /// body. `cause` is returned (annotated) when no resume is possible.
    async fn resume(&mut self, cause: Error) -> Result<()> {
        let Some(generation) = self.generation.clone() else {
            return Err(cause.with_context("resume", "impossible without a generation"));
        };
        if self.resumes_left == 0 {
            return Err(cause.with_context("resume", "attempts exhausted"));
        }
        self.resumes_left -= 1;
        tracing::debug!(
            key = %self.key,
            offset = self.pos,
            error = %cause,
            "resuming a GCS download"
        );
        let url = media_url(&self.client, &self.key, Some(&generation));
        let range = format!("bytes={}-{}", self.pos, self.end - 1);
        let call = self.client.call("get_resume").head_timeout_only();
        // A 412 or 404 means the generation is gone (overwritten or
        // deleted): that typed error ends the stream, never other bytes.
        let response = self
            .client
            .send(&call, |c| c.get(&url).header("range", &range))
            .await
            .map_err(|e| {
                with_key(e, &self.key).with_context("resume_from", self.pos.to_string())
            })?;
        let status = response.status().as_u16();
        let served = match status {
            206 => response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range),
            // A server that ignores Range may send the whole object, which
            // is only right when the whole object is what is left.
            200 if self.pos == 0 && self.end == self.size => Some((0..self.size, self.size)),
            _ => None,
        };
        match served {
            Some((range, total))
                if range.start == self.pos && range.end == self.end && total == self.size => {}
            _ => {
                return Err(self.decorate(Error::protocol(format!(
                    "the resumed download (HTTP {status}) did not continue at byte {}",
                    self.pos
                ))));
            }
        }
        self.body = Some(idle_body(&self.client, response));
        Ok(())
    }
}
