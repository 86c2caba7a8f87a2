//! [`KeyValue`] conformance scenarios.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::join_all;
use plugbay_core::ErrorKind;

use super::{POLL_BOUND, POLL_STEP, unique_prefix};
use crate::KeyValue;

const SHORT_TTL: Duration = Duration::from_millis(80);
const LONG_TTL: Duration = Duration::from_secs(3600);

/// Poll until `key` is gone; fail after [`POLL_BOUND`].
async fn wait_until_absent(kv: &dyn KeyValue, key: &str) {
    let start = Instant::now();
    while kv.get(key).await.unwrap().is_some() {
        assert!(
            start.elapsed() < POLL_BOUND,
            "{key} did not expire within {POLL_BOUND:?}"
        );
        tokio::time::sleep(POLL_STEP).await;
    }
}

/// `set`, `get`, overwrite and `delete` round trip.
pub async fn set_get_delete(kv: &dyn KeyValue) {
    let p = unique_prefix("set_get_delete");
    let key = format!("{p}k");
    assert_eq!(kv.get(&key).await.unwrap(), None);
    kv.set(&key, Bytes::from_static(b"one"), None)
        .await
        .unwrap();
    assert_eq!(kv.get(&key).await.unwrap().as_deref(), Some(&b"one"[..]));
    kv.set(&key, Bytes::from_static(b"two"), None)
        .await
        .unwrap();
    assert_eq!(kv.get(&key).await.unwrap().as_deref(), Some(&b"two"[..]));
    kv.set(&key, Bytes::new(), None).await.unwrap();
    assert_eq!(kv.get(&key).await.unwrap().as_deref(), Some(&b""[..]));
    assert!(kv.delete(&key).await.unwrap());
    assert!(!kv.delete(&key).await.unwrap());
    assert_eq!(kv.get(&key).await.unwrap(), None);
    kv.ping().await.unwrap();
}

/// Keys with a TTL disappear; `set` without a TTL clears a previous one;
/// keys without a TTL or with a long one stay.
pub async fn ttl_expiry(kv: &dyn KeyValue) {
    let p = unique_prefix("ttl_expiry");
    let (short, long, cleared) = (
        format!("{p}short"),
        format!("{p}long"),
        format!("{p}cleared"),
    );
    let start = Instant::now();
    kv.set(&short, Bytes::from_static(b"s"), Some(SHORT_TTL))
        .await
        .unwrap();
    let seen = kv.get(&short).await.unwrap();
    if start.elapsed() < SHORT_TTL {
        assert_eq!(
            seen.as_deref(),
            Some(&b"s"[..]),
            "value missing before its TTL"
        );
    }
    kv.set(&long, Bytes::from_static(b"l"), Some(LONG_TTL))
        .await
        .unwrap();
    kv.set(&cleared, Bytes::from_static(b"c"), Some(SHORT_TTL))
        .await
        .unwrap();
    kv.set(&cleared, Bytes::from_static(b"c2"), None)
        .await
        .unwrap();
    wait_until_absent(kv, &short).await;
    // Give `cleared` as long as `short` needed, and then some.
    tokio::time::sleep(SHORT_TTL).await;
    assert_eq!(kv.get(&cleared).await.unwrap().as_deref(), Some(&b"c2"[..]));
    assert_eq!(kv.get(&long).await.unwrap().as_deref(), Some(&b"l"[..]));
    assert!(
        !kv.delete(&short).await.unwrap(),
        "expired key still deletable"
    );
    for key in [&long, &cleared] {
        kv.delete(key).await.unwrap();
    }
}

