//! [`LogNotifier`]: notifications as structured `tracing` events.

use std::time::SystemTime;

use async_trait::async_trait;
use plugbay_core::Result;

use crate::notification::{Delivery, Notification, Severity};
use crate::notifier::{Notifier, NotifierCapabilities};

/// The `tracing` target notifications are logged under.
pub const LOG_TARGET: &str = "plugbay::notify";

/// A notifier that writes each notification as one structured `tracing`
/// event (target [`LOG_TARGET`]), at `INFO` for info/success, `WARN` for
/// warnings and `ERROR` for errors and critical ones.
///
/// It is the embedded default: an application without Slack, Discord or
/// email configured still sees its notifications in its logs. Recipients
/// are logged as a count only (addresses are personal data).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

impl LogNotifier {
    /// A log notifier.
    pub fn new() -> LogNotifier {
        LogNotifier
    }
}

#[async_trait]
impl Notifier for LogNotifier {
    fn backend(&self) -> &'static str {
        "log"
    }

    fn capabilities(&self) -> NotifierCapabilities {
        NotifierCapabilities::new().fields(true)
    }

    async fn notify(&self, n: Notification) -> Result<Delivery> {
        n.validate()?;
        let subject = n.subject.as_deref().unwrap_or_default();
        let link = n.link.as_deref().unwrap_or_default();
        let fields = serde_json::Value::Object(
            n.fields
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        );
        let severity = n.severity.as_str();
        let recipients = n.to.len();
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: LOG_TARGET,
                    $level,
                    severity,
                    subject,
                    link,
                    fields = %fields,
                    recipients,
                    "{}",
                    n.text
                )
            };
        }
        match n.severity {
            Severity::Warning => emit!(tracing::Level::WARN),
            Severity::Error | Severity::Critical => emit!(tracing::Level::ERROR),
            _ => emit!(tracing::Level::INFO),
        }
        Ok(Delivery::new("log", SystemTime::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::notifier as suite;
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

    #[tokio::test]
    async fn writes_one_structured_event() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let delivery = LogNotifier::new()
            .notify(
                Notification::new("disk almost full")
                    .subject("disk")
                    .field("host", "db-1")
                    .severity(Severity::Warning)
                    .to("ops@example.com"),
            )
            .await
            .unwrap();
        assert_eq!(delivery.backend, "log");
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["target"], LOG_TARGET);
        assert_eq!(line["fields"]["message"], "disk almost full");
        assert_eq!(line["fields"]["subject"], "disk");
        assert_eq!(line["fields"]["recipients"], 1);
        assert!(!out.contains("ops@example.com"));
        let fields: serde_json::Value =
            serde_json::from_str(line["fields"]["fields"].as_str().unwrap()).unwrap();
        assert_eq!(fields["host"], "db-1");
    }

    #[tokio::test]
    async fn conformance() {
        suite::run_all(&LogNotifier::new()).await;
    }
}
