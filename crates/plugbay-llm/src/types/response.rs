//! Replies: [`ChatResponse`], [`FinishReason`], [`Usage`], [`Embeddings`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::message::{Message, ToolCall};

/// Why the model stopped.
///
/// Parsing is tolerant: unknown values (and the empty string some servers
/// send) become [`FinishReason::Other`], never an error. A few non-OpenAI
/// spellings map to their meaning (`end_turn`, `eos_token`, `stop_sequence`
/// → `Stop`; `max_tokens`, `max_length` → `Length`; `tool_use`,
/// `function_call` → `ToolCalls`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    #[default]
    Stop,
    /// The token limit was reached; the reply is truncated.
    Length,
    /// The model wants tool calls answered.
    ToolCalls,
    /// The provider's content filter cut the reply.
    ContentFilter,
    /// Anything else, as sent (possibly empty).
    Other(String),
}

impl FinishReason {
    /// Read a provider's finish reason; never fails.
    pub fn parse(value: &str) -> FinishReason {
        match value {
            "stop" | "end_turn" | "eos_token" | "stop_sequence" => FinishReason::Stop,
            "length" | "max_tokens" | "max_length" => FinishReason::Length,
            "tool_calls" | "tool_use" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }

    /// The OpenAI spelling (or the original text for `Other`).
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(other) => other,
        }
    }
}

impl std::fmt::Display for FinishReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FinishReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FinishReason, D::Error> {
        let value = Option::<String>::deserialize(deserializer)?;
        Ok(FinishReason::parse(value.as_deref().unwrap_or("")))
    }
}

/// Token counts of one call.
///
/// Deserialises from our own names and from OpenAI's (`prompt_tokens`,
/// `completion_tokens`, `prompt_tokens_details.cached_tokens`,
/// `completion_tokens_details.reasoning_tokens`); missing or `null` fields
/// are zero or `None`, so `{}` parses. A missing total is the sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens read (prompt).
    pub input_tokens: u64,
    /// Tokens generated (completion).
    pub output_tokens: u64,
    /// Total billed tokens.
    pub total_tokens: u64,
    /// Input tokens served from the provider's prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_input_tokens: Option<u64>,
    /// Output tokens spent on hidden reasoning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Usage with these counts; the total is their sum.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Usage {
        Usage {
            input_tokens,
            output_tokens,
            total_tokens: input_tokens.saturating_add(output_tokens),
            cached_input_tokens: None,
            reasoning_tokens: None,
        }
    }

    /// Set the cached input tokens.
    pub fn with_cached_input_tokens(mut self, tokens: u64) -> Usage {
        self.cached_input_tokens = Some(tokens);
        self
    }

    /// Set the reasoning tokens.
    pub fn with_reasoning_tokens(mut self, tokens: u64) -> Usage {
        self.reasoning_tokens = Some(tokens);
        self
    }

    /// Add another call's counts to these (for agent loops and batches).
    pub fn add(&mut self, other: &Usage) {
        fn add_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
            }
        }
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        self.cached_input_tokens = add_opt(self.cached_input_tokens, other.cached_input_tokens);
        self.reasoning_tokens = add_opt(self.reasoning_tokens, other.reasoning_tokens);
    }
}

impl<'de> Deserialize<'de> for Usage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Usage, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Details {
            cached_tokens: Option<u64>,
            reasoning_tokens: Option<u64>,
        }
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Wire {
            #[serde(alias = "prompt_tokens")]
            input_tokens: Option<u64>,
            #[serde(alias = "completion_tokens")]
            output_tokens: Option<u64>,
            total_tokens: Option<u64>,
            cached_input_tokens: Option<u64>,
            reasoning_tokens: Option<u64>,
            #[serde(alias = "input_tokens_details")]
            prompt_tokens_details: Option<Details>,
            #[serde(alias = "output_tokens_details")]
            completion_tokens_details: Option<Details>,
        }
        let wire = Option::<Wire>::deserialize(deserializer)?.unwrap_or_default();
        let input = wire.input_tokens.unwrap_or(0);
        let output = wire.output_tokens.unwrap_or(0);
        Ok(Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: wire.total_tokens.unwrap_or(input.saturating_add(output)),
            cached_input_tokens: wire
                .cached_input_tokens
                .or(wire.prompt_tokens_details.and_then(|d| d.cached_tokens)),
            reasoning_tokens: wire.reasoning_tokens.or(wire
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)),
        })
    }
}

