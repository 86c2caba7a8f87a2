//! Picking each concern's backend from its one setting.
//!
//! Every function here returns the backend plus the [`ConcernReport`] line
//! saying where it came from. An explicit setting is honoured or fails
//! (a `Config` error for a malformed value, `Unsupported` for a backend this
//! build lacks), always naming the setting: silently falling back would
//! hide a misconfiguration. The storage, vector, memory, cache and model
//! choices live in `stores` and `llm`; this module holds the rest and the
//! shared helpers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plugbay_auth::{DynTokenIssuer, DynTokenVerifier, JwtConfig, JwtKey, LocalJwt};
use plugbay_cache::{DynKeyValue, DynRateLimiter, InMemoryRateLimiter};
use plugbay_core::{Error, ErrorKind, Result, SecretString, Settings};
use plugbay_data::DynDocumentStore;
use plugbay_telemetry::{
    DynAnalytics, DynErrorReporter, DynMetrics, TracingAnalytics, TracingErrorReporter,
    TracingMetrics,
};
use plugbay_webhooks::{
    Auth0LogStreamVerifier, DynNotifier, DynWebhookVerifier, GithubVerifier, LogNotifier,
    StripeVerifier,
};

use crate::keys;
use crate::report::{Concern, ConcernReport};

/// Default data folder when `PLUGBAY_DATA_DIR` is unset.
pub(crate) const DEFAULT_DATA_DIR: &str = "./data";

/// Name the setting an error came from, keeping its kind.
pub(crate) fn named(err: Error, key: &'static str) -> Error {
    err.with_context("setting", key)
}

pub(crate) fn from_setting(key: &str) -> String {
    format!("from {key}")
}

/// The data folder, made absolute against the current directory.
pub(crate) fn data_dir(settings: &Settings) -> Result<PathBuf> {
    let raw = Path::new(
        settings
            .get(keys::DATA_DIR)
            .unwrap_or(DEFAULT_DATA_DIR)
            .trim(),
    );
    if raw.is_absolute() {
        return Ok(raw.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| {
        named(
            Error::config("cannot resolve a relative data folder: no current directory"),
            keys::DATA_DIR,
        )
        .with_source(e)
    })?;
    Ok(cwd.join(raw))
}

/// The rate limiter: the one sharing the key-value store's connection when
/// that store is shared between instances (Redis), else in process.
pub(crate) fn rate_limiter(
    kv_backend: &str,
    shared: Option<DynRateLimiter>,
) -> (DynRateLimiter, ConcernReport) {
    if let Some(limiter) = shared {
        let report = ConcernReport::new(Concern::RateLimit, limiter.backend(), false).with_note(
            format!("GCRA in {kv_backend}, shared by every server instance"),
        );
        return (limiter, report);
    }
    let note = if kv_backend == "memory" {
        "GCRA, in process".to_owned()
    } else {
        format!(
            "GCRA, in process (limits are per server instance; the {kv_backend} store brings no shared limiter)"
        )
    };
    let limiter: DynRateLimiter = Arc::new(InMemoryRateLimiter::new());
    let report = ConcernReport::new(Concern::RateLimit, limiter.backend(), true).with_note(note);
    (limiter, report)
}

/// The local JWT issuer/verifier pair.
pub(crate) struct LocalAuth {
    pub(crate) issuer: DynTokenIssuer,
    pub(crate) verifier: DynTokenVerifier,
    pub(crate) report: ConcernReport,
}

/// `iss` of local tokens: `PLUGBAY_JWT_ISSUER` or `plugbay`.
pub(crate) fn local_issuer(settings: &Settings) -> &str {
    settings.get(keys::JWT_ISSUER).unwrap_or("plugbay").trim()
}

pub(crate) async fn auth(settings: &Settings, kv: &DynKeyValue) -> Result<LocalAuth> {
    let configured = settings
        .secret(keys::JWT_SECRET)
        .await
        .map_err(|e| named(e, keys::JWT_SECRET))?;
    let is_default = configured.is_none();
    let secret = match configured {
        Some(secret) => secret,
        None => {
            tracing::warn!(
                concern = "auth",
                "!!! {} is not set: signing tokens with a RANDOM DEVELOPMENT SECRET. \
                 Tokens stop working when the process restarts. Never run like this in production. !!!",
                keys::JWT_SECRET
            );
            generated_secret()
        }
    };
    let key = JwtKey::hs256(&secret).map_err(|e| named(e, keys::JWT_SECRET))?;
    let issuer = local_issuer(settings);
    let audience = settings
        .get(keys::JWT_AUDIENCE)
        .unwrap_or("plugbay-api")
        .trim();
    let mut config = JwtConfig::new(issuer, audience);
    if let Some(ttl) = settings
        .get_duration(keys::JWT_ACCESS_TTL)
        .map_err(|e| named(e, keys::JWT_ACCESS_TTL))?
    {
        config = config.access_ttl(ttl);
    }
    // Session check: logout and refresh-token reuse end access tokens too,
    // for one key-value read per request.
    let local = Arc::new(
        LocalJwt::builder(config, key, kv.clone())
            .session_check(true)
            .build()
            .map_err(|e| named(e, keys::JWT_SECRET))?,
    );
    let report = if is_default {
        ConcernReport::new(Concern::Auth, "local-jwt", true).with_note(format!(
            "DEVELOPMENT ONLY: {} unset, tokens signed with a generated secret",
            keys::JWT_SECRET
        ))
    } else {
        ConcernReport::new(Concern::Auth, "local-jwt", false)
            .with_note(format!("HS256 {}", from_setting(keys::JWT_SECRET)))
    };
    Ok(LocalAuth {
        issuer: local.clone(),
        verifier: local,
        report,
    })
}

fn generated_secret() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    SecretString::from(hex::encode(bytes))
}

