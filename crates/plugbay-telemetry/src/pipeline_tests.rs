//! Tests of [`super::BatchPipeline`] (kept apart to keep pipeline.rs short).
//! Time is paused: retries and delays advance virtual time only.

use super::*;
use std::collections::VecDeque;
use tokio::sync::{Notify, Semaphore};

/// Records batches; answers scripted errors first.
#[derive(Clone, Default)]
struct RecordingSink {
    batches: Arc<Mutex<Vec<Vec<u32>>>>,
    calls: Arc<Mutex<Vec<Instant>>>,
    script: Arc<Mutex<VecDeque<Error>>>,
}

impl RecordingSink {
    fn failing(errors: impl IntoIterator<Item = Error>) -> RecordingSink {
        let sink = RecordingSink::default();
        sink.script.lock().unwrap().extend(errors);
        sink
    }
    fn sizes(&self) -> Vec<usize> {
        self.batches.lock().unwrap().iter().map(Vec::len).collect()
    }
    fn items(&self) -> Vec<u32> {
        self.batches.lock().unwrap().concat()
    }
}

#[async_trait]
impl BatchSink<u32> for RecordingSink {
    async fn send(&self, batch: &[u32]) -> Result<()> {
        self.calls.lock().unwrap().push(Instant::now());
        if let Some(err) = self.script.lock().unwrap().pop_front() {
            return Err(err);
        }
        self.batches.lock().unwrap().push(batch.to_vec());
        Ok(())
    }
}

/// Blocks every send until a permit is released.
#[derive(Clone)]
struct BlockingSink {
    entered: Arc<Notify>,
    gate: Arc<Semaphore>,
    inner: RecordingSink,
}

#[async_trait]
impl BatchSink<u32> for BlockingSink {
    async fn send(&self, batch: &[u32]) -> Result<()> {
        self.entered.notify_one();
        self.gate.acquire().await.unwrap().forget();
        self.inner.send(batch).await
    }
}

fn config() -> PipelineConfig {
    PipelineConfig::new()
        .name("test")
        .capacity(100)
        .max_batch(10)
        .max_delay(Duration::from_secs(1))
        .initial_backoff(Duration::from_millis(100))
        .jitter(0.0)
}

const LONG: Duration = Duration::from_secs(600);

#[tokio::test(start_paused = true)]
async fn batches_by_count_and_flush_hands_over_everything() {
    let sink = RecordingSink::default();
    let pipeline = BatchPipeline::new(sink.clone(), config()).unwrap();
    for i in 0..25 {
        assert!(pipeline.try_enqueue(i));
    }
    pipeline.flush(LONG).await.unwrap();
    assert_eq!(sink.sizes(), [10, 10, 5]);
    assert_eq!(sink.items(), (0..25).collect::<Vec<_>>());
    let stats = pipeline.stats();
    assert_eq!((stats.enqueued, stats.sent, stats.batches), (25, 25, 3));
    assert_eq!(stats.dropped(), 0);
}

#[tokio::test(start_paused = true)]
async fn partial_batch_goes_out_after_max_delay() {
    let sink = RecordingSink::default();
    let pipeline = BatchPipeline::new(sink.clone(), config()).unwrap();
    pipeline.try_enqueue(1);
    pipeline.try_enqueue(2);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(sink.items().is_empty(), "sent before max_delay");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.items(), [1, 2]);
}

