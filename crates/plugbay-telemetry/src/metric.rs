//! Metrics: what [`crate::Metrics`] records.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use plugbay_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// The longest metric name accepted (Datadog's limit).
pub const MAX_METRIC_NAME_LEN: usize = 200;

/// A metric's kind and value, following DogStatsD's types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
#[non_exhaustive]
pub enum MetricValue {
    /// Add to a count (`c`).
    Counter(f64),
    /// Set the current value (`g`).
    Gauge(f64),
    /// One sample of a client-side aggregated distribution (`h`).
    Histogram(f64),
    /// One sample of a server-side (global) distribution (`d`).
    Distribution(f64),
    /// One member of a set; the backend counts unique members (`s`).
    Set(String),
}

impl MetricValue {
    /// The kind's name (`"counter"`, `"gauge"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            MetricValue::Counter(_) => "counter",
            MetricValue::Gauge(_) => "gauge",
            MetricValue::Histogram(_) => "histogram",
            MetricValue::Distribution(_) => "distribution",
            MetricValue::Set(_) => "set",
        }
    }

    /// The numeric value; `None` for a set.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            MetricValue::Counter(v)
            | MetricValue::Gauge(v)
            | MetricValue::Histogram(v)
            | MetricValue::Distribution(v) => Some(*v),
            MetricValue::Set(_) => None,
        }
    }
}

/// One metric sample.
///
/// Tags are `key:value` pairs; an empty value means a bare tag (`"canary"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metric {
    /// Dotted name (`"http.requests"`); see [`validate_metric_name`].
    pub name: String,
    /// Kind and value.
    pub value: MetricValue,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// The fraction of samples the caller sends, in `(0, 1]`; backends scale
    /// counts by it.
    pub sample_rate: f64,
    /// When it was measured.
    pub timestamp: SystemTime,
}

impl Default for Metric {
    fn default() -> Metric {
        Metric::new("", MetricValue::Counter(0.0))
    }
}

impl Metric {
    /// A metric sample measured now, unsampled.
    pub fn new(name: impl Into<String>, value: MetricValue) -> Metric {
        Metric {
            name: name.into(),
            value,
            tags: BTreeMap::new(),
            sample_rate: 1.0,
            timestamp: SystemTime::now(),
        }
    }

    /// Add `by` to counter `name`.
    pub fn counter(name: impl Into<String>, by: f64) -> Metric {
        Metric::new(name, MetricValue::Counter(by))
    }

    /// Set gauge `name` to `value`.
    pub fn gauge(name: impl Into<String>, value: f64) -> Metric {
        Metric::new(name, MetricValue::Gauge(value))
    }

    /// One histogram sample.
    pub fn histogram(name: impl Into<String>, value: f64) -> Metric {
        Metric::new(name, MetricValue::Histogram(value))
    }

    /// One distribution sample.
    pub fn distribution(name: impl Into<String>, value: f64) -> Metric {
        Metric::new(name, MetricValue::Distribution(value))
    }

    /// A duration, as a distribution sample in milliseconds.
    pub fn timing(name: impl Into<String>, elapsed: Duration) -> Metric {
        Metric::distribution(name, elapsed.as_secs_f64() * 1000.0)
    }

    /// One set member.
    pub fn set(name: impl Into<String>, member: impl Into<String>) -> Metric {
        Metric::new(name, MetricValue::Set(member.into()))
    }

    /// Add a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Metric {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Set the sample rate.
    pub fn sample_rate(mut self, rate: f64) -> Metric {
        self.sample_rate = rate;
        self
    }

    /// Set the timestamp.
    pub fn timestamp(mut self, timestamp: SystemTime) -> Metric {
        self.timestamp = timestamp;
        self
    }

    /// Check the name, tags, sample rate and value; `InvalidInput`
    /// otherwise. Backends drop (and count) metrics that fail this.
    pub fn validate(&self) -> Result<()> {
        validate_metric_name(&self.name)?;
        for (key, value) in &self.tags {
            validate_tag(key, value)?;
        }
        if !(self.sample_rate > 0.0 && self.sample_rate <= 1.0) {
            return Err(Error::invalid_input("metric sample rate must be in (0, 1]"));
        }
        match &self.value {
            MetricValue::Set(member) => {
                if member.is_empty() || member.contains(['|', '\n', ':']) {
                    return Err(Error::invalid_input(
                        "metric set member is empty or contains `|`, `:` or a newline",
                    ));
                }
            }
            other => {
                if !other.as_f64().is_some_and(f64::is_finite) {
                    return Err(Error::invalid_input("metric value is not finite"));
                }
            }
        }
        Ok(())
    }
}

/// Check a metric name: starts with an ASCII letter, then ASCII letters,
/// digits, `_` or `.`, at most [`MAX_METRIC_NAME_LEN`] characters (the
/// rules Datadog applies; other backends accept a superset).
pub fn validate_metric_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(Error::invalid_input("metric name is empty"));
    };
    if !first.is_ascii_alphabetic() {
        return Err(Error::invalid_input("metric name must start with a letter"));
    }
    if name.len() > MAX_METRIC_NAME_LEN {
        return Err(Error::invalid_input(
            "metric name is longer than 200 characters",
        ));
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        return Err(Error::invalid_input(
            "metric name may hold only ASCII letters, digits, `_` and `.`",
        ));
    }
    Ok(())
}

/// Check a tag: a non-empty key, and neither part containing the DogStatsD
/// delimiters `|`, `,`, `#` or a newline.
pub fn validate_tag(key: &str, value: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid_input("metric tag key is empty"));
    }
    let bad = |s: &str| s.contains(['|', ',', '#', '\n', '\r']);
    if bad(key) || bad(value) {
        return Err(Error::invalid_input(
            "metric tag contains `|`, `,`, `#` or a newline",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;

    #[test]
    fn constructors_pick_the_kind() {
        assert_eq!(Metric::counter("a", 1.0).value.kind(), "counter");
        assert_eq!(Metric::gauge("a", 1.0).value.kind(), "gauge");
        assert_eq!(Metric::histogram("a", 1.0).value.kind(), "histogram");
        assert_eq!(Metric::set("a", "u1").value.kind(), "set");
        let t = Metric::timing("a", Duration::from_millis(250));
        assert_eq!(t.value, MetricValue::Distribution(250.0));
    }

    #[test]
    fn valid_metrics_pass() {
        let m = Metric::counter("http.requests_total", 1.0)
            .tag("route", "/v1/chat")
            .tag("canary", "")
            .sample_rate(0.5);
        assert!(m.validate().is_ok());
    }

    #[test]
    fn invalid_metrics_fail_with_invalid_input() {
        let cases = [
            Metric::counter("", 1.0),
            Metric::counter("1abc", 1.0),
            Metric::counter("a-b", 1.0),
            Metric::counter("a".repeat(201), 1.0),
            Metric::counter("a", 1.0).tag("", "x"),
            Metric::counter("a", 1.0).tag("k", "a|b"),
            Metric::counter("a", 1.0).tag("k#", "v"),
            Metric::counter("a", 1.0).sample_rate(0.0),
            Metric::counter("a", 1.0).sample_rate(1.5),
            Metric::gauge("a", f64::NAN),
            Metric::gauge("a", f64::INFINITY),
            Metric::set("a", ""),
            Metric::set("a", "x|y"),
        ];
        for m in cases {
            assert_eq!(
                m.validate().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{m:?}"
            );
        }
    }
}
