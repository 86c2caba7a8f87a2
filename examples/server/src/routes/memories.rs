//! `/v1/memories`: the caller's long-term memories (scope `user_id` = the
//! token subject). Another user's memory id answers 404, exactly like an
//! unknown one, so ids leak nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use plugbay::memory::{AddOptions, Memory as _, MemoryItem, Page, PageOf, Scope, SearchOptions};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::middleware::AuthUser;
use crate::routes::chat::{InMessage, to_messages};

/// The memory routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/memories", post(add).get(list))
        .route("/v1/memories/search", post(search))
        .route("/v1/memories/{id}", get(fetch).delete(remove))
}

const MAX_TOP_K: usize = 100;
const MAX_PAGE: usize = 100;
const MAX_TEXT: usize = 16 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    #[serde(default)]
    messages: Option<Vec<InMessage>>,
    #[serde(default)]
    text: Option<String>,
    /// Extract facts with the LLM (default: only with a real LLM).
    #[serde(default)]
    infer: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    query: String,
    #[serde(default)]
    top_k: Option<usize>,
    #[serde(default)]
    threshold: Option<f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
}

async fn add(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<AddBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let messages = match (body.messages, body.text) {
        (Some(messages), None) => to_messages(messages)?,
        (None, Some(text)) => {
            if text.trim().is_empty() || text.len() > MAX_TEXT {
                return Err(ApiError::invalid(format!(
                    "`text` must be non-empty and at most {MAX_TEXT} bytes"
                )));
            }
            vec![plugbay::llm::Message::user(text)]
        }
        _ => {
            return Err(ApiError::invalid(
                "give exactly one of `messages` and `text`",
            ));
        }
    };
    let infer = body.infer.unwrap_or(!state.providers.llm_is_mock());
    let events = state
        .providers
        .memory()
        .add(
            &messages,
            &Scope::user(user.subject()),
            AddOptions::new().infer(infer),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"events": events}))))
}

async fn search(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<SearchBody>,
) -> ApiResult<Json<Value>> {
    if body.query.trim().is_empty() {
        return Err(ApiError::invalid("`query` must not be empty"));
    }
    let top_k = body.top_k.unwrap_or(10);
    if top_k == 0 || top_k > MAX_TOP_K {
        return Err(ApiError::invalid(format!(
            "`top_k` must be 1 to {MAX_TOP_K}"
        )));
    }
    let mut opts = SearchOptions::new().top_k(top_k);
    if let Some(threshold) = body.threshold {
        opts = opts.threshold(threshold);
    }
    let results = state
        .providers
        .memory()
        .search(&body.query, &Scope::user(user.subject()), opts)
        .await?;
    Ok(Json(json!({"results": results})))
}

async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<PageOf<MemoryItem>>> {
    let limit = query.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid(format!(
            "`limit` must be 1 to {MAX_PAGE}"
        )));
    }
    let page = match query.cursor {
        Some(cursor) => Page::after(limit, cursor),
        None => Page::first(limit),
    };
    let items = state
        .providers
        .memory()
        .list(&Scope::user(user.subject()), page)
        .await?;
    Ok(Json(items))
}

/// The memory `id` if the caller owns it; 404 otherwise.
async fn owned(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<MemoryItem> {
    let not_found = || ApiError::not_found("no such memory");
    let item = match state.providers.memory().get(id).await {
        Ok(item) => item,
        Err(e) if e.kind() == plugbay::core::ErrorKind::NotFound => return Err(not_found()),
        // An id no backend would accept is just as absent.
        Err(e) if e.kind() == plugbay::core::ErrorKind::InvalidInput => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if item.scope.user_id.as_deref() != Some(user.subject()) {
        return Err(not_found());
    }
    Ok(item)
}

async fn fetch(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<MemoryItem>> {
    Ok(Json(owned(&state, &user, &id).await?))
}

async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let item = owned(&state, &user, &id).await?;
    state.providers.memory().delete(&item.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
