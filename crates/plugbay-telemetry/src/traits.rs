//! The three telemetry traits: [`ErrorReporter`], [`Analytics`],
//! [`Metrics`].
//!
//! They share one contract: the recording call (`capture`, `track`,
//! `record`) is synchronous, never blocks and never fails. Remote backends
//! enqueue into a bounded [`crate::BatchPipeline`] and count what they drop
//! (a full queue, an invalid event, a batch the provider kept refusing) in
//! [`PipelineStats`]; `flush` waits for what was recorded before it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plugbay_core::{Error, Result};

use crate::metric::Metric;
use crate::pipeline::PipelineStats;
use crate::types::{AnalyticsEvent, ErrorEvent, Level};

/// Reports errors to an error tracker (Sentry, a log).
#[async_trait]
pub trait ErrorReporter: Send + Sync + fmt::Debug {
    /// The backend's short name (`"tracing"`, `"sentry"`).
    fn backend(&self) -> &'static str;

    /// Record `event`. Never blocks, never fails: an event that cannot be
    /// queued is dropped and counted in [`ErrorReporter::stats`].
    fn capture(&self, event: ErrorEvent);

    /// Wait until every event captured before this call has been handed to
    /// the provider (or dropped and counted). `Timeout` if that takes
    /// longer than `timeout`.
    async fn flush(&self, timeout: Duration) -> Result<()>;

    /// Counters of queued, sent and dropped events (zeros for backends
    /// that do not queue).
    fn stats(&self) -> PipelineStats {
        PipelineStats::default()
    }
}

/// Records product-analytics events (Mixpanel, GA4, a database).
#[async_trait]
pub trait Analytics: Send + Sync + fmt::Debug {
    /// The backend's short name.
    fn backend(&self) -> &'static str;

    /// Record `event`. Never blocks, never fails; invalid or unqueueable
    /// events are dropped and counted.
    fn track(&self, event: AnalyticsEvent);

    /// Wait until every event tracked before this call has been handed to
    /// the provider (or dropped and counted); `Timeout` past `timeout`.
    async fn flush(&self, timeout: Duration) -> Result<()>;

    /// Counters of queued, sent and dropped events.
    fn stats(&self) -> PipelineStats {
        PipelineStats::default()
    }
}

/// Records metrics (DogStatsD, Datadog HTTP, a log).
#[async_trait]
pub trait Metrics: Send + Sync + fmt::Debug {
    /// The backend's short name.
    fn backend(&self) -> &'static str;

    /// Record `metric`. Never blocks, never fails; invalid or unqueueable
    /// metrics are dropped and counted.
    fn record(&self, metric: Metric);

    /// Wait until every metric recorded before this call has been handed
    /// to the provider (or dropped and counted); `Timeout` past `timeout`.
    async fn flush(&self, timeout: Duration) -> Result<()>;

    /// Counters of queued, sent and dropped metrics.
    fn stats(&self) -> PipelineStats {
        PipelineStats::default()
    }
}

/// A shared, type-erased [`ErrorReporter`].
pub type DynErrorReporter = Arc<dyn ErrorReporter>;
/// A shared, type-erased [`Analytics`].
pub type DynAnalytics = Arc<dyn Analytics>;
/// A shared, type-erased [`Metrics`].
pub type DynMetrics = Arc<dyn Metrics>;

macro_rules! forward {
    ($ty:ty) => {
        #[async_trait]
        impl<T: ErrorReporter + ?Sized> ErrorReporter for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capture(&self, event: ErrorEvent) {
                (**self).capture(event)
            }
            async fn flush(&self, timeout: Duration) -> Result<()> {
                (**self).flush(timeout).await
            }
            fn stats(&self) -> PipelineStats {
                (**self).stats()
            }
        }

        #[async_trait]
        impl<T: Analytics + ?Sized> Analytics for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn track(&self, event: AnalyticsEvent) {
                (**self).track(event)
            }
            async fn flush(&self, timeout: Duration) -> Result<()> {
                (**self).flush(timeout).await
            }
            fn stats(&self) -> PipelineStats {
                (**self).stats()
            }
        }

        #[async_trait]
        impl<T: Metrics + ?Sized> Metrics for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn record(&self, metric: Metric) {
                (**self).record(metric)
            }
            async fn flush(&self, timeout: Duration) -> Result<()> {
                (**self).flush(timeout).await
            }
            fn stats(&self) -> PipelineStats {
                (**self).stats()
            }
        }
    };
}

forward!(Arc<T>);
forward!(Box<T>);

/// Conveniences over [`ErrorReporter`].
pub trait ErrorReporterExt: ErrorReporter {
    /// Capture a plugbay [`Error`] (see [`ErrorEvent::from_error`]).
    fn capture_error(&self, err: &Error) {
        self.capture(ErrorEvent::from_error(err));
    }

    /// Capture a plain message at `level`.
    fn capture_message(&self, message: &str, level: Level) {
        self.capture(ErrorEvent::new(message).level(level));
    }
}

impl<T: ErrorReporter + ?Sized> ErrorReporterExt for T {}

/// Conveniences over [`Analytics`].
pub trait AnalyticsExt: Analytics {
    /// Track `name` by `distinct_id` with no properties.
    fn track_event(&self, name: &str, distinct_id: &str) {
        self.track(AnalyticsEvent::new(name, distinct_id));
    }
}

impl<T: Analytics + ?Sized> AnalyticsExt for T {}

/// Conveniences over [`Metrics`].
pub trait MetricsExt: Metrics {
    /// Add `by` to counter `name`.
    fn incr(&self, name: &str, by: f64) {
        self.record(Metric::counter(name, by));
    }

    /// Set gauge `name`.
    fn gauge(&self, name: &str, value: f64) {
        self.record(Metric::gauge(name, value));
    }

    /// Record a histogram sample.
    fn histogram(&self, name: &str, value: f64) {
        self.record(Metric::histogram(name, value));
    }

    /// Record a duration in milliseconds (a distribution).
    fn timing(&self, name: &str, elapsed: Duration) {
        self.record(Metric::timing(name, elapsed));
    }
}

impl<T: Metrics + ?Sized> MetricsExt for T {}
