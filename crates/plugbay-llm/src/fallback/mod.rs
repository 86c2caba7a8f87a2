//! [`Fallback`] and [`FallbackChain`]: try another chat model when one is
//! rate limited, out of quota or down.
//!
//! Written in tower's shape: [`Fallback<Primary, Secondary>`] wraps two
//! models, [`FallbackLayer`] wraps any primary with a fixed secondary, and
//! [`FallbackChain`] generalises to a list of [`DynChatModel`]s.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use plugbay_core::{Error, ErrorKind, Result};
use tracing::Instrument;
use tracing::field::Empty;

use crate::model::{ChatModel, DynChatModel};
use crate::types::{ChatCapabilities, ChatEvent, ChatRequest, ChatResponse, ChatStream};

/// Decides whether an error from one model sends the request on to the next.
pub type FallbackCondition = dyn Fn(&Error) -> bool + Send + Sync;

/// The default fallback condition.
///
/// Falls back on rate limits, quota errors, unavailability, timeouts,
/// unreadable answers (`Protocol`) and anything marked retryable. Never
/// falls back on `InvalidInput`, `Unauthenticated`, `PermissionDenied` or
/// `Config`: those are mistakes in the request or the setup that another
/// model would hide rather than fix.
///
/// ```
/// use plugbay_core::{Error, ErrorKind};
/// use plugbay_llm::fallback::should_fall_back;
/// assert!(should_fall_back(&Error::new(ErrorKind::RateLimited, "slow down")));
/// assert!(!should_fall_back(&Error::new(ErrorKind::InvalidInput, "bad request")));
/// ```
pub fn should_fall_back(error: &Error) -> bool {
    match error.kind() {
        ErrorKind::InvalidInput
        | ErrorKind::Unauthenticated
        | ErrorKind::PermissionDenied
        | ErrorKind::Config => false,
        ErrorKind::RateLimited
        | ErrorKind::QuotaExceeded
        | ErrorKind::Unavailable
        | ErrorKind::Timeout
        | ErrorKind::Protocol => true,
        _ => error.is_retryable(),
    }
}

fn default_condition() -> Arc<FallbackCondition> {
    Arc::new(should_fall_back)
}

/// A [`ChatModel`] that sends each request to `Primary` and, when that
/// fails with an error the condition accepts (by default
/// [`should_fall_back`]), to `Secondary`.
///
/// - The request goes to the secondary with `model` cleared, because a
///   model override names a model of the primary's provider; the
///   secondary uses its own configured model.
/// - `chat_stream` falls back only when the primary fails before its first
///   event (an error from `chat_stream` itself, an `Err` as the first item,
///   or a stream that ends at once). Once an event was delivered the
///   stream is the primary's, errors included: replaying the reply from
///   another model would duplicate text the caller already showed.
/// - A model whose capabilities say it does not stream is asked with
///   `chat` and its reply is replayed as events, so the wrapper always
///   streams.
/// - `provider()` and `model()` are the primary's; `capabilities()` are
///   what both guarantee. The tracing span `plugbay.llm.fallback` records
///   which model answered (`fallback.answered_by`, `fallback.index`,
///   `gen_ai.provider.name`, `gen_ai.request.model`).
///
/// ```
/// use plugbay_core::{Error, ErrorKind};
/// use plugbay_llm::{ChatModelExt, Fallback, MockChatModel};
/// # futures::executor::block_on(async {
/// let primary = MockChatModel::new().with_model("primary");
/// primary.push_error(Error::new(ErrorKind::RateLimited, "429"));
/// let model = Fallback::new(primary, MockChatModel::new().with_model("secondary"));
/// assert_eq!(model.complete("hi").await?, "[mock] hi");
/// assert_eq!(model.get_ref().0.request_count(), 1);
/// assert_eq!(model.get_ref().1.request_count(), 1);
/// # Ok::<(), plugbay_core::Error>(())
/// # }).unwrap();
/// ```
pub struct Fallback<Primary, Secondary> {
    primary: Primary,
    secondary: Secondary,
    condition: Arc<FallbackCondition>,
}

