use super::*;
use crate::ErrorKind;
use secrecy::ExposeSecret;

fn ctx<'e>(err: &'e Error, key: &str) -> Option<&'e str> {
    err.context().find(|(k, _)| *k == key).map(|(_, v)| v)
}

#[test]
fn missing_and_malformed_values_name_the_key() {
    let s = Settings::from_map([
        ("PORT", "80x80"),
        ("BLANK", "  "),
        ("DEBUG", "maybe"),
        ("TIMEOUT", "soon"),
        ("JWT_SECRET", "hunter2hunter2"),
        ("API_TOKEN_TTL", "hunter3"),
        ("HOSTS", "a, b,, c"),
        ("REDIS_URL", "redis://user:pw-in-url@"),
        ("BAD_URL", "not a url with pw-in-bad-url"),
    ]);
    let err = s.require("NOPE").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("`NOPE`"));
    assert_eq!(s.get("BLANK"), None, "blank counts as unset");
    assert!(s.require("BLANK").is_err());
    assert_eq!(s.get_parsed::<u16>("BLANK").unwrap(), None);

    let err = s.get_parsed::<u16>("PORT").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("`PORT`") && err.message().contains("u16"));
    assert!(
        err.message().contains("80x80"),
        "non-secret values help: {err}"
    );
    assert!(ctx(&err, "reason").is_some());

    let err = s.get_parsed::<u32>("JWT_SECRET").unwrap_err();
    assert!(err.message().contains("`JWT_SECRET`"));
    assert!(!format!("{err:#}{err:?}").contains("hunter2"));
    let err = s.get_duration("API_TOKEN_TTL").unwrap_err();
    assert!(!format!("{err:#}{err:?}").contains("hunter3"));

    assert_eq!(s.get_bool("DEBUG").unwrap_err().kind(), ErrorKind::Config);
    assert_eq!(
        s.get_duration("TIMEOUT").unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(s.get_bool("UNSET").unwrap(), None);
    assert_eq!(
        s.get_list("HOSTS").unwrap(),
        vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]
    );
    let err = s.get_url("BAD_URL").unwrap_err();
    assert!(err.message().contains("`BAD_URL`"));
    assert!(!err.to_string().contains("pw-in-bad-url"));
    assert_eq!(
        s.require_parsed::<u16>("MISSING").unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn typed_values_parse() {
    let s = Settings::from_map([
        ("PORT", " 8080 "),
        ("ON", "On"),
        ("WAIT", "250ms"),
        ("URL", "https://api.example.com/v1"),
    ]);
    assert_eq!(s.require_parsed::<u16>("PORT").unwrap(), 8080);
    assert_eq!(s.get_bool("ON").unwrap(), Some(true));
    assert_eq!(
        s.get_duration("WAIT").unwrap(),
        Some(Duration::from_millis(250))
    );
    assert_eq!(
        s.get_url("URL").unwrap().unwrap().host_str(),
        Some("api.example.com")
    );
    let s = s.with("PORT", "9");
    assert_eq!(s.get_parsed::<u8>("PORT").unwrap(), Some(9));
    assert_eq!(s.keys_with_prefix("P").collect::<Vec<_>>(), vec!["PORT"]);
    assert_eq!(s.len(), 4);
}

#[test]
fn env_file_fills_gaps_but_real_env_wins_and_env_is_untouched() {
    // Any variable the test process really has.
    let (real_key, real_value) = std::env::vars()
        .find(|(k, _)| !k.is_empty() && !k.contains('='))
        .expect("the test process has an environment");
    let only_in_file = "PLUGBAY_CORE_TEST_ONLY_IN_FILE_7F3A";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env.local");
    std::fs::write(
        &path,
        format!("{real_key}=from-file\n{only_in_file}=from-file\n# note\n"),
    )
    .unwrap();
    let s = Settings::from_env_and_file(&path).unwrap();
    assert_eq!(s.vars.get(&real_key), Some(&real_value));
    assert_eq!(s.get(only_in_file), Some("from-file"));
    assert!(
        std::env::var(only_in_file).is_err(),
        "process env untouched"
    );

    // A missing file is fine, a malformed one names the line.
    let s = Settings::from_env_and_file(dir.path().join("absent")).unwrap();
    assert_eq!(s.get(only_in_file), None);
    std::fs::write(&path, "OK=1\nSECRET='unterminated-pw9\n").unwrap();
    let err = Settings::from_env_and_file(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("line 2"), "{err}");
    assert!(!format!("{err:#}{err:?}").contains("unterminated-pw9"));
}

#[tokio::test]
async fn secrets_by_value_and_by_each_reference_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db_password");
    std::fs::write(&file, "from-file\n").unwrap();
    let s = Settings::from_map([
        ("PLAIN_KEY", "plain-value".to_owned()),
        ("FROM_ENV", "env://REAL_KEY".to_owned()),
        ("REAL_KEY", "real-value".to_owned()),
        ("FROM_FILE", format!("file://{}", file.display())),
        ("FROM_AWS", "aws-sm://prod/db#password".to_owned()),
        ("FROM_AZURE", "azure-kv://vault/db".to_owned()),
        ("BROKEN", "env://".to_owned()),
        ("DANGLING", "env://NOT_SET".to_owned()),
    ]);
    let get = |key: &'static str| {
        let s = s.clone();
        async move { s.secret(key).await }
    };
    assert_eq!(
        get("PLAIN_KEY").await.unwrap().unwrap().expose_secret(),
        "plain-value"
    );
    assert_eq!(
        get("FROM_ENV").await.unwrap().unwrap().expose_secret(),
        "real-value"
    );
    assert_eq!(
        get("FROM_FILE").await.unwrap().unwrap().expose_secret(),
        "from-file"
    );
    assert!(get("UNSET").await.unwrap().is_none());
    assert_eq!(
        s.require_secret("UNSET").await.unwrap_err().kind(),
        ErrorKind::Config
    );

    let err = get("FROM_AWS").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.message().contains("`aws-sm` feature"), "{err}");
    assert_eq!(ctx(&err, "setting"), Some("FROM_AWS"));
    let err = get("FROM_AZURE").await.unwrap_err();
    assert!(err.message().contains("`azure-kv` feature"), "{err}");

    let err = get("BROKEN").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(ctx(&err, "setting"), Some("BROKEN"));
    let err = get("DANGLING").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("NOT_SET"));
    assert_eq!(
        s.secret_ref("FROM_AWS").unwrap(),
        Some(SecretRef::AwsSecretsManager {
            secret_id: "prod/db".into(),
            json_key: Some("password".into())
        })
    );
    assert_eq!(s.secret_ref("PLAIN_KEY").unwrap(), None);
}

