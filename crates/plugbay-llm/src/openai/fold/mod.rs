//! [`ChunkFolder`]: OpenAI stream chunks (SSE events) folded into
//! [`ChatEvent`]s. Sans-I/O: fed one SSE event at a time, so fixtures and
//! benchmarks drive it without a socket; [`OpenAiChatStream`](super::stream)
//! runs it over a response body.

use plugbay_core::{Error, ErrorKind, Result};
use serde::de::IgnoredAny;
use serde_json::Value;

use super::chunk::{ChunkMeta, LenientText, WireChunk, WireDelta};
use super::error::stream_error;
use super::template::{Templates, Varying, span_in};
use super::wire::settle_finish;
use crate::sse::{SseEvent, SseEventRef};
use crate::stream::ToolCallAccumulator;
use crate::types::{ChatEvent, FinishReason, Usage};

/// The error carried by an `event: error` event.
#[cold]
#[inline(never)]
fn error_event(data: &[u8]) -> Error {
    match serde_json::from_slice::<Value>(data) {
        Ok(value) => stream_error(value.get("error").unwrap_or(&value)),
        Err(_) => Error::new(
            ErrorKind::Unavailable,
            format!(
                "error event inside the reply stream: {}",
                String::from_utf8_lossy(data)
            ),
        ),
    }
}

/// Where the fold stands after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldState {
    /// More events are expected.
    Open,
    /// `[DONE]` arrived: the `Finish` event was emitted.
    Done,
    /// An error item was emitted; the stream must end.
    Failed,
}

/// Folds OpenAI stream chunks into [`ChatEvent`]s in the order the
/// [`ChatEvent`] contract promises: text and tool-call deltas as they come,
/// completed tool calls when the choice finishes, then one `Usage` (the last
/// one seen: vLLM repeats usage on every chunk) and one `Finish` at
/// `[DONE]`. Only the first choice (`index` 0) is followed.
///
/// A chunk that repeats an earlier one byte for byte but for its text
/// delta or one call's argument fragment (and OpenAI's `obfuscation`
/// padding) is read by parsing only that string; the events are the same
/// as the full parse's.
///
/// ```
/// use plugbay_llm::ChatEvent;
/// use plugbay_llm::openai::{ChunkFolder, FoldState};
/// use plugbay_llm::sse::SseEvent;
/// let mut folder = ChunkFolder::new();
/// let mut out = Vec::new();
/// folder.push(&SseEvent::new(r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#), &mut out);
/// folder.push(&SseEvent::new(r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#), &mut out);
/// assert_eq!(folder.push(&SseEvent::new("[DONE]"), &mut out), FoldState::Done);
/// assert_eq!(out[0].as_ref().unwrap(), &ChatEvent::text("Hi"));
/// assert!(matches!(out.last(), Some(Ok(ChatEvent::Finish { .. }))));
/// ```
#[derive(Debug, Default)]
pub struct ChunkFolder {
    calls: ToolCallAccumulator,
    saw_calls: bool,
    response_id: Option<String>,
    model: Option<String>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    state: Option<FoldState>,
    templates: Templates,
}

impl ChunkFolder {
    /// A fold at the start of a stream.
    pub fn new() -> ChunkFolder {
        ChunkFolder::default()
    }

    /// The state after the last event.
    pub fn state(&self) -> FoldState {
        self.state.unwrap_or(FoldState::Open)
    }

    /// The usage seen so far.
    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// The response id seen so far.
    pub fn response_id(&self) -> Option<&str> {
        self.response_id.as_deref()
    }

