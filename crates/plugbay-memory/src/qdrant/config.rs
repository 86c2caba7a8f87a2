//! [`QdrantConfig`]: where the Qdrant server is and how to call it, with a
//! `Debug` that never shows the API key.

use std::fmt;
use std::time::Duration;

use plugbay_core::{RetryPolicy, SecretString};
use serde::{Deserialize, Serialize};

/// The URL used when none is configured (a local Qdrant's REST port).
pub const DEFAULT_URL: &str = "http://localhost:6333";

/// The payload key that keeps a record's original (string) id, since Qdrant
/// point ids are UUIDs or integers. Caller metadata may not use it.
pub const ID_PAYLOAD_KEY: &str = "_plugbay_id";

/// How Qdrant indexes a payload field (`PUT /collections/{c}/index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PayloadSchema {
    /// Exact string matches (`match: {value}`, `match: {any}`).
    Keyword,
    /// Integer matches and ranges.
    Integer,
    /// Float ranges.
    Float,
    /// Booleans.
    Bool,
    /// Full-text matches.
    Text,
    /// UUID strings.
    Uuid,
    /// RFC 3339 date-times.
    Datetime,
}

impl PayloadSchema {
    /// The `field_schema` value Qdrant expects.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadSchema::Keyword => "keyword",
            PayloadSchema::Integer => "integer",
            PayloadSchema::Float => "float",
            PayloadSchema::Bool => "bool",
            PayloadSchema::Text => "text",
            PayloadSchema::Uuid => "uuid",
            PayloadSchema::Datetime => "datetime",
        }
    }
}

/// A payload index created with every collection `ensure_collection` makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PayloadIndex {
    /// The metadata key.
    pub field: String,
    /// How it is indexed.
    pub schema: PayloadSchema,
}

impl PayloadIndex {
    /// An index on `field`.
    pub fn new(field: impl Into<String>, schema: PayloadSchema) -> PayloadIndex {
        PayloadIndex {
            field: field.into(),
            schema,
        }
    }
}

/// Settings of a [`QdrantStore`](super::QdrantStore). Build it with
/// [`QdrantBuilder`](super::QdrantBuilder).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct QdrantConfig {
    /// The REST root, without a trailing slash (`http://localhost:6333`,
    /// `https://xyz.cloud.qdrant.io:6333`).
    pub url: String,
    /// Sent as the `api-key` header when set (Qdrant Cloud, or a server
    /// started with `QDRANT__SERVICE__API_KEY`).
    #[serde(skip_serializing)]
    pub api_key: Option<SecretString>,
    /// Bound on each attempt.
    pub timeout: Duration,
    /// Retries, backoff and budget.
    #[serde(skip)]
    pub retry_policy: RetryPolicy,
    /// Payload indexes created with each new collection.
    pub payload_indexes: Vec<PayloadIndex>,
    /// Most points per upsert request (large batches are split).
    pub upsert_batch: usize,
}

impl Default for QdrantConfig {
    fn default() -> QdrantConfig {
        QdrantConfig {
            url: DEFAULT_URL.to_owned(),
            api_key: None,
            timeout: Duration::from_secs(30),
            retry_policy: RetryPolicy::default(),
            payload_indexes: Vec::new(),
            upsert_batch: 512,
        }
    }
}

impl fmt::Debug for QdrantConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QdrantConfig")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("retry_policy", &self.retry_policy)
            .field("payload_indexes", &self.payload_indexes)
            .field("upsert_batch", &self.upsert_batch)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let config = QdrantConfig {
            api_key: Some(SecretString::from("qdrant-secret-key")),
            ..QdrantConfig::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("qdrant-secret-key"), "{text}");
        assert!(text.contains("<redacted>"));
        let json = serde_json::to_string(&config).unwrap();
        assert!(!json.contains("qdrant-secret-key"), "{json}");
    }
}
