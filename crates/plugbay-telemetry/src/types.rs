//! Error and analytics events: what [`crate::ErrorReporter`] and
//! [`crate::Analytics`] carry.

use std::collections::BTreeMap;
use std::time::SystemTime;

use plugbay_core::redact::redact;
use plugbay_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// How severe an error event is (Sentry's levels).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Level {
    /// Diagnostic detail.
    Debug,
    /// Informational.
    Info,
    /// Something unexpected that was handled.
    Warning,
    /// A failure.
    #[default]
    Error,
    /// A failure that takes the process or a whole feature down.
    Fatal,
}

impl Level {
    /// The lower-case name (`"warning"`), as Sentry spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

/// One error (or message) for an error tracker such as Sentry.
///
/// Tags are short indexed strings (searchable, low cardinality); `extra` is
/// free-form context. Nothing here is redacted automatically except by
/// [`ErrorEvent::from_error`]: do not put secrets in events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorEvent {
    /// A unique id, reported back by trackers (Sentry's `event_id`).
    pub event_id: Uuid,
    /// What happened.
    pub message: String,
    /// How severe.
    pub level: Level,
    /// The error's kind or type (`"not_found"`, `"io::Error"`), if known.
    pub error_kind: Option<String>,
    /// Indexed key-value tags.
    pub tags: BTreeMap<String, String>,
    /// Free-form context.
    pub extra: Map<String, Value>,
    /// The affected user's id, if any.
    pub user_id: Option<String>,
    /// Grouping override; empty means the tracker's default grouping.
    pub fingerprint: Vec<String>,
    /// When it happened.
    pub timestamp: SystemTime,
}

impl Default for ErrorEvent {
    fn default() -> ErrorEvent {
        ErrorEvent::new("")
    }
}

impl ErrorEvent {
    /// An `Error`-level event with `message`, a fresh id and the current time.
    pub fn new(message: impl Into<String>) -> ErrorEvent {
        ErrorEvent {
            event_id: Uuid::new_v4(),
            message: message.into(),
            level: Level::Error,
            error_kind: None,
            tags: BTreeMap::new(),
            extra: Map::new(),
            user_id: None,
            fingerprint: Vec::new(),
            timestamp: SystemTime::now(),
        }
    }

    /// An event describing a plugbay [`Error`].
    ///
    /// Keeps what helps triage — kind, provider, operation, HTTP status,
    /// provider code (as tags) and request id, retry hint, context and
    /// cause chain (as extra) — and passes every free-text value through
    /// [`redact`], so keys and signatures echoed by a provider do not reach
    /// the tracker. The message is the error's own message, without
    /// context, so events group well.
    pub fn from_error(err: &Error) -> ErrorEvent {
        let mut event = ErrorEvent::new(redact(err.message()))
            .error_kind(err.kind().as_str())
            .tag("error.kind", err.kind().as_str());
        if let Some(provider) = err.provider() {
            event = event.tag("provider", provider);
        }
        if let Some(operation) = err.operation() {
            event = event.tag("operation", operation);
        }
        if let Some(status) = err.status() {
            event = event.tag("http.status", status.to_string());
        }
        if let Some(code) = err.provider_code() {
            event = event.tag("provider.code", redact(code));
        }
        if let Some(id) = err.request_id() {
            event = event.extra("request_id", redact(id));
        }
        if let Some(wait) = err.retry_after() {
            event = event.extra("retry_after_ms", wait.as_millis() as u64);
        }
        event = event.extra("retryable", err.is_retryable());
        for (key, value) in err.context() {
            event = event.extra(format!("context.{key}"), redact(value));
        }
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            causes.push(Value::String(redact(&cause.to_string())));
            source = cause.source();
        }
        if !causes.is_empty() {
            event = event.extra("causes", causes);
        }
        event
    }

    /// Set the level.
    pub fn level(mut self, level: Level) -> ErrorEvent {
        self.level = level;
        self
    }

    /// Set the error kind.
    pub fn error_kind(mut self, kind: impl Into<String>) -> ErrorEvent {
        self.error_kind = Some(kind.into());
        self
    }

    /// Add a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> ErrorEvent {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Add an extra value.
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> ErrorEvent {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Set the user id.
    pub fn user_id(mut self, user_id: impl Into<String>) -> ErrorEvent {
        self.user_id = Some(user_id.into());
        self
    }

    /// Set the grouping fingerprint.
    pub fn fingerprint<I, S>(mut self, parts: I) -> ErrorEvent
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fingerprint = parts.into_iter().map(Into::into).collect();
        self
    }

    /// Set the timestamp.
    pub fn timestamp(mut self, timestamp: SystemTime) -> ErrorEvent {
        self.timestamp = timestamp;
        self
    }
}

/// One product-analytics event (Mixpanel, GA4, a Postgres table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AnalyticsEvent {
    /// The event name (`"signup"`, `"checkout_completed"`).
    pub name: String,
    /// Who did it: a user id or an anonymous device id.
    pub distinct_id: String,
    /// Event properties.
    pub properties: Map<String, Value>,
    /// When it happened.
    pub timestamp: SystemTime,
    /// The dedupe key backends send (Mixpanel's `$insert_id`): a fresh
    /// UUID unless set, so a retried batch is not counted twice.
    pub insert_id: String,
}