/// A zero TTL is rejected with `InvalidInput` (Redis rejects `PX 0` too).
pub async fn zero_ttl_is_invalid(kv: &dyn KeyValue) {
    let p = unique_prefix("zero_ttl");
    let key = format!("{p}k");
    let err = kv
        .set(&key, Bytes::from_static(b"v"), Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = kv
        .set_if_absent(&key, Bytes::from_static(b"v"), Some(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(kv.get(&key).await.unwrap(), None);
}

/// `set_if_absent` stores only when absent, and an expired key counts as
/// absent.
pub async fn set_if_absent(kv: &dyn KeyValue) {
    let p = unique_prefix("set_if_absent");
    let key = format!("{p}k");
    assert!(
        kv.set_if_absent(&key, Bytes::from_static(b"first"), None)
            .await
            .unwrap()
    );
    assert!(
        !kv.set_if_absent(&key, Bytes::from_static(b"second"), None)
            .await
            .unwrap()
    );
    assert_eq!(kv.get(&key).await.unwrap().as_deref(), Some(&b"first"[..]));
    kv.delete(&key).await.unwrap();

    let ttl_key = format!("{p}ttl");
    assert!(
        kv.set_if_absent(&ttl_key, Bytes::from_static(b"a"), Some(SHORT_TTL))
            .await
            .unwrap()
    );
    wait_until_absent(kv, &ttl_key).await;
    assert!(
        kv.set_if_absent(&ttl_key, Bytes::from_static(b"b"), None)
            .await
            .unwrap()
    );
    assert_eq!(kv.get(&ttl_key).await.unwrap().as_deref(), Some(&b"b"[..]));
    kv.delete(&ttl_key).await.unwrap();
}

/// 16 concurrent `set_if_absent` calls on one key: exactly one wins, and
/// its value is the one stored.
pub async fn set_if_absent_race(kv: &dyn KeyValue) {
    let p = unique_prefix("set_if_absent_race");
    let key = format!("{p}lock");
    let results = join_all((0..16).map(|i| {
        let key = &key;
        async move {
            let won = kv
                .set_if_absent(key, Bytes::from(format!("owner-{i}")), Some(LONG_TTL))
                .await
                .unwrap();
            (i, won)
        }
    }))
    .await;
    let winners: Vec<_> = results.iter().filter(|(_, won)| *won).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let stored = kv.get(&key).await.unwrap().unwrap();
    assert_eq!(stored, Bytes::from(format!("owner-{}", winners[0].0)));
    kv.delete(&key).await.unwrap();
}

/// `take` returns the value once and deletes it.
pub async fn take(kv: &dyn KeyValue) {
    let p = unique_prefix("take");
    let key = format!("{p}k");
    assert_eq!(kv.take(&key).await.unwrap(), None);
    kv.set(&key, Bytes::from_static(b"once"), None)
        .await
        .unwrap();
    assert_eq!(kv.take(&key).await.unwrap().as_deref(), Some(&b"once"[..]));
    assert_eq!(kv.take(&key).await.unwrap(), None);
    assert_eq!(kv.get(&key).await.unwrap(), None);
}

/// 16 concurrent `take` calls on one key: exactly one gets the value.
pub async fn take_race(kv: &dyn KeyValue) {
    let p = unique_prefix("take_race");
    let key = format!("{p}code");
    kv.set(&key, Bytes::from_static(b"auth-code"), Some(LONG_TTL))
        .await
        .unwrap();
    let results = join_all((0..16).map(|_| kv.take(&key))).await;
    let got: Vec<Bytes> = results.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(got, vec![Bytes::from_static(b"auth-code")]);
}

/// `incr` creates at `by`, adds, subtracts, rejects non-integers and
/// overflow with `InvalidInput`, and applies its TTL only when creating.
pub async fn incr(kv: &dyn KeyValue) {
    let p = unique_prefix("incr");
    let key = format!("{p}n");
    assert_eq!(kv.incr(&key, 5, None).await.unwrap(), 5);
    assert_eq!(kv.incr(&key, 10, None).await.unwrap(), 15);
    assert_eq!(kv.incr(&key, -20, None).await.unwrap(), -5);
    assert_eq!(kv.get(&key).await.unwrap().as_deref(), Some(&b"-5"[..]));
    kv.set(&key, Bytes::from_static(b"41"), None).await.unwrap();
    assert_eq!(kv.incr(&key, 1, None).await.unwrap(), 42);

    let text = format!("{p}text");
    kv.set(&text, Bytes::from_static(b"abc"), None)
        .await
        .unwrap();
    let err = kv.incr(&text, 1, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(kv.get(&text).await.unwrap().as_deref(), Some(&b"abc"[..]));

    let big = format!("{p}big");
    kv.set(&big, Bytes::from(i64::MAX.to_string()), None)
        .await
        .unwrap();
    let err = kv.incr(&big, 1, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // The TTL of the creating call holds; a later call's TTL is ignored.
    let ttl = format!("{p}ttl");
    assert_eq!(kv.incr(&ttl, 1, Some(SHORT_TTL)).await.unwrap(), 1);
    let _ = kv.incr(&ttl, 1, Some(LONG_TTL)).await.unwrap();
    wait_until_absent(kv, &ttl).await;
    assert_eq!(
        kv.incr(&ttl, 3, None).await.unwrap(),
        3,
        "expired counter restarts"
    );

    let concurrent = format!("{p}concurrent");
    join_all((0..16).map(|_| kv.incr(&concurrent, 2, Some(LONG_TTL))))
        .await
        .into_iter()
        .for_each(|r| {
            r.unwrap();
        });
    assert_eq!(kv.incr(&concurrent, 0, None).await.unwrap(), 32);
    for k in [&key, &text, &big, &ttl, &concurrent] {
        kv.delete(k).await.unwrap();
    }
}

/// `expire` is `false` on a missing key, sets a TTL on an existing one, and
/// replaces an earlier TTL.
pub async fn expire(kv: &dyn KeyValue) {
    let p = unique_prefix("expire");
    let (missing, key, extended) = (
        format!("{p}missing"),
        format!("{p}k"),
        format!("{p}extended"),
    );
    assert!(!kv.expire(&missing, LONG_TTL).await.unwrap());
    assert_eq!(kv.get(&missing).await.unwrap(), None);

    kv.set(&key, Bytes::from_static(b"v"), None).await.unwrap();
    assert!(kv.expire(&key, SHORT_TTL).await.unwrap());
    kv.set(&extended, Bytes::from_static(b"v"), Some(SHORT_TTL))
        .await
        .unwrap();
    assert!(kv.expire(&extended, LONG_TTL).await.unwrap());
    wait_until_absent(kv, &key).await;
    tokio::time::sleep(SHORT_TTL).await;
    assert_eq!(kv.get(&extended).await.unwrap().as_deref(), Some(&b"v"[..]));
    assert!(
        !kv.expire(&key, LONG_TTL).await.unwrap(),
        "expire on an expired key"
    );
    kv.delete(&extended).await.unwrap();
}

/// A 1 MiB value round-trips byte for byte.
pub async fn large_value(kv: &dyn KeyValue) {
    let p = unique_prefix("large_value");
    let key = format!("{p}big");
    let value: Bytes = (0..1024 * 1024)
        .map(|i| (i * 31 % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    kv.set(&key, value.clone(), Some(LONG_TTL)).await.unwrap();
    assert_eq!(kv.get(&key).await.unwrap(), Some(value.clone()));
    assert_eq!(kv.take(&key).await.unwrap(), Some(value));
}

/// Every byte value (including NUL and invalid UTF-8) round-trips.
pub async fn binary_value(kv: &dyn KeyValue) {
    let p = unique_prefix("binary_value");
    let key = format!("{p}bin");
    let value: Bytes = (0..=255u8)
        .rev()
        .chain(0..=255u8)
        .collect::<Vec<u8>>()
        .into();
    kv.set(&key, value.clone(), None).await.unwrap();
    assert_eq!(kv.get(&key).await.unwrap(), Some(value));
    kv.delete(&key).await.unwrap();
}

/// Keys with non-ASCII text, spaces and separators are distinct and exact.
pub async fn unicode_keys(kv: &dyn KeyValue) {
    let p = unique_prefix("unicode_keys");
    let keys = [
        format!("{p}ключ"),
        format!("{p}鍵 🔑"),
        format!("{p}e\u{301}"),
        format!("{p}\u{e9}"),
        format!("{p}a:b/c?d=e"),
    ];
    for (i, key) in keys.iter().enumerate() {
        kv.set(key, Bytes::from(format!("v{i}")), Some(LONG_TTL))
            .await
            .unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            kv.get(key).await.unwrap(),
            Some(Bytes::from(format!("v{i}"))),
            "{key}"
        );
        assert!(kv.delete(key).await.unwrap());
    }
}

/// Run every scenario.
pub async fn run_all(kv: &dyn KeyValue) {
    set_get_delete(kv).await;
    zero_ttl_is_invalid(kv).await;
    set_if_absent(kv).await;
    set_if_absent_race(kv).await;
    take(kv).await;
    take_race(kv).await;
    large_value(kv).await;
    binary_value(kv).await;
    unicode_keys(kv).await;
    // The TTL scenarios mostly wait; run them side by side.
    futures::join!(ttl_expiry(kv), incr(kv), expire(kv));
}

#[cfg(test)]
mod tests {
    use crate::InMemoryKeyValue;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_memory_key_value_conforms() {
        super::run_all(&InMemoryKeyValue::new()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bounded_in_memory_key_value_conforms() {
        let kv = InMemoryKeyValue::builder()
            .max_entries(10_000)
            .shards(4)
            .build();
        super::run_all(&kv).await;
    }
}
