//! Selection of the optional backends: each test runs only with the
//! feature that builds its backend (the feature-less behaviour is in
//! `tests.rs`), against a wiremock stub of the provider's wire format or a
//! real peer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use plugbay_core::{ErrorKind, Settings};
use plugbay_llm::{HashingEmbedder, Message};
use plugbay_memory::{AddOptions, Memory as _, Scope, SearchOptions};

use super::tests::test_settings;
use super::*;
use crate::keys;

fn line(p: &Providers, concern: Concern) -> ConcernReport {
    p.report_for(concern).cloned().unwrap()
}

#[cfg_attr(
    not(any(
        feature = "openai",
        feature = "mem0",
        feature = "s3",
        feature = "qdrant"
    )),
    allow(dead_code)
)]
fn status(statuses: &[ConcernStatus], concern: Concern) -> ConcernStatus {
    statuses
        .iter()
        .find(|s| s.report.concern == concern)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_persisted_memory_collection_of_another_size_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings([
        (keys::DATA_DIR, dir.path().to_str().unwrap()),
        (keys::STORAGE_URL, "memory://"),
        (keys::VECTOR_URL, "memory://?snapshot=vectors/memories.snap"),
    ]);
    let scope = Scope::user("u1");
    let p = Providers::from_settings(&settings).await.unwrap();
    assert!(
        line(&p, Concern::Vectors)
            .note
            .unwrap()
            .contains("snapshot")
    );
    p.memory()
        .add(
            &[Message::user("I live in Lyon")],
            &scope,
            AddOptions::new().infer(false),
        )
        .await
        .unwrap();
    p.flush(Duration::from_secs(5)).await.unwrap();
    assert!(dir.path().join("vectors/memories.snap").is_file());

    // The same embedder finds the memory again after a restart.
    let again = Providers::from_settings(&settings).await.unwrap();
    let found = again
        .memory()
        .search("Lyon", &scope, SearchOptions::new())
        .await
        .unwrap();
    assert_eq!(found[0].item.text, "I live in Lyon");

    // Another embedder size is a clear Config error at start-up.
    let err = ProvidersBuilder::from_settings(&settings)
        .embedder(Arc::new(HashingEmbedder::new(64)))
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let text = err.to_string();
    assert!(text.contains(keys::EMBEDDINGS), "{text}");
    assert!(text.contains("64 dimensions"), "{text}");
    assert!(text.contains("384"), "names the stored size: {text}");
}

#[cfg(feature = "openai")]
mod openai {
    use plugbay_llm::{ChatRequest, EmbeddingModel as _};
    use serde_json::{Value, json};
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    use super::*;

    const KEY: &str = "sk-test-facade-0000000000000000";

