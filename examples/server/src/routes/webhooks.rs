//! `POST /api/webhooks/{provider}` for `stripe`, `github` and `auth0`.
//!
//! The raw body (at most `PLUGBAY_MAX_WEBHOOK_BYTES`) is verified with the
//! provider's signature scheme (401 when forged or stale), deduplicated
//! through the replay guard, then handed to the notifier.
//!
//! A replay answers **200 `{"duplicate": true}`**, not 409: providers
//! (Stripe, GitHub) retry deliveries on any non-2xx status, so a 409 would
//! make them redeliver an event we already have. If the notifier fails,
//! the event is forgotten and the answer is an error, so the provider's
//! retry delivers it again.

use std::time::SystemTime;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use plugbay::core::ErrorKind;
use plugbay::webhooks::{Notification, Notifier as _};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiPath, ApiResult, RawBody};

/// The webhook routes, with their own body limit.
pub fn router(max_body: usize) -> Router<AppState> {
    Router::new().route(
        "/api/webhooks/{provider}",
        post(receive).layer(DefaultBodyLimit::max(max_body)),
    )
}

async fn receive(
    State(state): State<AppState>,
    ApiPath(provider): ApiPath<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let Some(hooks) = state.providers.webhooks(&provider) else {
        return Err(ApiError::not_found("webhook not configured"));
    };
    let event = match hooks.verifier().verify(&headers, &body, SystemTime::now()) {
        Ok(event) => event,
        Err(e) => {
            if e.kind() == ErrorKind::Unauthenticated {
                plugbay::telemetry::security_event(
                    "webhook.signature_rejected",
                    None,
                    &[("provider", provider.as_str()), ("reason", e.message())],
                );
            }
            return Err(e.into());
        }
    };
    match hooks.guard().check_and_record(&event).await {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            tracing::info!(provider = %provider, event_id = %event.event_id, "duplicate webhook ignored");
            return Ok(Json(json!({
                "received": true,
                "duplicate": true,
                "event_id": event.event_id,
                "type": event.event_type,
            })));
        }
        Err(e) => return Err(e.into()),
    }
    let notification = Notification::new(format!(
        "{provider} webhook `{}` received",
        event.event_type
    ))
    .subject(format!("{provider} webhook"))
    .field("provider", provider.as_str())
    .field("event_id", event.event_id.as_str())
    .field("type", event.event_type.as_str())
    .idempotency_key(format!("{provider}:{}", event.event_id));
    if let Err(e) = state.providers.notifier().notify(notification).await {
        // Let the provider's retry deliver it again.
        if let Err(forget) = hooks.guard().forget(&event).await {
            tracing::warn!(error = %forget, "could not forget a webhook after a failed notification");
        }
        return Err(e.into());
    }
    Ok(Json(json!({
        "received": true,
        "duplicate": false,
        "event_id": event.event_id,
        "type": event.event_type,
    })))
}
