//! The wire types of streamed chat-completion chunks, parsed lean: the
//! hot loop of every streamed reply.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::types::{FinishReason, Usage};

// Stream chunks are parsed into their own lean types: `id` and `model` are
// borrowed from the event and read only until known (then skipped), only
// the fields plugbay uses are kept, and argument fragments go straight to a
// `String`.

/// Read an optional field out of line: the parse code of fields that are
/// rare or `null` in almost every chunk (tool calls, refusals, finish
/// reasons, usage, errors) stays out of the per-chunk hot path, which
/// keeps the text-delta path small enough for the instruction cache.
#[inline(never)]
fn cold<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireDelta {
    pub(super) content: Option<SpanText>,
    #[serde(default, deserialize_with = "cold")]
    pub(super) refusal: Option<String>,
    #[serde(default, deserialize_with = "cold")]
    pub(super) tool_calls: Option<Vec<WireCallChunk>>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireCallChunk {
    pub(super) index: Option<u32>,
    pub(super) id: Option<String>,
    pub(super) function: Option<WireFunctionChunk>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireFunctionChunk {
    pub(super) name: Option<String>,
    pub(super) arguments: Option<ArgumentsText>,
}

/// A JSON string, with where it lay in the chunk when it was read in place
/// (it had no escapes): the span a [template](super::template) is learned
/// from.
#[derive(Debug, Default)]
pub(super) struct SpanText {
    pub(super) text: String,
    /// The address and length of the string inside the chunk.
    pub(super) span: Option<(usize, usize)>,
}

impl<'de> Deserialize<'de> for SpanText {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = SpanText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<SpanText, E> {
                Ok(SpanText {
                    text: v.to_owned(),
                    span: Some((v.as_ptr() as usize, v.len())),
                })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<SpanText, E> {
                Ok(SpanText {
                    text: v.to_owned(),
                    span: None,
                })
            }
            fn visit_string<E: serde::de::Error>(
                self,
                v: String,
            ) -> std::result::Result<SpanText, E> {
                Ok(SpanText {
                    text: v,
                    span: None,
                })
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

/// Argument text: a string as sent (with where its contents lay in the
/// chunk, escapes and all); an object (some servers) re-encoded; `null`
/// empty. Read as a raw value first, so the span is known even when the
/// string has escapes, as JSON arguments always do.
#[derive(Debug, Default)]
pub(super) struct ArgumentsText {
    pub(super) text: String,
    /// The address and length of the string's contents (between the
    /// quotes, as sent) inside the chunk.
    pub(super) span: Option<(usize, usize)>,
}

impl<'de> Deserialize<'de> for ArgumentsText {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let raw = <&'de serde_json::value::RawValue>::deserialize(deserializer)?.get();
        if raw.starts_with('"') {
            let text: String = serde_json::from_str(raw).map_err(D::Error::custom)?;
            let contents = &raw[1..raw.len() - 1];
            return Ok(ArgumentsText {
                text,
                span: Some((contents.as_ptr() as usize, contents.len())),
            });
        }
        let text = match serde_json::from_str::<Value>(raw).map_err(D::Error::custom)? {
            Value::Null => String::new(),
            value => value.to_string(),
        };
        Ok(ArgumentsText { text, span: None })
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireStreamChoice {
    pub(super) index: Option<u32>,
    pub(super) delta: Option<WireDelta>,
    #[serde(default, deserialize_with = "cold")]
    pub(super) finish_reason: Option<FinishReason>,
}

/// A stream chunk. `Meta` reads `id` and `model`: [`LenientText`] until
/// both are known, then [`IgnoredAny`] (they are only read once).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "Meta: Deserialize<'de>"))]
pub(super) struct WireChunk<Meta> {
    pub(super) id: Option<Meta>,
    pub(super) model: Option<Meta>,
    pub(super) choices: Option<Vec<WireStreamChoice>>,
    #[serde(default, deserialize_with = "cold")]
    pub(super) usage: Option<Usage>,
    #[serde(default, deserialize_with = "cold")]
    pub(super) error: Option<Value>,
    /// OpenAI's per-chunk random padding: only where it lies is kept.
    pub(super) obfuscation: Option<InPlace>,
}

impl<Meta> Default for WireChunk<Meta> {
    fn default() -> Self {
        WireChunk {
            id: None,
            model: None,
            choices: None,
            usage: None,
            error: None,
            obfuscation: None,
        }
    }
}

/// Where a JSON string lay in the chunk (its address and length) when it
/// was read in place; any other value, or a string with escapes, gives
/// none.
#[derive(Debug, Default)]
pub(super) struct InPlace(pub(super) Option<(usize, usize)>);

impl<'de> Deserialize<'de> for InPlace {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        Ok(InPlace(match LenientText::deserialize(deserializer)?.0 {
            Some(Cow::Borrowed(s)) => Some((s.as_ptr() as usize, s.len())),
            _ => None,
        }))
    }
}

/// What a chunk's `id` or `model` field gives.
pub(super) trait ChunkMeta {
    /// The text, if it is a non-empty string.
    fn text(meta: Option<Self>) -> Option<String>
    where
        Self: Sized;
}

impl ChunkMeta for IgnoredAny {
    fn text(_: Option<IgnoredAny>) -> Option<String> {
        None
    }
}

impl ChunkMeta for LenientText<'_> {
    fn text(meta: Option<Self>) -> Option<String> {
        meta.and_then(|t| t.0)
            .filter(|s| !s.is_empty())
            .map(Cow::into_owned)
    }
}

/// A JSON string, borrowed from the event unless it has escapes; any other
/// JSON value is skipped and reads as no text (`"id": 17` is ignored).
#[derive(Debug, Default)]
pub(super) struct LenientText<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for LenientText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a str>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = LenientText<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<LenientText<'a>, E> {
                Ok(LenientText(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<LenientText<'a>, E> {
                Ok(LenientText(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_bool<E: serde::de::Error>(
                self,
                _: bool,
            ) -> std::result::Result<LenientText<'a>, E> {
                Ok(LenientText(None))
            }
            fn visit_i64<E: serde::de::Error>(
                self,
                _: i64,
            ) -> std::result::Result<LenientText<'a>, E> {
                Ok(LenientText(None))
            }
            fn visit_u64<E: serde::de::Error>(
                self,
                _: u64,
            ) -> std::result::Result<LenientText<'a>, E> {
                Ok(LenientText(None))
            }
            fn visit_f64<E: serde::de::Error>(
                self,
                _: f64,
            ) -> std::result::Result<LenientText<'a>, E> {
                Ok(LenientText(None))
            }
            fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<LenientText<'a>, E> {
                Ok(LenientText(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<LenientText<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientText(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<LenientText<'a>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LenientText(None))
            }
        }
        deserializer.deserialize_any(Visit(std::marker::PhantomData))
    }
}
