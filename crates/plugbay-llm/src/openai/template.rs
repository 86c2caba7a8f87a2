//! Chunk templates: the fast path for a stream's common chunks.
//!
//! Within one stream a server sends nearly the same chunk again and again:
//! `id`, `object`, `created`, `model`, `system_fingerprint`, the choice's
//! `index` and the `null`s repeat byte for byte, and only one string
//! changes: the text delta, or one tool call's argument fragment. Once a
//! chunk of that kind has been parsed in full, its bytes before and after
//! that string are kept as a [`Template`].
//!
//! A later chunk that starts with the template's prefix and ends with its
//! suffix is the same JSON document but for that one string token: the
//! prefix ends with the string's opening quote and the suffix starts with
//! its closing quote, so everything before and after tokenizes as it did.
//! The bytes from the opening quote to the closing one are parsed by
//! `serde_json` as one JSON string, which must take them all; anything
//! else (an unescaped `"` in the middle that would end the string early, a
//! bad escape, a control character, bytes that are not UTF-8) fails that
//! parse and the chunk takes the full parse, whose result or error is then
//! exactly what it would have been. So a matched chunk yields what the
//! full parse would, at the cost of two `memcmp`s and one string parse.
//!
//! OpenAI pads every chunk with a random top-level `obfuscation` string
//! (after the choices). A template learned from such a chunk has a second
//! hole there: the bytes between the two holes must match, the varying
//! string's end is found as its first unescaped quote (then parsed as
//! above), and the padding must be a plain JSON string too; its value is
//! ignored, as the full parse ignores it. Servers that change anything
//! else on every chunk never match: after [`GIVE_UP`] learnable chunks in a
//! row miss, the stream stops trying.

use std::ops::Range;

/// Templates kept at once: enough for text and a few calls' fragments
/// interleaved.
const MAX_TEMPLATES: usize = 4;

/// Learnable chunks missed in a row before the stream stops trying.
const GIVE_UP: u8 = 8;

/// What the varying string of a template is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Varying {
    /// The text delta of choice 0.
    Text,
    /// The argument fragment of the one tool call `index` in choice 0.
    Arguments(u32),
}

/// A learned chunk with its holes' contents cut out: `bytes[..split]` is
/// the prefix (ending with the varying string's opening quote); with no
/// padding, `bytes[split..]` is the suffix (starting with its closing
/// quote); with padding, `bytes[split..pad]` runs from that closing quote
/// to the padding's opening quote and `bytes[pad..]` from the padding's
/// closing quote to the end.
#[derive(Debug)]
struct Template {
    bytes: Box<[u8]>,
    split: usize,
    pad: Option<usize>,
    varying: Varying,
}

impl Template {
    /// The varying string of `data`, if `data` is this template's chunk.
    fn read(&self, data: &[u8]) -> Option<String> {
        let prefix = &self.bytes[..self.split];
        if data.len() < self.bytes.len() || !data.starts_with(prefix) {
            return None;
        }
        let Some(pad) = self.pad else {
            let suffix = &self.bytes[self.split..];
            if !data.ends_with(suffix) {
                return None;
            }
            // From the opening quote (the prefix's last byte) to the closing
            // quote (the suffix's first): one JSON string, or no match.
            return string(&data[self.split - 1..=data.len() - suffix.len()]);
        };
        self.read_padded(data, pad)
    }

    /// [`Template::read`] past the prefix, for a template with padding
    /// (out of line: the unpadded path stays small).
    #[inline(never)]
    fn read_padded(&self, data: &[u8], pad: usize) -> Option<String> {
        let close = closing_quote(data, self.split)?;
        let value = string(&data[self.split - 1..=close])?;
        let middle = &self.bytes[self.split..pad];
        if !data[close..].starts_with(middle) {
            return None;
        }
        let pad_open = close + middle.len() - 1;
        let pad_close = closing_quote(data, pad_open + 1)?;
        // The padding, ignored by the full parse, must still be one valid
        // JSON string without escapes (what OpenAI sends), or no match.
        serde_json::from_slice::<&str>(&data[pad_open..=pad_close]).ok()?;
        (data[pad_close..] == self.bytes[pad..]).then_some(value)
    }
}

