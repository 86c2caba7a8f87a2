//! Documents, ids, versions and pages, plus the validation rules every
//! backend applies so that the same input fails the same way everywhere.

use std::fmt;
use std::str::FromStr;

use plugbay_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JSON object: the unit a [`DocumentStore`](crate::DocumentStore) stores.
///
/// Portable documents follow [`validate_document`]: object keys are
/// non-empty, contain no `.` and no NUL and do not start with `$`; strings
/// contain no NUL (PostgreSQL `jsonb` cannot store it); nesting is at most
/// [`MAX_DOCUMENT_DEPTH`] deep.
pub type Document = serde_json::Map<String, Value>;

/// How deeply objects and arrays may nest inside a [`Document`].
pub const MAX_DOCUMENT_DEPTH: usize = 64;

/// A document's id: 1 to [`DocId::MAX_LEN`] bytes, no control characters.
///
/// Stores generate a UUIDv4 ([`DocId::generate`]) when the caller gives
/// none. Ids order by their UTF-8 bytes, and that is the order
/// [`DocumentStore::find`](crate::DocumentStore::find) returns.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId(String);

impl DocId {
    /// The longest id, in bytes.
    pub const MAX_LEN: usize = 256;

    /// A caller-chosen id; `InvalidInput` if it breaks the rules above.
    pub fn new(id: impl Into<String>) -> Result<DocId> {
        let id = id.into();
        if id.is_empty() || id.len() > DocId::MAX_LEN || id.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                "document ids must be 1 to 256 bytes without control characters",
            ));
        }
        Ok(DocId(id))
    }

    /// A fresh random id (a hyphenated lowercase UUIDv4).
    pub fn generate() -> DocId {
        DocId(uuid::Uuid::new_v4().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({:?})", self.0)
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DocId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for DocId {
    type Err = Error;
    fn from_str(s: &str) -> Result<DocId> {
        DocId::new(s)
    }
}

impl TryFrom<String> for DocId {
    type Error = Error;
    fn try_from(s: String) -> Result<DocId> {
        DocId::new(s)
    }
}

impl TryFrom<&str> for DocId {
    type Error = Error;
    fn try_from(s: &str) -> Result<DocId> {
        DocId::new(s)
    }
}

impl From<DocId> for String {
    fn from(id: DocId) -> String {
        id.0
    }
}

/// A document's version: 1 when inserted, one more on every replace.
/// Used for optimistic concurrency in
/// [`DocumentStore::replace`](crate::DocumentStore::replace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(pub u64);

impl Version {
    /// The version of a freshly inserted document.
    pub const FIRST: Version = Version(1);

    /// The version after this one.
    pub fn next(self) -> Version {
        Version(self.0.saturating_add(1))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A value with the id and version it is stored under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned<T> {
    /// The document's id.
    pub id: DocId,
    /// The version this value is.
    pub version: Version,
    /// The value itself.
    pub value: T,
}

impl<T> Versioned<T> {
    /// Bundle a value with its id and version.
    pub fn new(id: DocId, version: Version, value: T) -> Self {
        Versioned { id, version, value }
    }

    /// Transform the value, keeping id and version.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Versioned<U> {
        Versioned {
            id: self.id,
            version: self.version,
            value: f(self.value),
        }
    }
}

/// Which page of results to return: at most `limit` items after `cursor`.
///
/// Results come in ascending id order and pages are keyset-based: a cursor
/// names the last id seen, so paging never skips or repeats a document that
/// exists throughout, even while others are inserted or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// Most items to return, 1 to [`Page::MAX_LIMIT`] (larger is lowered).
    pub limit: u32,
    /// The `next` cursor of the previous page; `None` for the first page.
    pub cursor: Option<String>,
}

impl Page {
    /// The limit of [`Page::default`].
    pub const DEFAULT_LIMIT: u32 = 100;
    /// The largest limit a store honours.
    pub const MAX_LIMIT: u32 = 1000;

    /// The first page, with the default limit.
    pub fn new() -> Page {
        Page::default()
    }

    /// The first page of at most `limit` items.
    pub fn first(limit: u32) -> Page {
        Page::new().limit(limit)
    }

    /// Set the limit.
    pub fn limit(mut self, limit: u32) -> Page {
        self.limit = limit;
        self
    }

    /// Continue after a previous page's `next` cursor.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Page {
        self.cursor = Some(cursor.into());
        self
    }

    /// The limit to apply (capped at [`Page::MAX_LIMIT`]); `InvalidInput`
    /// for 0.
    pub fn effective_limit(&self) -> Result<usize> {
        if self.limit == 0 {
            return Err(Error::invalid_input("page limit must be at least 1"));
        }
        Ok(self.limit.min(Page::MAX_LIMIT) as usize)
    }

    /// The id the cursor points after; `InvalidInput` for a cursor no store
    /// produced.
    pub fn after(&self) -> Result<Option<DocId>> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let bad = || Error::invalid_input("malformed page cursor");
        let bytes = hex::decode(cursor).map_err(|_| bad())?;
        let id = String::from_utf8(bytes).map_err(|_| bad())?;
        DocId::new(id).map(Some).map_err(|_| bad())
    }

    /// The opaque cursor that continues after `id`.
    pub fn cursor_after(id: &DocId) -> String {
        hex::encode(id.as_str())
    }
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: Page::DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

/// One page of results and the cursor for the next one (`None` when this
/// is the last page).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PageOf<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Pass to [`Page::cursor`] for the next page; `None` at the end.
    pub next: Option<String>,
}

