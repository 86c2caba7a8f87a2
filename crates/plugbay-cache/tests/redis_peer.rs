//! The Redis backend against a real server.
//!
//! Start one with `scripts/peers.d/redis.sh` (a private `redis-server` on a
//! free port), which exports `PLUGBAY_TEST_REDIS_URL`. Without it these tests
//! print why and pass, except with `CI=true`, where they fail.
//!
//! Tests that disturb the whole server (`CLIENT KILL`, `CLIENT PAUSE`,
//! `ACL SETUSER`) hold [`SERVER`] exclusively; the others share it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use plugbay_cache::redis::{RedisKeyValue, RedisRateLimiter};
use plugbay_cache::{KeyValue, Quota, RateLimiter, conformance};
use plugbay_core::ErrorKind;
use tokio::sync::RwLock;

static SERVER: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

fn peer_url() -> Option<String> {
    match std::env::var("PLUGBAY_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PLUGBAY_TEST_REDIS_URL is not set in CI: start the peer with \
                 scripts/peers.d/redis.sh (see scripts/peers.sh)"
            );
            eprintln!("skipping: PLUGBAY_TEST_REDIS_URL is not set (no Redis peer)");
            None
        }
    }
}

fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("plugbay-test:{test}:{}-{nanos:x}:", std::process::id())
}

fn store(url: &str, test: &str) -> RedisKeyValue {
    RedisKeyValue::builder()
        .url(url)
        .key_prefix(unique_prefix(test))
        .build()
        .unwrap()
}

