//! Social login routes (Google, Microsoft, GitHub, Auth0, any OIDC
//! provider), present when the facade configured at least one provider:
//!
//! - `GET /auth/providers`: which logins this server offers;
//! - `GET /auth/login/{provider}?return_to=/path`: 303 to the provider's
//!   authorize URL (PKCE S256, `state` and `nonce` kept server-side, single
//!   use, short lived);
//! - `GET /auth/callback/{provider}?code=..&state=..`: checks state and
//!   nonce, exchanges the code, starts a fresh local session and answers
//!   with its token pair, also set as an `HttpOnly` cookie that `/v1`
//!   accepts; with a `return_to`, a 303 there instead of the JSON.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use plugbay::auth::{AuthorizeRequest, Callback, SocialLogin, TokenPair};
use plugbay::core::ExposeSecret as _;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};

/// The cookie carrying the access token after a browser login.
pub const COOKIE: &str = "plugbay_access";

const MAX_RETURN_TO: usize = 512;

/// The login routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/providers", get(providers))
        .route("/auth/login/{provider}", get(login))
        .route("/auth/callback/{provider}", get(callback))
}

async fn providers(State(state): State<AppState>) -> Json<serde_json::Value> {
    let login = state
        .providers
        .social_login()
        .map(SocialLogin::provider_ids)
        .unwrap_or_default();
    Json(json!({
        "login": login,
        "dev_login": state.dev_login && state.providers.token_issuer().is_some(),
        "external_identity": state.providers.external_identity(),
    }))
}

fn social<'a>(state: &'a AppState, provider: &str) -> ApiResult<&'a SocialLogin> {
    state
        .providers
        .social_login()
        .filter(|s| s.has_provider(provider))
        .ok_or_else(|| ApiError::not_found("no such login provider on this server"))
}

/// A same-origin path: `/x`, never `//host` or `/\host` (open redirect).
fn valid_return_to(path: &str) -> bool {
    path.len() <= MAX_RETURN_TO
        && path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.chars().all(|c| c.is_ascii_graphic())
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    ApiQuery(query): ApiQuery<LoginQuery>,
) -> ApiResult<Response> {
    let social = social(&state, &provider)?;
    let mut request = AuthorizeRequest::new();
    if let Some(path) = query.return_to {
        if !valid_return_to(&path) {
            return Err(ApiError::invalid(format!(
                "return_to must be a path on this server (/..., at most {MAX_RETURN_TO} characters)"
            )));
        }
        request = request.return_to(path);
    }
    let url = social.begin(&provider, request).await?;
    let mut response = Redirect::to(url.as_str()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn callback(
    State(state): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    ApiQuery(query): ApiQuery<Callback>,
) -> ApiResult<Response> {
    let social = social(&state, &provider)?;
    let outcome = social.complete(&provider, query).await?;
    let cookie = session_cookie(&outcome.tokens, state.config.secure_cookies);
    let mut response = match &outcome.return_to {
        Some(path) if valid_return_to(path) => Redirect::to(path).into_response(),
        _ => {
            let mut body = serde_json::to_value(outcome.tokens.to_response())
                .map_err(|e| ApiError::from(plugbay::core::Error::from(e)))?;
            body["subject"] = json!(outcome.identity.subject);
            body["provider"] = json!(outcome.identity.provider);
            (StatusCode::OK, Json(body)).into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `plugbay_access=<token>; HttpOnly; SameSite=Lax; Path=/; Max-Age=..`
/// (`Secure` behind https). Lax keeps it off cross-site POSTs, and `/v1`
/// changes state only on POST/PUT/DELETE.
fn session_cookie(tokens: &TokenPair, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        tokens.access_token.expose_secret(),
        tokens.expires_in.as_secs()
    )
}

/// The header that removes the login cookie (sent on logout).
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("plugbay_access=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clearing_cookie_names_the_login_cookie() {
        let clear = clear_cookie();
        let clear = clear.to_str().unwrap_or_default();
        assert!(clear.starts_with(&format!("{COOKIE}=;")), "{clear}");
        assert!(clear.contains("Max-Age=0"));
    }

    #[test]
    fn return_to_stays_on_this_origin() {
        for ok in ["/", "/app", "/app?tab=1#x"] {
            assert!(valid_return_to(ok), "{ok}");
        }
        let long = format!("/{}", "a".repeat(MAX_RETURN_TO));
        for bad in [
            "",
            "app",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a b",
            "/a\nb",
            long.as_str(),
        ] {
            assert!(!valid_return_to(bad), "{bad:?}");
        }
    }
}
