//! A fast server-sent events (SSE) decoder, shared by every streaming
//! backend (OpenAI-compatible chat, Hugging Face TGI) and by the benchmarks.
//!
//! [`SseDecoder`] is sans-I/O: push bytes as they arrive, pull complete
//! events. It follows the WHATWG event-stream rules (lines end in `\n`,
//! `\r\n` or `\r`; `:` starts a comment; several `data:` lines join with
//! `\n`; a blank line dispatches; an event without data is dropped; one
//! leading UTF-8 BOM is skipped), with one leniency: at end of input a
//! pending event is still dispatched, because some servers close the
//! connection right after their last `data:` line.
//!
//! Why it is fast: incoming chunks are appended once to a `BytesMut`; lines
//! are found with `memchr` starting where the last scan stopped (no
//! rescanning of a long partial line) and read in place; consumed lines are
//! dropped off the front with a pointer bump (no copy, no reference-count
//! traffic). The common event, one `data:` line and a blank line, is taken
//! in one step: [`SseDecoder::next_event_with`] lends it in place (no copy,
//! no allocation; what the OpenAI stream uses), and
//! [`SseDecoder::next_event`] copies its data once into its own [`Bytes`]
//! (measured faster than sharing the buffer: no reference-count atomics,
//! and the buffer keeps its allocation); in other events a single `data:`
//! line is split off as a zero-copy view of the line. Multi-line data is
//! copied, once.
//!
//! [`SseStream`] adapts any byte stream into a stream of events, yielding
//! each event as soon as its terminating blank line has arrived.
//!
//! ```
//! use plugbay_llm::sse::SseDecoder;
//! let mut decoder = SseDecoder::new();
//! decoder.push(b": keep-alive\r\ndata: {\"a\":1}\r\n\r\nevent: error\ndata: x\n");
//! let first = decoder.next_event()?.unwrap();
//! assert_eq!(first.data_str()?, "{\"a\":1}");
//! assert_eq!(first.event(), "message");
//! assert!(decoder.next_event()?.is_none(), "second event is not complete yet");
//! decoder.push(b"data: y\n\n");
//! let second = decoder.next_event()?.unwrap();
//! assert_eq!((second.event(), second.data_str()?), ("error", "x\ny"));
//! # Ok::<(), plugbay_core::Error>(())
//! ```

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures::Stream;
use plugbay_core::{Error, ErrorKind, Result};

mod event;
pub use event::{SseEvent, SseEventRef};

/// The longest line accepted by default (16 MiB): a peer that never sends a
/// line break must not grow the buffer without bound.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The data buffer of the event being assembled.
#[derive(Debug, Default)]
enum DataBuf {
    /// No `data:` field yet: a blank line dispatches nothing.
    #[default]
    Empty,
    /// One `data:` line: a zero-copy slice of that line.
    One(Bytes),
    /// Several lines, joined with `\n`.
    Many(BytesMut),
}

/// Incremental SSE decoder: [`SseDecoder::push`] bytes,
/// [`SseDecoder::next_event`] until `None`, and [`SseDecoder::finish`] at end
/// of input. See the [module docs](self).
#[derive(Debug)]
pub struct SseDecoder {
    buf: BytesMut,
    /// Bytes at the front of `buf` known to hold no line terminator.
    scanned: usize,
    bom_checked: bool,
    max_line: usize,
    data: DataBuf,
    event: Option<String>,
    last_id: Option<String>,
    retry: Option<u64>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new()
    }
}

impl SseDecoder {
    /// A decoder with the default line limit ([`DEFAULT_MAX_LINE_BYTES`]).
    pub fn new() -> SseDecoder {
        SseDecoder {
            buf: BytesMut::with_capacity(8 * 1024),
            scanned: 0,
            bom_checked: false,
            max_line: DEFAULT_MAX_LINE_BYTES,
            data: DataBuf::Empty,
            event: None,
            last_id: None,
            retry: None,
        }
    }

    /// Reject lines longer than `max` bytes with a `Protocol` error.
    pub fn with_max_line_bytes(mut self, max: usize) -> SseDecoder {
        self.max_line = max.max(1);
        self
    }

