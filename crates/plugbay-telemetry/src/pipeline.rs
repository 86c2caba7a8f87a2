//! [`BatchPipeline`]: the bounded, batching, retrying background queue every
//! remote telemetry backend sends through.
//!
//! Producers call [`BatchPipeline::try_enqueue`], which never waits: a full
//! queue drops the item and counts it. One worker task takes items off the
//! queue, groups them into batches (by count, or after `max_delay` since
//! the first item of a batch), and hands each batch to a [`BatchSink`],
//! retrying retryable failures a bounded number of times and honouring the
//! provider's `retry_after`. Flush and shutdown requests travel through the
//! same queue, so "everything enqueued before the call" is exact.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use plugbay_core::http::RetryPolicy;
use plugbay_core::{Error, ErrorKind, Result};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Where a [`BatchPipeline`] delivers its batches (a Sentry envelope POST,
/// a Mixpanel `/import`, a DogStatsD datagram).
#[async_trait]
pub trait BatchSink<T>: Send + Sync + 'static {
    /// Deliver `batch`. On a retryable error (`is_retryable()`) the same
    /// batch is offered again after `retry_after()` or a backoff, so a sink
    /// should make a retried batch idempotent where the provider allows
    /// (insert ids). The batch is borrowed so a retry needs no clone.
    async fn send(&self, batch: &[T]) -> Result<()>;
}

/// Settings of a [`BatchPipeline`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PipelineConfig {
    /// A name for logs (`"sentry"`, `"mixpanel"`).
    pub name: &'static str,
    /// Queue capacity; items beyond it are dropped. Default 1024.
    pub capacity: usize,
    /// The most items per batch (the provider's limit). Default 100.
    pub max_batch: usize,
    /// The longest an item waits for its batch to fill. Default 5 s.
    pub max_delay: Duration,
    /// Retries of a failed batch before it is dropped. Default 3.
    pub max_retries: u32,
    /// The first retry backoff, doubled each time. Default 500 ms.
    pub initial_backoff: Duration,
    /// The longest backoff, and the longest `retry_after` honoured.
    /// Default 60 s.
    pub max_backoff: Duration,
    /// Up to this fraction is taken off each backoff at random, so many
    /// instances that failed together do not retry together. Default 0.25.
    pub jitter: f64,
}

impl Default for PipelineConfig {
    fn default() -> PipelineConfig {
        PipelineConfig {
            name: "telemetry",
            capacity: 1024,
            max_batch: 100,
            max_delay: Duration::from_secs(5),
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            jitter: 0.25,
        }
    }
}

impl PipelineConfig {
    /// The defaults.
    pub fn new() -> PipelineConfig {
        PipelineConfig::default()
    }

    /// Set [`PipelineConfig::name`].
    pub fn name(mut self, name: &'static str) -> PipelineConfig {
        self.name = name;
        self
    }

    /// Set [`PipelineConfig::capacity`].
    pub fn capacity(mut self, capacity: usize) -> PipelineConfig {
        self.capacity = capacity;
        self
    }

    /// Set [`PipelineConfig::max_batch`].
    pub fn max_batch(mut self, max_batch: usize) -> PipelineConfig {
        self.max_batch = max_batch;
        self
    }

    /// Set [`PipelineConfig::max_delay`].
    pub fn max_delay(mut self, max_delay: Duration) -> PipelineConfig {
        self.max_delay = max_delay;
        self
    }

    /// Set [`PipelineConfig::max_retries`].
    pub fn max_retries(mut self, max_retries: u32) -> PipelineConfig {
        self.max_retries = max_retries;
        self
    }

    /// Set [`PipelineConfig::initial_backoff`].
    pub fn initial_backoff(mut self, backoff: Duration) -> PipelineConfig {
        self.initial_backoff = backoff;
        self
    }

    /// Set [`PipelineConfig::max_backoff`].
    pub fn max_backoff(mut self, backoff: Duration) -> PipelineConfig {
        self.max_backoff = backoff;
        self
    }

    /// Set [`PipelineConfig::jitter`] (clamped to `0.0..=1.0`).
    pub fn jitter(mut self, fraction: f64) -> PipelineConfig {
        self.jitter = fraction;
        self
    }

