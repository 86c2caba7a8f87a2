#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use plugbay_auth::{Subject, TokenIssuer as _, TokenVerifier as _};
use plugbay_cache::{InMemoryKeyValue, KeyValue};
use plugbay_core::{Error, ErrorKind, ExposeSecret as _, Result, Settings};
use plugbay_storage::{InMemoryStore, ObjectStoreExt as _};

use super::*;
use crate::keys;

/// Test settings: unless a test picks the vectors or a data folder, the
/// vectors stay in memory (the default persists them under `./data`, a
/// folder every such test would share).
pub(super) fn test_settings<K: Into<String>, V: Into<String>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Settings {
    let settings = Settings::from_map(pairs);
    if settings.contains(keys::DATA_DIR) || settings.contains(keys::VECTOR_URL) {
        settings
    } else {
        settings.with(keys::VECTOR_URL, "memory://")
    }
}

fn temp_settings(dir: &tempfile::TempDir) -> Settings {
    Settings::from_map([(keys::DATA_DIR, dir.path().to_str().unwrap())])
}

fn line(p: &Providers, concern: Concern) -> ConcernReport {
    p.report_for(concern).cloned().unwrap()
}

#[tokio::test]
async fn empty_settings_choose_every_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let p = Providers::from_settings(&temp_settings(&dir))
        .await
        .unwrap();

    let report = p.report();
    let concerns: Vec<Concern> = report.iter().map(|r| r.concern).collect();
    assert_eq!(
        concerns,
        Concern::ALL.to_vec(),
        "one line per concern, in order"
    );
    for r in &report {
        assert!(r.is_default, "{r}");
    }
    let mut secrets = Vec::new();
    if cfg!(feature = "aws-sm") {
        secrets.push("aws-sm");
    }
    if cfg!(feature = "azure-kv") {
        secrets.push("azure-kv");
    }
    secrets.extend(["env", "file"]);
    let secrets = secrets.join("+");
    let backends: Vec<(&str, &str)> = report
        .iter()
        .map(|r| (r.concern.as_str(), r.backend.as_str()))
        .collect();
    assert_eq!(
        backends,
        [
            ("storage", "fs"),
            ("vectors", "memory"),
            ("memory", "local"),
            ("llm", "mock"),
            ("embeddings", "hashing"),
            ("cache", "memory"),
            ("rate_limit", "memory"),
            ("auth", "local-jwt"),
            ("documents", "memory"),
            ("telemetry", p.error_reporter().backend()),
            ("notifier", "log"),
            ("webhooks", "none"),
            ("secrets", secrets.as_str()),
        ]
    );
    // The fs default lives under the data folder.
    assert!(dir.path().join("files").is_dir());
    let note = line(&p, Concern::Auth).note.unwrap();
    assert!(note.contains("DEVELOPMENT ONLY"), "{note}");
    assert!(p.token_issuer().is_some());
    assert!(p.llm_is_mock());
    assert!(p.webhook_verifier("stripe").is_none());

    let statuses = p.readiness().await;
    assert_eq!(statuses.len(), Concern::ALL.len());
    for s in &statuses {
        assert!(s.ready, "{:?}", s);
    }
}

#[tokio::test]
async fn embedded_default_memories_and_history_survive_a_restart() {
    use plugbay_llm::Message;
    use plugbay_memory::{AddOptions, Memory as _, MemoryEventKind, Scope, SearchOptions};

    let dir = tempfile::tempdir().unwrap();
    let settings = temp_settings(&dir);
    let scope = Scope::user("u1");
    let p = Providers::from_settings(&settings).await.unwrap();
    let note = line(&p, Concern::Vectors).note.unwrap();
    assert!(note.contains(stores::VECTOR_SNAPSHOT_FILE), "{note}");
    let note = line(&p, Concern::Memory).note.unwrap();
    assert!(note.contains(stores::MEMORY_HISTORY_FILE), "{note}");
    let added = p
        .memory()
        .add(
            &[Message::user("I keep bees in Ghent")],
            &scope,
            AddOptions::new().infer(false),
        )
        .await
        .unwrap();
    assert_eq!(added.len(), 1);
    let id = added[0].memory_id.clone();
    p.flush(Duration::from_secs(5)).await.unwrap();
    drop(p);
    assert!(dir.path().join(stores::VECTOR_SNAPSHOT_FILE).is_file());
    assert!(dir.path().join(stores::MEMORY_HISTORY_FILE).is_file());

    let again = Providers::from_settings(&settings).await.unwrap();
    let item = again.memory().get(&id).await.unwrap();
    assert_eq!(item.text, "I keep bees in Ghent");
    let found = again
        .memory()
        .search("bees", &scope, SearchOptions::new())
        .await
        .unwrap();
    assert_eq!(found.first().map(|m| m.item.id.as_str()), Some(id.as_str()));
    let history = again.memory().history(&id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].event, MemoryEventKind::Add);
    assert_eq!(history[0].new_text.as_deref(), Some("I keep bees in Ghent"));
}