    fn completion(text: &str) -> Value {
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
        })
    }

    fn settings(server: &MockServer) -> Settings {
        test_settings([
            (keys::STORAGE_URL, "memory://".to_owned()),
            (keys::OPENAI_API_KEY, KEY.to_owned()),
            ("OPENAI_BASE_URL", format!("{}/v1", server.uri())),
            ("OPENAI_MAX_RETRIES", "0".to_owned()),
        ])
    }

    #[tokio::test]
    async fn openai_api_key_selects_openai_and_chat_hits_the_base_url() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", format!("Bearer {KEY}").as_str()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(completion("hello from the stub")),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []})),
            )
            .mount(&server)
            .await;

        let p = Providers::from_settings(&settings(&server)).await.unwrap();
        assert!(!p.llm_is_mock());
        let llm = line(&p, Concern::Llm);
        assert_eq!((llm.backend.as_str(), llm.is_default), ("openai", false));
        let note = llm.note.unwrap();
        assert!(
            note.contains("OPENAI_API_KEY is set (PLUGBAY_LLM unset)"),
            "{note}"
        );
        assert!(!note.contains(KEY));

        let reply = p
            .chat_model()
            .chat(ChatRequest::from_prompt("hi"))
            .await
            .unwrap();
        assert_eq!(reply.text(), "hello from the stub");
        let ready = status(&p.readiness().await, Concern::Llm);
        assert!(ready.ready, "{ready:?}");
        let models = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == "/v1/models")
            .count();
        assert_eq!(models, 1, "readiness asked GET /models once");
    }

    #[tokio::test]
    async fn a_refused_key_makes_the_llm_not_ready() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                          "param": null, "code": "invalid_api_key"}
            })))
            .mount(&server)
            .await;
        let p = Providers::from_settings(&settings(&server).with(keys::LLM, "openai"))
            .await
            .unwrap();
        assert!(
            line(&p, Concern::Llm)
                .note
                .unwrap()
                .contains("from PLUGBAY_LLM")
        );
        let llm = status(&p.readiness().await, Concern::Llm);
        assert!(!llm.ready, "{llm:?}");
        assert!(llm.error.unwrap().contains("refused"));
    }

    #[tokio::test]
    async fn openai_without_a_key_is_a_config_error_naming_the_setting() {
        let settings = test_settings([(keys::STORAGE_URL, "memory://"), (keys::LLM, "openai")]);
        let err = Providers::from_settings(&settings).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains(keys::LLM), "{err}");
    }

    #[tokio::test]
    async fn a_compatible_server_url_never_gets_the_openai_key() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion("local")))
            .mount(&server)
            .await;
        let url = format!("openai+{}/v1?model=local-llama", server.uri());
        let p = Providers::from_settings(&settings(&server).with(keys::LLM, url))
            .await
            .unwrap();
        assert_eq!(p.chat_model().model(), "local-llama");
        let reply = p
            .chat_model()
            .chat(ChatRequest::from_prompt("hi"))
            .await
            .unwrap();
        assert_eq!(reply.text(), "local");
        let sent = server.received_requests().await.unwrap();
        let chat = sent
            .iter()
            .find(|r| r.url.path() == "/v1/chat/completions")
            .unwrap();
        assert!(
            !chat.headers.contains_key("authorization"),
            "{:?}",
            chat.headers
        );
        let body: Value = serde_json::from_slice(&chat.body).unwrap();
        assert_eq!(body["model"], "local-llama");

        // With PLUGBAY_LLM_API_KEY the compatible server gets that key.
        let p = Providers::from_settings(
            &settings(&server)
                .with(keys::LLM, format!("openai+{}/v1", server.uri()))
                .with(keys::LLM_API_KEY, "local-key"),
        )
        .await
        .unwrap();
        p.chat_model()
            .chat(ChatRequest::from_prompt("hi"))
            .await
            .unwrap();
        let sent = server.received_requests().await.unwrap();
        assert_eq!(
            sent.last().unwrap().headers["authorization"],
            "Bearer local-key"
        );
    }

    fn embeddings(request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let inputs = body["input"].as_array().unwrap();
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let seed = text.as_str().unwrap().len() as f32;
                json!({"object": "embedding", "index": i,
                       "embedding": [seed, 1.0, 0.5, 0.25, 0.0, 0.0, 0.0, 1.0]})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": data, "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 2, "total_tokens": 2}
        }))
    }

    #[tokio::test]
    async fn openai_embeddings_are_cached_and_size_the_memory_collection() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/embeddings"))
            .respond_with(embeddings)
            .mount(&server)
            .await;
        let settings = settings(&server)
            .with(keys::LLM, "mock")
            .with(keys::EMBEDDINGS, "openai")
            .with("OPENAI_EMBEDDING_DIMENSIONS", "8");
        let p = Providers::from_settings(&settings).await.unwrap();
        let report = line(&p, Concern::Embeddings);
        assert_eq!(report.backend, "openai");
        assert!(
            report
                .note
                .unwrap()
                .contains("cached in the key-value store (memory)")
        );
        assert_eq!(p.embedder().dimensions(), Some(8));
        // The collection exists already, sized by the embedder.
        assert_eq!(
            p.vectors()
                .count(stores::MEMORY_COLLECTION, None)
                .await
                .unwrap(),
            0
        );

        let texts = ["tea".to_owned(), "coffee".to_owned()];
        let first = p.embedder().embed(&texts).await.unwrap();
        let second = p.embedder().embed(&texts).await.unwrap();
        assert_eq!(first.vectors, second.vectors);
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "the second call was cached"
        );

        p.memory()
            .add(
                &[Message::user("I like tea")],
                &Scope::user("u"),
                AddOptions::new().infer(false),
            )
            .await
            .unwrap();
        assert_eq!(
            p.vectors()
                .count(stores::MEMORY_COLLECTION, None)
                .await
                .unwrap(),
            1
        );
    }
}

