//! Logging set-up: `tracing-subscriber` formatting, an `EnvFilter`, rolling
//! files through a non-blocking writer, and a separate, lossless security
//! log.
//!
//! Normal logs go through `tracing-appender`'s non-blocking writer: a slow
//! disk never stalls a request, at the price of dropping lines if its
//! buffer fills. Security events (target [`SECURITY_TARGET`]) are the
//! opposite trade: they are written synchronously to their own file, and
//! they bypass the level filter, so an audit trail is never lost to a
//! quiet `error` filter or a full buffer.
//!
//! Rotation is by time only (`tracing-appender` has no size-based rotation
//! or compression); `max_files` keeps the newest N files of a rotating log.
//!
//! Callers must not log secrets: nothing here redacts field values. Use
//! `plugbay_core::redact::redact` on text that may contain one.

use std::fs::{File, OpenOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use plugbay_core::{Error, ErrorKind, Result};
use tracing::Subscriber;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation as AppenderRotation};
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;

/// The `tracing` target of security events.
pub const SECURITY_TARGET: &str = "security";

/// How log lines are formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line (for production and log shippers).
    #[default]
    Json,
    /// Multi-line, human-friendly (for development).
    Pretty,
    /// One short line per event.
    Compact,
}

/// When a log file rolls over to a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Rotation {
    /// A new file every minute (mostly for tests).
    Minutely,
    /// A new file every hour.
    Hourly,
    /// A new file every day.
    #[default]
    Daily,
    /// A new file every week.
    Weekly,
    /// One file forever (`<prefix>.log`).
    Never,
}

impl Rotation {
    fn to_appender(self) -> AppenderRotation {
        match self {
            Rotation::Minutely => AppenderRotation::MINUTELY,
            Rotation::Hourly => AppenderRotation::HOURLY,
            Rotation::Daily => AppenderRotation::DAILY,
            Rotation::Weekly => AppenderRotation::WEEKLY,
            Rotation::Never => AppenderRotation::NEVER,
        }
    }
}

/// A rolling log file: `<dir>/<prefix>.<date>.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileOutput {
    /// The directory (created if missing).
    pub dir: PathBuf,
    /// The file name prefix. Default `"app"`.
    pub prefix: String,
    /// When to roll over. Default daily.
    pub rotation: Rotation,
    /// Keep at most this many files, deleting the oldest (`None`: keep all).
    pub max_files: Option<usize>,
}

impl FileOutput {
    /// Daily files `app.<date>.log` in `dir`, all kept.
    pub fn new(dir: impl Into<PathBuf>) -> FileOutput {
        FileOutput {
            dir: dir.into(),
            prefix: "app".to_owned(),
            rotation: Rotation::Daily,
            max_files: None,
        }
    }

    /// Set the file name prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> FileOutput {
        self.prefix = prefix.into();
        self
    }

    /// Set the rotation.
    pub fn rotation(mut self, rotation: Rotation) -> FileOutput {
        self.rotation = rotation;
        self
    }

    /// Keep at most `n` files.
    pub fn max_files(mut self, n: usize) -> FileOutput {
        self.max_files = Some(n);
        self
    }
}

/// Logging settings for [`init_logging`] / [`build_subscriber`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogConfig {
    /// Line format, for stdout and the file. Default JSON.
    pub format: LogFormat,
    /// An `EnvFilter` directive (`"info"`, `"warn,plugbay=debug"`).
    /// Default `"info"`. It does not apply to security events.
    pub filter: String,
    /// Write to stdout. Default `true`.
    pub stdout: bool,
    /// Colour stdout; `None` (default) colours when stdout is a terminal
    /// and the format is not JSON.
    pub ansi: Option<bool>,
    /// Also write to rolling files.
    pub file: Option<FileOutput>,
    /// Write security events (target `security`) to this file, as JSON,
    /// synchronously and regardless of `filter`.
    pub security_file: Option<PathBuf>,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            format: LogFormat::Json,
            filter: "info".to_owned(),
            stdout: true,
            ansi: None,
            file: None,
            security_file: None,
        }
    }
}

impl LogConfig {
    /// The defaults: JSON to stdout at `info`.
    pub fn new() -> LogConfig {
        LogConfig::default()
    }

    /// Set the format.
    pub fn format(mut self, format: LogFormat) -> LogConfig {
        self.format = format;
        self
    }

    /// Set the filter directive.
    pub fn filter(mut self, filter: impl Into<String>) -> LogConfig {
        self.filter = filter.into();
        self
    }

    /// Turn stdout output on or off.
    pub fn stdout(mut self, on: bool) -> LogConfig {
        self.stdout = on;
        self
    }

    /// Force colours on or off.
    pub fn ansi(mut self, on: bool) -> LogConfig {
        self.ansi = Some(on);
        self
    }

    /// Also write rolling files.
    pub fn file(mut self, file: FileOutput) -> LogConfig {
        self.file = Some(file);
        self
    }

