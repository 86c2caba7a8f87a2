//! The names of the settings [`ProvidersBuilder::from_settings`] reads.
//!
//! Each concern picks its backend from ONE setting (a URL or a name); when
//! nothing is set, the embedded default is used. Secret settings may hold a
//! secret reference (`env://`, `file://`, `aws-sm://`, `azure-kv://`).
//!
//! [`ProvidersBuilder::from_settings`]: crate::ProvidersBuilder::from_settings

/// Folder for everything the embedded defaults keep on disk (default
/// `./data`); object storage defaults to `file://<data dir>/files`.
pub const DATA_DIR: &str = "PLUGBAY_DATA_DIR";
/// Object storage URL: `file:///abs`, `fs://rel`, `memory://` (later
/// `s3://`, `gs://`, `cloudinary://`).
pub const STORAGE_URL: &str = "PLUGBAY_STORAGE_URL";
/// Vector store URL: `memory://` (later `qdrant://`, `pinecone://`).
pub const VECTOR_URL: &str = "PLUGBAY_VECTOR_URL";
/// Key-value store URL for cache, sessions, refresh tokens, rate limits and
/// webhook dedupe: `memory://` (later `redis://`). Wins over [`REDIS_URL`].
pub const CACHE_URL: &str = "PLUGBAY_CACHE_URL";
/// The seed's Redis URL, read when [`CACHE_URL`] is unset.
pub const REDIS_URL: &str = "REDIS_URL";
/// Chat model backend by name: `mock` (later `openai`, `huggingface`).
pub const LLM: &str = "PLUGBAY_LLM";
/// OpenAI key; noted (not used yet) until the OpenAI backend lands.
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
/// Hugging Face token; noted (not used yet) until that backend lands.
pub const HF_TOKEN: &str = "HF_TOKEN";
/// HS256 secret (at least 32 bytes) for the local JWT issuer; without it a
/// random development secret is generated (tokens die with the process).
pub const JWT_SECRET: &str = "JWT_SECRET";
/// `iss` of local access tokens (default `plugbay`).
pub const JWT_ISSUER: &str = "PLUGBAY_JWT_ISSUER";
/// `aud` of local access tokens (default `plugbay-api`).
pub const JWT_AUDIENCE: &str = "PLUGBAY_JWT_AUDIENCE";
/// Lifetime of local access tokens, e.g. `15m` (default: the issuer's).
pub const JWT_ACCESS_TTL: &str = "PLUGBAY_JWT_ACCESS_TTL";
/// Document store URL: `memory://` (later `postgres://`, `mongodb://`).
pub const DOCS_URL: &str = "PLUGBAY_DOCS_URL";
/// Telemetry backend by name: `tracing` (later `sentry`, `datadog`, ...).
pub const TELEMETRY: &str = "PLUGBAY_TELEMETRY";
/// Sentry DSN; noted (not used yet) until the Sentry backend lands.
pub const SENTRY_DSN: &str = "SENTRY_DSN";
/// Notifier backend by name: `log` (later `slack`, `discord`, `email`).
pub const NOTIFIER: &str = "PLUGBAY_NOTIFIER";
/// Stripe endpoint secret (`whsec_...`); enables the Stripe verifier.
pub const STRIPE_WEBHOOK_SECRET: &str = "STRIPE_WEBHOOK_SECRET";
/// GitHub webhook secret; enables the GitHub verifier.
pub const GITHUB_WEBHOOK_SECRET: &str = "GITHUB_WEBHOOK_SECRET";
/// Auth0 log stream `Authorization` token; enables the Auth0 verifier.
pub const AUTH0_LOG_STREAM_TOKEN: &str = "AUTH0_LOG_STREAM_TOKEN";

/// Every setting above, for documentation and diagnostics.
pub const ALL: &[&str] = &[
    DATA_DIR,
    STORAGE_URL,
    VECTOR_URL,
    CACHE_URL,
    REDIS_URL,
    LLM,
    OPENAI_API_KEY,
    HF_TOKEN,
    JWT_SECRET,
    JWT_ISSUER,
    JWT_AUDIENCE,
    JWT_ACCESS_TTL,
    DOCS_URL,
    TELEMETRY,
    SENTRY_DSN,
    NOTIFIER,
    STRIPE_WEBHOOK_SECRET,
    GITHUB_WEBHOOK_SECRET,
    AUTH0_LOG_STREAM_TOKEN,
];