#[tokio::test]
async fn an_explicit_memory_vector_url_keeps_vectors_and_history_in_memory() {
    use plugbay_llm::Message;
    use plugbay_memory::{AddOptions, Memory as _, Page, Scope};

    let dir = tempfile::tempdir().unwrap();
    let settings = temp_settings(&dir).with(keys::VECTOR_URL, "memory://");
    let scope = Scope::user("u1");
    let p = Providers::from_settings(&settings).await.unwrap();
    let note = line(&p, Concern::Memory).note.unwrap();
    assert!(note.contains("history in memory"), "{note}");
    p.memory()
        .add(
            &[Message::user("I keep bees in Ghent")],
            &scope,
            AddOptions::new().infer(false),
        )
        .await
        .unwrap();
    p.flush(Duration::from_secs(5)).await.unwrap();
    drop(p);
    assert!(!dir.path().join(stores::VECTOR_SNAPSHOT_FILE).exists());
    assert!(!dir.path().join(stores::MEMORY_HISTORY_FILE).exists());

    let again = Providers::from_settings(&settings).await.unwrap();
    let page = again.memory().list(&scope, Page::default()).await.unwrap();
    assert!(page.items.is_empty());
}

#[test]
fn data_dir_defaults_to_dot_data_under_the_current_directory() {
    let dir = select::data_dir(&Settings::default()).unwrap();
    assert_eq!(dir, std::env::current_dir().unwrap().join("./data"));
    let abs = test_settings([(keys::DATA_DIR, "/srv/plugbay")]);
    assert_eq!(
        select::data_dir(&abs).unwrap(),
        std::path::PathBuf::from("/srv/plugbay")
    );
}

#[tokio::test]
async fn unknown_schemes_and_names_are_config_errors_naming_the_setting() {
    for (key, value) in [
        (keys::STORAGE_URL, "ftp://host/x"),
        (keys::VECTOR_URL, "redis://localhost"),
        (keys::CACHE_URL, "ftp://x"),
        (keys::DOCS_URL, "couch://x"),
        (keys::LLM, "gpt-5-turbo-max"),
        (keys::NOTIFIER, "pager"),
        (keys::TELEMETRY, "stdout"),
        (keys::JWT_ACCESS_TTL, "soon"),
    ] {
        // Storage in memory (unless it is the setting under test), so that
        // a test never writes into ./data.
        let settings = test_settings([(keys::STORAGE_URL, "memory://")]).with(key, value);
        let err = Providers::from_settings(&settings)
            .await
            .map(|_| ())
            .expect_err(key);
        assert_eq!(err.kind(), ErrorKind::Config, "{key}: {err}");
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
}

#[tokio::test]
async fn planned_backends_are_unsupported_and_name_the_setting() {
    // No feature builds a document store other than memory yet.
    let settings = test_settings([(keys::DOCS_URL, "postgres://app@127.0.0.1/app")]);
    let err = ProvidersBuilder::from_settings(&settings)
        .storage(Arc::new(InMemoryStore::new()))
        .build()
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains(keys::DOCS_URL), "{err}");
}

#[tokio::test]
async fn cache_url_wins_over_the_seeds_redis_url() {
    // Port 1 answers nothing: this only holds if REDIS_URL is never used.
    let settings = test_settings([
        (keys::REDIS_URL, "redis://127.0.0.1:1"),
        (keys::CACHE_URL, "memory://"),
    ]);
    let p = ProvidersBuilder::from_settings(&settings)
        .storage(Arc::new(InMemoryStore::new()))
        .build()
        .await
        .unwrap();
    let cache = line(&p, Concern::Cache);
    assert_eq!(
        (cache.backend.as_str(), cache.is_default),
        ("memory", false)
    );
    assert!(cache.note.unwrap().contains(keys::CACHE_URL));
    assert_eq!(p.rate_limiter().backend(), "memory");
}

