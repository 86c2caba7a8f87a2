//! [`PineconeConfig`]: which index, where, and how to call it, with a
//! `Debug` that never shows the API key.

use std::fmt;
use std::time::Duration;

use plugbay_core::{RetryPolicy, SecretString};
use serde::{Deserialize, Serialize};

/// Pinecone's control plane.
pub const DEFAULT_CONTROL_URL: &str = "https://api.pinecone.io";
/// The `X-Pinecone-API-Version` sent with every request (pinned: without
/// the header Pinecone answers with its oldest supported version).
pub const DEFAULT_API_VERSION: &str = "2025-04";
/// Pinecone's limit on one upsert request body. The client batches below
/// it with a small margin (see [`PineconeConfig::max_request_bytes`]).
pub const MAX_UPSERT_BYTES: usize = 2 * 1024 * 1024;
/// Pinecone's limit on records per upsert request.
pub const MAX_UPSERT_RECORDS: usize = 1000;
/// Pinecone's limit on ids per fetch or delete request.
pub const MAX_IDS_PER_REQUEST: usize = 1000;
/// Pinecone's limit on `topK`.
pub const MAX_TOP_K: usize = 10_000;
/// Pinecone's limit on the serialised metadata of one record.
pub const MAX_METADATA_BYTES: usize = 40 * 1024;

/// Settings of a [`PineconeStore`](super::PineconeStore). Build it with
/// [`PineconeBuilder`](super::PineconeBuilder).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PineconeConfig {
    /// Sent as the `Api-Key` header (required).
    #[serde(skip_serializing)]
    pub api_key: Option<SecretString>,
    /// The index name, used to look its host up on the control plane.
    pub index: Option<String>,
    /// The index host (`my-index-abc123.svc.aped-4627-b74a.pinecone.io`,
    /// or a full `http(s)://` URL for tests); skips the control-plane
    /// lookup when set.
    pub index_host: Option<String>,
    /// The control plane root (overridable for tests).
    pub control_url: String,
    /// The pinned `X-Pinecone-API-Version`.
    pub api_version: String,
    /// Bound on each attempt.
    pub timeout: Duration,
    /// Retries, backoff and budget.
    #[serde(skip)]
    pub retry_policy: RetryPolicy,
    /// Most bytes per upsert body (default 2,000,000: under Pinecone's
    /// 2 MiB with room for proxies that count a megabyte as 10^6).
    pub max_request_bytes: usize,
    /// Most records per upsert body (default and maximum 1000).
    pub max_batch: usize,
}

impl Default for PineconeConfig {
    fn default() -> PineconeConfig {
        PineconeConfig {
            api_key: None,
            index: None,
            index_host: None,
            control_url: DEFAULT_CONTROL_URL.to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            timeout: Duration::from_secs(30),
            retry_policy: RetryPolicy::default(),
            max_request_bytes: 2_000_000,
            max_batch: MAX_UPSERT_RECORDS,
        }
    }
}

impl fmt::Debug for PineconeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PineconeConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("index", &self.index)
            .field("index_host", &self.index_host)
            .field("control_url", &self.control_url)
            .field("api_version", &self.api_version)
            .field("timeout", &self.timeout)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let config = PineconeConfig {
            api_key: Some(SecretString::from("pcsk_secret_value")),
            ..PineconeConfig::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("pcsk_secret_value"), "{text}");
        assert!(text.contains("2025-04"));
    }
}