#[tokio::test]
async fn a_registered_resolver_is_used() {
    #[derive(Debug)]
    struct FakeVault;
    #[async_trait::async_trait]
    impl SecretSource for FakeVault {
        fn scheme(&self) -> &'static str {
            "azure-kv"
        }
        async fn resolve(&self, reference: &SecretRef) -> Result<SecretString> {
            match reference {
                SecretRef::AzureKeyVault { name, .. } => Ok(format!("kv-{name}").into()),
                other => Err(wrong_scheme("azure-kv", other)),
            }
        }
    }
    let s = Settings::from_map([("DB", "azure-kv://v/db")]);
    let resolver = Arc::new(SecretResolver::with_defaults(&s).with_source(FakeVault));
    let s = s.with_secret_resolver(resolver);
    assert_eq!(
        s.require_secret("DB").await.unwrap().expose_secret(),
        "kv-db"
    );
}

#[test]
fn debug_hides_secret_values() {
    let s = Settings::from_map([
        ("OPENAI_API_KEY", "sk-abc-not-shaped"),
        ("JWT_SECRET", "jwt-secret-value"),
        ("HF_TOKEN", "tok-value"),
        ("DB_PASSWORD", "pw-value"),
        ("SENTRY_DSN", "https://public@o1.ingest.sentry.io/1"),
        ("DATABASE_URL", "postgres://app:db-pass-value@localhost/app"),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T/B/slack-value",
        ),
        ("MEM0_API_KEY", "aws-sm://prod/mem0#key"),
        ("PORT", "8080"),
    ]);
    let shown = format!("{s:?}");
    for secret in [
        "sk-abc-not-shaped",
        "jwt-secret-value",
        "tok-value",
        "pw-value",
        "public@o1",
        "db-pass-value",
        "slack-value",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("\"PORT\": \"8080\""), "{shown}");
    assert!(
        shown.contains("postgres://app:[REDACTED]@localhost/app"),
        "{shown}"
    );
    assert!(
        shown.contains("aws-sm://prod/mem0#key"),
        "references stay: {shown}"
    );
    assert!(is_secret_key("aws_secret_access_key"));
    assert!(!is_secret_key("AUTH0_DOMAIN"));
}
