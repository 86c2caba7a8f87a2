//! The names of the settings [`ProvidersBuilder::from_settings`] reads.
//!
//! Each concern picks its backend from ONE setting (a URL or a name); when
//! nothing is set, the embedded default is used. Secret settings may hold a
//! secret reference (`env://`, `file://`, `aws-sm://`, `azure-kv://`).
//!
//! The constants below are the settings the facade itself reads. Each
//! backend also reads its own companions, listed with the setting that
//! selects it (they are read from the same [`Settings`], so they may be
//! secret references too, except where noted).
//!
//! [`ProvidersBuilder::from_settings`]: crate::ProvidersBuilder::from_settings
//! [`Settings`]: plugbay_core::Settings

/// Folder for everything the embedded defaults keep on disk (default
/// `./data`): object storage defaults to `file://<data dir>/files`, the
/// vectors to `<data dir>/vectors.snapshot` and the memory history to
/// `<data dir>/memory-history.jsonl`.
pub const DATA_DIR: &str = "PLUGBAY_DATA_DIR";
/// Object storage URL:
///
/// - `file:///abs`, `fs://rel`, `memory://` (always built; `fs` is a
///   default feature);
/// - `s3://bucket?region=..&endpoint=..&path_style=true` (feature `s3`),
///   reading `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
///   `AWS_SESSION_TOKEN`, `AWS_REGION` / `AWS_DEFAULT_REGION`,
///   `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`,
///   `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+
///   `AWS_ROLE_SESSION_NAME`), `AWS_EC2_METADATA_SERVICE_ENDPOINT`;
/// - `gs://bucket`, `firebase://project` (feature `gcs`), reading
///   `GOOGLE_APPLICATION_CREDENTIALS` (a key file) or
///   `GOOGLE_SERVICE_ACCOUNT_JSON` (the key inline), and
///   `STORAGE_EMULATOR_HOST` / `FIREBASE_STORAGE_EMULATOR_HOST`;
/// - `cloudinary://key:secret@cloud?resource_type=..` (feature
///   `cloudinary`).
///
/// May be a secret reference (`env://CLOUDINARY_URL` reuses the seed's
/// variable without copying the secret).
pub const STORAGE_URL: &str = "PLUGBAY_STORAGE_URL";
/// Vector store URL:
///
/// - unset (the default): in process, persisted to the snapshot file
///   `vectors.snapshot` under [`DATA_DIR`], i.e. `memory://?snapshot=vectors.snapshot`;
///   the local memory engine's history then goes to
///   `memory-history.jsonl` there too;
/// - `memory://`: in process only, vectors and memory history are lost on
///   restart (tests, throwaway runs);
/// - `memory://?snapshot=vectors.snap` to save the vectors to that file
///   (relative to [`DATA_DIR`]) and load them at start.
///
///   Snapshots are saved about a second after writes and by
///   [`Providers::flush`](crate::Providers::flush), which a graceful
///   shutdown should call; a crash loses at most the unsaved second;
/// - `qdrant://host:6333`, `qdrant+https://host`, `http(s)://host:6333`
///   (feature `qdrant`), reading `QDRANT_API_KEY`;
/// - `pinecone://index-name` or `pinecone://index-host` (feature
///   `pinecone`), reading `PINECONE_API_KEY` (required),
///   `PINECONE_API_VERSION`, `PINECONE_CONTROLLER_HOST`.
pub const VECTOR_URL: &str = "PLUGBAY_VECTOR_URL";
/// Conversation memory backend by name: `local` (the in-process engine
/// over the LLM, embeddings and vectors) or `mem0` (feature `mem0`).
/// Unset: `mem0` when [`MEM0_API_KEY`] is set and the feature is built,
/// else `local`.
pub const MEMORY: &str = "PLUGBAY_MEMORY";
/// Mem0 platform key; with `MEM0_BASE_URL`, `MEM0_ORG_ID`,
/// `MEM0_PROJECT_ID`. Selects Mem0 when [`MEMORY`] is unset.
pub const MEM0_API_KEY: &str = "MEM0_API_KEY";
/// Key-value store URL for cache, sessions, refresh tokens, rate limits,
/// embeddings cache and webhook dedupe: `memory://?max_entries=N` or
/// `redis://[:password@]host:6379/0?prefix=app:` / `rediss://` (feature
/// `redis`, which also makes the rate limiter shared). Redis also reads
/// `REDIS_KEY_PREFIX`, `REDIS_CONNECT_TIMEOUT`, `REDIS_RESPONSE_TIMEOUT`.
/// Wins over [`REDIS_URL`]; may be a secret reference.
pub const CACHE_URL: &str = "PLUGBAY_CACHE_URL";
/// The seed's Redis URL, read when [`CACHE_URL`] is unset.
pub const REDIS_URL: &str = "REDIS_URL";
/// Chat model backend: `mock`, `openai` (feature `openai`), `huggingface`
/// or `hf` (feature `huggingface`), or an OpenAI URL form
/// (`openai+http://host:port/v1?model=..` for a compatible server,
/// `openai://?model=..`, `azure-openai://NAME.openai.azure.com?deployment=..`).
/// Unset: OpenAI when [`OPENAI_API_KEY`] is set, Hugging Face when
/// [`HF_TOKEN`] is, the mock otherwise.
pub const LLM: &str = "PLUGBAY_LLM";
/// The key sent to an OpenAI-compatible server named by an
/// `openai+http(s)://` URL in [`LLM`] or [`EMBEDDINGS`] (the OpenAI key is
/// never sent to another host).
pub const LLM_API_KEY: &str = "PLUGBAY_LLM_API_KEY";
/// Embedding model backend: `local` (feature hashing, default), `openai`,
/// `huggingface` / `hf`, or an OpenAI URL form as for [`LLM`]. Remote
/// embeddings are cached in the key-value store. Never follows a key on its
/// own: changing the embedder makes stored vectors unsearchable, so a
/// persisted memory collection of another size stops start-up with a
/// `Config` error.
pub const EMBEDDINGS: &str = "PLUGBAY_EMBEDDINGS";
/// OpenAI key (selects OpenAI when [`LLM`] is unset). The OpenAI backend
/// also reads `OPENAI_BASE_URL`, `OPENAI_ORG_ID` / `OPENAI_ORGANIZATION`,
/// `OPENAI_PROJECT_ID` / `OPENAI_PROJECT`, `OPENAI_MODEL`,
/// `OPENAI_EMBEDDING_MODEL`, `OPENAI_EMBEDDING_DIMENSIONS`,
/// `OPENAI_TIMEOUT`, `OPENAI_MAX_RETRIES`, and for Azure
/// `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY`, `OPENAI_API_VERSION`,
/// `AZURE_OPENAI_DEPLOYMENT`, `AZURE_OPENAI_EMBEDDING_DEPLOYMENT`.
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
/// Hugging Face token (selects Hugging Face when [`LLM`] is unset and
/// [`OPENAI_API_KEY`] is not set). The backend also reads `HF_BASE_URL`,
/// `HF_MODEL`, `HF_EMBEDDING_MODEL`, `TEI_URL` (self-hosted embeddings) and
/// `TGI_URL` (self-hosted chat).
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
/// Which access tokens `/v1` accepts: `local` (tokens this process
/// issues) or `auth0` (Auth0 access tokens for [`AUTH0_AUDIENCE`] too;
/// the default when [`AUTH0_DOMAIN`] is set).
pub const AUTH: &str = "PLUGBAY_AUTH";
/// Auth0 tenant domain (`tenant.eu.auth0.com`; an `http://` URL is taken
/// as the base URL of a local stub). The Auth0 backend also reads
/// `AUTH0_CLIENT_SECRET`, `AUTH0_REDIRECT_URI` and `AUTH0_ROLES_CLAIM`.
pub const AUTH0_DOMAIN: &str = "AUTH0_DOMAIN";
/// The API audience Auth0 access tokens must carry (required in `auth0`
/// mode).
pub const AUTH0_AUDIENCE: &str = "AUTH0_AUDIENCE";
/// Auth0 application client id: enables login through Auth0
/// (`/auth/login/auth0`).
pub const AUTH0_CLIENT_ID: &str = "AUTH0_CLIENT_ID";
/// Where browsers reach this server (default `http://localhost:8080`):
/// login callbacks are `{PLUGBAY_PUBLIC_URL}/auth/callback/{provider}`.
pub const PUBLIC_URL: &str = "PLUGBAY_PUBLIC_URL";
/// Google OAuth client id: enables Google login (with
/// [`GOOGLE_CLIENT_SECRET`]; discovery at start-up).
pub const GOOGLE_CLIENT_ID: &str = "GOOGLE_CLIENT_ID";
/// Google OAuth client secret.
pub const GOOGLE_CLIENT_SECRET: &str = "GOOGLE_CLIENT_SECRET";
/// Microsoft Entra application id: enables Microsoft login (with
/// [`MICROSOFT_CLIENT_SECRET`]).
pub const MICROSOFT_CLIENT_ID: &str = "MICROSOFT_CLIENT_ID";
/// Microsoft client secret.
pub const MICROSOFT_CLIENT_SECRET: &str = "MICROSOFT_CLIENT_SECRET";
/// Microsoft tenant id, or `common` / `organizations` (default `common`).
pub const MICROSOFT_TENANT: &str = "MICROSOFT_TENANT";
/// Comma-separated tenant ids accepted when [`MICROSOFT_TENANT`] is
/// multi-tenant (required then).
pub const MICROSOFT_ALLOWED_TENANTS: &str = "MICROSOFT_ALLOWED_TENANTS";
/// GitHub OAuth app client id: enables GitHub login (with
/// [`GITHUB_CLIENT_SECRET`]).
pub const GITHUB_CLIENT_ID: &str = "GITHUB_CLIENT_ID";
/// GitHub OAuth app client secret.
pub const GITHUB_CLIENT_SECRET: &str = "GITHUB_CLIENT_SECRET";
/// Issuer URL of any other OpenID Connect provider: enables its login
/// (discovery at start-up) with [`OIDC_CLIENT_ID`].
pub const OIDC_ISSUER: &str = "OIDC_ISSUER";
/// Client id at [`OIDC_ISSUER`].
pub const OIDC_CLIENT_ID: &str = "OIDC_CLIENT_ID";
/// Client secret at [`OIDC_ISSUER`] (optional: PKCE-only public client).
pub const OIDC_CLIENT_SECRET: &str = "OIDC_CLIENT_SECRET";
/// The login route name of [`OIDC_ISSUER`] (default `oidc`).
pub const OIDC_PROVIDER_NAME: &str = "OIDC_PROVIDER_NAME";
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
    MEMORY,
    MEM0_API_KEY,
    CACHE_URL,
    REDIS_URL,
    LLM,
    LLM_API_KEY,
    EMBEDDINGS,
    OPENAI_API_KEY,
    HF_TOKEN,
    JWT_SECRET,
    JWT_ISSUER,
    JWT_AUDIENCE,
    JWT_ACCESS_TTL,
    AUTH,
    AUTH0_DOMAIN,
    AUTH0_AUDIENCE,
    AUTH0_CLIENT_ID,
    PUBLIC_URL,
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    MICROSOFT_CLIENT_ID,
    MICROSOFT_CLIENT_SECRET,
    MICROSOFT_TENANT,
    MICROSOFT_ALLOWED_TENANTS,
    GITHUB_CLIENT_ID,
    GITHUB_CLIENT_SECRET,
    OIDC_ISSUER,
    OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET,
    OIDC_PROVIDER_NAME,
    DOCS_URL,
    TELEMETRY,
    SENTRY_DSN,
    NOTIFIER,
    STRIPE_WEBHOOK_SECRET,
    GITHUB_WEBHOOK_SECRET,
    AUTH0_LOG_STREAM_TOKEN,
];
