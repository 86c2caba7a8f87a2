//! Hugging Face embeddings against wiremock stubs of hf-inference feature
//! extraction and TEI: the conformance suite, the wire format, and the
//! fault suite (kinds and attempt counts, waits recorded not slept).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod hf_support;

use std::time::{Duration, SystemTime};

use hf_support::{EmbedStub, TOKEN, attempts, client, context, ms, raw_server, resetting_server};
use plugbay_core::ErrorKind;
use plugbay_core::http::RecordingSleeper;
use plugbay_llm::conformance::embedding;
use plugbay_llm::{EmbeddingModel, EmbeddingModelExt, HuggingFaceBuilder, HuggingFaceEmbeddings};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";
const FE_PATH: &str =
    "/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/feature-extraction";

fn inference(base: &str, sleeper: &RecordingSleeper) -> HuggingFaceEmbeddings {
    HuggingFaceBuilder::default()
        .token(TOKEN)
        .base_url(base)
        .embedding_model(MODEL)
        .max_batch(4)
        .http_client(client(sleeper, Duration::from_secs(5)))
        .build_embeddings()
        .unwrap()
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

async fn mount_inference(server: &MockServer, stub: EmbedStub) {
    Mock::given(method("POST"))
        .and(path(FE_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(stub)
        .mount(server)
        .await;
}

#[tokio::test]
async fn hf_inference_sentence_vectors_pass_the_suite() {
    let server = MockServer::start().await;
    mount_inference(&server, EmbedStub::sentences(32)).await;
    let model = inference(&server.uri(), &RecordingSleeper::new());
    embedding::run_all(&model).await;
    assert_eq!(
        model.dimensions(),
        Some(32),
        "learned from the first answer"
    );
    assert_eq!((model.provider(), model.model()), ("huggingface", MODEL));
}

#[tokio::test]
async fn hf_inference_token_vectors_are_pooled_and_pass_the_suite() {
    let server = MockServer::start().await;
    let stub = EmbedStub {
        token_level: true,
        ..EmbedStub::sentences(24)
    };
    mount_inference(&server, stub.clone()).await;
    let model = inference(&server.uri(), &RecordingSleeper::new());
    embedding::run_all(&model).await;
    let v = model.embed_one("pooled text").await.unwrap();
    let expected = stub.expected("pooled text");
    for (a, b) in v.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[tokio::test]
async fn hf_inference_sends_options_and_wait_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FE_PATH))
        .and(header("x-wait-for-model", "true"))
        .and(body_partial_json(
            json!({"inputs": ["a"], "normalize": true, "truncate": true}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([[3.0, 4.0]])))
        .expect(1)
        .mount(&server)
        .await;
    let model = HuggingFaceBuilder::default()
        .token(TOKEN)
        .base_url(format!("{}/v1", server.uri()))
        .embedding_model(MODEL)
        .normalize(true)
        .truncate(true)
        .wait_for_model(true)
        .build_embeddings()
        .unwrap();
    assert_eq!(model.embed_one("a").await.unwrap(), vec![3.0, 4.0]);
}

#[tokio::test]
async fn tei_reads_info_once_and_splits_batches_by_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model_id": "BAAI/bge-small-en-v1.5", "model_dtype": "float32",
            "max_concurrent_requests": 512, "max_input_length": 512,
            "max_batch_tokens": 16384, "max_client_batch_size": 4, "version": "1.5.0"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let stub = EmbedStub {
        max: Some(4),
        ..EmbedStub::sentences(16)
    };
    Mock::given(method("POST"))
        .and(path("/embed"))
        .and(body_partial_json(json!({"normalize": true})))
        .respond_with(stub.clone())
        .mount(&server)
        .await;
    let model = HuggingFaceBuilder::default()
        .tei_url(server.uri())
        .normalize(true)
        .build_embeddings()
        .unwrap();
    assert_eq!(model.max_batch(), 32, "before /info");
    embedding::run_all(&model).await;
    assert_eq!(model.max_batch(), 4, "after /info");
    assert_eq!(model.model(), "tei");
    let info = model.tei_info().await.unwrap().unwrap();
    assert_eq!(info.model_id, "BAAI/bge-small-en-v1.5");

    let ten: Vec<String> = (0..10).map(|i| format!("text {i}")).collect();
    let before = server.received_requests().await.unwrap().len();
    let out = model.embed(&ten).await.unwrap();
    let after = server.received_requests().await.unwrap().len();
    assert_eq!(after - before, 3, "10 inputs in batches of 4");
    assert_eq!(out.vectors[9], stub.expected("text 9"));
}

#[tokio::test]
async fn tei_without_info_uses_the_default_batch() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/embed"))
        .respond_with(EmbedStub::sentences(8))
        .mount(&server)
        .await;
    let model = HuggingFaceBuilder::default()
        .tei_url(server.uri())
        .embedding_model("my/model")
        .build_embeddings()
        .unwrap();
    let out = model.embed(&texts(&["a", "b"])).await.unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(model.max_batch(), 32);
    assert_eq!(model.model(), "my/model");
}