#[cfg(feature = "huggingface")]
#[tokio::test]
async fn hf_token_selects_hugging_face_when_no_openai_key() {
    let settings = test_settings([
        (keys::STORAGE_URL, "memory://"),
        (keys::HF_TOKEN, "hf_test_not_a_real_token"),
    ]);
    let p = Providers::from_settings(&settings).await.unwrap();
    let llm = line(&p, Concern::Llm);
    assert_eq!(
        (llm.backend.as_str(), llm.is_default),
        ("huggingface", false)
    );
    assert!(llm.note.unwrap().contains("HF_TOKEN is set"));
}

#[cfg(feature = "mem0")]
#[tokio::test]
async fn mem0_is_selected_by_name_and_probed_with_its_ping() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/ping/"))
        .and(header("authorization", "Token m0-test-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"status": "ok"})))
        .expect(1)
        .mount(&server)
        .await;
    let settings = test_settings([
        (keys::STORAGE_URL, "memory://".to_owned()),
        (keys::MEMORY, "mem0".to_owned()),
        (keys::MEM0_API_KEY, "m0-test-key".to_owned()),
        ("MEM0_BASE_URL", server.uri()),
    ]);
    let p = Providers::from_settings(&settings).await.unwrap();
    let memory = line(&p, Concern::Memory);
    assert_eq!(
        (memory.backend.as_str(), memory.is_default),
        ("mem0", false)
    );
    assert!(status(&p.readiness().await, Concern::Memory).ready);

    let err = Providers::from_settings(&test_settings([
        (keys::STORAGE_URL, "memory://"),
        (keys::MEMORY, "mem0"),
    ]))
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains(keys::MEMORY), "{err}");
}

