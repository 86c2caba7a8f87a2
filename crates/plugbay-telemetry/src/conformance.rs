//! Public conformance suites for [`ErrorReporter`](crate::ErrorReporter),
//! [`Analytics`](crate::Analytics) and [`Metrics`](crate::Metrics).
//!
//! Every backend must pass them: recording never blocks or panics (even on
//! invalid input), flush succeeds, and a backend that counts
//! ([`crate::PipelineStats`]) accounts for every item — enqueued or
//! dropped. Run them against a remote backend pointed at a local stub.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::pipeline::PipelineStats;

/// How long a scenario lets a flush take.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// Items a burst scenario records.
pub const BURST: u64 = 2_000;

/// Assert that a burst of `n` items was fully accounted for, or that the
/// backend does not count at all.
fn assert_accounted(before: PipelineStats, after: PipelineStats, n: u64) {
    let accounted = (after.enqueued + after.dropped()) - (before.enqueued + before.dropped());
    assert!(
        accounted == 0 || accounted == n,
        "{n} items recorded but {accounted} accounted for: {after:?}"
    );
    assert!(after.sent <= after.enqueued, "{after:?}");
}

/// Scenarios for [`ErrorReporter`](crate::ErrorReporter).
pub mod error_reporter {
    use super::*;
    use crate::traits::{ErrorReporter, ErrorReporterExt};
    use crate::types::{ErrorEvent, Level};
    use plugbay_core::Error;

    /// Captured events are flushed without error.
    pub async fn capture_then_flush(r: &dyn ErrorReporter) {
        r.capture(ErrorEvent::new("conformance error").tag("suite", "conformance"));
        r.capture_error(&Error::not_found("conformance missing").with_provider("test"));
        r.capture_message("conformance message", Level::Info);
        r.flush(FLUSH_TIMEOUT).await.unwrap();
    }

    /// Flushing with nothing queued succeeds at once.
    pub async fn flush_when_idle(r: &dyn ErrorReporter) {
        r.flush(FLUSH_TIMEOUT).await.unwrap();
        r.flush(Duration::from_millis(0)).await.ok();
    }

    /// A burst never blocks the caller, and every event is accounted for.
    pub async fn burst_is_accounted(r: &dyn ErrorReporter) {
        let before = r.stats();
        for i in 0..BURST {
            r.capture(ErrorEvent::new(format!("burst {i}")));
        }
        r.flush(FLUSH_TIMEOUT).await.unwrap();
        assert_accounted(before, r.stats(), BURST);
    }

    /// Run every scenario.
    pub async fn run_all(r: &dyn ErrorReporter) {
        capture_then_flush(r).await;
        flush_when_idle(r).await;
        burst_is_accounted(r).await;
    }
}

/// Scenarios for [`Analytics`](crate::Analytics).
pub mod analytics {
    use super::*;
    use crate::traits::Analytics;
    use crate::types::AnalyticsEvent;

    /// Tracked events are flushed without error.
    pub async fn track_then_flush(a: &dyn Analytics) {
        a.track(AnalyticsEvent::new("conformance_event", "user-1").property("n", 1));
        a.flush(FLUSH_TIMEOUT).await.unwrap();
    }

    /// An invalid event never panics and is never sent.
    pub async fn invalid_event_is_dropped(a: &dyn Analytics) {
        let before = a.stats();
        a.track(AnalyticsEvent::new("", ""));
        a.flush(FLUSH_TIMEOUT).await.unwrap();
        assert_eq!(a.stats().sent, before.sent, "an invalid event was sent");
    }

    /// A burst never blocks, and every event is accounted for.
    pub async fn burst_is_accounted(a: &dyn Analytics) {
        let before = a.stats();
        for i in 0..BURST {
            a.track(AnalyticsEvent::new(
                "conformance_burst",
                format!("user-{i}"),
            ));
        }
        a.flush(FLUSH_TIMEOUT).await.unwrap();
        assert_accounted(before, a.stats(), BURST);
    }