#[tokio::test]
async fn router_embeddings_need_a_token_and_a_valid_model() {
    let err = HuggingFaceBuilder::default()
        .build_embeddings()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("HF_TOKEN"), "{err}");
    let err = HuggingFaceBuilder::default()
        .token(TOKEN)
        .embedding_model("../admin?x=")
        .build_embeddings()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = HuggingFaceBuilder::default()
        .tei_url("not a url")
        .build_embeddings()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn from_settings_reads_every_key() {
    let settings = plugbay_core::Settings::from_map([
        ("HF_TOKEN", TOKEN),
        ("HF_BASE_URL", "https://proxy.example/v1"),
        ("HF_MODEL", "Qwen/Qwen2.5-7B-Instruct:together"),
        ("HF_EMBEDDING_MODEL", "BAAI/bge-m3"),
        ("TEI_URL", "http://127.0.0.1:8081"),
        ("TGI_URL", "http://127.0.0.1:8082"),
    ]);
    let builder = HuggingFaceBuilder::from_settings(&settings).await.unwrap();
    let config = builder.config();
    assert!(config.token.is_some());
    assert_eq!(config.router_root(), "https://proxy.example");
    assert_eq!(config.model, "Qwen/Qwen2.5-7B-Instruct:together");
    assert_eq!(config.embedding_model, "BAAI/bge-m3");
    assert_eq!(config.tei_url.as_deref(), Some("http://127.0.0.1:8081"));
    assert_eq!(config.chat_base_url(), "http://127.0.0.1:8082/v1");
    assert!(!format!("{builder:?}").contains(TOKEN));

    let bad = plugbay_core::Settings::from_map([("TEI_URL", "::nope")]);
    let err = HuggingFaceBuilder::from_settings(&bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

// ---- faults -------------------------------------------------------------

/// One failure, then a good answer.
async fn once_then_ok(server: &MockServer, first: ResponseTemplate) {
    Mock::given(path(FE_PATH))
        .respond_with(first)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
    mount_inference(server, EmbedStub::sentences(8)).await;
}

#[tokio::test]
async fn rate_limit_honours_each_retry_header() {
    let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(10));
    // Each 429 with the range its single wait must fall in (an HTTP date
    // has whole seconds, so that wait is only known to a second or so).
    let cases = [
        (
            ResponseTemplate::new(429).insert_header("retry-after", "3"),
            ms(3000)..=ms(3000),
        ),
        (
            ResponseTemplate::new(429).insert_header("retry-after-ms", "1500"),
            ms(1500)..=ms(1500),
        ),
        (
            ResponseTemplate::new(429).insert_header("retry-after", later.as_str()),
            ms(5000)..=ms(11_000),
        ),
        (
            // No header: the backoff.
            ResponseTemplate::new(429).set_body_json(json!({"error": "Rate limit reached"})),
            ms(500)..=ms(500),
        ),
    ];
    for (i, (first, expected)) in cases.into_iter().enumerate() {
        let server = MockServer::start().await;
        once_then_ok(&server, first).await;
        let sleeper = RecordingSleeper::new();
        let out = inference(&server.uri(), &sleeper).embed_one("x").await;
        assert!(out.is_ok(), "case {i}: {out:?}");
        let waits = sleeper.waits();
        assert_eq!(waits.len(), 1, "case {i}");
        assert!(
            expected.contains(&waits[0]),
            "case {i}: waited {:?}",
            waits[0]
        );
    }
}

#[tokio::test]
async fn rate_limit_with_should_retry_false_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path(FE_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("x-should-retry", "false"))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let err = inference(&server.uri(), &sleeper)
        .embed_one("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(attempts(&err), Some(1));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_three_attempts() {
    let server = MockServer::start().await;
    Mock::given(path(FE_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": "unknown error"})))
        .expect(3)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let err = inference(&server.uri(), &sleeper)
        .embed_one("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(attempts(&err), Some(3));
    assert!(context(&err, "gave_up").is_some());
    assert_eq!(sleeper.waits(), vec![ms(500), ms(1000)]);
}

#[tokio::test]
async fn cold_start_is_retryable_unavailable_with_the_estimate() {
    let server = MockServer::start().await;
    let loading =
        json!({"error": format!("Model {MODEL} is currently loading"), "estimated_time": 20.0});
    Mock::given(path(FE_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_json(loading))
        .expect(3)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let err = inference(&server.uri(), &sleeper)
        .embed_one("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
    assert_eq!(err.status(), Some(503));
    assert_eq!(attempts(&err), Some(3));
    // The body's estimate is waited, not the short backoff.
    assert_eq!(
        sleeper.waits(),
        vec![Duration::from_secs(20), Duration::from_secs(20)]
    );

    // A cold start that warms up within the retries succeeds.
    let server = MockServer::start().await;
    once_then_ok(
        &server,
        ResponseTemplate::new(503)
            .set_body_json(json!({"error": "Model is currently loading", "estimated_time": 1.5})),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    assert!(
        inference(&server.uri(), &sleeper)
            .embed_one("x")
            .await
            .is_ok()
    );
    assert_eq!(sleeper.waits(), vec![Duration::from_millis(1500)]);
}

#[tokio::test]
async fn connection_reset_is_unavailable_after_retries() {
    let (url, accepted) = resetting_server().await;
    let sleeper = RecordingSleeper::new();
    let err = inference(&url, &sleeper).embed_one("x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:#}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(attempts(&err), Some(3));
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(path("/embed"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let model = HuggingFaceBuilder::default()
        .tei_url(server.uri())
        .timeout(ms(200))
        .http_client(client(&sleeper, ms(200)))
        .build_embeddings()
        .unwrap();
    // /info is not mounted: 404, so the default batch applies.
    let err = model.embed_one("x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:#}");
    assert_eq!(attempts(&err), Some(3));
}

#[tokio::test]
async fn malformed_and_truncated_bodies_are_protocol_errors() {
    let server = MockServer::start().await;
    Mock::given(path(FE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_raw("[[0.1, 0.2", "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = inference(&server.uri(), &RecordingSleeper::new())
        .embed_one("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert_eq!(attempts(&err), Some(1));

    let (url, accepted) = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n[[0.1, 0.2",
    )
    .await;
    let err = inference(&url, &RecordingSleeper::new())
        .embed_one("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err:#}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);

    // The wrong number of vectors.
    let server = MockServer::start().await;
    Mock::given(path(FE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([[1.0], [2.0]])))
        .mount(&server)
        .await;
    let err = inference(&server.uri(), &RecordingSleeper::new())
        .embed(&texts(&["a", "b", "c"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
}

#[tokio::test]
async fn error_inside_a_200_is_found_and_retried() {
    let server = MockServer::start().await;
    once_then_ok(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"error": "Model is overloaded", "error_type": "overloaded"})),
    )
    .await;
    let sleeper = RecordingSleeper::new();
    assert!(
        inference(&server.uri(), &sleeper)
            .embed_one("x")
            .await
            .is_ok()
    );
    assert_eq!(sleeper.waits().len(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let cases = [
        (
            401,
            json!({"error": "Invalid credentials in Authorization header"}),
            ErrorKind::Unauthenticated,
        ),
        (
            402,
            json!({"error": "You have exceeded your monthly included credits"}),
            ErrorKind::QuotaExceeded,
        ),
        (
            400,
            json!({"error": ["Input should be a valid string"]}),
            ErrorKind::InvalidInput,
        ),
        (
            404,
            json!({"error": "Model not-a/model does not exist"}),
            ErrorKind::NotFound,
        ),
        (
            413,
            json!({"error": "batch size 64 > maximum allowed batch size 32", "error_type": "validation"}),
            ErrorKind::PayloadTooLarge,
        ),
    ];
    for (status, body, kind) in cases {
        let server = MockServer::start().await;
        Mock::given(path(FE_PATH))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let sleeper = RecordingSleeper::new();
        let err = inference(&server.uri(), &sleeper)
            .embed_one("x")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{status}: {err}");
        assert_eq!(attempts(&err), Some(1), "{status}");
        assert_eq!(err.provider(), Some("huggingface"));
        assert!(!err.to_string().contains(TOKEN));
    }
}
