#![doc = include_str!("../README.md")]

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod logging;
pub mod metric;
pub mod pipeline;
pub mod recording;
pub mod tracing_backend;
pub mod traits;
pub mod types;

pub use logging::{
    FileOutput, LogConfig, LogFormat, LoggingGuard, LoggingSubscriber, Rotation, SECURITY_TARGET,
    build_subscriber, init_logging, security_event,
};
pub use metric::{Metric, MetricValue, validate_metric_name, validate_tag};
pub use pipeline::{BatchPipeline, BatchSink, PipelineConfig, PipelineStats};
pub use recording::{RecordingAnalytics, RecordingErrorReporter, RecordingMetrics};
pub use tracing_backend::{TracingAnalytics, TracingErrorReporter, TracingMetrics};
pub use traits::{
    Analytics, AnalyticsExt, DynAnalytics, DynErrorReporter, DynMetrics, ErrorReporter,
    ErrorReporterExt, Metrics, MetricsExt,
};
pub use types::{AnalyticsEvent, ErrorEvent, Level, validate_event_name};
