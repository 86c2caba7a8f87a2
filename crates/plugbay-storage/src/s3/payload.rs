//! Request bodies kept as the chunks they arrived in. A multipart part is
//! sent, and hashed when payloads are signed, straight from the caller's
//! chunks: gathering 8 MiB parts into one buffer cost a memcpy of every
//! uploaded byte (about as much CPU as the rest of the client).

use std::convert::Infallible;

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

/// Chunks smaller than this are copied together (a few syscalls and
/// frames per part instead of one per tiny chunk); larger ones are kept by
/// reference.
const COALESCE_BELOW: usize = 64 * 1024;
/// The size of the buffers small chunks are gathered into.
const GATHER_BUFFER: usize = 1024 * 1024;

/// A request body: zero or more chunks, sent back to back.
#[derive(Debug, Clone, Default)]
pub(crate) struct Payload {
    chunks: Vec<Bytes>,
    len: usize,
}

impl Payload {
    /// The body's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body as one buffer when it is one chunk (or empty).
    pub(crate) fn as_single(&self) -> Option<&[u8]> {
        match self.chunks.as_slice() {
            [] => Some(&[]),
            [one] => Some(one),
            _ => None,
        }
    }

    /// Hex SHA-256 of the body, chunk by chunk (`sha2` picks the CPU's SHA
    /// extensions at run time where there are some).
    pub(crate) fn sha256_hex(&self) -> String {
        let mut hasher = Sha256::new();
        for chunk in &self.chunks {
            hasher.update(chunk);
        }
        hex::encode(hasher.finalize())
    }

    /// A body for one attempt; the chunks are shared, not copied. The
    /// caller sets `Content-Length`, which hyper honours for streamed bodies.
    pub(crate) fn to_reqwest(&self) -> reqwest::Body {
        match self.chunks.as_slice() {
            [] => reqwest::Body::from(Bytes::new()),
            [one] => reqwest::Body::from(one.clone()),
            _ => reqwest::Body::wrap_stream(futures::stream::iter(
                self.chunks.clone().into_iter().map(Ok::<Bytes, Infallible>),
            )),
        }
    }

    /// All chunks in one buffer (for tests and small bodies).
    #[cfg(test)]
    pub(crate) fn to_bytes(&self) -> Bytes {
        match self.chunks.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            chunks => Bytes::from(chunks.concat()),
        }
    }
}

impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Payload {
        let len = bytes.len();
        let chunks = if bytes.is_empty() {
            Vec::new()
        } else {
            vec![bytes]
        };
        Payload { chunks, len }
    }
}

/// Builds a part from incoming chunks: large chunks by reference, small
/// ones gathered into shared buffers.
#[derive(Debug, Default)]
pub(crate) struct PayloadBuilder {
    payload: Payload,
    gather: BytesMut,
}

impl PayloadBuilder {
    pub(crate) fn len(&self) -> usize {
        self.payload.len + self.gather.len()
    }

    /// Append `chunk` (all of it).
    pub(crate) fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        if chunk.len() >= COALESCE_BELOW {
            self.flush();
            self.payload.len += chunk.len();
            self.payload.chunks.push(chunk);
            return;
        }
        if self.gather.capacity() - self.gather.len() < chunk.len() {
            self.flush();
            self.gather.reserve(GATHER_BUFFER);
        }
        self.gather.extend_from_slice(&chunk);
    }

    fn flush(&mut self) {
        if !self.gather.is_empty() {
            let gathered = self.gather.split().freeze();
            self.payload.len += gathered.len();
            self.payload.chunks.push(gathered);
        }
    }

    pub(crate) fn finish(mut self) -> Payload {
        self.flush();
        self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_chunks_are_kept_small_ones_gathered() {
        let big = Bytes::from(vec![1u8; COALESCE_BELOW]);
        let mut builder = PayloadBuilder::default();
        builder.push(Bytes::from_static(b"ab"));
        builder.push(Bytes::new());
        builder.push(Bytes::from_static(b"c"));
        builder.push(big.clone());
        builder.push(Bytes::from_static(b"d"));
        assert_eq!(builder.len(), COALESCE_BELOW + 4);
        let payload = builder.finish();
        assert_eq!(payload.chunks.len(), 3);
        // The large chunk is the caller's buffer, not a copy.
        assert_eq!(payload.chunks[1].as_ptr(), big.as_ptr());
        let mut expected = b"abc".to_vec();
        expected.extend_from_slice(&big);
        expected.push(b'd');
        assert_eq!(payload.to_bytes(), expected);
        assert_eq!(payload.len(), expected.len());
        assert_eq!(payload.sha256_hex(), hex::encode(Sha256::digest(&expected)));
        assert_eq!(payload.as_single(), None);
    }

    #[test]
    fn single_and_empty_payloads() {
        let empty = Payload::from(Bytes::new());
        assert!(empty.is_empty());
        assert_eq!(empty.as_single(), Some(&[][..]));
        assert_eq!(
            empty.sha256_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let one = Payload::from(Bytes::from_static(b"data"));
        assert_eq!(one.as_single(), Some(&b"data"[..]));
        assert_eq!(one.len(), 4);
    }

    #[tokio::test]
    async fn a_multi_chunk_body_goes_out_whole_with_its_length() {
        use wiremock::matchers::method;
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let mut builder = PayloadBuilder::default();
        for i in 0..3u8 {
            builder.push(Bytes::from(vec![i; COALESCE_BELOW + 1]));
        }
        let payload = builder.finish();
        reqwest::Client::new()
            .put(format!("{}/k", server.uri()))
            .header(http::header::CONTENT_LENGTH, payload.len())
            .body(payload.to_reqwest())
            .send()
            .await
            .unwrap();
        let received = server.received_requests().await.unwrap();
        assert_eq!(received.len(), 1);
        // Sent with its length, not chunked.
        assert!(received[0].headers.get("transfer-encoding").is_none());
        assert_eq!(
            received[0].headers.get("content-length").unwrap(),
            &payload.len().to_string()
        );
        assert_eq!(received[0].body, payload.to_bytes());
    }
}
