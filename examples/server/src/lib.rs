#![doc = include_str!("../README.md")]

pub mod config;
pub mod error;
pub mod middleware;
pub mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use plugbay::Providers;
use plugbay::auth::axum::AuthCookie;
use plugbay::cache::Quota;
use plugbay::core::{Error, Result, Settings};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use config::ServerConfig;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The provider set.
    pub providers: Arc<Providers>,
    /// The server's settings.
    pub config: Arc<ServerConfig>,
    /// The per-user quota on `/v1`, `None` when rate limiting is off.
    pub quota: Option<Quota>,
    /// Whether `POST /auth/dev-login` answers (the setting, or by default
    /// on unless an external identity provider is trusted).
    pub dev_login: bool,
}

impl AppState {
    /// State over `providers` and `config`.
    pub fn new(providers: Providers, config: ServerConfig) -> AppState {
        let quota = (config.rate_limit_per_minute > 0)
            .then(|| Quota::per_minute(config.rate_limit_per_minute));
        let dev_login = config
            .dev_login
            .unwrap_or(providers.external_identity().is_none());
        AppState {
            dev_login,
            providers: Arc::new(providers),
            config: Arc::new(config),
            quota,
        }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application.
pub fn build_app(state: AppState) -> Router {
    let v1 = Router::new()
        .merge(routes::chat::router())
        .merge(routes::memories::router())
        .merge(routes::files::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::require_auth,
        ));
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %request_id,
            )
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    Router::new()
        .merge(routes::health::router())
        .merge(routes::auth::router())
        .merge(routes::login::router())
        .merge(routes::webhooks::router(state.config.max_webhook_bytes))
        .merge(v1)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::Extension(AuthCookie::new(routes::login::COOKIE)))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Run the server: logging, providers, listen, serve until Ctrl-C or
/// SIGTERM, then flush telemetry and save the vector snapshot (memories
/// written in the last second before shutdown would be lost otherwise).
///
/// Prints `listening on http://ADDR` on stdout once bound (machine
/// readable: tests start the binary on port 0 and read the port there).
///
/// # Errors
/// A bad setting, an unusable backend, or an address that cannot be bound.
pub async fn run(settings: Settings) -> Result<()> {
    let _logging = plugbay::telemetry::init_logging(&config::log_config(&settings)?)?;
    let config = ServerConfig::from_settings(&settings)?;
    let providers = Providers::from_settings(&settings).await?;
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .map_err(|e| {
            Error::config(format!("cannot listen on {}: {e}", config.addr))
                .with_context("setting", config::ADDR)
        })?;
    let addr = listener.local_addr()?;
    let state = AppState::new(providers.clone(), config);
    if state.providers.token_issuer().is_some() && state.dev_login {
        tracing::warn!(
            "POST /auth/dev-login is enabled: anyone can log in as anyone (PLUGBAY_DEV_LOGIN=false turns it off)"
        );
    }
    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
    }
    tracing::info!(%addr, "listening");
    axum::serve(listener, build_app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shutting down: flushing telemetry and the vector snapshot");
    if let Err(e) = providers.flush(Duration::from_secs(5)).await {
        tracing::warn!(error = %e, "flush at shutdown failed");
    }
    Ok(())
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