    /// Run every scenario.
    pub async fn run_all(a: &dyn Analytics) {
        track_then_flush(a).await;
        invalid_event_is_dropped(a).await;
        burst_is_accounted(a).await;
    }
}

/// Scenarios for [`Metrics`](crate::Metrics).
pub mod metrics {
    use super::*;
    use crate::metric::Metric;
    use crate::traits::{Metrics, MetricsExt};

    /// Every metric kind is recorded and flushed without error.
    pub async fn every_kind_then_flush(m: &dyn Metrics) {
        m.incr("conformance.count", 1.0);
        m.gauge("conformance.gauge", 2.5);
        m.histogram("conformance.hist", 3.0);
        m.timing("conformance.latency", Duration::from_millis(12));
        m.record(Metric::set("conformance.users", "u1").tag("env", "test"));
        m.flush(FLUSH_TIMEOUT).await.unwrap();
    }

    /// Invalid metrics never panic and are never sent.
    pub async fn invalid_metric_is_dropped(m: &dyn Metrics) {
        let before = m.stats();
        m.record(Metric::gauge("bad name!", f64::NAN));
        m.record(Metric::counter("ok.name", 1.0).sample_rate(0.0));
        m.flush(FLUSH_TIMEOUT).await.unwrap();
        assert_eq!(m.stats().sent, before.sent, "an invalid metric was sent");
    }

    /// A burst never blocks, and every metric is accounted for.
    pub async fn burst_is_accounted(m: &dyn Metrics) {
        let before = m.stats();
        for _ in 0..BURST {
            m.incr("conformance.burst", 1.0);
        }
        m.flush(FLUSH_TIMEOUT).await.unwrap();
        assert_accounted(before, m.stats(), BURST);
    }

    /// Run every scenario.
    pub async fn run_all(m: &dyn Metrics) {
        every_kind_then_flush(m).await;
        invalid_metric_is_dropped(m).await;
        burst_is_accounted(m).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;
    use crate::pipeline::{BatchPipeline, BatchSink, PipelineConfig};
    use crate::traits::Metrics;
    use async_trait::async_trait;
    use std::sync::{Arc, Mutex};

    /// A counting backend shaped like the remote ones: validate, enqueue,
    /// batch to a sink. Shows the suite's accounting checks bite.
    #[derive(Debug)]
    struct QueuedMetrics {
        pipeline: BatchPipeline<Metric>,
    }

    #[derive(Debug, Clone, Default)]
    struct Sink(Arc<Mutex<Vec<Metric>>>);

    #[async_trait]
    impl BatchSink<Metric> for Sink {
        async fn send(&self, batch: &[Metric]) -> plugbay_core::Result<()> {
            self.0.lock().unwrap().extend_from_slice(batch);
            Ok(())
        }
    }

    #[async_trait]
    impl Metrics for QueuedMetrics {
        fn backend(&self) -> &'static str {
            "queued"
        }
        fn record(&self, metric: Metric) {
            if metric.validate().is_err() {
                self.pipeline.count_rejected();
                return;
            }
            self.pipeline.try_enqueue(metric);
        }
        async fn flush(&self, timeout: Duration) -> plugbay_core::Result<()> {
            self.pipeline.flush(timeout).await
        }
        fn stats(&self) -> PipelineStats {
            self.pipeline.stats()
        }
    }

    #[tokio::test]
    async fn counting_backend_passes_and_accounts_for_everything() {
        let sink = Sink::default();
        let config = PipelineConfig::new().capacity(64).max_batch(16);
        let metrics = QueuedMetrics {
            pipeline: BatchPipeline::new(sink.clone(), config).unwrap(),
        };
        metrics::run_all(&metrics).await;
        let stats = metrics.stats();
        // 5 valid kinds + 2 invalid + the burst, each either sent or dropped.
        assert_eq!(stats.enqueued + stats.dropped(), 5 + 2 + BURST);
        assert_eq!(stats.dropped_closed, 2);
        assert_eq!(stats.sent as usize, sink.0.lock().unwrap().len());
        assert_eq!(stats.sent, stats.enqueued);
    }
}