impl<Primary: std::fmt::Debug, Secondary: std::fmt::Debug> std::fmt::Debug
    for Fallback<Primary, Secondary>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fallback")
            .field("primary", &self.primary)
            .field("secondary", &self.secondary)
            .finish_non_exhaustive()
    }
}

impl<Primary, Secondary> Fallback<Primary, Secondary> {
    /// Try `primary`, then `secondary`, with the default condition.
    pub fn new(primary: Primary, secondary: Secondary) -> Self {
        Fallback {
            primary,
            secondary,
            condition: default_condition(),
        }
    }

    /// Fall back when `condition` returns `true` for the primary's error.
    pub fn with_condition<F>(mut self, condition: F) -> Self
    where
        F: Fn(&Error) -> bool + Send + Sync + 'static,
    {
        self.condition = Arc::new(condition);
        self
    }

    /// The wrapped models.
    pub fn get_ref(&self) -> (&Primary, &Secondary) {
        (&self.primary, &self.secondary)
    }

    /// The wrapped models, mutably.
    pub fn get_mut(&mut self) -> (&mut Primary, &mut Secondary) {
        (&mut self.primary, &mut self.secondary)
    }

    /// Unwrap into the two models.
    pub fn into_inner(self) -> (Primary, Secondary) {
        (self.primary, self.secondary)
    }
}

/// Wraps any primary model in a [`Fallback`] to a fixed secondary.
///
/// ```
/// use std::sync::Arc;
/// use plugbay_llm::{ChatModel, FallbackLayer, MockChatModel};
/// // The secondary is cloned into every wrapped model: share it with an Arc.
/// let layer = FallbackLayer::new(Arc::new(MockChatModel::new().with_model("backup")));
/// let model = layer.layer(MockChatModel::new().with_model("main"));
/// assert_eq!(model.model(), "main");
/// assert_eq!(model.get_ref().1.model(), "backup");
/// ```
#[derive(Clone)]
pub struct FallbackLayer<Secondary> {
    secondary: Secondary,
    condition: Arc<FallbackCondition>,
}

impl<Secondary: std::fmt::Debug> std::fmt::Debug for FallbackLayer<Secondary> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackLayer")
            .field("secondary", &self.secondary)
            .finish_non_exhaustive()
    }
}

impl<Secondary> FallbackLayer<Secondary> {
    /// A layer falling back to `secondary` with the default condition.
    pub fn new(secondary: Secondary) -> Self {
        FallbackLayer {
            secondary,
            condition: default_condition(),
        }
    }

    /// Fall back when `condition` returns `true`.
    pub fn with_condition<F>(mut self, condition: F) -> Self
    where
        F: Fn(&Error) -> bool + Send + Sync + 'static,
    {
        self.condition = Arc::new(condition);
        self
    }

    /// Wrap `primary`.
    pub fn layer<Primary>(&self, primary: Primary) -> Fallback<Primary, Secondary>
    where
        Secondary: Clone,
    {
        Fallback {
            primary,
            secondary: self.secondary.clone(),
            condition: self.condition.clone(),
        }
    }
}

#[async_trait]
impl<Primary: ChatModel, Secondary: ChatModel> ChatModel for Fallback<Primary, Secondary> {
    fn provider(&self) -> &str {
        self.primary.provider()
    }

    fn model(&self) -> &str {
        self.primary.model()
    }

    fn capabilities(&self) -> ChatCapabilities {
        common_capabilities(&[&self.primary, &self.secondary])
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        chat_over(&[&self.primary, &self.secondary], &*self.condition, request).await
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        stream_over(&[&self.primary, &self.secondary], &*self.condition, request).await
    }
}

/// [`Fallback`] over any number of models, tried in order.
///
/// The same rules apply: each later model gets the request with `model`
/// cleared; streams fall back only before their first event. An empty
/// chain answers every call with a `Config` error.
///
/// ```
/// use std::sync::Arc;
/// use plugbay_core::{Error, ErrorKind};
/// use plugbay_llm::{ChatModelExt, DynChatModel, FallbackChain, MockChatModel};
/// # futures::executor::block_on(async {
/// let down = Arc::new(MockChatModel::new());
/// down.push_error(Error::new(ErrorKind::Unavailable, "503"));
/// let chain = FallbackChain::new(vec![down.clone() as DynChatModel, Arc::new(MockChatModel::new())]);
/// assert_eq!(chain.complete("hi").await?, "[mock] hi");
/// # Ok::<(), plugbay_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct FallbackChain {
    models: Vec<DynChatModel>,
    condition: Arc<FallbackCondition>,
}