#[tokio::test]
async fn a_backend_outside_this_build_is_unsupported_naming_setting_and_feature() {
    let cases = [
        (
            keys::REDIS_URL,
            "redis://127.0.0.1:1",
            cfg!(feature = "redis"),
        ),
        (
            keys::STORAGE_URL,
            "s3://bucket?region=eu-west-1",
            cfg!(feature = "s3"),
        ),
        (keys::STORAGE_URL, "gs://bucket", cfg!(feature = "gcs")),
        (
            keys::STORAGE_URL,
            "cloudinary://key:secret@demo",
            cfg!(feature = "cloudinary"),
        ),
        (
            keys::VECTOR_URL,
            "qdrant://127.0.0.1:1",
            cfg!(feature = "qdrant"),
        ),
        (
            keys::VECTOR_URL,
            "pinecone://index",
            cfg!(feature = "pinecone"),
        ),
        (keys::MEMORY, "mem0", cfg!(feature = "mem0")),
        (keys::LLM, "openai", cfg!(feature = "openai")),
        (keys::LLM, "huggingface", cfg!(feature = "huggingface")),
        (keys::EMBEDDINGS, "openai", cfg!(feature = "openai")),
    ];
    let mut checked = 0;
    for (key, value, built) in cases {
        if built {
            continue;
        }
        checked += 1;
        let settings = test_settings([(keys::STORAGE_URL, "memory://")]).with(key, value);
        let err = Providers::from_settings(&settings)
            .await
            .map(|_| ())
            .expect_err(key);
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{key}={value}: {err}");
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
    if !cfg!(feature = "full") {
        assert!(checked > 0, "without `full` some backend is missing");
    }
}

#[tokio::test]
async fn keys_of_backends_outside_this_build_are_noted_not_fatal() {
    // A seed `.env` with every key still starts: each unbuilt backend its
    // key points at falls back to the embedded default with a note.
    let settings = test_settings([
        (keys::STORAGE_URL, "memory://"),
        (keys::OPENAI_API_KEY, "sk-test-not-a-real-key-000000000000"),
        (keys::HF_TOKEN, "hf_test_not_a_real_token"),
        (keys::MEM0_API_KEY, "m0-test-not-a-real-key"),
    ]);
    let p = Providers::from_settings(&settings).await.unwrap();
    let llm = line(&p, Concern::Llm);
    let note = llm.note.clone().unwrap();
    assert!(
        !note.contains("sk-test"),
        "the key itself is never reported"
    );
    if cfg!(feature = "openai") {
        // OPENAI_API_KEY wins over HF_TOKEN.
        assert_eq!((llm.backend.as_str(), llm.is_default), ("openai", false));
        assert!(note.contains("OPENAI_API_KEY is set"), "{note}");
    } else {
        assert!(p.llm_is_mock());
        assert!(note.contains("lacks the `openai` feature"), "{note}");
        assert!(note.contains("lacks the `huggingface` feature"), "{note}");
    }
    let memory = line(&p, Concern::Memory);
    if cfg!(feature = "mem0") {
        assert_eq!(memory.backend, "mem0");
        assert!(memory.note.unwrap().contains("MEM0_API_KEY is set"));
    } else {
        assert_eq!(memory.backend, "local");
        assert!(memory.note.unwrap().contains("lacks the `mem0` feature"));
    }
    // Embeddings never follow a key.
    assert_eq!(line(&p, Concern::Embeddings).backend, "hashing");
}

#[tokio::test]
async fn an_explicit_mock_wins_over_keys_and_bad_names_fail() {
    let settings = test_settings([
        (keys::STORAGE_URL, "memory://"),
        (keys::OPENAI_API_KEY, "sk-test-not-a-real-key-000000000000"),
        (keys::LLM, "MOCK"),
    ]);
    let p = Providers::from_settings(&settings).await.unwrap();
    assert!(p.llm_is_mock());
    let llm = line(&p, Concern::Llm);
    assert!(!llm.is_default);
    assert!(llm.note.unwrap().contains("from PLUGBAY_LLM"));
    for (key, value) in [
        (keys::EMBEDDINGS, "word2vec"),
        (keys::MEMORY, "zep"),
        (keys::LLM, "ftp://model"),
        (keys::VECTOR_URL, "memory://?colour=red"),
    ] {
        let settings = test_settings([(keys::STORAGE_URL, "memory://")]).with(key, value);
        let err = Providers::from_settings(&settings).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{key}={value}: {err}");
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[tokio::test]
async fn an_override_wins_over_settings() {
    // The setting is broken, but the override means it is never read.
    let settings = test_settings([(keys::STORAGE_URL, "ftp://nope")]);
    let store = Arc::new(InMemoryStore::new());
    let p = ProvidersBuilder::from_settings(&settings)
        .storage(store.clone())
        .build()
        .await
        .unwrap();
    let key = plugbay_storage::Key::new("probe/one").unwrap();
    p.storage().put(&key, "hello").await.unwrap();
    assert_eq!(store.get_bytes(&key).await.unwrap(), "hello");
    let storage = line(&p, Concern::Storage);
    assert_eq!(storage.backend, "memory");
    assert!(!storage.is_default);
    assert_eq!(storage.note.as_deref(), Some("set in code"));
}

#[tokio::test]
async fn jwt_secret_is_used_and_validated() {
    let secret = "a-configured-secret-that-is-long-enough-0123";
    let settings = test_settings([
        (keys::STORAGE_URL, "memory://"),
        ("MY_SECRET", secret),
        (keys::JWT_SECRET, "env://MY_SECRET"),
    ]);
    let p = Providers::from_settings(&settings).await.unwrap();
    assert!(!line(&p, Concern::Auth).is_default);
    let pair = p
        .token_issuer()
        .unwrap()
        .issue(&Subject::new("u1"))
        .await
        .unwrap();
    // A second set with the same secret accepts the first one's tokens.
    let other = Providers::from_settings(&settings).await.unwrap();
    let err = other
        .token_verifier()
        .verify(pair.access_token.expose_secret())
        .await
        .unwrap_err();
    // Its session store is a different process's memory: signature fine,
    // session unknown.
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let who = p
        .token_verifier()
        .verify(pair.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(who.subject, "u1");

    let short = test_settings([
        (keys::STORAGE_URL, "memory://"),
        (keys::JWT_SECRET, "short"),
    ]);
    let err = Providers::from_settings(&short).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains(keys::JWT_SECRET), "{err}");
    assert!(!err.to_string().contains("short\""), "{err}");
}

#[tokio::test]
async fn webhook_secrets_enable_verifiers() {
    let settings = test_settings([
        (keys::STORAGE_URL, "memory://"),
        (keys::STRIPE_WEBHOOK_SECRET, "whsec_test"),
        (keys::GITHUB_WEBHOOK_SECRET, "gh-secret"),
    ]);
    let p = Providers::from_settings(&settings).await.unwrap();
    assert_eq!(
        p.webhook_providers().collect::<Vec<_>>(),
        ["github", "stripe"]
    );
    assert_eq!(p.webhook_verifier("stripe").unwrap().provider(), "stripe");
    assert!(p.webhooks("auth0").is_none());
    let hooks = line(&p, Concern::Webhooks);
    assert_eq!(
        (hooks.backend.as_str(), hooks.is_default),
        ("github,stripe", false)
    );
}

/// A key-value store that is down.
#[derive(Debug)]
struct DownKeyValue;

fn down() -> Error {
    Error::new(ErrorKind::Unavailable, "connection refused")
}

#[async_trait]
impl KeyValue for DownKeyValue {
    fn backend(&self) -> &'static str {
        "down"
    }
    async fn get(&self, _: &str) -> Result<Option<Bytes>> {
        Err(down())
    }
    async fn set(&self, _: &str, _: Bytes, _: Option<Duration>) -> Result<()> {
        Err(down())
    }
    async fn set_if_absent(&self, _: &str, _: Bytes, _: Option<Duration>) -> Result<bool> {
        Err(down())
    }
    async fn take(&self, _: &str) -> Result<Option<Bytes>> {
        Err(down())
    }
    async fn delete(&self, _: &str) -> Result<bool> {
        Err(down())
    }
    async fn incr(&self, _: &str, _: i64, _: Option<Duration>) -> Result<i64> {
        Err(down())
    }
    async fn expire(&self, _: &str, _: Duration) -> Result<bool> {
        Err(down())
    }
    async fn ping(&self) -> Result<()> {
        Err(down())
    }
}

#[tokio::test]
async fn readiness_reports_a_backend_that_does_not_answer() {
    let p = ProvidersBuilder::from_settings(&test_settings::<&str, &str>([]))
        .storage(Arc::new(InMemoryStore::new()))
        .key_value(Arc::new(DownKeyValue))
        .build()
        .await
        .unwrap();
    let statuses = p.readiness().await;
    let cache = statuses
        .iter()
        .find(|s| s.report.concern == Concern::Cache)
        .unwrap();
    assert!(!cache.ready);
    assert!(
        cache.error.as_deref().unwrap().contains("unavailable"),
        "{cache:?}"
    );
    assert_eq!(cache.report.backend, "down");
    let storage = statuses
        .iter()
        .find(|s| s.report.concern == Concern::Storage)
        .unwrap();
    assert!(storage.ready);
}

#[tokio::test]
async fn auth_override_without_issuer_means_no_local_login() {
    let kv: plugbay_cache::DynKeyValue = Arc::new(InMemoryKeyValue::new());
    let base = Providers::from_settings(&test_settings([(keys::STORAGE_URL, "memory://")]))
        .await
        .unwrap();
    let p = ProvidersBuilder::from_settings(&test_settings::<&str, &str>([]))
        .storage(Arc::new(InMemoryStore::new()))
        .key_value(kv)
        .auth(None, base.token_verifier().clone())
        .build()
        .await
        .unwrap();
    assert!(p.token_issuer().is_none());
    let auth = line(&p, Concern::Auth);
    assert_eq!(
        (auth.backend.as_str(), auth.is_default),
        ("verify only", false)
    );
}