/// A complete chat reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The provider's response id, when it sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The model that answered (as the provider reports it).
    #[serde(default)]
    pub model: String,
    /// The assistant message: text and/or tool calls.
    pub message: Message,
    /// Why generation stopped.
    #[serde(default)]
    pub finish_reason: FinishReason,
    /// Token counts, when the provider reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The provider's raw body, kept only where a backend is asked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

impl Default for ChatResponse {
    fn default() -> ChatResponse {
        ChatResponse::new(Message::assistant_tool_calls(Vec::new()))
    }
}

impl ChatResponse {
    /// A reply carrying this assistant message; the finish reason is
    /// `ToolCalls` if it has tool calls, else `Stop`.
    pub fn new(message: Message) -> ChatResponse {
        let finish_reason = if message.tool_calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        };
        ChatResponse {
            id: None,
            model: String::new(),
            message,
            finish_reason,
            usage: None,
            raw: None,
        }
    }

    /// A plain text reply.
    pub fn from_text(text: impl Into<String>) -> ChatResponse {
        ChatResponse::new(Message::assistant(text))
    }

    /// A reply that only calls tools.
    pub fn from_tool_calls(tool_calls: Vec<ToolCall>) -> ChatResponse {
        ChatResponse::new(Message::assistant_tool_calls(tool_calls))
    }

    /// The reply text (empty if the model only called tools).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        self.message.text()
    }

    /// The tool calls of the reply.
    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.message.tool_calls
    }

    /// Set the id.
    pub fn with_id(mut self, id: impl Into<String>) -> ChatResponse {
        self.id = Some(id.into());
        self
    }

    /// Set the model.
    pub fn with_model(mut self, model: impl Into<String>) -> ChatResponse {
        self.model = model.into();
        self
    }

    /// Set the finish reason.
    pub fn with_finish_reason(mut self, reason: FinishReason) -> ChatResponse {
        self.finish_reason = reason;
        self
    }

    /// Set the usage.
    pub fn with_usage(mut self, usage: Usage) -> ChatResponse {
        self.usage = Some(usage);
        self
    }

    /// Keep the provider's raw body.
    pub fn with_raw(mut self, raw: Value) -> ChatResponse {
        self.raw = Some(raw);
        self
    }
}

/// What a chat backend can do; conformance scenarios skip by it and callers
/// choose features by it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatCapabilities {
    /// Honours `tools` and returns tool calls.
    pub tools: bool,
    /// Can return several tool calls in one turn.
    pub parallel_tool_calls: bool,
    /// `chat_stream` streams (rather than returning `Unsupported`).
    pub streaming: bool,
    /// Streams end with a [`ChatEvent::Usage`](crate::ChatEvent::Usage).
    pub streaming_usage: bool,
    /// Honours [`ResponseFormat::JsonSchema`](crate::ResponseFormat::JsonSchema).
    pub json_schema: bool,
    /// Honours [`ResponseFormat::JsonObject`](crate::ResponseFormat::JsonObject).
    pub json_object: bool,
    /// Accepts image parts.
    pub vision: bool,
    /// Honours `seed`.
    pub seed: bool,
    /// Context window in tokens, when known.
    pub max_context_tokens: Option<u32>,
}

impl ChatCapabilities {
    /// Nothing supported (the same as `Default`).
    pub fn none() -> ChatCapabilities {
        ChatCapabilities::default()
    }

    /// Set `tools`.
    pub fn tools(mut self, yes: bool) -> ChatCapabilities {
        self.tools = yes;
        self
    }

    /// Set `parallel_tool_calls`.
    pub fn parallel_tool_calls(mut self, yes: bool) -> ChatCapabilities {
        self.parallel_tool_calls = yes;
        self
    }

    /// Set `streaming`.
    pub fn streaming(mut self, yes: bool) -> ChatCapabilities {
        self.streaming = yes;
        self
    }

    /// Set `streaming_usage`.
    pub fn streaming_usage(mut self, yes: bool) -> ChatCapabilities {
        self.streaming_usage = yes;
        self
    }

    /// Set `json_schema`.
    pub fn json_schema(mut self, yes: bool) -> ChatCapabilities {
        self.json_schema = yes;
        self
    }

    /// Set `json_object`.
    pub fn json_object(mut self, yes: bool) -> ChatCapabilities {
        self.json_object = yes;
        self
    }

    /// Set `vision`.
    pub fn vision(mut self, yes: bool) -> ChatCapabilities {
        self.vision = yes;
        self
    }

    /// Set `seed`.
    pub fn seed(mut self, yes: bool) -> ChatCapabilities {
        self.seed = yes;
        self
    }

