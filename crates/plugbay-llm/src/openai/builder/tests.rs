//! Tests for [`OpenAiBuilder`](super::OpenAiBuilder): URL forms, settings
//! and which servers need a key.

use super::*;
use plugbay_core::{ErrorKind, ExposeSecret, Settings};

#[test]
fn url_forms() {
    let b = OpenAiBuilder::from_url(
        "openai://?model=gpt-4o&embedding_model=text-embedding-3-large&dimensions=256",
    )
    .unwrap();
    assert_eq!(b.config().base_url, DEFAULT_BASE_URL);
    assert_eq!(b.config().model, "gpt-4o");
    assert_eq!(b.config().embedding_dimensions, Some(256));

    let c = OpenAiBuilder::from_url(
        "openai+http://127.0.0.1:8000/v1/?model=qwen&timeout=30s&max_retries=5&stream_usage=false",
    )
    .unwrap()
    .build()
    .unwrap();
    let config = c.config();
    assert_eq!(config.base_url, "http://127.0.0.1:8000/v1");
    assert_eq!(config.timeout, Duration::from_secs(30));
    assert_eq!(config.retry_policy.max_retries, 5);
    assert!(!config.stream_usage);
    assert_eq!(config.max_tokens_field, MaxTokensField::MaxTokens);
    assert_eq!(config.max_batch, COMPATIBLE_MAX_BATCH);
    assert!(config.retry_policy.retry_on_conflict);

    let a = OpenAiBuilder::from_url(
        "azure-openai://res.openai.azure.com?deployment=gpt4o&api-version=2025-01-01-preview",
    )
    .unwrap();
    assert_eq!(a.config().base_url, "https://res.openai.azure.com");
    assert_eq!(
        a.config().azure_api_version.as_deref(),
        Some("2025-01-01-preview")
    );
    assert_eq!(a.config().provider_name, PROVIDER_AZURE);
    assert_eq!(a.config().model, "gpt4o");

    for bad in [
        "openai://?modle=x",
        "redis://localhost",
        "openai+http://user:sk-secret@host/v1",
        "openai://?max_batch=lots",
        "openai+http:///v1",
    ] {
        let err = OpenAiBuilder::from_url(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
        assert!(!err.to_string().contains("sk-secret"), "{err}");
    }
}

#[test]
fn keys_are_required_only_where_the_server_needs_them() {
    let err = OpenAiBuilder::default().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("OPENAI_API_KEY"), "{err}");
    assert_eq!(
        OpenAiBuilder::azure("https://x.openai.azure.com")
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
    assert!(
        OpenAiBuilder::compatible("vllm", "http://127.0.0.1:1/v1")
            .build()
            .is_ok()
    );
    let explicit = OpenAiBuilder::compatible("vllm", "http://h/v1")
        .max_tokens_field(MaxTokensField::MaxCompletionTokens)
        .max_batch(64)
        .build()
        .unwrap();
    assert_eq!(
        explicit.config().max_tokens_field,
        MaxTokensField::MaxCompletionTokens
    );
    assert_eq!(explicit.config().max_batch, 64);
    // A custom base URL alone (a proxy in front of OpenAI) keeps OpenAI's defaults.
    let proxy = OpenAiBuilder::default()
        .base_url("http://proxy.internal/v1")
        .build()
        .unwrap();
    assert_eq!(
        proxy.config().max_tokens_field,
        MaxTokensField::MaxCompletionTokens
    );
    assert_eq!(
        proxy.config().max_batch,
        crate::openai::config::OPENAI_MAX_BATCH
    );
    let err = OpenAiBuilder::compatible("x", "not a url")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn settings_for_openai_and_azure() {
    let settings = Settings::from_map([
        ("OPENAI_API_KEY", "sk-abc"),
        ("OPENAI_ORGANIZATION", "org-9"),
        ("OPENAI_PROJECT_ID", "proj_1"),
        ("OPENAI_MODEL", "gpt-4.1-mini"),
        ("OPENAI_EMBEDDING_MODEL", "text-embedding-3-large"),
        ("OPENAI_TIMEOUT", "45s"),
        ("OPENAI_MAX_RETRIES", "4"),
    ]);
    let b = OpenAiBuilder::from_settings(&settings).await.unwrap();
    let c = b.config();
    assert_eq!(c.api_key.as_ref().unwrap().expose_secret(), "sk-abc");
    assert_eq!(
        (c.organization.as_deref(), c.project.as_deref()),
        (Some("org-9"), Some("proj_1"))
    );
    assert_eq!(
        (c.model.as_str(), c.embedding_model.as_str()),
        ("gpt-4.1-mini", "text-embedding-3-large")
    );
    assert_eq!(c.timeout, Duration::from_secs(45));
    assert_eq!(c.retry_policy.max_retries, 4);

    let compat = Settings::from_map([("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1/")]);
    let b = OpenAiBuilder::from_settings(&compat).await.unwrap();
    assert_eq!(b.config().base_url, "http://127.0.0.1:8080/v1");
    assert!(b.build().is_ok(), "no key needed for a custom base URL");

    let azure = Settings::from_map([
        ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/"),
        ("AZURE_OPENAI_API_KEY", "az-key"),
        ("OPENAI_API_VERSION", "2024-06-01"),
        ("AZURE_OPENAI_DEPLOYMENT", "chat-dep"),
        ("OPENAI_MODEL", "ignored-on-azure"),
    ]);
    let b = OpenAiBuilder::from_settings(&azure).await.unwrap();
    let c = b.config();
    assert!(c.is_azure());
    assert_eq!(c.base_url, "https://res.openai.azure.com");
    assert_eq!(c.model, "chat-dep");
    assert_eq!(c.azure_api_version.as_deref(), Some("2024-06-01"));
    assert_eq!(c.api_key.as_ref().unwrap().expose_secret(), "az-key");

    let bad = Settings::from_map([("OPENAI_MAX_RETRIES", "many")]);
    let err = OpenAiBuilder::from_settings(&bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}