pub(crate) fn documents(settings: &Settings) -> Result<(DynDocumentStore, ConcernReport)> {
    let (url, is_default) = match settings.get(keys::DOCS_URL) {
        Some(url) => (url.trim(), false),
        None => ("memory://", true),
    };
    let store = plugbay_data::from_url(url).map_err(|e| named(e, keys::DOCS_URL))?;
    let report = ConcernReport::new(Concern::Documents, store.backend(), is_default);
    let report = if is_default {
        report.with_note("in process: documents are lost on restart")
    } else {
        report.with_note(from_setting(keys::DOCS_URL))
    };
    Ok((store, report))
}

/// The three telemetry pipes.
pub(crate) struct Telemetry {
    pub(crate) errors: DynErrorReporter,
    pub(crate) analytics: DynAnalytics,
    pub(crate) metrics: DynMetrics,
}

pub(crate) fn telemetry(settings: &Settings) -> Result<(Telemetry, ConcernReport)> {
    let requested = settings
        .get(keys::TELEMETRY)
        .map(|n| n.trim().to_ascii_lowercase());
    let is_default = match requested.as_deref() {
        None => true,
        Some("tracing") => false,
        Some(name @ ("sentry" | "datadog" | "mixpanel" | "ga4" | "postgres")) => {
            return Err(named(
                Error::unsupported(format!(
                    "the `{name}` telemetry backend is not available in this release"
                )),
                keys::TELEMETRY,
            ));
        }
        Some(other) => {
            return Err(named(
                Error::config(format!(
                    "unknown telemetry backend `{other}` (expected tracing)"
                )),
                keys::TELEMETRY,
            ));
        }
    };
    let telemetry = Telemetry {
        errors: Arc::new(TracingErrorReporter::new()),
        analytics: Arc::new(TracingAnalytics::new()),
        metrics: Arc::new(TracingMetrics::new()),
    };
    let mut report = ConcernReport::new(Concern::Telemetry, telemetry.errors.backend(), is_default)
        .with_note("errors, analytics and metrics as tracing events");
    if settings.contains(keys::SENTRY_DSN) {
        tracing::warn!(concern = "telemetry", "SENTRY_DSN is set but not used yet");
        report = report.with_note(
            "errors, analytics and metrics as tracing events; SENTRY_DSN is set but not used \
             yet: the Sentry backend lands in a later release",
        );
    }
    Ok((telemetry, report))
}