    /// Append received bytes (any split: mid-line, mid-UTF-8, mid-`\r\n`).
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes received but not yet consumed as lines.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete event, or `None` until more bytes arrive.
    ///
    /// A line longer than the limit is a `Protocol` error.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>> {
        if !self.check_bom() {
            return Ok(None);
        }
        if let Some((start, end, consumed)) = self.single_data_span() {
            let data = Bytes::copy_from_slice(&self.buf[start..end]);
            self.buf.advance(consumed);
            self.scanned = 0;
            return Ok(Some(SseEvent {
                event: None,
                data,
                id: self.last_id.clone(),
                retry: self.retry,
            }));
        }
        self.next_full_event()
    }

    /// Like [`SseDecoder::next_event`], but the event is lent to `f`
    /// instead of returned: the common event (one `data:` line and a blank
    /// line) is read in place, with no copy and no allocation. Gives what
    /// `f` returns, or `None` until more bytes arrive.
    ///
    /// ```
    /// use plugbay_llm::sse::SseDecoder;
    /// let mut decoder = SseDecoder::new();
    /// decoder.push(b"data: {\"a\":1}\n\n");
    /// let len = decoder.next_event_with(|event| event.data().len())?;
    /// assert_eq!(len, Some(7));
    /// # Ok::<(), plugbay_core::Error>(())
    /// ```
    pub fn next_event_with<R>(
        &mut self,
        f: impl FnOnce(SseEventRef<'_>) -> R,
    ) -> Result<Option<R>> {
        if !self.check_bom() {
            return Ok(None);
        }
        if let Some((start, end, consumed)) = self.single_data_span() {
            let out = f(SseEventRef {
                event: None,
                data: &self.buf[start..end],
                id: self.last_id.as_deref(),
                retry: self.retry,
            });
            self.buf.advance(consumed);
            self.scanned = 0;
            return Ok(Some(out));
        }
        Ok(self.next_full_event()?.map(|event| f(event.view())))
    }

    /// Skip one leading BOM; `false` while the buffer could still be one.
    fn check_bom(&mut self) -> bool {
        if !self.bom_checked {
            if self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) {
                return false;
            }
            if self.buf.starts_with(BOM) {
                self.buf.advance(BOM.len());
            }
            self.bom_checked = true;
        }
        true
    }

    /// The next event, line by line.
    fn next_full_event(&mut self) -> Result<Option<SseEvent>> {
        while let Some((end, consumed)) = self.next_line(false)? {
            if let Some(event) = self.take_line(end, consumed) {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// The common event in one step: a lone `data:` line followed by a
    /// blank line (`\n\n` or `\r\n\r\n`) with nothing pending, as
    /// `(data start, data end, bytes to consume)`. Its event is exactly what
    /// the line-by-line path gives for it; `None` (nothing consumed) for any
    /// other shape.
    fn single_data_span(&self) -> Option<(usize, usize, usize)> {
        if !matches!(self.data, DataBuf::Empty) || self.event.is_some() {
            return None;
        }
        let buf = &self.buf[..];
        if !buf.starts_with(b"data:") {
            return None;
        }
        let end = self.scanned + memchr::memchr2(b'\n', b'\r', buf.get(self.scanned..)?)?;
        let consumed = match &buf[end..] {
            [b'\n', b'\n', ..] => end + 2,
            [b'\r', b'\n', b'\r', b'\n', ..] => end + 4,
            _ => return None,
        };
        let value_start = if buf.get(5) == Some(&b' ') { 6 } else { 5 };
        Some((value_start.min(end), end, consumed))
    }

    /// End of input: the unterminated last line is processed and a pending
    /// event is dispatched (leniently, see the module docs). Call
    /// [`SseDecoder::next_event`] until `None` first.
    pub fn finish(&mut self) -> Option<SseEvent> {
        self.bom_checked = true;
        let mut out = None;
        while let Ok(Some((end, consumed))) = self.next_line(true) {
            if let Some(event) = self.take_line(end, consumed) {
                out = Some(event);
            }
        }
        out.or_else(|| self.dispatch())
    }

    /// Find the next line: `(end, consumed)`, the line being `buf[..end]`
    /// and its terminator ending at `consumed`. Nothing is removed yet.
    fn next_line(&mut self, at_eof: bool) -> Result<Option<(usize, usize)>> {
        let found = memchr::memchr2(b'\n', b'\r', &self.buf[self.scanned..]);
        let Some(offset) = found else {
            self.scanned = self.buf.len();
            if at_eof && !self.buf.is_empty() {
                return Ok(Some((self.buf.len(), self.buf.len())));
            }
            if self.buf.len() > self.max_line {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("server-sent event line longer than {} bytes", self.max_line),
                ));
            }
            return Ok(None);
        };
        let end = self.scanned + offset;
        let consumed = if self.buf[end] == b'\r' {
            match self.buf.get(end + 1) {
                Some(b'\n') => end + 2,
                Some(_) => end + 1,
                // A `\r` at the end may be half of a `\r\n`: wait for more.
                None if !at_eof => {
                    self.scanned = end;
                    return Ok(None);
                }
                None => end + 1,
            }
        } else {
            end + 1
        };
        Ok(Some((end, consumed)))
    }

    /// Process the line `buf[..end]` and drop `buf[..consumed]`. Only the
    /// first `data:` line of an event is split off (shared, not copied);
    /// every other line is read in place and skipped with a pointer bump.
    fn take_line(&mut self, end: usize, consumed: usize) -> Option<SseEvent> {
        self.scanned = 0;
        let line = &self.buf[..end];
        if line.is_empty() {
            self.buf.advance(consumed);
            return self.dispatch();
        }
        if line[0] == b':' {
            self.buf.advance(consumed);
            return None;
        }
        let (name_end, value_start) = match memchr::memchr(b':', line) {
            Some(colon) if line.get(colon + 1) == Some(&b' ') => (colon, colon + 2),
            Some(colon) => (colon, colon + 1),
            None => (line.len(), line.len()),
        };
        let value = &line[value_start..];
        match &line[..name_end] {
            b"data" => {
                self.data = match std::mem::take(&mut self.data) {
                    DataBuf::Empty => {
                        let mut first = self.buf.split_to(consumed);
                        first.truncate(end);
                        first.advance(value_start);
                        self.data = DataBuf::One(first.freeze());
                        return None;
                    }
                    DataBuf::One(first) => {
                        let mut joined = BytesMut::with_capacity(first.len() + 1 + value.len());
                        joined.put_slice(&first);
                        joined.put_u8(b'\n');
                        joined.put_slice(value);
                        DataBuf::Many(joined)
                    }
                    DataBuf::Many(mut joined) => {
                        joined.put_u8(b'\n');
                        joined.put_slice(value);
                        DataBuf::Many(joined)
                    }
                };
            }
            b"event" => {
                self.event = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"id" if !value.contains(&0) => {
                self.last_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {}
        }
        self.buf.advance(consumed);
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let data = match std::mem::take(&mut self.data) {
            DataBuf::Empty => return None,
            DataBuf::One(bytes) => bytes,
            DataBuf::Many(joined) => joined.freeze(),
        };
        Some(SseEvent {
            event,
            data,
            id: self.last_id.clone(),
            retry: self.retry,
        })
    }
}

/// Decode a whole SSE body at once (tests, fixtures, benchmarks).
///
/// ```
/// let events = plugbay_llm::sse::decode_all(b"data: 1\n\ndata: [DONE]\n\n")?;
/// assert_eq!(events.len(), 2);
/// assert!(events[1].is_done());
/// # Ok::<(), plugbay_core::Error>(())
/// ```
pub fn decode_all(body: &[u8]) -> Result<Vec<SseEvent>> {
    let mut decoder = SseDecoder::new();
    decoder.push(body);
    let mut events = Vec::new();
    while let Some(event) = decoder.next_event()? {
        events.push(event);
    }
    events.extend(decoder.finish());
    Ok(events)
}

/// A stream of [`SseEvent`]s over a stream of byte chunks.
///
/// Transport errors from the inner stream are passed through and end the
/// stream; so does a decoding error. Events are yielded as soon as they are
/// complete, never held back for more input.
pub struct SseStream<S> {
    inner: S,
    decoder: SseDecoder,
    ended: bool,
    queued: VecDeque<SseEvent>,
}

impl<S> std::fmt::Debug for SseStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseStream")
            .field("decoder", &self.decoder)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<S> SseStream<S>
where
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    /// Decode `inner` (map transport errors to [`Error`] first, e.g. with
    /// `plugbay_core::http::map_reqwest_error`).
    pub fn new(inner: S) -> SseStream<S> {
        SseStream::with_decoder(inner, SseDecoder::new())
    }

    /// Decode `inner` with a configured decoder.
    pub fn with_decoder(inner: S, decoder: SseDecoder) -> SseStream<S> {
        SseStream {
            inner,
            decoder,
            ended: false,
            queued: VecDeque::new(),
        }
    }
}

impl<S> Stream for SseStream<S>
where
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    type Item = Result<SseEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.queued.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.decoder.next_event() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) => {}
                Err(e) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.decoder.push(&chunk),
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    this.queued.extend(this.decoder.finish());
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests;
