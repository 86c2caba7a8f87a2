//! The OpenTelemetry GenAI span of each model call.

use plugbay_core::http::HeaderMap;
use tracing::field::Empty;

use crate::types::{FinishReason, Usage};

/// A span named after the GenAI semantic conventions (`otel.name` is
/// `"{operation} {model}"`), with the response fields left to record.
pub(crate) fn span(operation: &'static str, provider: &str, model: &str) -> tracing::Span {
    tracing::info_span!(
        "gen_ai",
        otel.name = %format_args!("{operation} {model}"),
        otel.kind = "client",
        gen_ai.operation.name = operation,
        gen_ai.provider.name = provider,
        gen_ai.request.model = model,
        gen_ai.response.model = Empty,
        gen_ai.response.id = Empty,
        gen_ai.response.finish_reasons = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.request.stream = Empty,
        ratelimit.remaining_requests = Empty,
        ratelimit.remaining_tokens = Empty,
        ratelimit.reset_requests = Empty,
        ratelimit.reset_tokens = Empty,
        error.type = Empty,
    )
}

/// Copy the `x-ratelimit-*` headers of a successful reply onto the span
/// (error replies carry them as error context, added by the HTTP client).
pub(crate) fn record_rate_limits(span: &tracing::Span, headers: &HeaderMap) {
    // Nothing listens: skip the header lookups.
    if span.is_disabled() {
        return;
    }
    const FIELDS: [(&str, &str); 4] = [
        (
            "x-ratelimit-remaining-requests",
            "ratelimit.remaining_requests",
        ),
        ("x-ratelimit-remaining-tokens", "ratelimit.remaining_tokens"),
        ("x-ratelimit-reset-requests", "ratelimit.reset_requests"),
        ("x-ratelimit-reset-tokens", "ratelimit.reset_tokens"),
    ];
    for (header, field) in FIELDS {
        if let Some(value) = headers.get(header).and_then(|v| v.to_str().ok()) {
            span.record(field, value.trim());
        }
    }
}

/// Record what a reply said about itself.
pub(crate) fn record_response(
    span: &tracing::Span,
    response_id: Option<&str>,
    model: Option<&str>,
    usage: Option<&Usage>,
    finish: Option<&FinishReason>,
) {
    if let Some(id) = response_id {
        span.record("gen_ai.response.id", id);
    }
    if let Some(model) = model.filter(|m| !m.is_empty()) {
        span.record("gen_ai.response.model", model);
    }
    if let Some(usage) = usage {
        span.record("gen_ai.usage.input_tokens", usage.input_tokens);
        span.record("gen_ai.usage.output_tokens", usage.output_tokens);
    }
    if let Some(reason) = finish {
        span.record("gen_ai.response.finish_reasons", reason.as_str());
    }
}

/// Record a failed call.
pub(crate) fn record_error(span: &tracing::Span, error: &plugbay_core::Error) {
    span.record("error.type", error.kind().as_str());
}
