//! What [`Providers`](crate::Providers) says about itself: which backend
//! each concern uses ([`ConcernReport`]) and whether it answers
//! ([`ConcernStatus`]).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// One integration concern of a provider set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Concern {
    /// Object storage ([`plugbay_storage::ObjectStore`]).
    Storage,
    /// Vector store ([`plugbay_memory::VectorStore`]).
    Vectors,
    /// Conversation memory ([`plugbay_memory::Memory`]).
    Memory,
    /// Chat model ([`plugbay_llm::ChatModel`]).
    Llm,
    /// Embedding model ([`plugbay_llm::EmbeddingModel`]).
    Embeddings,
    /// Key-value store ([`plugbay_cache::KeyValue`]).
    Cache,
    /// Rate limiter ([`plugbay_cache::RateLimiter`]).
    RateLimit,
    /// Token issuing and verification ([`plugbay_auth`]).
    Auth,
    /// Document store ([`plugbay_data::DocumentStore`]).
    Documents,
    /// Error reporting, analytics and metrics ([`plugbay_telemetry`]).
    Telemetry,
    /// Outgoing notifications ([`plugbay_webhooks::Notifier`]).
    Notifier,
    /// Incoming webhook verifiers ([`plugbay_webhooks::WebhookVerifier`]).
    Webhooks,
    /// Secret reference resolution ([`plugbay_secrets`]).
    Secrets,
}

impl Concern {
    /// Every concern, in report order.
    pub const ALL: [Concern; 13] = [
        Concern::Storage,
        Concern::Vectors,
        Concern::Memory,
        Concern::Llm,
        Concern::Embeddings,
        Concern::Cache,
        Concern::RateLimit,
        Concern::Auth,
        Concern::Documents,
        Concern::Telemetry,
        Concern::Notifier,
        Concern::Webhooks,
        Concern::Secrets,
    ];

    /// A short stable name (`"storage"`, `"rate_limit"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Concern::Storage => "storage",
            Concern::Vectors => "vectors",
            Concern::Memory => "memory",
            Concern::Llm => "llm",
            Concern::Embeddings => "embeddings",
            Concern::Cache => "cache",
            Concern::RateLimit => "rate_limit",
            Concern::Auth => "auth",
            Concern::Documents => "documents",
            Concern::Telemetry => "telemetry",
            Concern::Notifier => "notifier",
            Concern::Webhooks => "webhooks",
            Concern::Secrets => "secrets",
        }
    }
}

impl fmt::Display for Concern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which backend a concern uses and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConcernReport {
    /// The concern.
    pub concern: Concern,
    /// The backend's name (`"fs"`, `"memory"`, `"mock"`, `"local-jwt"` ...).
    pub backend: String,
    /// Whether this is the embedded default (nothing was configured).
    pub is_default: bool,
    /// What an operator should know: the setting it came from, a
    /// development-only warning, a configured key that is not used yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ConcernReport {
    /// A report line.
    pub fn new(concern: Concern, backend: impl Into<String>, is_default: bool) -> ConcernReport {
        ConcernReport {
            concern,
            backend: backend.into(),
            is_default,
            note: None,
        }
    }

    /// Attach a note.
    pub fn with_note(mut self, note: impl Into<String>) -> ConcernReport {
        self.note = Some(note.into());
        self
    }
}

impl fmt::Display for ConcernReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.concern, self.backend)?;
        if self.is_default {
            f.write_str(" (default)")?;
        }
        if let Some(note) = &self.note {
            write!(f, " - {note}")?;
        }
        Ok(())
    }
}

/// Whether a concern's backend answered a cheap probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ConcernStatus {
    /// The backend, as in [`ConcernReport`].
    #[serde(flatten)]
    pub report: ConcernReport,
    /// Whether the probe succeeded (a `NotFound` answer counts: the
    /// backend answered).
    pub ready: bool,
    /// How long the probe took, in milliseconds.
    pub latency_ms: u64,
    /// The error kind and message when not ready (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ConcernStatus {
    /// A probe outcome.
    pub fn new(report: ConcernReport, ready: bool, latency: Duration) -> ConcernStatus {
        ConcernStatus {
            report,
            ready,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            error: None,
        }
    }

    /// Attach the failure.
    pub fn with_error(mut self, error: impl Into<String>) -> ConcernStatus {
        self.error = Some(error.into());
        self
    }
}