/// `token` (quotes included) as one JSON string, if it is exactly one.
fn string(token: &[u8]) -> Option<String> {
    serde_json::from_slice::<String>(token).ok()
}

/// The index of the first unescaped `"` at or after `at`: the end of the
/// JSON string whose contents start at `at`.
fn closing_quote(data: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at += memchr::memchr2(b'"', b'\\', data.get(at..)?)?;
        if data[at] == b'"' {
            return Some(at);
        }
        // An escape: the next byte is escaped (a `\u` escape's four hex
        // digits hold no quote or backslash).
        at += 2;
    }
}

/// The templates of one stream.
#[derive(Debug, Default)]
pub(super) struct Templates {
    list: Vec<Template>,
    misses: u8,
    /// Chunks read through a template (what the tests check was used).
    #[cfg(test)]
    pub(super) hits: usize,
}

impl Templates {
    /// Whether chunks are still worth matching.
    pub(super) fn active(&self) -> bool {
        self.misses < GIVE_UP
    }

    /// Stop matching (the reference decode of the tests).
    #[cfg(test)]
    pub(super) fn disable(&mut self) {
        self.misses = GIVE_UP;
    }

    /// The varying string of `data` and what it is, if `data` matches a
    /// template.
    pub(super) fn read(&mut self, data: &[u8]) -> Option<(Varying, String)> {
        let found = self
            .list
            .iter()
            .find_map(|t| t.read(data).map(|s| (t.varying, s)));
        if found.is_some() {
            self.misses = 0;
            #[cfg(test)]
            {
                self.hits += 1;
            }
        }
        found
    }

    /// Learn `data` (a chunk that matched no template and parsed in full)
    /// as the template of `varying`, whose string's contents lie at
    /// `value`, with the contents of an ignored padding string at `pad`.
    /// Returns `false` (learning nothing) when a span is not a quoted
    /// string inside `data`, or the padding does not come after the value.
    pub(super) fn learn(
        &mut self,
        data: &[u8],
        value: Range<usize>,
        pad: Option<Range<usize>>,
        varying: Varying,
    ) -> bool {
        let quoted = |r: &Range<usize>| {
            r.start > 0
                && r.end < data.len()
                && r.start <= r.end
                && data[r.start - 1] == b'"'
                && data[r.end] == b'"'
        };
        if !quoted(&value)
            || pad
                .as_ref()
                .is_some_and(|p| !quoted(p) || p.start <= value.end)
        {
            return false;
        }
        if !self.list.is_empty() {
            self.misses = self.misses.saturating_add(1);
        }
        let mut bytes = Vec::with_capacity(data.len());
        bytes.extend_from_slice(&data[..value.start]);
        let pad_at = match pad {
            Some(p) => {
                bytes.extend_from_slice(&data[value.end..p.start]);
                let at = bytes.len();
                bytes.extend_from_slice(&data[p.end..]);
                Some(at)
            }
            None => {
                bytes.extend_from_slice(&data[value.end..]);
                None
            }
        };
        let template = Template {
            bytes: bytes.into_boxed_slice(),
            split: value.start,
            pad: pad_at,
            varying,
        };
        // The newest first: the kind just seen is the likeliest next.
        if self.list.len() == MAX_TEMPLATES {
            self.list.pop();
        }
        self.list.insert(0, template);
        true
    }
}

