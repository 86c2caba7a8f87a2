//! Bearer authentication and per-user rate limiting for `/v1`, and the
//! [`AuthUser`] extractor handlers use to learn who is calling.

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use plugbay::auth::axum::Authenticated;
use plugbay::auth::{DynTokenVerifier, Principal};
use plugbay::cache::RateDecision;
use plugbay::core::{Error, ErrorKind};

use crate::AppState;
use crate::error::ApiError;

/// The authenticated caller (inserted by [`require_auth`]).
#[derive(Debug, Clone)]
pub struct AuthUser(pub Principal);

impl AuthUser {
    /// The token subject, which scopes the caller's memories and files.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<AuthUser, ApiError> {
        parts
            .extensions
            .get::<AuthUser>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorKind::Unauthenticated, "a bearer token is required"))
    }
}

/// Verify `Authorization: Bearer ..` with plugbay-auth's [`Authenticated`]
/// extractor (RFC 6750 challenges on 401), then charge the caller's rate
/// limit.
pub async fn require_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let principal = match Authenticated::from_request_parts(&mut parts, &state).await {
        Ok(Authenticated(principal)) => principal,
        Err(rejection) => return rejection.into_response(),
    };
    let decision = match check_rate(&state, &principal.subject).await {
        Ok(decision) => decision,
        Err(error) => return error.into_response(),
    };
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(AuthUser(principal));
    let mut response = next.run(request).await;
    if let Some(decision) = decision {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
        headers.insert(
            "x-ratelimit-remaining",
            HeaderValue::from(decision.remaining),
        );
    }
    response
}

impl FromRef<AppState> for DynTokenVerifier {
    fn from_ref(state: &AppState) -> DynTokenVerifier {
        state.providers.token_verifier().clone()
    }
}

async fn check_rate(state: &AppState, subject: &str) -> Result<Option<RateDecision>, ApiError> {
    let Some(quota) = state.quota else {
        return Ok(None);
    };
    let decision = state
        .providers
        .rate_limiter()
        .check(&format!("user:{subject}"), &quota)
        .await?;
    if decision.allowed {
        return Ok(Some(decision));
    }
    let mut error = Error::new(ErrorKind::RateLimited, "rate limit exceeded, retry later");
    if let Some(wait) = decision.retry_after {
        error = error.with_retry_after(wait);
    }
    Err(error.into())
}
