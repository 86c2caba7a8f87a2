//! Conformance scenarios for [`Notifier`].
//!
//! Point these at a backend whose peer is local (a wiremock stub, an SMTP
//! sink): they send real notifications.

use plugbay_core::ErrorKind;

use crate::notification::{Notification, Severity};
use crate::notifier::Notifier;

fn sample(n: &dyn Notifier, text: impl Into<String>) -> Notification {
    let mut notification = Notification::new(text)
        .subject("plugbay conformance")
        .field("scenario", "notify")
        .severity(Severity::Info);
    if n.capabilities().recipients {
        notification = notification.to("conformance@example.com");
    }
    notification
}

/// A simple notification is accepted and the delivery names the backend.
pub async fn notify_simple(n: &dyn Notifier) {
    let delivery = n.notify(sample(n, "hello from plugbay")).await.unwrap();
    assert_eq!(delivery.backend, n.backend());
}

/// A text far longer than any provider accepts is truncated by the backend,
/// not rejected.
pub async fn notify_long_text(n: &dyn Notifier) {
    let text = "long text ".repeat(5_000);
    let delivery = n.notify(sample(n, text)).await.unwrap();
    assert_eq!(delivery.backend, n.backend());
}

/// Blank text is `InvalidInput`, whatever the backend.
pub async fn empty_text_is_invalid(n: &dyn Notifier) {
    for text in ["", "   \n"] {
        let err = n.notify(sample(n, text)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{text:?}: {err}");
    }
}

/// Every severity is accepted.
pub async fn every_severity(n: &dyn Notifier) {
    for severity in [
        Severity::Info,
        Severity::Success,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ] {
        let notification = sample(n, format!("severity {}", severity.as_str())).severity(severity);
        n.notify(notification).await.unwrap();
    }
}

/// Run every notifier scenario.
pub async fn run_all(n: &dyn Notifier) {
    notify_simple(n).await;
    notify_long_text(n).await;
    empty_text_is_invalid(n).await;
    every_severity(n).await;
}