    /// The same exponential, jittered schedule as every HTTP call
    /// (`plugbay_core::http::RetryPolicy`).
    fn backoff(&self, attempt: u32) -> Duration {
        RetryPolicy::default()
            .initial_backoff(self.initial_backoff)
            .max_backoff(self.max_backoff)
            .jitter(self.jitter)
            .backoff(attempt)
    }
}

/// Counters of a pipeline (or of a backend that queues), since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PipelineStats {
    /// Items accepted into the queue.
    pub enqueued: u64,
    /// Items the sink accepted.
    pub sent: u64,
    /// Items dropped because the queue was full.
    pub dropped_full: u64,
    /// Items dropped because their batch failed for good.
    pub dropped_failed: u64,
    /// Items dropped because the pipeline was shut down, or invalid items a
    /// backend refused before queueing.
    pub dropped_closed: u64,
    /// Batches the sink accepted.
    pub batches: u64,
    /// Retries of failed batches.
    pub retries: u64,
}

impl PipelineStats {
    /// Every dropped item, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_full + self.dropped_failed + self.dropped_closed
    }
}

#[derive(Debug, Default)]
struct Counters {
    enqueued: AtomicU64,
    sent: AtomicU64,
    dropped_full: AtomicU64,
    dropped_failed: AtomicU64,
    dropped_closed: AtomicU64,
    batches: AtomicU64,
    retries: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn snapshot(&self) -> PipelineStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        PipelineStats {
            enqueued: get(&self.enqueued),
            sent: get(&self.sent),
            dropped_full: get(&self.dropped_full),
            dropped_failed: get(&self.dropped_failed),
            dropped_closed: get(&self.dropped_closed),
            batches: get(&self.batches),
            retries: get(&self.retries),
        }
    }
}

enum Message<T> {
    Item(T),
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// A bounded queue with a background worker delivering batches to a
/// [`BatchSink`]. See the [module docs](self).
///
/// Dropping the pipeline without [`BatchPipeline::shutdown`] lets the
/// worker deliver what is queued and exit on its own (if the runtime keeps
/// running).
pub struct BatchPipeline<T> {
    tx: mpsc::Sender<Message<T>>,
    counters: Arc<Counters>,
    worker: Mutex<Option<JoinHandle<()>>>,
    config: PipelineConfig,
}

impl<T> fmt::Debug for BatchPipeline<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchPipeline")
            .field("config", &self.config)
            .field("stats", &self.counters.snapshot())
            .finish()
    }
}

impl<T: Send + 'static> BatchPipeline<T> {
    /// Start a pipeline delivering to `sink` on the current Tokio runtime.
    ///
    /// `Config` error if called outside a runtime, or if `capacity` or
    /// `max_batch` is zero.
    pub fn new<S: BatchSink<T>>(sink: S, config: PipelineConfig) -> Result<BatchPipeline<T>> {
        if config.capacity == 0 || config.max_batch == 0 {
            return Err(Error::config(
                "pipeline capacity and max_batch must be at least 1",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::config("a telemetry pipeline needs a running Tokio runtime"))?;
        let (tx, rx) = mpsc::channel(config.capacity);
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            rx,
            sink,
            config: config.clone(),
            counters: counters.clone(),
            buffer: Vec::new(),
        };
        let handle = runtime.spawn(worker.run());
        Ok(BatchPipeline {
            tx,
            counters,
            worker: Mutex::new(Some(handle)),
            config,
        })
    }

    /// Queue `item`; `false` (and a counted drop) if the queue is full or
    /// the pipeline shut down. Never waits.
    pub fn try_enqueue(&self, item: T) -> bool {
        match self.tx.try_send(Message::Item(item)) {
            Ok(()) => {
                Counters::add(&self.counters.enqueued, 1);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                Counters::add(&self.counters.dropped_full, 1);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Counters::add(&self.counters.dropped_closed, 1);
                false
            }
        }
    }

    /// Count an item the caller refused before queueing (an invalid
    /// metric), so every drop shows in [`BatchPipeline::stats`].
    pub fn count_rejected(&self) {
        Counters::add(&self.counters.dropped_closed, 1);
    }

    /// Wait until everything enqueued before this call was handed to the
    /// sink (sent, or dropped after its retries). `Timeout` past
    /// `timeout`; `Ok` at once after a shutdown.
    pub async fn flush(&self, timeout: Duration) -> Result<()> {
        let (reply, done) = oneshot::channel();
        let wait = async {
            if self.tx.send(Message::Flush(reply)).await.is_err() {
                return Ok(());
            }
            done.await.map_err(|_| {
                Error::internal("telemetry pipeline worker stopped").with_provider(self.config.name)
            })
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| self.timeout_error("flush"))?
    }

    /// Flush, then stop the worker. Items enqueued afterwards are dropped
    /// and counted. `Timeout` past `timeout` (the worker then finishes in
    /// the background).
    pub async fn shutdown(&self, timeout: Duration) -> Result<()> {
        let (reply, done) = oneshot::channel();
        let handle = self
            .worker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let wait = async {
            if self.tx.send(Message::Shutdown(reply)).await.is_ok() {
                let _ = done.await;
            }
            if let Some(handle) = handle {
                let _ = handle.await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| self.timeout_error("shutdown"))
    }

    /// The counters so far.
    pub fn stats(&self) -> PipelineStats {
        self.counters.snapshot()
    }

    /// Items (and control requests) waiting in the queue.
    pub fn queued(&self) -> usize {
        self.config.capacity - self.tx.capacity()
    }

    /// The settings.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    fn timeout_error(&self, operation: &'static str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            "telemetry pipeline did not drain in time",
        )
        .with_provider(self.config.name)
        .with_operation(operation)
    }
}