impl std::fmt::Debug for FallbackChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackChain")
            .field("models", &self.models)
            .finish_non_exhaustive()
    }
}

impl FallbackChain {
    /// Try `models` in order with the default condition.
    pub fn new(models: Vec<DynChatModel>) -> Self {
        FallbackChain {
            models,
            condition: default_condition(),
        }
    }

    /// Fall back when `condition` returns `true`.
    pub fn with_condition<F>(mut self, condition: F) -> Self
    where
        F: Fn(&Error) -> bool + Send + Sync + 'static,
    {
        self.condition = Arc::new(condition);
        self
    }

    /// Append a model to the end of the chain.
    pub fn push(mut self, model: DynChatModel) -> Self {
        self.models.push(model);
        self
    }

    /// The models, in order.
    pub fn models(&self) -> &[DynChatModel] {
        &self.models
    }

    /// Unwrap into the models.
    pub fn into_inner(self) -> Vec<DynChatModel> {
        self.models
    }

    fn refs(&self) -> Vec<&dyn ChatModel> {
        self.models.iter().map(|m| m.as_ref()).collect()
    }
}

#[async_trait]
impl ChatModel for FallbackChain {
    fn provider(&self) -> &str {
        self.models.first().map_or("fallback", |m| m.provider())
    }

    fn model(&self) -> &str {
        self.models.first().map_or("", |m| m.model())
    }

    fn capabilities(&self) -> ChatCapabilities {
        common_capabilities(&self.refs())
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        chat_over(&self.refs(), &*self.condition, request).await
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        stream_over(&self.refs(), &*self.condition, request).await
    }
}

/// What every model guarantees; streaming is always on because replies of
/// non-streaming models are replayed as events.
fn common_capabilities(models: &[&dyn ChatModel]) -> ChatCapabilities {
    let caps: Vec<ChatCapabilities> = models.iter().map(|m| m.capabilities()).collect();
    let all = |pick: fn(&ChatCapabilities) -> bool| !caps.is_empty() && caps.iter().all(pick);
    ChatCapabilities::none()
        .tools(all(|c| c.tools))
        .parallel_tool_calls(all(|c| c.parallel_tool_calls))
        .streaming(!caps.is_empty())
        .streaming_usage(all(|c| c.streaming_usage))
        .json_schema(all(|c| c.json_schema))
        .json_object(all(|c| c.json_object))
        .vision(all(|c| c.vision))
        .seed(all(|c| c.seed))
        .max_context_tokens(caps.iter().filter_map(|c| c.max_context_tokens).min())
}

fn empty_chain(operation: &'static str) -> Error {
    Error::config("a fallback chain needs at least one model")
        .with_provider("fallback")
        .with_operation(operation)
}

fn fallback_span(operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "plugbay.llm.fallback",
        gen_ai.operation.name = operation,
        gen_ai.provider.name = Empty,
        gen_ai.request.model = Empty,
        fallback.answered_by = Empty,
        fallback.index = Empty,
        fallback.tried = Empty,
    )
}

fn record_answer(span: &tracing::Span, index: usize, model: &dyn ChatModel) {
    span.record("gen_ai.provider.name", model.provider());
    span.record("gen_ai.request.model", model.model());
    span.record(
        "fallback.answered_by",
        format!("{}/{}", model.provider(), model.model()).as_str(),
    );
    span.record("fallback.index", index);
    span.record("fallback.tried", index + 1);
}

/// The request for the model at `index`: later models get no model
/// override (it names a model of the first provider).
fn request_for(request: &ChatRequest, index: usize) -> Cow<'_, ChatRequest> {
    if index == 0 || request.model.is_none() {
        Cow::Borrowed(request)
    } else {
        let mut next = request.clone();
        next.model = None;
        Cow::Owned(next)
    }
}

