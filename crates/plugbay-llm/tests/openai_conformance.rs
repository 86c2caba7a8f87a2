//! The crate's chat and embedding conformance suites against wiremock stubs
//! that answer like OpenAI, an OpenAI-compatible server (vLLM-style usage on
//! every chunk) and Azure OpenAI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod openai_support;

use openai_support::{KEY, OpenAiStub, builder, http};
use plugbay_core::http::RecordingSleeper;
use plugbay_llm::conformance::{chat, embedding};
use plugbay_llm::openai::OpenAiBuilder;
use plugbay_llm::{ChatModel, EmbeddingModel};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer};

async fn openai_server(stub: OpenAiStub) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(stub)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn openai_chat_passes_the_chat_suite() {
    let server = openai_server(OpenAiStub::default()).await;
    let model = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .build_chat()
        .unwrap();
    assert!(model.capabilities().streaming_usage);
    chat::run_all(&model).await;
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.len() >= 6,
        "the suite reached the stub: {}",
        requests.len()
    );
    assert!(
        requests
            .iter()
            .all(|r| r.url.path() == "/v1/chat/completions")
    );
}

#[tokio::test]
async fn compatible_server_with_usage_on_every_chunk_passes_the_chat_suite() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(OpenAiStub {
            usage_every_chunk: true,
        })
        .mount(&server)
        .await;
    // No key: custom base URLs (vLLM, llama.cpp, Ollama) do not need one.
    let model = OpenAiBuilder::compatible("vllm", format!("{}/v1", server.uri()))
        .model("Qwen/Qwen2.5-7B-Instruct")
        .http_client(http(&RecordingSleeper::new()))
        .build_chat()
        .unwrap();
    assert_eq!(model.provider(), "vllm");
    chat::run_all(&model).await;
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("authorization"))
    );
}

#[tokio::test]
async fn azure_deployment_passes_the_chat_suite() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/chat-dep/chat/completions"))
        .and(query_param("api-version", "2024-10-21"))
        .and(header("api-key", KEY))
        .respond_with(OpenAiStub::default())
        .mount(&server)
        .await;
    let model = OpenAiBuilder::azure(server.uri())
        .api_key(KEY)
        .model("chat-dep")
        .http_client(http(&RecordingSleeper::new()))
        .build_chat()
        .unwrap();
    assert_eq!(model.provider(), "azure.ai.openai");
    chat::run_all(&model).await;
}

#[tokio::test]
async fn openai_embeddings_pass_the_embedding_suite() {
    let server = openai_server(OpenAiStub::default()).await;
    let model = builder(&format!("{}/v1", server.uri()), &RecordingSleeper::new())
        .embedding_model("text-embedding-3-small")
        .embedding_dimensions(16)
        .max_batch(8)
        .build_embedding()
        .unwrap();
    assert_eq!(model.dimensions(), Some(16));
    embedding::run_all(&model).await;
    let requests = server.received_requests().await.unwrap();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["dimensions"], 16);
            assert_eq!(body["encoding_format"], "float");
            body["input"].as_array().unwrap().len()
        })
        .collect();
    assert!(sizes.iter().all(|n| *n <= 8), "batches: {sizes:?}");
    assert!(
        sizes.contains(&8) && sizes.contains(&1),
        "9 inputs went as 8 + 1: {sizes:?}"
    );
}

#[tokio::test]
async fn azure_embeddings_use_the_embedding_deployment() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/embed-dep/embeddings"))
        .and(query_param("api-version", "2024-06-01"))
        .and(header("api-key", KEY))
        .respond_with(OpenAiStub::default())
        .mount(&server)
        .await;
    let model = OpenAiBuilder::azure(server.uri())
        .azure_api_version("2024-06-01")
        .api_key(KEY)
        .embedding_model("embed-dep")
        .max_batch(16)
        .http_client(http(&RecordingSleeper::new()))
        .build_embedding()
        .unwrap();
    embedding::run_all(&model).await;
}
