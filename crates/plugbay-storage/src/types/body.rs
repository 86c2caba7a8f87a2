//! Object bodies going in ([`Body`]) and coming out ([`GetResult`]).

use std::fmt;
use std::ops::Range;

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use plugbay_core::{Error, Result};

use super::meta::ObjectMeta;

/// A stream of body chunks.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// The content of an object being written.
///
/// Small bodies are one [`Bytes`]; large ones are a stream of chunks that a
/// backend writes without holding the whole body in memory (where its
/// capabilities say `streaming_put`). If the stream yields an error, the put
/// fails with that error and no object is created or changed.
///
/// ```
/// use bytes::Bytes;
/// use futures::stream;
/// use plugbay_storage::Body;
///
/// let small = Body::from("hello");
/// assert_eq!(small.size_hint(), Some(5));
///
/// let chunks = stream::iter(vec![Ok(Bytes::from("a")), Ok(Bytes::from("bc"))]);
/// let big = Body::from_stream(chunks).with_size_hint(3);
/// assert_eq!(big.size_hint(), Some(3));
/// ```
pub enum Body {
    /// The whole body in memory.
    Bytes(Bytes),
    /// A stream of chunks, with the total size when known (S3 and GCS use it
    /// to pick a single request over a multipart/resumable upload).
    Stream {
        /// The chunks, in order.
        stream: ByteStream,
        /// The total size in bytes, if known in advance.
        size_hint: Option<u64>,
    },
}

impl Body {
    /// An empty body.
    pub fn empty() -> Body {
        Body::Bytes(Bytes::new())
    }

    /// A streamed body of unknown size.
    pub fn from_stream<S>(stream: S) -> Body
    where
        S: futures::Stream<Item = Result<Bytes>> + Send + 'static,
    {
        Body::Stream {
            stream: stream.boxed(),
            size_hint: None,
        }
    }

    /// Record the total size of a streamed body (no effect on `Bytes`).
    pub fn with_size_hint(self, size: u64) -> Body {
        match self {
            Body::Stream { stream, .. } => Body::Stream {
                stream,
                size_hint: Some(size),
            },
            bytes => bytes,
        }
    }

    /// The total size if known: exact for `Bytes`, the hint for a stream.
    pub fn size_hint(&self) -> Option<u64> {
        match self {
            Body::Bytes(b) => Some(b.len() as u64),
            Body::Stream { size_hint, .. } => *size_hint,
        }
    }

    /// The body as a stream of chunks (a `Bytes` body is one chunk).
    pub fn into_stream(self) -> ByteStream {
        match self {
            Body::Bytes(b) if b.is_empty() => stream::empty().boxed(),
            Body::Bytes(b) => stream::once(async move { Ok(b) }).boxed(),
            Body::Stream { stream, .. } => stream,
        }
    }

    /// Read the whole body into memory. Fails with the stream's first error.
    pub async fn collect(self) -> Result<Bytes> {
        match self {
            Body::Bytes(b) => Ok(b),
            Body::Stream { stream, size_hint } => {
                let capacity = size_hint
                    .and_then(|s| usize::try_from(s).ok())
                    .unwrap_or(0)
                    .min(64 << 20);
                collect_stream(stream, capacity).await
            }
        }
    }
}

pub(crate) async fn collect_stream(stream: ByteStream, capacity: usize) -> Result<Bytes> {
    let buf = stream
        .try_fold(
            BytesMut::with_capacity(capacity),
            |mut acc, chunk| async move {
                acc.extend_from_slice(&chunk);
                Ok(acc)
            },
        )
        .await?;
    Ok(buf.freeze())
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Bytes(b) => f.debug_tuple("Bytes").field(&b.len()).finish(),
            Body::Stream { size_hint, .. } => f
                .debug_struct("Stream")
                .field("size_hint", size_hint)
                .finish_non_exhaustive(),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Body {
        Body::Bytes(b)
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Body::Bytes(Bytes::from(v))
    }
}

impl From<&'static [u8]> for Body {
    fn from(v: &'static [u8]) -> Body {
        Body::Bytes(Bytes::from_static(v))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::Bytes(Bytes::from_static(s.as_bytes()))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::Bytes(Bytes::from(s))
    }
}

/// The answer to a get: the object's metadata, the byte range served and
/// the body as a stream.
///
/// The stream reads lazily from the backend; an error part-way (a cut
/// connection) arrives as an `Err` item, typically of kind `Protocol` or
/// `Unavailable`.
pub struct GetResult {
    /// Metadata of the object the body comes from.
    pub meta: ObjectMeta,
    /// The byte range of the object in `body` (`0..size` for a whole object).
    pub range: Range<u64>,
    /// The bytes of `range`, in order.
    pub body: ByteStream,
}

impl GetResult {
    /// Assemble a result (for backend authors).
    pub fn new(meta: ObjectMeta, range: Range<u64>, body: ByteStream) -> GetResult {
        GetResult { meta, range, body }
    }

    /// Read the whole body into memory.
    ///
    /// Fails with `Protocol` if the backend delivered fewer or more bytes than
    /// the range it announced (a truncated download must never look whole).
    pub async fn bytes(self) -> Result<Bytes> {
        let expected = self.range.end.saturating_sub(self.range.start);
        let capacity = usize::try_from(expected).unwrap_or(0).min(64 << 20);
        let bytes = collect_stream(self.body, capacity).await?;
        if bytes.len() as u64 != expected {
            return Err(Error::protocol(format!(
                "body had {} bytes, expected {expected}",
                bytes.len()
            ))
            .with_context("key", self.meta.key.as_str()));
        }
        Ok(bytes)
    }

    /// The body stream alone.
    pub fn into_stream(self) -> ByteStream {
        self.body
    }
}

impl fmt::Debug for GetResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetResult")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;
    use crate::Key;

    #[tokio::test]
    async fn body_collects_streams_and_propagates_errors() {
        let ok = Body::from_stream(stream::iter(vec![
            Ok(Bytes::from("ab")),
            Ok(Bytes::from("cd")),
        ]));
        assert_eq!(ok.collect().await.unwrap(), Bytes::from("abcd"));

        let failing = Body::from_stream(stream::iter(vec![
            Ok(Bytes::from("ab")),
            Err(Error::new(ErrorKind::Unavailable, "cut")),
        ]));
        assert_eq!(
            failing.collect().await.unwrap_err().kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(Body::from(vec![1u8, 2, 3]).size_hint(), Some(3));
        assert_eq!(Body::from(String::from("xy")).size_hint(), Some(2));
        assert_eq!(Body::empty().into_stream().count().await, 0);
    }

    #[tokio::test]
    async fn get_result_detects_truncation() {
        let meta = ObjectMeta::new(Key::new("k").unwrap(), 4);
        let short = GetResult::new(
            meta.clone(),
            0..4,
            stream::iter(vec![Ok(Bytes::from("abc"))]).boxed(),
        );
        assert_eq!(short.bytes().await.unwrap_err().kind(), ErrorKind::Protocol);
        let whole = GetResult::new(
            meta,
            1..3,
            stream::iter(vec![Ok(Bytes::from("bc"))]).boxed(),
        );
        assert_eq!(whole.bytes().await.unwrap(), Bytes::from("bc"));
    }
}