pub(crate) fn notifier(settings: &Settings) -> Result<(DynNotifier, ConcernReport)> {
    let requested = settings
        .get(keys::NOTIFIER)
        .map(|n| n.trim().to_ascii_lowercase());
    let is_default = match requested.as_deref() {
        None => true,
        Some("log") => false,
        Some(name @ ("slack" | "discord" | "email")) => {
            return Err(named(
                Error::unsupported(format!(
                    "the `{name}` notifier is not available in this release"
                )),
                keys::NOTIFIER,
            ));
        }
        Some(other) => {
            return Err(named(
                Error::config(format!("unknown notifier `{other}` (expected log)")),
                keys::NOTIFIER,
            ));
        }
    };
    let notifier: DynNotifier = Arc::new(LogNotifier::new());
    let report = ConcernReport::new(Concern::Notifier, notifier.backend(), is_default)
        .with_note("one structured log event per notification");
    Ok((notifier, report))
}

pub(crate) async fn webhooks(
    settings: &Settings,
) -> Result<(BTreeMap<String, DynWebhookVerifier>, ConcernReport)> {
    let mut verifiers: BTreeMap<String, DynWebhookVerifier> = BTreeMap::new();
    if let Some(secret) = secret(settings, keys::STRIPE_WEBHOOK_SECRET).await? {
        verifiers.insert("stripe".into(), Arc::new(StripeVerifier::new(secret)));
    }
    if let Some(secret) = secret(settings, keys::GITHUB_WEBHOOK_SECRET).await? {
        verifiers.insert("github".into(), Arc::new(GithubVerifier::new(secret)));
    }
    if let Some(token) = secret(settings, keys::AUTH0_LOG_STREAM_TOKEN).await? {
        let verifier = Auth0LogStreamVerifier::new(token)
            .map_err(|e| named(e, keys::AUTH0_LOG_STREAM_TOKEN))?;
        verifiers.insert("auth0".into(), Arc::new(verifier));
    }
    let report = webhooks_report(&verifiers, false);
    Ok((verifiers, report))
}

pub(crate) fn webhooks_report(
    verifiers: &BTreeMap<String, DynWebhookVerifier>,
    overridden: bool,
) -> ConcernReport {
    if verifiers.is_empty() {
        return ConcernReport::new(Concern::Webhooks, "none", true).with_note(format!(
            "no verifier configured (set {}, {} or {})",
            keys::STRIPE_WEBHOOK_SECRET,
            keys::GITHUB_WEBHOOK_SECRET,
            keys::AUTH0_LOG_STREAM_TOKEN
        ));
    }
    let names: Vec<&str> = verifiers.keys().map(String::as_str).collect();
    let report = ConcernReport::new(Concern::Webhooks, names.join(","), false);
    if overridden {
        report.with_note("set in code")
    } else {
        report.with_note("deduplicated through the key-value store")
    }
}

async fn secret(settings: &Settings, key: &'static str) -> Result<Option<SecretString>> {
    settings.secret(key).await.map_err(|e| named(e, key))
}

pub(crate) fn secrets(resolver: &plugbay_core::SecretResolver) -> ConcernReport {
    // Sources are compiled in by features, not configured: always the
    // default as far as settings go.
    ConcernReport::new(Concern::Secrets, resolver.schemes().join("+"), true)
        .with_note("secret references in settings are resolved through these schemes")
}

/// Whether a probe error still proves the backend answered.
pub(crate) fn answered(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::NotFound
            | ErrorKind::Unauthenticated
            | ErrorKind::InvalidInput
            | ErrorKind::PermissionDenied
    )
}
