//! The shared HTTP client: retries with backoff and server-requested waits,
//! timeouts, a time budget, error mapping and one tracing span per call.
//!
//! A backend describes each call with a [`Call`] and passes a closure that
//! builds the request (it runs once per attempt):
//!
//! ```no_run
//! use plugbay_core::http::{Call, HttpClient};
//! # async fn demo(api_key: &str) -> plugbay_core::Result<()> {
//! let client = HttpClient::new()?;
//! let call = Call::new("openai", "embeddings").idempotent(true);
//! let body = serde_json::json!({"model": "text-embedding-3-small", "input": ["hi"]});
//! let reply: serde_json::Value = client
//!     .execute_json(&call, |http| {
//!         http.post("https://api.openai.com/v1/embeddings")
//!             .bearer_auth(api_key)
//!             .json(&body)
//!     })
//!     .await?;
//! # let _ = reply; Ok(()) }
//! ```

mod attempt;
mod body;
mod builder;
mod call;
mod client;
mod error_map;
mod headers;
mod idle;
mod retry;

pub use ::http::{HeaderMap, HeaderValue, Method, StatusCode};
pub use body::{HttpResponse, decode_json, map_reqwest_error, read_json};
pub use builder::{DEFAULT_USER_AGENT, HttpClientBuilder};
pub use call::Call;
pub use client::HttpClient;
pub use error_map::{DefaultErrorMapper, ErrorMapper, ResponseParts};
pub use headers::{
    RATE_LIMIT_HEADERS, REQUEST_ID_HEADERS, parse_retry_after, rate_limit_headers, request_id,
    should_retry_header,
};
pub use idle::{IdleBounded, IdleTimer};
pub use retry::{RecordingSleeper, RetryPolicy, Sleeper, TokioSleeper};