fn note_fallback(index: usize, model: &dyn ChatModel, error: &Error) {
    tracing::warn!(
        fallback.index = index,
        gen_ai.provider.name = model.provider(),
        gen_ai.request.model = model.model(),
        error.kind = error.kind().as_str(),
        error = %error,
        "chat model failed; falling back to the next one"
    );
}

fn tried(error: Error, count: usize) -> Error {
    if count > 1 {
        error.with_context("fallback_tried", count.to_string())
    } else {
        error
    }
}

async fn chat_over(
    models: &[&dyn ChatModel],
    condition: &FallbackCondition,
    request: ChatRequest,
) -> Result<ChatResponse> {
    let span = fallback_span("chat");
    let run = async {
        let last = models
            .len()
            .checked_sub(1)
            .ok_or_else(|| empty_chain("chat"))?;
        for (index, model) in models.iter().enumerate() {
            match model.chat(request_for(&request, index).into_owned()).await {
                Ok(response) => {
                    record_answer(&tracing::Span::current(), index, *model);
                    return Ok(response);
                }
                Err(error) if index < last && condition(&error) => {
                    note_fallback(index, *model, &error);
                }
                Err(error) => return Err(tried(error, index + 1)),
            }
        }
        Err(empty_chain("chat"))
    };
    run.instrument(span).await
}

async fn stream_over(
    models: &[&dyn ChatModel],
    condition: &FallbackCondition,
    request: ChatRequest,
) -> Result<ChatStream> {
    let span = fallback_span("chat_stream");
    let run = async {
        let last = models
            .len()
            .checked_sub(1)
            .ok_or_else(|| empty_chain("chat_stream"))?;
        for (index, model) in models.iter().enumerate() {
            let may_fall_back = |error: &Error| index < last && condition(error);
            let req = request_for(&request, index).into_owned();
            let started = if model.capabilities().streaming {
                model.chat_stream(req).await
            } else {
                model.chat(req).await.map(replay)
            };
            let mut stream = match started {
                Ok(stream) => stream,
                Err(error) if may_fall_back(&error) => {
                    note_fallback(index, *model, &error);
                    continue;
                }
                Err(error) => return Err(tried(error, index + 1)),
            };
            match stream.next().await {
                Some(Ok(first)) => {
                    record_answer(&tracing::Span::current(), index, *model);
                    return Ok(futures::stream::once(async { Ok(first) })
                        .chain(stream)
                        .boxed());
                }
                Some(Err(error)) if may_fall_back(&error) => {
                    note_fallback(index, *model, &error);
                }
                Some(Err(error)) => {
                    let error = tried(error, index + 1);
                    return Ok(futures::stream::once(async { Err(error) }).boxed());
                }
                None => {
                    let error = Error::protocol("the reply stream ended before its first event")
                        .with_provider(model.provider().to_owned())
                        .with_operation("chat_stream");
                    if !may_fall_back(&error) {
                        return Ok(futures::stream::empty().boxed());
                    }
                    note_fallback(index, *model, &error);
                }
            }
        }
        Err(empty_chain("chat_stream"))
    };
    run.instrument(span).await
}

/// Replay a whole reply as the events a streaming backend would send.
fn replay(response: ChatResponse) -> ChatStream {
    let mut events = Vec::new();
    let text = response.text();
    if !text.is_empty() {
        events.push(ChatEvent::text(text.into_owned()));
    }
    for (index, call) in response.message.tool_calls.iter().enumerate() {
        events.push(ChatEvent::ToolCallDelta {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            id: Some(call.id.clone()),
            name: Some(call.name.clone()),
            arguments: call.arguments.clone(),
        });
    }
    events.extend(
        response
            .message
            .tool_calls
            .into_iter()
            .map(ChatEvent::ToolCall),
    );
    if let Some(usage) = response.usage {
        events.push(ChatEvent::Usage(usage));
    }
    events.push(ChatEvent::Finish {
        reason: response.finish_reason,
        response_id: response.id,
        model: Some(response.model),
    });
    futures::stream::iter(events.into_iter().map(Ok)).boxed()
}

#[cfg(test)]
mod tests;
