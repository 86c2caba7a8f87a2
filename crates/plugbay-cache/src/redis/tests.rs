use super::*;
use plugbay_core::ErrorKind;

#[test]
fn ttls_round_up_to_milliseconds_and_reject_zero_and_huge() {
    assert_eq!(ttl_millis(Duration::from_nanos(1), "set").unwrap(), 1);
    assert_eq!(ttl_millis(Duration::from_micros(1_500), "set").unwrap(), 2);
    assert_eq!(ttl_millis(Duration::from_secs(3), "set").unwrap(), 3_000);
    for bad in [Duration::ZERO, Duration::MAX] {
        let err = ttl_millis(bad, "set_if_absent").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        assert_eq!(err.operation(), Some("set_if_absent"));
    }
    assert_eq!(optional_ttl(None, "incr").unwrap(), None);
}

#[test]
fn build_is_lazy_and_debug_hides_the_password() {
    // Nothing listens here; building must not connect or need a runtime.
    let kv = RedisKeyValue::builder()
        .url("redis://app:hunter2@127.0.0.1:1/4")
        .key_prefix("svc:")
        .build()
        .unwrap();
    assert_eq!(kv.backend(), "redis");
    assert_eq!(kv.key_prefix(), "svc:");
    assert_eq!(kv.key("a:b"), "svc:a:b");
    let limiter = kv.rate_limiter();
    assert_eq!(limiter.key_prefix(), "svc:ratelimit:");
    for shown in [format!("{kv:?}"), format!("{limiter:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("127.0.0.1:1"), "{shown}");
    }
    assert_eq!(
        limiter.with_key_prefix("rl:").key_prefix(),
        "rl:",
        "custom limiter namespace"
    );
}

#[test]
fn a_builder_without_url_is_a_config_error() {
    let err = RedisKeyValue::builder().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = RedisKeyValue::from_url("redis://h:1/notanumber").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

/// The Lua `take` used on servers without `GETDEL`, forced on a modern one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_fallback_script_is_atomic() {
    let Ok(url) = std::env::var("PLUGBAY_TEST_REDIS_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "PLUGBAY_TEST_REDIS_URL is not set (start scripts/peers.d/redis.sh)"
        );
        eprintln!("skipping: PLUGBAY_TEST_REDIS_URL is not set");
        return;
    };
    let kv = RedisKeyValue::builder()
        .url(url)
        .key_prefix(format!("plugbay-unit:take:{}:", std::process::id()))
        .build()
        .unwrap();
    kv.conn.getdel_unsupported.store(true, Ordering::Relaxed);
    assert_eq!(kv.take("code").await.unwrap(), None);
    kv.set("code", Bytes::from_static(b"once"), None)
        .await
        .unwrap();
    let results = futures::future::join_all((0..16).map(|_| kv.take("code"))).await;
    let got: Vec<Bytes> = results.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(got, vec![Bytes::from_static(b"once")]);
    assert_eq!(kv.get("code").await.unwrap(), None);
    assert!(format!("{:?}", kv.conn).contains("getdel_unsupported: true"));
}

#[test]
fn commands_carry_the_prefixed_key_as_one_argument() {
    let kv = RedisKeyValue::builder()
        .url("redis://127.0.0.1:1/0")
        .key_prefix("svc:")
        .build()
        .unwrap();
    let mut built = kv.command("SET", "a:b", 3, 7);
    built.arg(&b"v\r\nal"[..]).arg("PX").arg(1500_u64);
    let mut expected = redis::cmd("SET");
    expected
        .arg("svc:a:b")
        .arg(&b"v\r\nal"[..])
        .arg("PX")
        .arg(1500_u64);
    assert_eq!(built.get_packed_command(), expected.get_packed_command());
    let get = kv.command("GET", "ключ", 0, 0).get_packed_command();
    assert_eq!(get, redis::cmd("GET").arg("svc:ключ").get_packed_command());
    assert_eq!(
        String::from_utf8(get).unwrap(),
        "*2\r\n$3\r\nGET\r\n$12\r\nsvc:ключ\r\n"
    );
}
