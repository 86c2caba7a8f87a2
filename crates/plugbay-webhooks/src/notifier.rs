//! The [`Notifier`] trait: send a message to people (chat or email).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use plugbay_core::Result;

use crate::notification::{Delivery, Notification};

/// What a notifier backend can render or guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NotifierCapabilities {
    /// Renders [`Notification::markdown`] (otherwise `text` is sent).
    pub markdown: bool,
    /// Renders [`Notification::fields`] as a table or list.
    pub fields: bool,
    /// Sends to [`Notification::to`] (email); chat backends ignore it.
    pub recipients: bool,
    /// Honours [`Notification::idempotency_key`] on the provider side.
    pub idempotency: bool,
    /// The longest text the provider takes in one message, if limited;
    /// longer text is truncated (never rejected).
    pub max_text_chars: Option<usize>,
}

impl NotifierCapabilities {
    /// Capabilities with every flag off and no limit.
    pub fn new() -> NotifierCapabilities {
        NotifierCapabilities::default()
    }

    /// Set [`NotifierCapabilities::markdown`].
    pub fn markdown(mut self, yes: bool) -> NotifierCapabilities {
        self.markdown = yes;
        self
    }

    /// Set [`NotifierCapabilities::fields`].
    pub fn fields(mut self, yes: bool) -> NotifierCapabilities {
        self.fields = yes;
        self
    }

    /// Set [`NotifierCapabilities::recipients`].
    pub fn recipients(mut self, yes: bool) -> NotifierCapabilities {
        self.recipients = yes;
        self
    }

    /// Set [`NotifierCapabilities::idempotency`].
    pub fn idempotency(mut self, yes: bool) -> NotifierCapabilities {
        self.idempotency = yes;
        self
    }

    /// Set [`NotifierCapabilities::max_text_chars`].
    pub fn max_text_chars(mut self, max: Option<usize>) -> NotifierCapabilities {
        self.max_text_chars = max;
        self
    }
}

/// Sends a [`Notification`] to people: a Slack or Discord post, an email,
/// or a log line.
///
/// Contract:
/// - a blank `text` (or, for email, a malformed recipient) is
///   `InvalidInput`, checked before anything is sent
///   ([`Notification::validate`]);
/// - text longer than the provider accepts is truncated to fit, not
///   rejected;
/// - provider failures map to the shared kinds (`RateLimited` with
///   `retry_after`, `NotFound` for a deleted webhook, `Unauthenticated`);
/// - a post is not retried after the provider may have accepted it unless
///   an idempotency key makes that safe.
#[async_trait]
pub trait Notifier: Send + Sync + fmt::Debug {
    /// The backend's short name (`"log"`, `"slack"`, `"discord"`, `"smtp"`).
    fn backend(&self) -> &'static str;

    /// What the backend renders and guarantees.
    fn capabilities(&self) -> NotifierCapabilities;

    /// Send `notification`; answers once the provider accepted it.
    async fn notify(&self, notification: Notification) -> Result<Delivery>;
}

/// A shared, type-erased [`Notifier`].
pub type DynNotifier = Arc<dyn Notifier>;

macro_rules! forward_notifier {
    ($ty:ty) => {
        #[async_trait]
        impl<T: Notifier + ?Sized> Notifier for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capabilities(&self) -> NotifierCapabilities {
                (**self).capabilities()
            }
            async fn notify(&self, notification: Notification) -> Result<Delivery> {
                (**self).notify(notification).await
            }
        }
    };
}

forward_notifier!(Arc<T>);
forward_notifier!(Box<T>);

/// Conveniences over [`Notifier`], for every notifier.
#[async_trait]
pub trait NotifierExt: Notifier {
    /// Send a plain-text notification.
    async fn notify_text(&self, text: &str) -> Result<Delivery> {
        self.notify(Notification::new(text)).await
    }
}

impl<T: Notifier + ?Sized> NotifierExt for T {}
