//! In-memory backends that keep every event, for assertions in tests.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use plugbay_core::Result;

use crate::metric::Metric;
use crate::traits::{Analytics, ErrorReporter, Metrics};
use crate::types::{AnalyticsEvent, ErrorEvent};

/// A list behind a lock whose poisoning is harmless (every update is one
/// push or one clear).
#[derive(Debug)]
struct Store<T>(Mutex<Vec<T>>);

impl<T: Clone> Store<T> {
    fn new() -> Store<T> {
        Store(Mutex::new(Vec::new()))
    }
    fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn push(&self, item: T) {
        self.lock().push(item);
    }
    fn all(&self) -> Vec<T> {
        self.lock().clone()
    }
    fn clear(&self) {
        self.lock().clear();
    }
}

macro_rules! recording_backend {
    ($name:ident, $item:ty, $what:literal) => {
        #[doc = concat!("Keeps every ", $what, " in memory, for assertions in tests.")]
        ///
        /// Recording never blocks or fails, and `flush` returns at once.
        #[derive(Debug)]
        pub struct $name {
            items: Store<$item>,
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $name {
            /// An empty recorder.
            pub fn new() -> Self {
                Self {
                    items: Store::new(),
                }
            }

            #[doc = concat!("Every ", $what, " recorded so far, in order.")]
            pub fn events(&self) -> Vec<$item> {
                self.items.all()
            }

            /// Forget everything recorded.
            pub fn clear(&self) {
                self.items.clear();
            }
        }
    };
}

recording_backend!(RecordingErrorReporter, ErrorEvent, "error event");
recording_backend!(RecordingAnalytics, AnalyticsEvent, "analytics event");
recording_backend!(RecordingMetrics, Metric, "metric");

#[async_trait]
impl ErrorReporter for RecordingErrorReporter {
    fn backend(&self) -> &'static str {
        "recording"
    }
    fn capture(&self, event: ErrorEvent) {
        self.items.push(event);
    }
    async fn flush(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Analytics for RecordingAnalytics {
    fn backend(&self) -> &'static str {
        "recording"
    }
    fn track(&self, event: AnalyticsEvent) {
        self.items.push(event);
    }
    async fn flush(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Metrics for RecordingMetrics {
    fn backend(&self) -> &'static str {
        "recording"
    }
    fn record(&self, metric: Metric) {
        self.items.push(metric);
    }
    async fn flush(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;
    use crate::traits::{AnalyticsExt, ErrorReporterExt, MetricsExt};
    use crate::types::Level;
    use plugbay_core::Error;

    #[tokio::test]
    async fn records_in_order() {
        let errors = RecordingErrorReporter::new();
        errors.capture_message("first", Level::Warning);
        errors.capture_error(&Error::not_found("missing").with_provider("s3"));
        let events = errors.events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].level, Level::Warning);
        assert_eq!(events[1].tags["provider"], "s3");
        errors.clear();
        assert!(errors.events().is_empty());

        let analytics = RecordingAnalytics::new();
        analytics.track_event("signup", "u1");
        assert_eq!(analytics.events()[0].name, "signup");

        let metrics = RecordingMetrics::new();
        metrics.incr("jobs", 2.0);
        metrics.gauge("queue.depth", 7.0);
        let names: Vec<_> = metrics.events().into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["jobs", "queue.depth"]);
    }

    #[tokio::test]
    async fn conformance() {
        conformance::error_reporter::run_all(&RecordingErrorReporter::new()).await;
        conformance::analytics::run_all(&RecordingAnalytics::new()).await;
        conformance::metrics::run_all(&RecordingMetrics::new()).await;
    }
}