async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_value_conformance() {
    let Some(url) = peer_url() else { return };
    let _shared = SERVER.read().await;
    let kv = store(&url, "conformance");
    conformance::key_value::run_all(&kv).await;
    // The same suite through `from_url` and a trait object.
    let dynamic = plugbay_cache::from_url(&url).unwrap();
    assert_eq!(dynamic.backend(), "redis");
    conformance::key_value::set_get_delete(dynamic.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiter_conformance() {
    let Some(url) = peer_url() else { return };
    let _shared = SERVER.read().await;
    let limiter: RedisRateLimiter = store(&url, "rate_limiter").rate_limiter();
    assert_eq!(limiter.backend(), "redis");
    conformance::rate_limiter::run_all(&limiter).await;
}

/// 16 tasks, each with its own connection, race on one key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn races_across_separate_connections_have_one_winner() {
    let Some(url) = peer_url() else { return };
    let _shared = SERVER.read().await;
    let prefix = unique_prefix("race");
    let stores: Vec<RedisKeyValue> = (0..16)
        .map(|_| {
            RedisKeyValue::builder()
                .url(&url)
                .key_prefix(&prefix)
                .build()
                .unwrap()
        })
        .collect();
    // Connect every store first, so the race is on the command, not on
    // connection set-up.
    for kv in &stores {
        kv.ping().await.unwrap();
    }

    let handles: Vec<_> = stores
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, kv)| {
            tokio::spawn(async move {
                let won = kv
                    .set_if_absent("lock", Bytes::from(format!("owner-{i}")), None)
                    .await
                    .unwrap();
                (i, won)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for handle in handles {
        let (i, won) = handle.await.unwrap();
        if won {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = stores[3].get("lock").await.unwrap().unwrap();
    assert_eq!(stored, Bytes::from(format!("owner-{}", winners[0])));

    // Exactly one `take` receives the value.
    let handles: Vec<_> = stores
        .iter()
        .cloned()
        .map(|kv| tokio::spawn(async move { kv.take("lock").await.unwrap() }))
        .collect();
    let mut got = Vec::new();
    for handle in handles {
        got.extend(handle.await.unwrap());
    }
    assert_eq!(got, vec![stored]);
    assert_eq!(stores[0].get("lock").await.unwrap(), None);
}

/// The server drops every client connection; the backend reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_server_drops_the_connection() {
    let Some(url) = peer_url() else { return };
    let _exclusive = SERVER.write().await;
    let kv = store(&url, "reconnect");
    kv.set("k", Bytes::from_static(b"v"), None).await.unwrap();
    let mut admin = raw_connection(&url).await;

    for round in 0..3 {
        let killed: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .query_async(&mut admin)
            .await
            .unwrap();
        assert!(killed >= 1, "round {round}: nothing was killed");
        // `get` is idempotent: it is retried once on the new connection.
        let first = kv.get("k").await;
        match first {
            Ok(value) => assert_eq!(value.as_deref(), Some(&b"v"[..])),
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
                assert!(err.is_retryable());
            }
        }
        assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    }

    // `take` is not retried on a lost connection (it could lose the value):
    // it may fail Unavailable once, and then works.
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .query_async(&mut admin)
        .await
        .unwrap();
    match kv.take("k").await {
        Ok(value) => assert_eq!(value.as_deref(), Some(&b"v"[..])),
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
            assert_eq!(kv.take("k").await.unwrap().as_deref(), Some(&b"v"[..]));
        }
    }
    assert_eq!(kv.get("k").await.unwrap(), None);
}

#[tokio::test]
async fn prefixes_are_separate_namespaces() {
    let Some(url) = peer_url() else { return };
    let _shared = SERVER.read().await;
    let a = store(&url, "ns-a");
    let b = store(&url, "ns-b");
    a.set("same", Bytes::from_static(b"a"), None).await.unwrap();
    assert_eq!(b.get("same").await.unwrap(), None);
    assert!(
        b.set_if_absent("same", Bytes::from_static(b"b"), None)
            .await
            .unwrap()
    );
    assert_eq!(a.get("same").await.unwrap().as_deref(), Some(&b"a"[..]));
    assert_eq!(b.take("same").await.unwrap().as_deref(), Some(&b"b"[..]));
    assert_eq!(a.incr("n", 1, None).await.unwrap(), 1);
    assert_eq!(b.incr("n", 5, None).await.unwrap(), 5);

    // Stored under the prefix, byte for byte.
    let mut raw = raw_connection(&url).await;
    let stored: Option<Vec<u8>> = redis::cmd("GET")
        .arg(format!("{}same", a.key_prefix()))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(stored.as_deref(), Some(&b"a"[..]));

    // Rate limiters of different prefixes do not share state either.
    let quota = Quota::per_hour(1);
    assert!(a.rate_limiter().check("ip", &quota).await.unwrap().allowed);
    assert!(!a.rate_limiter().check("ip", &quota).await.unwrap().allowed);
    assert!(b.rate_limiter().check("ip", &quota).await.unwrap().allowed);
    for kv in [&a, &b] {
        kv.delete("same").await.unwrap();
        kv.delete("n").await.unwrap();
    }
}

#[tokio::test]
async fn server_errors_map_to_kinds_and_counters_are_exact() {
    let Some(url) = peer_url() else { return };
    let _shared = SERVER.read().await;
    let kv = store(&url, "kinds");
    let mut raw = raw_connection(&url).await;
    let list_key = format!("{}list", kv.key_prefix());
    let _: i64 = redis::cmd("RPUSH")
        .arg(&list_key)
        .arg("x")
        .query_async(&mut raw)
        .await
        .unwrap();
    for err in [
        kv.get("list").await.unwrap_err(),
        kv.incr("list", 1, None).await.unwrap_err(),
        kv.take("list").await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.provider(), Some("redis"));
    }

    // Beyond 2^53, where a Lua number would round.
    let big = 1_i64 << 60;
    kv.set("big", Bytes::from(big.to_string()), None)
        .await
        .unwrap();
    assert_eq!(kv.incr("big", 1, None).await.unwrap(), big + 1);
    assert_eq!(kv.incr("fresh", i64::MIN, None).await.unwrap(), i64::MIN);
    let err = kv.incr("fresh", -1, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // `incr` sets the TTL only on creation (checked with PTTL).
    assert_eq!(
        kv.incr("ttl", 1, Some(Duration::from_secs(100)))
            .await
            .unwrap(),
        1
    );
    kv.incr("ttl", 1, Some(Duration::from_secs(5000)))
        .await
        .unwrap();
    let pttl: i64 = redis::cmd("PTTL")
        .arg(format!("{}ttl", kv.key_prefix()))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((1..=100_000).contains(&pttl), "{pttl}");
    // `expire(0)` deletes, as on the in-memory backend.
    assert!(kv.expire("ttl", Duration::ZERO).await.unwrap());
    assert_eq!(kv.get("ttl").await.unwrap(), None);
    assert!(!kv.expire("ttl", Duration::ZERO).await.unwrap());

    for key in ["list", "big", "fresh"] {
        kv.delete(key).await.unwrap();
    }
}

/// A reply slower than the response timeout is `Timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reply_is_a_timeout() {
    let Some(url) = peer_url() else { return };
    let _exclusive = SERVER.write().await;
    let kv = RedisKeyValue::builder()
        .url(&url)
        .key_prefix(unique_prefix("timeout"))
        .response_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    kv.ping().await.unwrap();
    let mut admin = raw_connection(&url).await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1000)
        .arg("WRITE")
        .query_async(&mut admin)
        .await
        .unwrap();
    let err = kv
        .set("k", Bytes::from_static(b"v"), None)
        .await
        .unwrap_err();
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_retryable());
    // The connection is usable again.
    kv.set("k", Bytes::from_static(b"v"), None).await.unwrap();
    assert!(kv.delete("k").await.unwrap());
}

