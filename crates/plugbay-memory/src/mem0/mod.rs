//! [`Mem0Memory`]: the hosted Mem0 platform as a [`Memory`] backend
//! (feature `mem0`).
//!
//! - `add` is `POST /v3/memories/add/` (scoping ids at the top level,
//!   `infer` as given). Mem0 processes adds asynchronously: the answer
//!   carries an `event_id`, polled at `GET /v1/event/{id}/` every
//!   `poll_interval` until `SUCCEEDED` (its results become the returned
//!   events) or `FAILED`, for at most `poll_timeout` (then `Timeout`).
//!   Adds are not retried once sent. With `infer: false` only the user
//!   messages are sent, so each is stored verbatim (the trait contract).
//!   Mem0's v3 pipeline only ever adds; deduplication is the platform's.
//! - `search` is `POST /v3/memories/search/` with the scoping ids inside
//!   `filters` (top-level ids are a 400 there), `top_k` and `threshold`
//!   (0 when unset, so "no threshold" means none). A metadata
//!   [`Filter`](crate::Filter) is translated to Mem0's filter language
//!   (`{"metadata": {k: v}}`, `in`, `ne`, `gt`..`lte`, `*`, `AND`/`OR`/`NOT`).
//! - `list` is `POST /v3/memories/?page=&page_size=` (at most 200 per
//!   page; the cursor is the next page number).
//! - `get`/`update`/`delete` use `/v1/memories/{id}/`, `history`
//!   `/v1/memories/{id}/history/`. Mem0 memory ids are UUIDs, so any other
//!   id is `NotFound` without a call.
//! - [`Mem0Memory::ping`] (`GET /v1/ping/`) checks the key, for readiness
//!   probes.

mod builder;
mod client;
mod config;
mod error;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plugbay_core::http::Sleeper;
use plugbay_core::{Error, ErrorKind, HttpClient, Result, SecretString};
use plugbay_llm::{Message, Role};
use serde_json::{Value, json};

pub use builder::Mem0Builder;
pub use config::{DEFAULT_BASE_URL, Mem0Config};
pub use error::Mem0ErrorMapper;

use crate::memory::{
    AddOptions, Memory, MemoryEvent, MemoryItem, Page, PageOf, Scope, ScoredMemory, SearchOptions,
};
use client::Mem0Client;
use wire::WireMemory;

const BACKEND: &str = "mem0";
/// Mem0's largest `page_size`.
const MAX_PAGE_SIZE: usize = 200;

/// Long-term memory on the hosted Mem0 platform. Build with
/// [`Mem0Builder`].
pub struct Mem0Memory {
    client: Mem0Client,
    config: Mem0Config,
    sleeper: Arc<dyn Sleeper>,
}

impl fmt::Debug for Mem0Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mem0Memory")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn op(err: Error, operation: &'static str) -> Error {
    err.with_provider(BACKEND).with_operation(operation)
}

/// Mem0 memory ids are UUIDs; anything else names no memory.
fn check_id(id: &str) -> Result<()> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(Error::not_found(format!("no memory with id `{id}`")));
    }
    Ok(())
}

fn role_name(role: &Role) -> Option<&'static str> {
    match role {
        Role::User => Some("user"),
        Role::Assistant => Some("assistant"),
        _ => None,
    }
}

impl Mem0Memory {
    /// A builder.
    pub fn builder() -> Mem0Builder {
        Mem0Builder::default()
    }

