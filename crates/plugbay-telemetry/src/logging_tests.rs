//! Tests of [`super`]: real files in a temporary directory, scoped (not
//! global) subscribers.

use super::*;
use serde_json::Value;

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn json_file_lines_parse_and_respect_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig::new().stdout(false).filter("info").file(
        FileOutput::new(dir.path())
            .prefix("test")
            .rotation(Rotation::Never),
    );
    let (subscriber, guard) = build_subscriber(&config).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(user = "u1", count = 3, "hello");
        tracing::debug!("hidden");
        tracing::error!("boom");
    });
    drop(guard);
    let out = lines(&dir.path().join("test.log"));
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0]["level"], "INFO");
    assert_eq!(out[0]["fields"]["message"], "hello");
    assert_eq!(out[0]["fields"]["user"], "u1");
    assert_eq!(out[0]["fields"]["count"], 3);
    assert_eq!(out[1]["level"], "ERROR");
}

#[test]
fn security_events_bypass_the_level_filter() {
    let dir = tempfile::tempdir().unwrap();
    let security = dir.path().join("audit").join("security.log");
    let config = LogConfig::new()
        .stdout(false)
        .filter("error")
        .file(
            FileOutput::new(dir.path())
                .prefix("main")
                .rotation(Rotation::Never),
        )
        .security_file(&security);
    let (subscriber, guard) = build_subscriber(&config).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        security_event(
            "auth.login_failed",
            Some("user-7"),
            &[("ip", "203.0.113.9")],
        );
        tracing::info!(target: "security", kind = "auth.logout", "plain tracing too");
        tracing::warn!("not security, filtered out");
    });
    // The security writer is synchronous: readable before the guard drops.
    let audit = lines(&security);
    drop(guard);
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0]["target"], "security");
    assert_eq!(audit[0]["fields"]["kind"], "auth.login_failed");
    assert_eq!(audit[0]["fields"]["subject"], "user-7");
    let details: Value =
        serde_json::from_str(audit[0]["fields"]["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["ip"], "203.0.113.9");
    assert_eq!(audit[1]["fields"]["kind"], "auth.logout");
    // The main file sees neither the warn (below `error`) nor the security
    // events.
    assert!(lines(&dir.path().join("main.log")).is_empty());
}

#[test]
fn retention_setting_is_accepted_for_rotating_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig::new().stdout(false).file(
        FileOutput::new(dir.path().join("logs"))
            .prefix("svc")
            .rotation(Rotation::Hourly)
            .max_files(3),
    );
    let (subscriber, guard) = build_subscriber(&config).unwrap();
    tracing::subscriber::with_default(subscriber, || tracing::warn!("rotated"));
    drop(guard);
    let names: Vec<String> = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].starts_with("svc.") && names[0].ends_with(".log"),
        "{names:?}"
    );
}

#[test]
fn bad_filter_is_a_config_error() {
    let result = build_subscriber(&LogConfig::new().stdout(true).filter("warn,plugbay=loud"));
    let Err(err) = result else {
        panic!("a bad filter was accepted");
    };
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn compact_and_pretty_formats_build() {
    for format in [LogFormat::Compact, LogFormat::Pretty] {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig::new().stdout(false).format(format).file(
            FileOutput::new(dir.path())
                .prefix("f")
                .rotation(Rotation::Never),
        );
        let (subscriber, guard) = build_subscriber(&config).unwrap();
        tracing::subscriber::with_default(subscriber, || tracing::info!("formatted line"));
        drop(guard);
        let text = std::fs::read_to_string(dir.path().join("f.log")).unwrap();
        assert!(text.contains("formatted line"), "{text}");
        assert!(serde_json::from_str::<Value>(text.trim()).is_err());
    }
}
