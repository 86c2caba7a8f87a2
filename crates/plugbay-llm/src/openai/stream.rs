//! [`OpenAiChatStream`]: a streamed chat completion's response body run
//! through the [`SseDecoder`] and the [`ChunkFolder`], with the silence
//! between chunks bounded by an [`IdleTimer`] and the GenAI span fields
//! recorded at the end.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use plugbay_core::http::map_reqwest_error;
use plugbay_core::{Error, ErrorKind, Result};

use super::fold::{ChunkFolder, FoldState};
use super::telemetry;
use crate::sse::SseDecoder;
use crate::types::ChatEvent;
use plugbay_core::http::IdleTimer;

/// The [`ChatStream`](crate::ChatStream) of an OpenAI-compatible backend,
/// over a response body `B` (held as is: no boxing, no mapping layer per
/// chunk).
pub(crate) struct OpenAiChatStream<B> {
    body: B,
    decoder: SseDecoder,
    body_ended: bool,
    folder: ChunkFolder,
    pending: VecDeque<Result<ChatEvent>>,
    provider: String,
    span: tracing::Span,
    finished: bool,
    idle: Option<IdleTimer>,
}

impl<B> OpenAiChatStream<B> {
    /// A stream over `body`; with `idle`, a body silent that long ends the
    /// stream in a `Timeout` error.
    pub(crate) fn new(
        body: B,
        provider: String,
        span: tracing::Span,
        idle: Option<Duration>,
    ) -> OpenAiChatStream<B> {
        OpenAiChatStream {
            body,
            decoder: SseDecoder::new(),
            body_ended: false,
            folder: ChunkFolder::new(),
            pending: VecDeque::new(),
            provider,
            span,
            finished: false,
            idle: idle.map(IdleTimer::new),
        }
    }

    fn decorate(&self, error: Error) -> Error {
        let error = if error.provider().is_none() {
            error.with_provider(self.provider.clone())
        } else {
            error
        };
        if error.operation().is_none() {
            error.with_operation("chat_stream")
        } else {
            error
        }
    }

    fn record_end(&self) {
        let folder = &self.folder;
        telemetry::record_response(
            &self.span,
            folder.response_id(),
            folder.model(),
            folder.usage(),
            folder.finish_reason(),
        );
    }
}

impl<B> std::fmt::Debug for OpenAiChatStream<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChatStream")
            .field("provider", &self.provider)
            .field("state", &self.folder.state())
            .finish_non_exhaustive()
    }
}

impl<B> Stream for OpenAiChatStream<B>
where
    B: Stream<Item = reqwest::Result<Bytes>> + Unpin,
{
    type Item = Result<ChatEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.pending.pop_front() {
                let item = item.map_err(|e| this.decorate(e));
                if let Err(e) = &item {
                    this.span.record("error.type", e.kind().as_str());
                }
                return Poll::Ready(Some(item));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            if this.folder.state() != FoldState::Open {
                this.finished = true;
                this.record_end();
                continue;
            }
            // Events are folded as they lie in the decoder's buffer.
            let (folder, pending) = (&mut this.folder, &mut this.pending);
            match this
                .decoder
                .next_event_with(|e| folder.push_ref(e, pending))
            {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => {
                    this.pending.push_back(Err(e));
                    this.finished = true;
                    this.record_end();
                    continue;
                }
            }
            if this.body_ended {
                if let Some(event) = this.decoder.finish() {
                    this.folder.push(&event, &mut this.pending);
                }
                this.folder.end(&mut this.pending);
                continue;
            }
            match Pin::new(&mut this.body).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Some(idle) = &mut this.idle {
                        idle.data();
                    }
                    this.decoder.push(&chunk);
                }
                Poll::Ready(Some(Err(e))) => {
                    this.pending.push_back(Err(map_reqwest_error(e)));
                    this.finished = true;
                    this.record_end();
                }
                Poll::Ready(None) => this.body_ended = true,
                Poll::Pending => {
                    let Some(limit) = this
                        .idle
                        .as_mut()
                        .and_then(|idle| idle.expired(cx).then(|| idle.limit()))
                    else {
                        return Poll::Pending;
                    };
                    let error = Error::new(
                        ErrorKind::Timeout,
                        format!("the reply stream sent nothing for {} ms", limit.as_millis()),
                    );
                    this.pending.push_back(Err(error));
                    this.finished = true;
                    this.record_end();
                }
            }
        }
    }
}