    fn assemble(
        config: Mem0Config,
        key: SecretString,
        http: HttpClient,
        sleeper: Arc<dyn Sleeper>,
    ) -> Mem0Memory {
        Mem0Memory {
            client: Mem0Client::new(
                http,
                &config.base_url,
                key,
                config.org_id.as_deref(),
                config.project_id.as_deref(),
            ),
            config,
            sleeper,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &Mem0Config {
        &self.config
    }

    /// Check that the platform answers and accepts the key
    /// (`GET /v1/ping/`).
    ///
    /// # Errors
    /// `Unauthenticated` for a bad key; transport and server errors.
    pub async fn ping(&self) -> Result<()> {
        self.client
            .ping()
            .await
            .map(|_| ())
            .map_err(|e| op(e, "ping"))
    }

    /// Poll an add's event until it finishes.
    async fn wait_for(&self, event_id: &str) -> Result<Vec<MemoryEvent>> {
        let mut waited = Duration::ZERO;
        loop {
            let event = self.client.event(event_id).await?;
            let status = event
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("PENDING")
                .to_ascii_uppercase();
            match status.as_str() {
                "SUCCEEDED" => {
                    let results = match event.get("results") {
                        Some(Value::Array(items)) => items.clone(),
                        Some(Value::Object(o)) => match o.get("results") {
                            Some(Value::Array(items)) => items.clone(),
                            _ => Vec::new(),
                        },
                        _ => Vec::new(),
                    };
                    return Ok(wire::add_events(&results));
                }
                "FAILED" => {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        format!("Mem0 reports the add event `{event_id}` as FAILED"),
                    )
                    .with_context("event_id", event_id.to_owned()));
                }
                _ => {}
            }
            if waited >= self.config.poll_timeout {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the add event `{event_id}` is still {status} after {:?}",
                        self.config.poll_timeout
                    ),
                )
                .with_context("event_id", event_id.to_owned()));
            }
            self.sleeper.sleep(self.config.poll_interval).await;
            waited += self.config.poll_interval;
        }
    }

    async fn add_messages(
        &self,
        messages: &[Message],
        scope: &Scope,
        opts: AddOptions,
    ) -> Result<Vec<MemoryEvent>> {
        scope.validate()?;
        let turns: Vec<Value> = messages
            .iter()
            .filter(|m| opts.infer || m.role == Role::User)
            .filter_map(|m| {
                let text = m.text().trim().to_owned();
                let role = role_name(&m.role)?;
                (!text.is_empty()).then(|| json!({"role": role, "content": text}))
            })
            .collect();
        if turns.is_empty() {
            return Ok(Vec::new());
        }
        let mut body = json!({"messages": turns, "infer": opts.infer});
        for (key, id) in scope.pairs() {
            body[key] = json!(id);
        }
        if !opts.metadata.is_empty() {
            body["metadata"] = Value::Object(opts.metadata);
        }
        let answer = self.client.add(&body).await?;
        if let Some(Value::Array(results)) = answer.get("results") {
            return Ok(wire::add_events(results));
        }
        match answer.get("event_id").and_then(Value::as_str) {
            Some(event_id) => self.wait_for(event_id).await,
            None => Err(Error::new(
                ErrorKind::Protocol,
                "the add answer has neither results nor an event_id",
            )),
        }
    }

    async fn run_search(
        &self,
        query: &str,
        scope: &Scope,
        opts: SearchOptions,
    ) -> Result<Vec<ScoredMemory>> {
        scope.validate()?;
        if query.trim().is_empty() {
            return Err(Error::invalid_input("the search query is empty"));
        }
        if !(1..=1000).contains(&opts.top_k) {
            return Err(Error::invalid_input("top_k must be between 1 and 1000"));
        }
        if let Some(f) = &opts.filter {
            f.validate()?;
        }
        let threshold = opts.threshold.unwrap_or(0.0);
        let body = json!({
            "query": query,
            "filters": wire::filters(scope, opts.filter.as_ref())?,
            "top_k": opts.top_k,
            "threshold": threshold,
        });
        let mut hits: Vec<ScoredMemory> = wire::memories(self.client.search(&body).await?)?
            .into_iter()
            .map(|m| {
                let score = m.score.unwrap_or(0.0);
                ScoredMemory::new(m.into_item(), score)
            })
            .filter(|hit| opts.threshold.is_none_or(|t| hit.score >= t))
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(opts.top_k);
        Ok(hits)
    }

    async fn page(&self, scope: &Scope, page: Page) -> Result<PageOf<MemoryItem>> {
        scope.validate()?;
        if !(1..=1000).contains(&page.limit) {
            return Err(Error::invalid_input(
                "page limit must be between 1 and 1000",
            ));
        }
        let size = page.limit.min(MAX_PAGE_SIZE);
        let number = match &page.cursor {
            Some(c) => c
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| Error::invalid_input("malformed page cursor"))?,
            None => 1,
        };
        let body = json!({"filters": wire::filters(scope, None)?});
        let answer = self.client.list(number, size, &body).await?;
        let next_field = answer.get("next").map(|next| !next.is_null());
        let items: Vec<MemoryItem> = wire::memories(answer)?
            .into_iter()
            .map(WireMemory::into_item)
            .collect();
        // A bare list has no `next`: a full page may have a successor.
        let more = next_field.unwrap_or(items.len() == size);
        let next = more.then(|| (number + 1).to_string());
        Ok(PageOf::new(items, next))
    }

    async fn fetch(&self, id: &str) -> Result<MemoryItem> {
        check_id(id)?;
        let value = self.client.get(id).await?;
        let memory: WireMemory = serde_json::from_value(value).map_err(|e| {
            Error::new(ErrorKind::Protocol, "a memory without an id").with_source(e)
        })?;
        Ok(memory.into_item())
    }

    async fn change(&self, id: &str, text: &str) -> Result<MemoryItem> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::invalid_input("a memory text cannot be empty"));
        }
        check_id(id)?;
        let answer = self.client.update(id, &json!({"text": text})).await?;
        if answer.get("id").is_some()
            && answer.get("memory").is_some()
            && let Ok(memory) = serde_json::from_value::<WireMemory>(answer)
        {
            return Ok(memory.into_item());
        }
        self.fetch(id).await
    }

    async fn events(&self, id: &str) -> Result<Vec<MemoryEvent>> {
        check_id(id)?;
        let entries = wire::items(self.client.history(id).await?)?;
        let events: Vec<MemoryEvent> = entries
            .into_iter()
            .filter_map(|v| serde_json::from_value::<wire::WireHistory>(v).ok())
            .filter_map(|h| h.into_event(id))
            .collect();
        if events.is_empty() {
            return Err(Error::not_found(format!("no history for memory `{id}`")));
        }
        Ok(events)
    }
}

