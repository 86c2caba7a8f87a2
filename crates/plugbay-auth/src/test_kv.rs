//! A [`KeyValue`] wrapper for this crate's tests that records every key and
//! value written, so tests can assert what never reaches the store.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use plugbay_cache::{InMemoryKeyValue, KeyValue};
use plugbay_core::Result;

#[derive(Debug, Default)]
pub(crate) struct RecordingKeyValue {
    inner: InMemoryKeyValue,
    writes: Mutex<Vec<(String, Bytes)>>,
    yielding: bool,
}

impl RecordingKeyValue {
    /// A store that yields to the scheduler before every operation, so
    /// concurrent tasks interleave between reads and writes like they would
    /// against a networked store.
    pub(crate) fn yielding() -> RecordingKeyValue {
        RecordingKeyValue {
            yielding: true,
            ..RecordingKeyValue::default()
        }
    }

    async fn pause(&self) {
        if self.yielding {
            tokio::task::yield_now().await;
        }
    }

    /// Every key and value ever written, in order.
    pub(crate) fn writes(&self) -> Vec<(String, Bytes)> {
        self.writes.lock().unwrap().clone()
    }

    fn record(&self, key: &str, value: &Bytes) {
        self.writes
            .lock()
            .unwrap()
            .push((key.to_owned(), value.clone()));
    }
}

#[async_trait]
impl KeyValue for RecordingKeyValue {
    fn backend(&self) -> &'static str {
        "recording"
    }
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.pause().await;
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.pause().await;
        self.record(key, &value);
        self.inner.set(key, value, ttl).await
    }
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<bool> {
        self.pause().await;
        self.record(key, &value);
        self.inner.set_if_absent(key, value, ttl).await
    }
    async fn take(&self, key: &str) -> Result<Option<Bytes>> {
        self.pause().await;
        self.inner.take(key).await
    }
    async fn delete(&self, key: &str) -> Result<bool> {
        self.pause().await;
        self.inner.delete(key).await
    }
    async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> Result<i64> {
        self.pause().await;
        self.record(key, &Bytes::new());
        self.inner.incr(key, by, ttl).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.pause().await;
        self.inner.expire(key, ttl).await
    }
}