    /// The model the server reported.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The finish reason, once known.
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.finish.as_ref()
    }

    /// Fold one SSE event, appending what it produces to `out`.
    pub fn push<E: Extend<Result<ChatEvent>>>(
        &mut self,
        event: &SseEvent,
        out: &mut E,
    ) -> FoldState {
        self.push_ref(event.view(), out)
    }

    /// Fold one borrowed SSE event (as lent by
    /// [`SseDecoder::next_event_with`](crate::sse::SseDecoder::next_event_with)),
    /// appending what it produces to `out`.
    pub fn push_ref<E: Extend<Result<ChatEvent>>>(
        &mut self,
        event: SseEventRef<'_>,
        out: &mut E,
    ) -> FoldState {
        if self.state() != FoldState::Open {
            return self.state();
        }
        if event.is_done() {
            self.complete(out);
            return self.state();
        }
        if event.event() == "error" {
            return self.fail(error_event(event.data()), out);
        }
        let data = event.data();
        // The common chunk, like one seen before but for its text or
        // argument fragment, takes the template path (see `template`).
        if self.templates.active()
            && let Some((varying, text)) = self.templates.read(data)
        {
            self.absorb_templated(varying, text, out);
            return FoldState::Open;
        }
        // Text already checked as UTF-8 parses faster (serde_json skips its
        // check of each string, and skips ignored strings faster). `id` and
        // `model` are read until known. Data that is not UTF-8 takes
        // serde_json's byte path with `id` and `model` read, as before (and
        // is not learned as a template).
        match std::str::from_utf8(data) {
            Ok(text) if self.response_id.is_some() && self.model.is_some() => self.fold_chunk(
                serde_json::from_str::<WireChunk<IgnoredAny>>(text),
                Some(data),
                out,
            ),
            Ok(text) => self.fold_chunk(
                serde_json::from_str::<WireChunk<LenientText<'_>>>(text),
                Some(data),
                out,
            ),
            Err(_) => self.fold_chunk(
                serde_json::from_slice::<WireChunk<LenientText<'_>>>(data),
                None,
                out,
            ),
        }
    }

    fn fold_chunk<Meta: ChunkMeta, E: Extend<Result<ChatEvent>>>(
        &mut self,
        parsed: serde_json::Result<WireChunk<Meta>>,
        learn_from: Option<&[u8]>,
        out: &mut E,
    ) -> FoldState {
        let chunk = match parsed {
            Ok(chunk) => chunk,
            Err(e) => {
                let error = Error::new(
                    ErrorKind::Protocol,
                    format!("unreadable chunk in the reply stream: {e}"),
                )
                .with_source(e);
                return self.fail(error, out);
            }
        };
        if let Some(error) = &chunk.error
            && !error.is_null()
        {
            return self.fail(stream_error(error), out);
        }
        if let Some(data) = learn_from
            && self.templates.active()
        {
            self.learn(&chunk, data);
        }
        self.absorb(chunk, out);
        FoldState::Open
    }

    /// Keep `chunk` as a template if it is the common kind: one choice
    /// (index 0) carrying only a text delta, or only one call's argument
    /// fragment (no id, no name), read in place; nothing else set.
    fn learn<Meta>(&mut self, chunk: &WireChunk<Meta>, data: &[u8]) {
        if chunk.usage.is_some() || chunk.error.is_some() {
            return;
        }
        let Some([choice]) = chunk.choices.as_deref() else {
            return;
        };
        if choice.index.unwrap_or(0) != 0 || choice.finish_reason.is_some() {
            return;
        }
        let Some(delta) = &choice.delta else {
            return;
        };
        if delta.refusal.is_some() {
            return;
        }
        let (varying, span) = match (&delta.content, delta.tool_calls.as_deref()) {
            (Some(content), None) => (Varying::Text, content.span),
            (None, Some([call])) => {
                let (Some(index), None, Some(function)) = (call.index, &call.id, &call.function)
                else {
                    return;
                };
                let (None, Some(arguments)) = (&function.name, &function.arguments) else {
                    return;
                };
                (Varying::Arguments(index), arguments.span)
            }
            _ => return,
        };
        let pad = chunk
            .obfuscation
            .as_ref()
            .and_then(|p| p.0)
            .and_then(|(at, len)| span_in(data, at, len));
        if let Some(value) = span.and_then(|(at, len)| span_in(data, at, len)) {
            self.templates.learn(data, value, pad, varying);
        }
    }

    /// What a chunk that matched a template gives: its text delta, or its
    /// call's argument fragment (as [`Self::absorb_rare`] would).
    fn absorb_templated<E: Extend<Result<ChatEvent>>>(
        &mut self,
        varying: Varying,
        text: String,
        out: &mut E,
    ) {
        match varying {
            Varying::Text if text.is_empty() => {}
            Varying::Text => out.extend([Ok(ChatEvent::TextDelta(text))]),
            Varying::Arguments(index) => {
                self.saw_calls = true;
                self.calls.push(index, None, None, &text);
                out.extend([Ok(ChatEvent::ToolCallDelta {
                    index,
                    id: None,
                    name: None,
                    arguments: text,
                })]);
            }
        }
    }

    /// The body ended: without `[DONE]` that is a `Protocol` error item.
    pub fn end<E: Extend<Result<ChatEvent>>>(&mut self, out: &mut E) -> FoldState {
        if self.state() == FoldState::Open {
            let error = Error::new(
                ErrorKind::Protocol,
                "the reply stream ended before `data: [DONE]`",
            );
            return self.fail(error, out);
        }
        self.state()
    }

    fn absorb<Meta: ChunkMeta, E: Extend<Result<ChatEvent>>>(
        &mut self,
        chunk: WireChunk<Meta>,
        out: &mut E,
    ) {
        if self.response_id.is_none() {
            self.response_id = Meta::text(chunk.id);
        }
        if self.model.is_none() {
            self.model = Meta::text(chunk.model);
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for choice in chunk.choices.unwrap_or_default() {
            if choice.index.unwrap_or(0) != 0 {
                continue;
            }
            if let Some(mut delta) = choice.delta {
                if let Some(text) = delta
                    .content
                    .take()
                    .map(|c| c.text)
                    .filter(|t| !t.is_empty())
                {
                    out.extend([Ok(ChatEvent::TextDelta(text))]);
                }
                if delta.refusal.is_some() || delta.tool_calls.is_some() {
                    self.absorb_rare(delta, out);
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.absorb_finish(reason, out);
            }
        }
    }

    /// A delta's refusal text and tool-call fragments (out of the
    /// text-delta hot path).
    #[inline(never)]
    fn absorb_rare<E: Extend<Result<ChatEvent>>>(&mut self, delta: WireDelta, out: &mut E) {
        if let Some(text) = delta.refusal.filter(|t| !t.is_empty()) {
            out.extend([Ok(ChatEvent::TextDelta(text))]);
        }
        for (position, call) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
            self.saw_calls = true;
            let index = call
                .index
                .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX));
            let function = call.function.unwrap_or_default();
            let arguments = function.arguments.map(|a| a.text).unwrap_or_default();
            let id = call.id.filter(|s| !s.is_empty());
            let name = function.name.filter(|s| !s.is_empty());
            self.calls
                .push(index, id.as_deref(), name.as_deref(), &arguments);
            out.extend([Ok(ChatEvent::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            })]);
        }
    }

    /// A choice's finish reason (an empty one is no reason): completed
    /// tool calls are emitted.
    #[inline(never)]
    fn absorb_finish<E: Extend<Result<ChatEvent>>>(&mut self, reason: FinishReason, out: &mut E) {
        if matches!(&reason, FinishReason::Other(o) if o.is_empty()) {
            return;
        }
        self.finish = Some(reason);
        self.flush_calls(out);
    }

    #[inline(never)]
    fn flush_calls<E: Extend<Result<ChatEvent>>>(&mut self, out: &mut E) {
        if self.calls.is_empty() {
            return;
        }
        match self.calls.finish() {
            Ok(calls) => out.extend(calls.into_iter().map(|c| Ok(ChatEvent::ToolCall(c)))),
            Err(e) => {
                self.fail(e, out);
            }
        }
    }

    #[inline(never)]
    fn complete<E: Extend<Result<ChatEvent>>>(&mut self, out: &mut E) {
        self.flush_calls(out);
        if self.state.is_some() {
            return;
        }
        if let Some(usage) = self.usage {
            out.extend([Ok(ChatEvent::Usage(usage))]);
        }
        let reason = settle_finish(self.finish.take(), self.saw_calls);
        self.finish = Some(reason.clone());
        out.extend([Ok(ChatEvent::Finish {
            reason,
            response_id: self.response_id.clone(),
            model: self.model.clone(),
        })]);
        self.state = Some(FoldState::Done);
    }

    #[cold]
    #[inline(never)]
    fn fail<E: Extend<Result<ChatEvent>>>(&mut self, error: Error, out: &mut E) -> FoldState {
        let error = match &self.response_id {
            Some(id) if error.request_id().is_none() => {
                error.with_context("response_id", id.clone())
            }
            _ => error,
        };
        out.extend([Err(error)]);
        self.state = Some(FoldState::Failed);
        FoldState::Failed
    }
}

#[cfg(test)]
mod tests;