#[tokio::test(start_paused = true)]
async fn full_queue_drops_and_counts_without_blocking() {
    let sink = BlockingSink {
        entered: Arc::new(Notify::new()),
        gate: Arc::new(Semaphore::new(0)),
        inner: RecordingSink::default(),
    };
    let cfg = config().capacity(4).max_batch(1);
    let pipeline = BatchPipeline::new(sink.clone(), cfg).unwrap();
    assert!(pipeline.try_enqueue(0));
    sink.entered.notified().await; // the worker is stuck in send(0)
    let accepted = (1..=10).filter(|i| pipeline.try_enqueue(*i)).count();
    assert_eq!(accepted, 4);
    let stats = pipeline.stats();
    assert_eq!(stats.dropped_full, 6);
    assert_eq!(stats.enqueued, 5);

    // A flush cannot finish while the sink is stuck.
    let err = pipeline.flush(Duration::from_secs(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);

    sink.gate.add_permits(100);
    pipeline.flush(LONG).await.unwrap();
    assert_eq!(sink.inner.items(), [0, 1, 2, 3, 4]);
    assert_eq!(pipeline.stats().sent, 5);
}

#[tokio::test(start_paused = true)]
async fn retries_honour_retry_after() {
    let limited =
        || Error::new(ErrorKind::RateLimited, "slow down").with_retry_after(Duration::from_secs(7));
    let sink = RecordingSink::failing([limited(), limited()]);
    let pipeline = BatchPipeline::new(sink.clone(), config()).unwrap();
    pipeline.try_enqueue(1);
    pipeline.flush(LONG).await.unwrap();
    let calls = sink.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[1] - calls[0], Duration::from_secs(7));
    assert_eq!(calls[2] - calls[1], Duration::from_secs(7));
    let stats = pipeline.stats();
    assert_eq!((stats.sent, stats.retries, stats.dropped_failed), (1, 2, 0));
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_capped_and_backoff_doubles() {
    let sink = RecordingSink::failing([
        Error::new(ErrorKind::Unavailable, "down"),
        Error::new(ErrorKind::Unavailable, "down"),
        Error::new(ErrorKind::RateLimited, "x").with_retry_after(Duration::from_secs(3600)),
    ]);
    let cfg = config().max_backoff(Duration::from_secs(30));
    let pipeline = BatchPipeline::new(sink.clone(), cfg).unwrap();
    pipeline.try_enqueue(1);
    pipeline.flush(LONG).await.unwrap();
    let calls = sink.calls.lock().unwrap().clone();
    let gaps: Vec<_> = calls.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps,
        [
            Duration::from_millis(100),
            Duration::from_millis(200),
            Duration::from_secs(30)
        ]
    );
    assert_eq!(sink.items(), [1]);
}

#[tokio::test(start_paused = true)]
async fn failed_batches_are_dropped_and_counted() {
    // Not retryable: one attempt.
    let sink = RecordingSink::failing([Error::invalid_input("bad event")]);
    let pipeline = BatchPipeline::new(sink.clone(), config()).unwrap();
    pipeline.try_enqueue(1);
    pipeline.try_enqueue(2);
    pipeline.flush(LONG).await.unwrap();
    assert_eq!(sink.calls.lock().unwrap().len(), 1);
    assert_eq!(pipeline.stats().dropped_failed, 2);

    // Retryable but never succeeding: 1 + max_retries attempts.
    let down = (0..10).map(|_| Error::new(ErrorKind::Unavailable, "down"));
    let sink = RecordingSink::failing(down);
    let pipeline = BatchPipeline::new(sink.clone(), config().max_retries(2)).unwrap();
    pipeline.try_enqueue(1);
    pipeline.flush(LONG).await.unwrap();
    assert_eq!(sink.calls.lock().unwrap().len(), 3);
    let stats = pipeline.stats();
    assert_eq!((stats.dropped_failed, stats.retries, stats.sent), (1, 2, 0));
}

#[tokio::test(start_paused = true)]
async fn shutdown_flushes_then_refuses_new_items() {
    let sink = RecordingSink::default();
    let pipeline = BatchPipeline::new(sink.clone(), config()).unwrap();
    for i in 0..3 {
        pipeline.try_enqueue(i);
    }
    pipeline.shutdown(LONG).await.unwrap();
    assert_eq!(sink.items(), [0, 1, 2]);
    assert!(!pipeline.try_enqueue(9));
    assert_eq!(pipeline.stats().dropped_closed, 1);
    pipeline.flush(LONG).await.unwrap();
    pipeline.shutdown(LONG).await.unwrap();
    assert_eq!(sink.items(), [0, 1, 2]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_pipeline_still_delivers() {
    let sink = RecordingSink::default();
    let pipeline = BatchPipeline::new(sink.clone(), config()).unwrap();
    pipeline.try_enqueue(5);
    drop(pipeline);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(sink.items(), [5]);
}

#[test]
fn needs_a_runtime_and_sane_config() {
    let err = BatchPipeline::new(RecordingSink::default(), config()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let err =
            BatchPipeline::<u32>::new(RecordingSink::default(), config().capacity(0)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    });
}

#[test]
fn backoff_is_jittered_below_the_doubling_schedule() {
    let cfg = PipelineConfig::new()
        .initial_backoff(Duration::from_millis(400))
        .max_backoff(Duration::from_secs(2));
    for attempt in 0..6u32 {
        let full = Duration::from_millis(400)
            .saturating_mul(2u32.pow(attempt))
            .min(Duration::from_secs(2));
        for _ in 0..50 {
            let wait = cfg.backoff(attempt);
            assert!(wait <= full, "attempt {attempt}: {wait:?} > {full:?}");
            assert!(wait >= full.mul_f64(0.75), "attempt {attempt}: {wait:?}");
        }
    }
    let exact = cfg.jitter(0.0);
    assert_eq!(exact.backoff(1), Duration::from_millis(800));
}