#[cfg(feature = "s3")]
#[tokio::test]
async fn s3_urls_read_aws_settings_including_secret_references() {
    let settings = test_settings([
        (
            keys::STORAGE_URL,
            "s3://uploads?endpoint=http://127.0.0.1:1&path_style=true",
        ),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("REAL_SECRET", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ("AWS_SECRET_ACCESS_KEY", "env://REAL_SECRET"),
        ("AWS_REGION", "eu-west-3"),
    ]);
    let p = Providers::from_settings(&settings).await.unwrap();
    let storage = line(&p, Concern::Storage);
    assert_eq!(
        (storage.backend.as_str(), storage.is_default),
        ("s3", false)
    );
    // Nothing listens on port 1: the probe says so instead of hanging.
    let ready = status(&p.readiness().await, Concern::Storage);
    assert!(!ready.ready, "{ready:?}");
}

#[cfg(feature = "qdrant")]
#[tokio::test]
async fn qdrant_urls_build_a_qdrant_store_probed_by_readiness() {
    let settings = test_settings([
        (keys::STORAGE_URL, "memory://"),
        (
            keys::VECTOR_URL,
            "qdrant://127.0.0.1:1?max_retries=0&timeout=1s",
        ),
    ]);
    let p = Providers::from_settings(&settings).await.unwrap();
    assert_eq!(line(&p, Concern::Vectors).backend, "qdrant");
    let vectors = status(&p.readiness().await, Concern::Vectors);
    assert!(!vectors.ready, "{vectors:?}");
    assert!(vectors.latency_ms <= 2_500);
}

#[cfg(feature = "redis")]
mod redis {
    use plugbay_auth::{Subject, TokenIssuer as _, TokenVerifier as _};
    use plugbay_cache::Quota;
    use plugbay_core::ExposeSecret as _;

    use super::*;

    /// The Redis peer from `PLUGBAY_TEST_REDIS_URL`; `None` (after saying
    /// why) when it is not set, a panic when it is not set under CI.
    fn redis_url() -> Option<String> {
        match std::env::var("PLUGBAY_TEST_REDIS_URL") {
            Ok(url) if !url.trim().is_empty() => Some(url),
            _ => {
                let reason = "PLUGBAY_TEST_REDIS_URL is not set (start a Redis peer with \
                              scripts/peers.sh or point it at redis://127.0.0.1:6379)";
                if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                    panic!("CI=true: {reason}");
                }
                eprintln!("skipping the Redis-backed Providers test: {reason}");
                None
            }
        }
    }

    #[tokio::test]
    async fn redis_backs_sessions_rate_limits_and_the_cache_across_instances() {
        let Some(url) = redis_url() else { return };
        let prefix = format!(
            "plugbay-facade-test-{}:",
            hex::encode(rand::random::<[u8; 6]>())
        );
        let sep = if url.contains('?') { '&' } else { '?' };
        let settings = test_settings([
            (keys::STORAGE_URL, "memory://".to_owned()),
            (keys::REDIS_URL, format!("{url}{sep}prefix={prefix}")),
            (
                keys::JWT_SECRET,
                "a-shared-secret-that-is-long-enough-0123".to_owned(),
            ),
        ]);
        let one = Providers::from_settings(&settings).await.unwrap();
        let two = Providers::from_settings(&settings).await.unwrap();
        let cache = line(&one, Concern::Cache);
        assert_eq!((cache.backend.as_str(), cache.is_default), ("redis", false));
        let limit = line(&one, Concern::RateLimit);
        assert_eq!((limit.backend.as_str(), limit.is_default), ("redis", false));

        one.key_value()
            .set(
                "probe",
                bytes::Bytes::from_static(b"shared"),
                Some(Duration::from_secs(60)),
            )
            .await
            .unwrap();
        assert_eq!(
            two.key_value().take("probe").await.unwrap().as_deref(),
            Some(&b"shared"[..])
        );

        // A session started by one instance is known to the other.
        let pair = one
            .token_issuer()
            .unwrap()
            .issue(&Subject::new("u1"))
            .await
            .unwrap();
        let who = two
            .token_verifier()
            .verify(pair.access_token.expose_secret())
            .await
            .unwrap();
        assert_eq!(who.subject, "u1");

        // The rate limit is one budget for both instances.
        let quota = Quota::per_minute(2);
        assert!(
            one.rate_limiter()
                .check("u1", &quota)
                .await
                .unwrap()
                .allowed
        );
        assert!(
            two.rate_limiter()
                .check("u1", &quota)
                .await
                .unwrap()
                .allowed
        );
        assert!(
            !one.rate_limiter()
                .check("u1", &quota)
                .await
                .unwrap()
                .allowed
        );

        for s in one.readiness().await {
            assert!(s.ready, "{s:?}");
        }
    }
}

#[cfg(feature = "cloudinary")]
#[tokio::test]
async fn cloudinary_urls_may_come_through_a_secret_reference() {
    let settings = test_settings([
        ("CLOUDINARY_URL", "cloudinary://key:secret@demo"),
        (keys::STORAGE_URL, "env://CLOUDINARY_URL"),
    ]);
    let p = Providers::from_settings(&settings).await.unwrap();
    let storage = line(&p, Concern::Storage);
    assert_eq!(
        (storage.backend.as_str(), storage.is_default),
        ("cloudinary", false)
    );
    assert!(!storage.to_string().contains("secret"), "{storage}");
}