struct Worker<T, S> {
    rx: mpsc::Receiver<Message<T>>,
    sink: S,
    config: PipelineConfig,
    counters: Arc<Counters>,
    buffer: Vec<T>,
}

impl<T: Send + 'static, S: BatchSink<T>> Worker<T, S> {
    async fn run(mut self) {
        let mut deadline: Option<Instant> = None;
        let mut stopped: Option<oneshot::Sender<()>> = None;
        loop {
            let message = match deadline {
                Some(at) => match tokio::time::timeout_at(at, self.rx.recv()).await {
                    Ok(message) => message,
                    Err(_) => {
                        self.deliver().await;
                        deadline = None;
                        continue;
                    }
                },
                None => self.rx.recv().await,
            };
            match message {
                None => break,
                Some(Message::Item(item)) => {
                    if self.buffer.is_empty() {
                        deadline = Some(Instant::now() + self.config.max_delay);
                    }
                    self.buffer.push(item);
                    if self.buffer.len() >= self.config.max_batch {
                        self.deliver().await;
                        deadline = None;
                    }
                }
                Some(Message::Flush(reply)) => {
                    self.deliver().await;
                    deadline = None;
                    let _ = reply.send(());
                }
                Some(Message::Shutdown(reply)) => {
                    // Refuse new items but drain what is already queued.
                    self.rx.close();
                    stopped = Some(reply);
                }
            }
        }
        self.deliver().await;
        if let Some(reply) = stopped {
            let _ = reply.send(());
        }
    }

    async fn deliver(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.buffer);
        let mut attempt = 0;
        loop {
            match self.sink.send(&batch).await {
                Ok(()) => {
                    Counters::add(&self.counters.sent, batch.len());
                    Counters::add(&self.counters.batches, 1);
                    return;
                }
                Err(err) if err.is_retryable() && attempt < self.config.max_retries => {
                    let wait = err
                        .retry_after()
                        .unwrap_or_else(|| self.config.backoff(attempt))
                        .min(self.config.max_backoff);
                    attempt += 1;
                    Counters::add(&self.counters.retries, 1);
                    tracing::debug!(
                        target: "plugbay::telemetry",
                        pipeline = self.config.name,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        error = %err,
                        "telemetry batch failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(err) => {
                    Counters::add(&self.counters.dropped_failed, batch.len());
                    tracing::warn!(
                        target: "plugbay::telemetry",
                        pipeline = self.config.name,
                        dropped = batch.len(),
                        error = %err,
                        "telemetry batch dropped"
                    );
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
