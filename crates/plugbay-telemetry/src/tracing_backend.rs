//! Backends that write telemetry as structured `tracing` events: the
//! embedded defaults when no Sentry, Mixpanel or Datadog is configured.
//!
//! Events go to the process's logging setup (see [`crate::logging`]), which
//! already writes through a non-blocking writer, so recording stays cheap.

use std::time::Duration;

use async_trait::async_trait;
use plugbay_core::Result;

use crate::metric::Metric;
use crate::traits::{Analytics, ErrorReporter, Metrics};
use crate::types::{AnalyticsEvent, ErrorEvent, Level};

/// The target of [`TracingErrorReporter`] events.
pub const ERROR_TARGET: &str = "plugbay::telemetry::error";
/// The target of [`TracingAnalytics`] events.
pub const ANALYTICS_TARGET: &str = "plugbay::telemetry::analytics";
/// The target of [`TracingMetrics`] events.
pub const METRICS_TARGET: &str = "plugbay::telemetry::metrics";

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Writes each error event as one `tracing` event at the matching level
/// (target [`ERROR_TARGET`]): `WARN` for warnings, `ERROR` for errors and
/// fatal ones, `INFO`/`DEBUG` below.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingErrorReporter;

impl TracingErrorReporter {
    /// A tracing error reporter.
    pub fn new() -> TracingErrorReporter {
        TracingErrorReporter
    }
}

#[async_trait]
impl ErrorReporter for TracingErrorReporter {
    fn backend(&self) -> &'static str {
        "tracing"
    }

    fn capture(&self, e: ErrorEvent) {
        let event_id = e.event_id.to_string();
        let error_kind = e.error_kind.as_deref().unwrap_or_default();
        let user_id = e.user_id.as_deref().unwrap_or_default();
        let tags = json(&e.tags);
        let extra = json(&e.extra);
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: ERROR_TARGET,
                    $level,
                    event_id,
                    level = e.level.as_str(),
                    error_kind,
                    user_id,
                    tags = %tags,
                    extra = %extra,
                    "{}",
                    e.message
                )
            };
        }
        match e.level {
            Level::Debug => emit!(tracing::Level::DEBUG),
            Level::Info => emit!(tracing::Level::INFO),
            Level::Warning => emit!(tracing::Level::WARN),
            _ => emit!(tracing::Level::ERROR),
        }
    }

    async fn flush(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
}

/// Writes each analytics event as one `INFO` `tracing` event (target
/// [`ANALYTICS_TARGET`]). Invalid events are logged at `DEBUG` and dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingAnalytics;

impl TracingAnalytics {
    /// A tracing analytics backend.
    pub fn new() -> TracingAnalytics {
        TracingAnalytics
    }
}

#[async_trait]
impl Analytics for TracingAnalytics {
    fn backend(&self) -> &'static str {
        "tracing"
    }

    fn track(&self, e: AnalyticsEvent) {
        if let Err(err) = e.validate() {
            tracing::debug!(target: ANALYTICS_TARGET, error = %err, "analytics event dropped");
            return;
        }
        tracing::info!(
            target: ANALYTICS_TARGET,
            event = %e.name,
            distinct_id = %e.distinct_id,
            insert_id = %e.insert_id,
            properties = %json(&e.properties),
            "analytics event"
        );
    }

    async fn flush(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
}

/// Writes each metric as one `DEBUG` `tracing` event (target
/// [`METRICS_TARGET`]); metrics are frequent, so they stay out of an
/// `info` log. Invalid metrics are logged and dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingMetrics;

impl TracingMetrics {
    /// A tracing metrics backend.
    pub fn new() -> TracingMetrics {
        TracingMetrics
    }
}

#[async_trait]
impl Metrics for TracingMetrics {
    fn backend(&self) -> &'static str {
        "tracing"
    }

    fn record(&self, m: Metric) {
        if let Err(err) = m.validate() {
            tracing::debug!(target: METRICS_TARGET, error = %err, "metric dropped");
            return;
        }
        let value = match &m.value {
            crate::metric::MetricValue::Set(member) => member.clone(),
            other => other.as_f64().unwrap_or_default().to_string(),
        };
        tracing::debug!(
            target: METRICS_TARGET,
            metric = %m.name,
            kind = m.value.kind(),
            value = %value,
            sample_rate = m.sample_rate,
            tags = %json(&m.tags),
            "metric"
        );
    }

    async fn flush(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture_lines(f: impl FnOnce()) -> Vec<serde_json::Value> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn events_are_structured() {
        let lines = capture_lines(|| {
            TracingErrorReporter::new().capture(
                ErrorEvent::new("db down")
                    .level(Level::Warning)
                    .tag("db", "main"),
            );
            TracingAnalytics::new()
                .track(AnalyticsEvent::new("signup", "u1").property("plan", "pro"));
            TracingAnalytics::new().track(AnalyticsEvent::new("", "u1"));
            TracingMetrics::new().record(Metric::counter("jobs.done", 3.0).tag("q", "a"));
        });
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0]["level"], "WARN");
        assert_eq!(lines[0]["target"], ERROR_TARGET);
        assert_eq!(lines[0]["fields"]["message"], "db down");
        assert_eq!(lines[0]["fields"]["tags"], r#"{"db":"main"}"#);
        assert_eq!(lines[1]["fields"]["event"], "signup");
        assert_eq!(lines[1]["fields"]["properties"], r#"{"plan":"pro"}"#);
        assert_eq!(lines[2]["fields"]["message"], "analytics event dropped");
        assert_eq!(lines[3]["target"], METRICS_TARGET);
        assert_eq!(lines[3]["fields"]["metric"], "jobs.done");
        assert_eq!(lines[3]["fields"]["value"], "3");
    }

    #[tokio::test]
    async fn conformance() {
        conformance::error_reporter::run_all(&TracingErrorReporter::new()).await;
        conformance::analytics::run_all(&TracingAnalytics::new()).await;
        conformance::metrics::run_all(&TracingMetrics::new()).await;
    }
}
