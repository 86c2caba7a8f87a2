//! [`SseEvent`], an owned dispatched event, and [`SseEventRef`], one lent
//! in place.

use std::time::Duration;

use bytes::Bytes;
use plugbay_core::{Error, Result};

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub(super) event: Option<String>,
    pub(super) data: Bytes,
    pub(super) id: Option<String>,
    pub(super) retry: Option<u64>,
}

impl SseEvent {
    /// An event of type `message` with this data (for tests and mocks).
    pub fn new(data: impl Into<Bytes>) -> SseEvent {
        SseEvent {
            event: None,
            data: data.into(),
            id: None,
            retry: None,
        }
    }

    /// Set the event type.
    pub fn with_event(mut self, event: impl Into<String>) -> SseEvent {
        self.event = Some(event.into());
        self
    }

    /// The event type: the last `event:` field, or `"message"`.
    pub fn event(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }

    /// The data: the `data:` lines joined with `\n`.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The data as UTF-8 text; invalid UTF-8 is a `Protocol` error.
    pub fn data_str(&self) -> Result<&str> {
        std::str::from_utf8(&self.data)
            .map_err(|e| Error::protocol("server-sent event data is not UTF-8").with_source(e))
    }

    /// Take the data.
    pub fn into_data(self) -> Bytes {
        self.data
    }

    /// The last event id seen on the stream (ids persist across events).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The reconnection time the server asked for, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.retry.map(Duration::from_millis)
    }

    /// `true` for the `data: [DONE]` sentinel that ends OpenAI-style streams.
    pub fn is_done(&self) -> bool {
        self.data.as_ref() == b"[DONE]"
    }

    /// A borrowed view of this event.
    pub fn view(&self) -> SseEventRef<'_> {
        SseEventRef {
            event: self.event.as_deref(),
            data: &self.data,
            id: self.id.as_deref(),
            retry: self.retry,
        }
    }
}

/// A dispatched event borrowed from where it lies: the decoder's buffer
/// (see [`SseDecoder::next_event_with`](super::SseDecoder::next_event_with))
/// or an [`SseEvent`] ([`SseEvent::view`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEventRef<'a> {
    pub(super) event: Option<&'a str>,
    pub(super) data: &'a [u8],
    pub(super) id: Option<&'a str>,
    pub(super) retry: Option<u64>,
}

impl<'a> SseEventRef<'a> {
    /// The event type: the last `event:` field, or `"message"`.
    pub fn event(&self) -> &'a str {
        self.event.unwrap_or("message")
    }

    /// The data: the `data:` lines joined with `\n`.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The data as UTF-8 text; invalid UTF-8 is a `Protocol` error.
    pub fn data_str(&self) -> Result<&'a str> {
        std::str::from_utf8(self.data)
            .map_err(|e| Error::protocol("server-sent event data is not UTF-8").with_source(e))
    }

    /// The last event id seen on the stream.
    pub fn id(&self) -> Option<&'a str> {
        self.id
    }

    /// The reconnection time the server asked for, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.retry.map(Duration::from_millis)
    }

    /// `true` for the `data: [DONE]` sentinel that ends OpenAI-style streams.
    pub fn is_done(&self) -> bool {
        self.data == b"[DONE]"
    }

    /// An owned copy.
    pub fn to_owned_event(&self) -> SseEvent {
        SseEvent {
            event: self.event.map(str::to_owned),
            data: Bytes::copy_from_slice(self.data),
            id: self.id.map(str::to_owned),
            retry: self.retry,
        }
    }
}