impl<T> PageOf<T> {
    /// A page of results.
    pub fn new(items: Vec<T>, next: Option<String>) -> Self {
        PageOf { items, next }
    }
}

/// `InvalidInput` unless `name` is a portable collection name: 1 to 63
/// bytes of ASCII letters, digits, `_` and `-`, starting with a letter or
/// `_`. (That fits a PostgreSQL identifier and a MongoDB collection name.)
pub fn validate_collection(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= 63 {
        return Ok(());
    }
    Err(Error::invalid_input(
        "collection names are 1-63 ASCII letters, digits, '_' or '-', starting with a letter or '_'",
    )
    .with_context("collection", name.chars().take(80).collect::<String>()))
}

/// `InvalidInput` unless `doc` follows the portable rules of [`Document`].
pub fn validate_document(doc: &Document) -> Result<()> {
    validate_object(doc, 1)
}

fn validate_object(map: &Document, depth: usize) -> Result<()> {
    if depth > MAX_DOCUMENT_DEPTH {
        return Err(Error::invalid_input("document nests too deeply"));
    }
    for (key, value) in map {
        if key.is_empty() || key.starts_with('$') || key.contains('.') || key.contains('\0') {
            return Err(Error::invalid_input(
                "document keys must be non-empty, not start with '$', and contain no '.' or NUL",
            )
            .with_context("field", key.chars().take(80).collect::<String>()));
        }
        validate_value(value, depth)?;
    }
    Ok(())
}

fn validate_value(value: &Value, depth: usize) -> Result<()> {
    match value {
        Value::String(s) if s.contains('\0') => Err(Error::invalid_input(
            "document strings must not contain NUL",
        )),
        Value::Object(map) => validate_object(map, depth + 1),
        Value::Array(items) => {
            if depth + 1 > MAX_DOCUMENT_DEPTH {
                return Err(Error::invalid_input("document nests too deeply"));
            }
            items.iter().try_for_each(|v| validate_value(v, depth + 1))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_core::ErrorKind;
    use serde_json::json;

    fn doc(v: Value) -> Document {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn doc_ids_validate_and_generate() {
        assert_eq!(DocId::new("user-1").unwrap().as_str(), "user-1");
        assert_eq!("ключ".parse::<DocId>().unwrap().to_string(), "ключ");
        for bad in [String::new(), "a\nb".into(), "x".repeat(257)] {
            assert_eq!(DocId::new(bad).unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        let (a, b) = (DocId::generate(), DocId::generate());
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(a.as_str()).is_ok());
        let err = serde_json::from_str::<DocId>("\"\"").unwrap_err();
        assert!(err.to_string().contains("document ids"), "{err}");
    }

    #[test]
    fn cursor_round_trip_and_garbage() {
        let id = DocId::new("a/b ü").unwrap();
        let page = Page::first(5).cursor(Page::cursor_after(&id));
        assert_eq!(page.after().unwrap(), Some(id));
        for bad in ["zz", "ff", ""] {
            let err = Page::new().cursor(bad).after().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        }
        assert_eq!(
            Page::first(0).effective_limit().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(Page::first(5000).effective_limit().unwrap(), 1000);
    }

    #[test]
    fn collection_names() {
        for ok in ["users", "_tmp", "a-b_C9", &"x".repeat(63)] {
            validate_collection(ok).unwrap();
        }
        for bad in [
            "",
            "9lives",
            "a.b",
            "$cmd",
            "with space",
            "système",
            &"x".repeat(64),
        ] {
            assert_eq!(
                validate_collection(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn document_rules() {
        validate_document(&doc(json!({"a": {"b": [1, "x", null]}, "ü": true}))).unwrap();
        for bad in [
            json!({"a.b": 1}),
            json!({"$set": 1}),
            json!({"": 1}),
            json!({"a": {"b\u{0}": 1}}),
            json!({"a": ["ok", "nul\u{0}"]}),
        ] {
            let err = validate_document(&doc(bad.clone())).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        }
        let mut deep = json!(1);
        for _ in 0..MAX_DOCUMENT_DEPTH {
            deep = json!([deep]);
        }
        let err = validate_document(&doc(json!({ "d": deep }))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