    /// Set `max_context_tokens`.
    pub fn max_context_tokens(mut self, tokens: Option<u32>) -> ChatCapabilities {
        self.max_context_tokens = tokens;
        self
    }
}

/// Embedding vectors, one per input, in input order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Embeddings {
    /// One vector per input, in the order of the inputs.
    pub vectors: Vec<Vec<f32>>,
    /// Token counts, when the provider reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The model that produced them.
    #[serde(default)]
    pub model: String,
}

impl Embeddings {
    /// Vectors from `model`, without usage.
    pub fn new(vectors: Vec<Vec<f32>>, model: impl Into<String>) -> Embeddings {
        Embeddings {
            vectors,
            usage: None,
            model: model.into(),
        }
    }

    /// Set the usage.
    pub fn with_usage(mut self, usage: Usage) -> Embeddings {
        self.usage = Some(usage);
        self
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// `true` when there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// Append another batch (vectors and usage), for backends that split.
    pub fn extend(&mut self, other: Embeddings) {
        self.vectors.extend(other.vectors);
        match (&mut self.usage, other.usage) {
            (Some(mine), Some(theirs)) => mine.add(&theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        if self.model.is_empty() {
            self.model = other.model;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reason_is_tolerant() {
        let parsed: Vec<FinishReason> = serde_json::from_str(
            r#"["stop","length","tool_calls","content_filter","","weird",null]"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            vec![
                FinishReason::Stop,
                FinishReason::Length,
                FinishReason::ToolCalls,
                FinishReason::ContentFilter,
                FinishReason::Other(String::new()),
                FinishReason::Other("weird".into()),
                FinishReason::Other(String::new()),
            ]
        );
        assert_eq!(
            serde_json::to_string(&FinishReason::ToolCalls).unwrap(),
            r#""tool_calls""#
        );
        assert_eq!(FinishReason::parse("end_turn"), FinishReason::Stop);
    }

    #[test]
    fn usage_reads_empty_openai_and_own_shapes() {
        let empty: Usage = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Usage::default());
        let null: Usage = serde_json::from_str("null").unwrap();
        assert_eq!(null, Usage::default());

        let openai: Usage = serde_json::from_str(
            r#"{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,
                "prompt_tokens_details":{"cached_tokens":4},
                "completion_tokens_details":{"reasoning_tokens":2}}"#,
        )
        .unwrap();
        assert_eq!(openai.input_tokens, 10);
        assert_eq!(openai.output_tokens, 5);
        assert_eq!(openai.total_tokens, 15);
        assert_eq!(openai.cached_input_tokens, Some(4));
        assert_eq!(openai.reasoning_tokens, Some(2));

        let own = serde_json::to_string(&Usage::new(3, 4)).unwrap();
        let back: Usage = serde_json::from_str(&own).unwrap();
        assert_eq!(back.total_tokens, 7);
        let no_total: Usage =
            serde_json::from_str(r#"{"input_tokens":2,"output_tokens":3}"#).unwrap();
        assert_eq!(no_total.total_tokens, 5);
    }

    #[test]
    fn usage_add_sums_fields() {
        let mut total = Usage::new(1, 2);
        total.add(&Usage::new(3, 4).with_cached_input_tokens(1));
        assert_eq!(
            (total.input_tokens, total.output_tokens, total.total_tokens),
            (4, 6, 10)
        );
        assert_eq!(total.cached_input_tokens, Some(1));
        assert_eq!(total.reasoning_tokens, None);
    }

    #[test]
    fn response_finish_reason_follows_tool_calls() {
        let with_call = ChatResponse::from_tool_calls(vec![ToolCall::new("c", "f", "{}")]);
        assert_eq!(with_call.finish_reason, FinishReason::ToolCalls);
        assert_eq!(with_call.text(), "");
        assert_eq!(
            ChatResponse::from_text("hi").finish_reason,
            FinishReason::Stop
        );
    }

    #[test]
    fn embeddings_extend_merges_usage() {
        let mut all = Embeddings::new(vec![vec![1.0]], "m");
        all.extend(Embeddings::new(vec![vec![2.0]], "m").with_usage(Usage::new(2, 0)));
        all.extend(Embeddings::new(vec![vec![3.0]], "m").with_usage(Usage::new(3, 0)));
        assert_eq!(all.vectors, vec![vec![1.0], vec![2.0], vec![3.0]]);
        assert_eq!(all.usage.map(|u| u.input_tokens), Some(5));
    }
}
