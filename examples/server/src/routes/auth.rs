//! Token routes of the local JWT issuer: development login, refresh with
//! rotation, logout. All answer 404 when this process does not issue
//! tokens (an external identity provider is configured).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use plugbay::auth::{DynTokenIssuer, Subject, TokenIssuer as _};
use plugbay::core::SecretString;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ApiJson, ApiResult};

/// The auth routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/dev-login", post(dev_login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
}

const MAX_USER_ID: usize = 128;
const MAX_SCOPES: usize = 32;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevLogin {
    user_id: String,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

fn issuer(state: &AppState) -> ApiResult<&DynTokenIssuer> {
    state
        .providers
        .token_issuer()
        .ok_or_else(|| ApiError::not_found("this server does not issue tokens"))
}

/// A user id that is safe in logs, keys and storage paths.
fn valid_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_USER_ID
        // `.` and `..` would be path segments in the caller's file namespace.
        && !id.chars().all(|c| c == '.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '|' | ':'))
}

fn valid_scope(scope: &str) -> bool {
    !scope.is_empty() && scope.len() <= 64 && scope.chars().all(|c| c.is_ascii_graphic())
}

async fn dev_login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DevLogin>,
) -> ApiResult<Response> {
    if !state.dev_login {
        return Err(ApiError::not_found("dev login is disabled"));
    }
    let issuer = issuer(&state)?;
    if !valid_user_id(&body.user_id) {
        return Err(ApiError::invalid(format!(
            "user_id must be 1 to {MAX_USER_ID} characters of A-Z a-z 0-9 - _ . @ | :"
        )));
    }
    if body.scopes.len() > MAX_SCOPES || !body.scopes.iter().all(|s| valid_scope(s)) {
        return Err(ApiError::invalid(format!(
            "scopes must be at most {MAX_SCOPES} non-empty printable words"
        )));
    }
    let pair = issuer
        .issue(&Subject::new(body.user_id).scopes(body.scopes))
        .await?;
    Ok(Json(pair.to_response()).into_response())
}

async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> ApiResult<Response> {
    let issuer = issuer(&state)?;
    let pair = issuer
        .refresh(&SecretString::from(body.refresh_token))
        .await?;
    Ok(Json(pair.to_response()).into_response())
}

async fn logout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> ApiResult<Response> {
    let issuer = issuer(&state)?;
    issuer
        .revoke(&SecretString::from(body.refresh_token))
        .await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(
            axum::http::header::SET_COOKIE,
            crate::routes::login::clear_cookie(),
        )],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_path_and_log_safe() {
        for ok in [
            "alice",
            "auth0|123",
            "a.b-c_d@example.com",
            "google-oauth2:42",
        ] {
            assert!(valid_user_id(ok), "{ok}");
        }
        let long = "x".repeat(MAX_USER_ID + 1);
        for bad in ["", "a/b", ".", "..", "a b", "é", "a\nb", long.as_str()] {
            assert!(!valid_user_id(bad), "{bad:?}");
        }
    }
}