/// Where a string borrowed from `data` lies in it, if it does.
pub(super) fn span_in(data: &[u8], at: usize, len: usize) -> Option<Range<usize>> {
    let base = data.as_ptr() as usize;
    let start = at.checked_sub(base)?;
    let end = start.checked_add(len)?;
    (end <= data.len()).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK: &str =
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"hello"},"finish_reason":null}]}"#;

    fn learned() -> Templates {
        let mut t = Templates::default();
        let start = CHUNK.find("hello").unwrap();
        assert!(t.learn(CHUNK.as_bytes(), start..start + 5, None, Varying::Text));
        t
    }

    fn with(text: &str) -> String {
        CHUNK.replace("hello", text)
    }

    #[test]
    fn a_chunk_like_the_learned_one_reads_its_string() {
        let mut t = learned();
        for (raw, text) in [
            ("world", "world"),
            ("", ""),
            (r#"say \"hi\"\n"#, "say \"hi\"\n"),
            (r"caf\u00e9 \\", "café \\"),
            ("café", "café"),
        ] {
            assert_eq!(
                t.read(with(raw).as_bytes()),
                Some((Varying::Text, text.to_owned())),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_middle_that_is_not_exactly_one_string_does_not_match() {
        let mut t = learned();
        for raw in [
            r#"a","role":"x"#, // an unescaped quote ends the string early
            r"a\",             // the closing quote escaped
            "a\u{1}b",         // a raw control character
            r"\x41",           // not a JSON escape
            r"\ud800",         // a lone surrogate
        ] {
            assert_eq!(t.read(with(raw).as_bytes()), None, "{raw:?}");
        }
        let at = CHUNK.find("hello").unwrap();
        let not_utf8 = [
            &CHUNK.as_bytes()[..at],
            b"\xff",
            &CHUNK.as_bytes()[at + 5..],
        ]
        .concat();
        assert_eq!(t.read(&not_utf8), None);
        let other = CHUNK.replace("null}]", "\"stop\"}]");
        assert_eq!(t.read(other.as_bytes()), None);
    }

    #[test]
    fn learning_needs_a_quoted_span_and_misses_in_a_row_give_up() {
        let mut t = Templates::default();
        assert!(
            !t.learn(b"\"ab\"", 0..2, None, Varying::Text),
            "no opening quote"
        );
        assert!(
            !t.learn(b"\"ab\"", 1..4, None, Varying::Text),
            "no closing quote"
        );
        let two = b"[\"ab\",\"cd\"]";
        assert!(
            !t.learn(two, 6..8, Some(2..4), Varying::Text),
            "padding first"
        );
        assert!(t.learn(b"\"ab\"", 1..3, None, Varying::Text));
        for _ in 0..GIVE_UP {
            assert!(t.active());
            t.learn(b"x\"ab\"", 2..4, None, Varying::Text);
        }
        assert!(!t.active());
        assert!(t.list.len() <= MAX_TEMPLATES);
    }

    #[test]
    fn a_padded_chunk_reads_its_string_whatever_the_padding() {
        let padded = r#"{"choices":[{"delta":{"content":"hello"}}],"obfuscation":"xyz"}"#;
        let value = padded.find("hello").unwrap();
        let pad = padded.find("xyz").unwrap();
        let mut t = Templates::default();
        assert!(t.learn(
            padded.as_bytes(),
            value..value + 5,
            Some(pad..pad + 3),
            Varying::Text
        ));
        let with = |text: &str, pad: &str| {
            padded
                .replace("hello", text)
                .replace("xyz", pad)
                .into_bytes()
        };
        for (raw, pad, text) in [
            ("a", "q", "a"),
            (r#"say \"hi\""#, "0123456789abcdef", "say \"hi\""),
            (r"\\", "", "\\"),
            (r"\u00e9", "pad", "é"),
        ] {
            assert_eq!(
                t.read(&with(raw, pad)),
                Some((Varying::Text, text.to_owned())),
                "{raw} {pad}"
            );
        }
        for (raw, pad) in [
            ("a", r#"p\"q"#),      // padding with an escape: full parse
            (r#"a","x":"b"#, "p"), // a quote ends the value early
            ("a", r#"p","x":"q"#), // a quote ends the padding early
            ("a\u{1}", "p"),       // a control character
            ("a", "p\u{1}"),
            (r"a\", "p"), // the value's closing quote escaped
        ] {
            assert_eq!(t.read(&with(raw, pad)), None, "{raw:?} {pad:?}");
        }
        let other = padded.replace(r#""}}],"#, r#""},"finish_reason":"stop"}],"#);
        assert_eq!(t.read(other.as_bytes()), None);
    }

    #[test]
    fn a_span_outside_the_data_is_none() {
        let data = b"0123456789";
        let base = data.as_ptr() as usize;
        assert_eq!(span_in(data, base + 2, 3), Some(2..5));
        assert_eq!(span_in(data, base + 8, 3), None);
        assert_eq!(span_in(data, base.wrapping_sub(1), 1), None);
    }
}
