//! Cache get/set at 64 concurrent operations: plugbay's `RedisKeyValue`
//! against the raw `redis` crate, side by side on the same server in the
//! same run, plus `InMemoryKeyValue` for reference.
//!
//! The raw side runs twice: on a plain `MultiplexedConnection`
//! (`raw_redis`) and on a `ConnectionManager` configured as plugbay
//! configures its own (`raw_redis_manager`). plugbay uses a
//! `ConnectionManager`, so `raw_redis_manager` vs `raw_redis` is what the
//! reconnecting wrapper costs, and `plugbay_redis` vs `raw_redis_manager`
//! is what plugbay's own per-call path costs.
//!
//! The Redis pair needs `PLUGBAY_TEST_REDIS_URL` (see
//! `scripts/peers.d/redis.sh`); without it only the in-memory figures run.
//!
//! ```text
//! PLUGBAY_TEST_REDIS_URL=redis://127.0.0.1:6390/0 \
//!   cargo bench -p plugbay-benches --features redis --bench cache -- \
//!   --measurement-time 3 --warm-up-time 1
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use futures::future::join_all;
use plugbay_cache::redis::RedisKeyValue;
use plugbay_cache::{InMemoryKeyValue, KeyValue};
use redis::AsyncCommands;

const CONCURRENCY: usize = 64;
const VALUE_LEN: usize = 256;
const PREFIX: &str = "plugbay-bench:";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn keys() -> Vec<String> {
    (0..CONCURRENCY).map(|i| format!("k{i}")).collect()
}

fn bench_cache(c: &mut Criterion) {
    let rt = runtime();
    let value = Bytes::from(vec![b'x'; VALUE_LEN]);
    let keys = keys();
    let full_keys: Vec<String> = keys.iter().map(|k| format!("{PREFIX}{k}")).collect();

    let memory = InMemoryKeyValue::new();
    let redis_pair = match std::env::var("PLUGBAY_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let plugbay = RedisKeyValue::builder()
                .url(&url)
                .key_prefix(PREFIX)
                .build()
                .unwrap();
            let client = redis::Client::open(url.as_str()).unwrap();
            // The same settings as plugbay's defaults (see RedisConfig).
            let manager_config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_secs(5)))
                .set_number_of_retries(2)
                .set_min_delay(Duration::from_millis(50))
                .set_max_delay(Duration::from_secs(1));
            let (raw, manager) = rt.block_on(async {
                let raw = client.get_multiplexed_async_connection().await.unwrap();
                let manager =
                    redis::aio::ConnectionManager::new_with_config(client.clone(), manager_config)
                        .await
                        .unwrap();
                (raw, manager)
            });
            Some((plugbay, raw, manager))
        }
        _ => {
            eprintln!(
                "cache bench: PLUGBAY_TEST_REDIS_URL is not set; \
                 running the in-memory reference only (start scripts/peers.d/redis.sh)"
            );
            None
        }
    };

    rt.block_on(async {
        for key in &keys {
            memory.set(key, value.clone(), None).await.unwrap();
            if let Some((plugbay, _, _)) = &redis_pair {
                plugbay.set(key, value.clone(), None).await.unwrap();
            }
        }
    });

    for op in ["get", "set"] {
        let mut group = c.benchmark_group(format!("cache_{op}_x{CONCURRENCY}"));
        group.throughput(Throughput::Elements(CONCURRENCY as u64));

        if let Some((plugbay, raw, manager)) = &redis_pair {
            group.bench_function(BenchmarkId::new("plugbay_redis", op), |b| {
                b.to_async(&rt).iter(|| async {
                    let results = join_all(keys.iter().map(|key| {
                        let value = value.clone();
                        async move {
                            if op == "get" {
                                plugbay.get(key).await.map(|v| v.map(|v| v.len()))
                            } else {
                                plugbay.set(key, value, None).await.map(|()| None)
                            }
                        }
                    }))
                    .await;
                    for result in results {
                        black_box(result.unwrap());
                    }
                });
            });
            bench_raw(&mut group, &rt, "raw_redis", op, raw, &full_keys, &value);
            bench_raw(
                &mut group,
                &rt,
                "raw_redis_manager",
                op,
                manager,
                &full_keys,
                &value,
            );
        }

        group.bench_function(BenchmarkId::new("plugbay_memory", op), |b| {
            b.to_async(&rt).iter(|| async {
                let results = join_all(keys.iter().map(|key| {
                    let value = value.clone();
                    let memory = &memory;
                    async move {
                        if op == "get" {
                            memory.get(key).await.map(|v| v.map(|v| v.len()))
                        } else {
                            memory.set(key, value, None).await.map(|()| None)
                        }
                    }
                }))
                .await;
                for result in results {
                    black_box(result.unwrap());
                }
            });
        });
        group.finish();
    }

    if let Some((plugbay, _, _)) = &redis_pair {
        rt.block_on(async {
            for key in &keys {
                plugbay.delete(key).await.unwrap();
            }
        });
    }
}

/// The raw `redis` crate on `conn` (cloned per call, as its docs advise).
fn bench_raw<C>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    name: &str,
    op: &'static str,
    conn: &C,
    full_keys: &[String],
    value: &Bytes,
) where
    C: redis::aio::ConnectionLike + Clone + Send + Sync,
{
    group.bench_function(BenchmarkId::new(name, op), |b| {
        b.to_async(rt).iter(|| async {
            let results = join_all(full_keys.iter().map(|key| {
                let mut conn = conn.clone();
                async move {
                    if op == "get" {
                        conn.get::<_, Option<Bytes>>(key)
                            .await
                            .map(|v| v.map(|v| v.len()))
                    } else {
                        conn.set::<_, _, ()>(key, &value[..]).await.map(|()| None)
                    }
                }
            }))
            .await;
            for result in results {
                black_box(result.unwrap());
            }
        });
    });
}

criterion_group!(benches, bench_cache);
criterion_main!(benches);
