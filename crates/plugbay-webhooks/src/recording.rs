//! [`RecordingNotifier`]: keeps what it was asked to send, for assertions.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;
use plugbay_core::{Error, Result};

use crate::notification::{Delivery, Notification};
use crate::notifier::{Notifier, NotifierCapabilities};

#[derive(Debug, Default)]
struct State {
    sent: Vec<Notification>,
    failures: VecDeque<Error>,
    attempts: usize,
}

/// A notifier that records notifications instead of sending them.
///
/// Use it in tests of code that notifies: read back what was sent with
/// [`RecordingNotifier::sent`], and script failures with
/// [`RecordingNotifier::fail_next`] to test error paths. Validation is the
/// same as a real backend's (blank text is `InvalidInput`).
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    state: Mutex<State>,
}

impl RecordingNotifier {
    /// An empty recorder.
    pub fn new() -> RecordingNotifier {
        RecordingNotifier::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` inconsistent
        // (every update is a single push/pop), so poisoning is ignored.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Make the next `notify` call fail with `error` (queued: several calls
    /// queue several failures, answered in order).
    pub fn fail_next(&self, error: Error) {
        self.state().failures.push_back(error);
    }

    /// Every notification accepted so far, in order.
    pub fn sent(&self) -> Vec<Notification> {
        self.state().sent.clone()
    }

    /// How many times `notify` was called, failures included.
    pub fn attempts(&self) -> usize {
        self.state().attempts
    }

    /// Forget recorded notifications and queued failures.
    pub fn clear(&self) {
        *self.state() = State::default();
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    fn backend(&self) -> &'static str {
        "recording"
    }

    fn capabilities(&self) -> NotifierCapabilities {
        NotifierCapabilities::new()
            .markdown(true)
            .fields(true)
            .recipients(true)
            .idempotency(true)
    }

    async fn notify(&self, notification: Notification) -> Result<Delivery> {
        let mut state = self.state();
        state.attempts += 1;
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        notification.validate()?;
        if let Some(key) = &notification.idempotency_key {
            let index = state
                .sent
                .iter()
                .position(|n| n.idempotency_key.as_ref() == Some(key));
            if let Some(index) = index {
                return Ok(Delivery::new("recording", SystemTime::now())
                    .with_id(format!("rec-{}", index + 1)));
            }
        }
        state.sent.push(notification);
        let id = format!("rec-{}", state.sent.len());
        Ok(Delivery::new("recording", SystemTime::now()).with_id(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::notifier as suite;
    use plugbay_core::ErrorKind;

    #[tokio::test]
    async fn records_in_order_and_scripts_failures() {
        let n = RecordingNotifier::new();
        n.notify(Notification::new("one")).await.unwrap();
        n.fail_next(Error::new(ErrorKind::RateLimited, "slow down"));
        let err = n.notify(Notification::new("two")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        let d = n.notify(Notification::new("three")).await.unwrap();
        assert_eq!(d.id.as_deref(), Some("rec-2"));
        let texts: Vec<_> = n.sent().into_iter().map(|n| n.text).collect();
        assert_eq!(texts, ["one", "three"]);
        assert_eq!(n.attempts(), 3);
        n.clear();
        assert!(n.sent().is_empty());
    }

    #[tokio::test]
    async fn idempotency_key_dedupes() {
        let n = RecordingNotifier::new();
        let a = n
            .notify(Notification::new("x").idempotency_key("k"))
            .await
            .unwrap();
        let b = n
            .notify(Notification::new("x").idempotency_key("k"))
            .await
            .unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(n.sent().len(), 1);
    }

    #[tokio::test]
    async fn conformance() {
        suite::run_all(&RecordingNotifier::new()).await;
    }
}