impl Default for AnalyticsEvent {
    fn default() -> AnalyticsEvent {
        AnalyticsEvent::new("", "")
    }
}

impl AnalyticsEvent {
    /// An event `name` by `distinct_id`, now, with a fresh insert id.
    pub fn new(name: impl Into<String>, distinct_id: impl Into<String>) -> AnalyticsEvent {
        AnalyticsEvent {
            name: name.into(),
            distinct_id: distinct_id.into(),
            properties: Map::new(),
            timestamp: SystemTime::now(),
            insert_id: Uuid::new_v4().to_string(),
        }
    }

    /// Add a property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<Value>) -> AnalyticsEvent {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Set the timestamp.
    pub fn timestamp(mut self, timestamp: SystemTime) -> AnalyticsEvent {
        self.timestamp = timestamp;
        self
    }

    /// Set the insert id (use a stable id when the same event may be
    /// tracked twice, e.g. from a retried webhook).
    pub fn insert_id(mut self, insert_id: impl Into<String>) -> AnalyticsEvent {
        self.insert_id = insert_id.into();
        self
    }

    /// Check the name ([`validate_event_name`]), that `distinct_id` and
    /// `insert_id` are non-empty, and property keys are non-empty.
    /// `InvalidInput` otherwise. Backends with stricter rules (GA4) check
    /// those too.
    pub fn validate(&self) -> Result<()> {
        validate_event_name(&self.name)?;
        if self.distinct_id.trim().is_empty() {
            return Err(Error::invalid_input("analytics event has no distinct_id"));
        }
        if self.insert_id.is_empty() || self.insert_id.len() > 64 {
            return Err(Error::invalid_input(
                "analytics insert_id must be 1 to 64 characters",
            ));
        }
        if self.properties.keys().any(|k| k.is_empty()) {
            return Err(Error::invalid_input("analytics property name is empty"));
        }
        Ok(())
    }
}

/// Check an analytics event name: 1 to 255 characters, no control
/// characters. `InvalidInput` otherwise.
pub fn validate_event_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid_input("event name is empty"));
    }
    if name.chars().count() > 255 {
        return Err(Error::invalid_input(
            "event name is longer than 255 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            "event name contains control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;
    use std::time::Duration;

    #[test]
    fn from_error_keeps_triage_fields_and_drops_secrets() {
        let err = Error::from_http(429, Some("rate_limit_exceeded"), "slow down")
            .with_provider("openai")
            .with_operation("chat")
            .with_request_id("req_1")
            .with_retry_after(Duration::from_millis(1500))
            .with_context("url", "https://x/y?token=tok_supersecret")
            .with_source(std::io::Error::other("Bearer sk-live-abcdef0123456789"));
        let event = ErrorEvent::from_error(&err);
        assert_eq!(event.message, "slow down");
        assert_eq!(event.error_kind.as_deref(), Some("rate_limited"));
        assert_eq!(event.tags["provider"], "openai");
        assert_eq!(event.tags["operation"], "chat");
        assert_eq!(event.tags["http.status"], "429");
        assert_eq!(event.tags["provider.code"], "rate_limit_exceeded");
        assert_eq!(event.extra["request_id"], "req_1");
        assert_eq!(event.extra["retry_after_ms"], 1500);
        assert_eq!(event.extra["retryable"], true);
        let all = serde_json::to_string(&event).unwrap();
        assert!(!all.contains("tok_supersecret"), "{all}");
        assert!(!all.contains("sk-live-abcdef0123456789"), "{all}");
        assert!(all.contains("context.url"));
        assert_eq!(event.extra["causes"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn builders_and_defaults() {
        let event = ErrorEvent::new("boom")
            .level(Level::Fatal)
            .user_id("u1")
            .fingerprint(["a", "b"]);
        assert_eq!(event.level, Level::Fatal);
        assert_eq!(event.fingerprint, ["a", "b"]);
        assert_ne!(event.event_id, ErrorEvent::new("boom").event_id);
        let a = AnalyticsEvent::new("signup", "u1").property("plan", "pro");
        let b = AnalyticsEvent::new("signup", "u1");
        assert_ne!(a.insert_id, b.insert_id);
        assert_eq!(a.properties["plan"], "pro");
        assert!(a.validate().is_ok());
    }

    #[test]
    fn analytics_validation() {
        for event in [
            AnalyticsEvent::new("", "u"),
            AnalyticsEvent::new("x".repeat(256), "u"),
            AnalyticsEvent::new("a\nb", "u"),
            AnalyticsEvent::new("ok", " "),
            AnalyticsEvent::new("ok", "u").insert_id(""),
            AnalyticsEvent::new("ok", "u").property("", 1),
        ] {
            assert_eq!(
                event.validate().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{event:?}"
            );
        }
    }
}
