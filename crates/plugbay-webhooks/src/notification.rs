//! What a [`crate::Notifier`] sends ([`Notification`]) and answers
//! ([`Delivery`]).

use std::time::SystemTime;

use plugbay_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// How urgent a notification is. Backends map it to a colour (Slack,
/// Discord), a subject prefix (email) or a log level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Routine information.
    #[default]
    Info,
    /// Something finished well (a deploy, a payment).
    Success,
    /// Worth a look.
    Warning,
    /// Something failed.
    Error,
    /// Wake someone up.
    Critical,
}

impl Severity {
    /// A short stable name (`"info"`, `"warning"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Success => "success",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

/// A message for people: a chat post or an email.
///
/// `text` is the plain-text body every backend can send; `markdown` is an
/// optional richer rendering for backends that support it (see
/// [`crate::NotifierCapabilities::markdown`]). `to` is used by email
/// backends only; chat backends post to their configured channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Notification {
    /// A short title; the email subject.
    pub subject: Option<String>,
    /// The plain-text body. Must not be blank.
    pub text: String,
    /// The body as Markdown, for backends that render it.
    pub markdown: Option<String>,
    /// Labelled values shown as a table or list (`("order", "A-17")`).
    pub fields: Vec<(String, String)>,
    /// How urgent it is.
    pub severity: Severity,
    /// A link to the thing the notification is about.
    pub link: Option<String>,
    /// Email recipients.
    pub to: Vec<String>,
    /// A key the backend uses to drop duplicates where the provider
    /// supports it (Resend's `Idempotency-Key`); also lets a backend retry
    /// a post safely.
    pub idempotency_key: Option<String>,
}

impl Notification {
    /// A notification with the plain-text body `text`.
    pub fn new(text: impl Into<String>) -> Notification {
        Notification {
            text: text.into(),
            ..Notification::default()
        }
    }

    /// Set the subject / title.
    pub fn subject(mut self, subject: impl Into<String>) -> Notification {
        self.subject = Some(subject.into());
        self
    }

    /// Set the Markdown rendering.
    pub fn markdown(mut self, markdown: impl Into<String>) -> Notification {
        self.markdown = Some(markdown.into());
        self
    }

    /// Add a labelled field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Notification {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// Set the severity.
    pub fn severity(mut self, severity: Severity) -> Notification {
        self.severity = severity;
        self
    }

    /// Set the link.
    pub fn link(mut self, link: impl Into<String>) -> Notification {
        self.link = Some(link.into());
        self
    }

    /// Add an email recipient.
    pub fn to(mut self, address: impl Into<String>) -> Notification {
        self.to.push(address.into());
        self
    }

    /// Set the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Notification {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Check what every backend requires: a non-blank `text`, and for
    /// email recipients something shaped like an address. Backends call
    /// this first and answer `InvalidInput` on failure.
    pub fn validate(&self) -> Result<()> {
        if self.text.trim().is_empty() {
            return Err(Error::invalid_input("notification text is empty"));
        }
        for address in &self.to {
            let ok = address
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                && !address.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(Error::invalid_input(
                    "notification recipient is not an email address",
                ));
            }
        }
        Ok(())
    }
}

/// Cut `text` to at most `max_chars` characters, ending with `…` when cut.
/// Chat backends use it to fit provider limits (Discord's 2000 characters).
pub fn truncate_text(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    if max_chars == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max_chars - 1).collect();
    out.push('…');
    out
}

/// The answer to a successful [`crate::Notifier::notify`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// The backend that accepted it (`"log"`, `"slack"`, ...).
    pub backend: String,
    /// The provider's message id, where it returns one (Discord with
    /// `wait=true`, SendGrid's `X-Message-Id`, Resend's `id`).
    pub id: Option<String>,
    /// When the provider accepted it.
    pub accepted_at: SystemTime,
}

impl Delivery {
    /// A delivery accepted by `backend` at `accepted_at`.
    pub fn new(backend: impl Into<String>, accepted_at: SystemTime) -> Delivery {
        Delivery {
            backend: backend.into(),
            id: None,
            accepted_at,
        }
    }

    /// Set the provider's message id.
    pub fn with_id(mut self, id: impl Into<String>) -> Delivery {
        self.id = Some(id.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    #[test]
    fn builder_sets_every_field() {
        let n = Notification::new("disk full")
            .subject("Alert")
            .markdown("*disk* full")
            .field("host", "db-1")
            .severity(Severity::Critical)
            .link("https://status.example.com")
            .to("ops@example.com")
            .idempotency_key("k-1");
        assert_eq!(n.subject.as_deref(), Some("Alert"));
        assert_eq!(n.fields, vec![("host".to_owned(), "db-1".to_owned())]);
        assert_eq!(n.severity, Severity::Critical);
        assert_eq!(n.to, vec!["ops@example.com".to_owned()]);
        assert!(n.validate().is_ok());
    }

    #[test]
    fn validation_rejects_blank_text_and_bad_addresses() {
        for n in [
            Notification::new(""),
            Notification::new(" \n\t"),
            Notification::new("hi").to("not-an-address"),
            Notification::new("hi").to("a b@example.com"),
        ] {
            assert_eq!(n.validate().unwrap_err().kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_text("héllo", 10), "héllo");
        assert_eq!(truncate_text("héllo", 3), "hé…");
        assert_eq!(truncate_text("héllo", 3).chars().count(), 3);
        assert_eq!(truncate_text("abc", 0), "");
    }
}