/// Credentials: a wrong password is `Unauthenticated`; no password ever
/// shows in errors or `Debug`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_checked_and_never_shown() {
    let Some(url) = peer_url() else { return };
    let _exclusive = SERVER.write().await;
    let user = format!("plugbay-test-{}", std::process::id());
    let password = "s3cret-Pa55word-9931";
    let mut admin = raw_connection(&url).await;
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg(format!(">{password}"))
        .arg("~*")
        .arg("+@all")
        .query_async(&mut admin)
        .await
        .unwrap();

    let with_credentials = |password: &str| {
        let mut parsed = url::Url::parse(&url).unwrap();
        parsed.set_username(&user).unwrap();
        parsed.set_password(Some(password)).unwrap();
        parsed.to_string()
    };

    let good = RedisKeyValue::builder()
        .url(with_credentials(password))
        .key_prefix(unique_prefix("auth"))
        .build()
        .unwrap();
    good.set("k", Bytes::from_static(b"v"), None).await.unwrap();
    assert!(good.delete("k").await.unwrap());
    let shown = format!("{good:?} {:?}", good.rate_limiter());
    assert!(!shown.contains(password), "{shown}");

    let wrong_password = "wr0ng-Pa55word-4417";
    let bad = RedisKeyValue::builder()
        .url(with_credentials(wrong_password))
        .reconnect_retries(0)
        .build()
        .unwrap();
    let err = bad.get("k").await.unwrap_err();
    let shown = format!("{err} {err:?} {bad:?}");
    let _: i64 = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(!shown.contains(wrong_password), "{shown}");
    assert!(!shown.contains(password), "{shown}");
}

/// Nothing listens on the port: `Unavailable` (retryable), not a hang.
#[tokio::test]
async fn server_not_listening_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let kv = RedisKeyValue::builder()
        .url(format!("redis://:hunter2-secret@127.0.0.1:{port}/0"))
        .reconnect_retries(1)
        .build()
        .unwrap();
    // A generous bound so a broken backoff fails the test instead of hanging it.
    let bound = Duration::from_secs(30);
    let err = tokio::time::timeout(bound, kv.get("k"))
        .await
        .expect("no answer within the bound")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    let err = tokio::time::timeout(bound, kv.set_if_absent("k", Bytes::new(), None))
        .await
        .expect("no answer within the bound")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let limiter = kv.rate_limiter();
    let err = tokio::time::timeout(bound, limiter.check("k", &Quota::per_second(1)))
        .await
        .expect("no answer within the bound")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let shown = format!("{err} {err:?} {kv:?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
}

/// `rediss://` against a plain-text server: the TLS handshake fails with a
/// clean error (rustls is wired in and has a crypto provider), not a panic.
/// Redis waits for a line end that a ClientHello never sends, so this is
/// usually the connect timeout.
#[tokio::test]
async fn tls_to_a_plain_server_fails_cleanly() {
    let Some(url) = peer_url() else { return };
    let _shared = SERVER.read().await;
    let tls_url = url.replacen("redis://", "rediss://", 1);
    let kv = RedisKeyValue::builder()
        .url(tls_url)
        .connect_timeout(Duration::from_millis(500))
        .reconnect_retries(0)
        .build()
        .unwrap();
    let err = kv.get("k").await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Timeout | ErrorKind::Unavailable | ErrorKind::Protocol
        ),
        "{err:?}"
    );
    println!("rediss:// to a plain server: {err}");
}