#[async_trait]
impl Memory for Mem0Memory {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn add(
        &self,
        messages: &[Message],
        scope: &Scope,
        opts: AddOptions,
    ) -> Result<Vec<MemoryEvent>> {
        self.add_messages(messages, scope, opts)
            .await
            .map_err(|e| op(e, "add"))
    }

    async fn search(
        &self,
        query: &str,
        scope: &Scope,
        opts: SearchOptions,
    ) -> Result<Vec<ScoredMemory>> {
        self.run_search(query, scope, opts)
            .await
            .map_err(|e| op(e, "search"))
    }

    async fn get(&self, id: &str) -> Result<MemoryItem> {
        self.fetch(id).await.map_err(|e| op(e, "get"))
    }

    async fn list(&self, scope: &Scope, page: Page) -> Result<PageOf<MemoryItem>> {
        self.page(scope, page).await.map_err(|e| op(e, "list"))
    }

    async fn update(&self, id: &str, text: &str) -> Result<MemoryItem> {
        self.change(id, text).await.map_err(|e| op(e, "update"))
    }

    async fn delete(&self, id: &str) -> Result<()> {
        let run = async {
            check_id(id)?;
            self.client.delete(id).await.map(|_| ())
        };
        run.await.map_err(|e| op(e, "delete"))
    }

    async fn history(&self, id: &str) -> Result<Vec<MemoryEvent>> {
        self.events(id).await.map_err(|e| op(e, "history"))
    }
}