    /// Write security events to `path`.
    pub fn security_file(mut self, path: impl Into<PathBuf>) -> LogConfig {
        self.security_file = Some(path.into());
        self
    }
}

/// Keeps the background log writers alive; dropping it flushes what they
/// buffered. Hold it for the life of the program (in `main`).
#[must_use = "dropping the guard stops the log writers"]
#[derive(Debug)]
pub struct LoggingGuard {
    _writers: Vec<WorkerGuard>,
}

/// The subscriber [`build_subscriber`] returns.
pub type LoggingSubscriber = Box<dyn Subscriber + Send + Sync>;

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

fn fmt_layer<W>(format: LogFormat, writer: W, ansi: bool) -> BoxedLayer
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => layer.json().boxed(),
        LogFormat::Pretty => layer.pretty().boxed(),
        LogFormat::Compact => layer.compact().boxed(),
    }
}

fn env_filter(directive: &str) -> Result<EnvFilter> {
    EnvFilter::try_new(directive).map_err(|e| {
        Error::config(format!("invalid log filter {directive:?}: {e}")).with_operation("logging")
    })
}

fn open_append(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    Ok(OpenOptions::new().create(true).append(true).open(path)?)
}

/// Build the subscriber described by `config` without installing it, plus
/// the guard that keeps its writers running. Tests use it with
/// `tracing::subscriber::with_default`; [`init_logging`] installs it.
///
/// `Config` error for a bad filter directive or an unusable log directory;
/// the I/O error's kind if the security file cannot be opened.
pub fn build_subscriber(config: &LogConfig) -> Result<(LoggingSubscriber, LoggingGuard)> {
    let mut layers: Vec<BoxedLayer> = Vec::new();
    let mut guards = Vec::new();

    if config.stdout {
        let ansi = config
            .ansi
            .unwrap_or_else(|| config.format != LogFormat::Json && std::io::stdout().is_terminal());
        let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
        guards.push(guard);
        layers.push(
            fmt_layer(config.format, writer, ansi)
                .with_filter(env_filter(&config.filter)?)
                .boxed(),
        );
    }

    if let Some(file) = &config.file {
        let mut builder = RollingFileAppender::builder()
            .rotation(file.rotation.to_appender())
            .filename_prefix(file.prefix.clone())
            .filename_suffix("log");
        if let Some(n) = file.max_files {
            builder = builder.max_log_files(n.max(1));
        }
        let appender = builder.build(&file.dir).map_err(|e| {
            Error::config(format!("cannot open log directory {:?}: {e}", file.dir))
                .with_operation("logging")
        })?;
        let (writer, guard) = tracing_appender::non_blocking(appender);
        guards.push(guard);
        layers.push(
            fmt_layer(config.format, writer, false)
                .with_filter(env_filter(&config.filter)?)
                .boxed(),
        );
    }

    if let Some(path) = &config.security_file {
        // A Mutex<File> writer writes each formatted line with one
        // synchronous write: nothing is buffered, so nothing can be lost.
        let writer = Mutex::new(open_append(path)?);
        layers.push(
            fmt_layer(LogFormat::Json, writer, false)
                .with_filter(filter_fn(|meta| {
                    meta.target() == SECURITY_TARGET || meta.target().starts_with("security::")
                }))
                .boxed(),
        );
    }

    let subscriber = tracing_subscriber::registry().with(layers);
    Ok((Box::new(subscriber), LoggingGuard { _writers: guards }))
}

/// Build the subscriber described by `config` and install it as the global
/// default (also forwarding `log` records to it). Keep the returned guard
/// alive until the program exits.
///
/// `AlreadyExists` if a global subscriber is already installed.
pub fn init_logging(config: &LogConfig) -> Result<LoggingGuard> {
    use tracing_subscriber::util::SubscriberInitExt;
    let (subscriber, guard) = build_subscriber(config)?;
    subscriber.try_init().map_err(|e| {
        Error::new(
            ErrorKind::AlreadyExists,
            format!("a global logger is already installed: {e}"),
        )
        .with_operation("logging")
    })?;
    Ok(guard)
}

/// Emit a security event (`WARN`, target `security`): a login failure, a
/// refresh-token reuse, a webhook signature failure.
///
/// `kind` names the event (`"auth.login_failed"`), `subject` whom it is
/// about (a user id, an IP), `details` extra pairs, written as one JSON
/// object field. Never pass secrets (tokens, passwords, signatures).
pub fn security_event(kind: &str, subject: Option<&str>, details: &[(&str, &str)]) {
    let details = serde_json::Value::Object(
        details
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
            .collect(),
    );
    tracing::warn!(
        target: SECURITY_TARGET,
        kind,
        subject = subject.unwrap_or_default(),
        details = %details,
        "security event"
    );
}

#[cfg(test)]
#[path = "logging_tests.rs"]
mod tests;
