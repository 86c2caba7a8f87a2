//! [`Key`]: a validated object key.
//!
//! The rules are the intersection of what S3, GCS, Cloudinary and a local
//! filesystem accept, so a key that is valid here works on every backend and
//! can never name a path outside a filesystem store's root.

use std::fmt;

use plugbay_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// The longest key, in bytes of UTF-8 (S3's and GCS's limit).
pub const MAX_KEY_LEN: usize = 1024;

/// A validated object key such as `photos/2024/cat 1.jpg`.
///
/// A key is `/`-separated segments. It is valid when it:
/// - is non-empty and at most [`MAX_KEY_LEN`] bytes of UTF-8;
/// - has no control characters (NUL, newline, DEL, C1 controls) and no `\`;
/// - does not start with `/`, end with `/` or contain `//` (no empty segment);
/// - has no `.` or `..` segment.
///
/// Spaces, `+`, `%` and any non-control Unicode are fine.
///
/// ```
/// use plugbay_storage::Key;
///
/// let key = Key::new("photos/2024/cat 1+ü.jpg")?;
/// assert_eq!(key.file_name(), "cat 1+ü.jpg");
/// assert_eq!(key.parent_prefix(), Some("photos/2024/"));
/// assert!(key.starts_with_prefix("photos/"));
/// assert!(Key::new("../etc/passwd").is_err());
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Key(String);

impl Key {
    /// Validate `key`; an invalid key is an `InvalidInput` error naming the rule.
    pub fn new(key: impl Into<String>) -> Result<Key> {
        let key = key.into();
        validate(&key, false)?;
        Ok(Key(key))
    }

    /// Build `prefix` + `name` (for example `uploads/` + `a.png`) and validate it.
    pub fn with_prefix(prefix: &str, name: &str) -> Result<Key> {
        Key::new(format!("{prefix}{name}"))
    }

    /// Check that `prefix` is usable as a listing prefix: empty, or a key, or
    /// a key followed by `/`. An invalid prefix is an `InvalidInput` error.
    pub fn validate_prefix(prefix: &str) -> Result<()> {
        if prefix.is_empty() {
            return Ok(());
        }
        validate(prefix, true)
    }

    /// The key as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The `/`-separated segments of the key.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment (`c.txt` for `a/b/c.txt`).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// Everything up to and including the last `/` (`a/b/` for `a/b/c.txt`),
    /// or `None` for a single-segment key. Usable as a listing prefix.
    pub fn parent_prefix(&self) -> Option<&str> {
        self.0.rfind('/').map(|i| &self.0[..=i])
    }

    /// Whether the key starts with `prefix` (plain string prefix, as S3 and
    /// GCS listings match).
    pub fn starts_with_prefix(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }

    /// The key with `prefix` removed, if it starts with it.
    pub fn strip_prefix(&self, prefix: &str) -> Option<&str> {
        self.0.strip_prefix(prefix)
    }

    /// This key followed by `/` and `segment` (which may itself contain `/`).
    pub fn join(&self, segment: &str) -> Result<Key> {
        Key::new(format!("{}/{segment}", self.0))
    }
}

fn invalid(key: &str, why: &str) -> Error {
    let shown: String = key.chars().take(80).collect();
    Error::invalid_input(format!("invalid object key: {why}"))
        .with_context("key", shown.escape_debug().to_string())
}

fn validate(key: &str, allow_trailing_slash: bool) -> Result<()> {
    if key.is_empty() {
        return Err(invalid(key, "it is empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(invalid(key, "it is longer than 1024 bytes"));
    }
    if key.chars().any(char::is_control) {
        return Err(invalid(key, "it contains a control character"));
    }
    if key.contains('\\') {
        return Err(invalid(key, "it contains a backslash"));
    }
    if key.starts_with('/') {
        return Err(invalid(key, "it starts with `/`"));
    }
    let body = match key.strip_suffix('/') {
        Some(stripped) if allow_trailing_slash => stripped,
        _ => key,
    };
    for segment in body.split('/') {
        match segment {
            "" => {
                return Err(invalid(
                    key,
                    "it has an empty segment (`//` or a trailing `/`)",
                ));
            }
            "." | ".." => return Err(invalid(key, "it has a `.` or `..` segment")),
            _ => {}
        }
    }
    Ok(())
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:?})", self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Keys hash and order exactly like their strings, so maps keyed by `Key`
// can be searched and range-scanned with `&str`.
impl std::borrow::Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Key {
    type Error = Error;
    fn try_from(value: &str) -> Result<Key> {
        Key::new(value)
    }
}

impl TryFrom<String> for Key {
    type Error = Error;
    fn try_from(value: String) -> Result<Key> {
        Key::new(value)
    }
}

impl TryFrom<&String> for Key {
    type Error = Error;
    fn try_from(value: &String) -> Result<Key> {
        Key::new(value.as_str())
    }
}

impl std::str::FromStr for Key {
    type Err = Error;
    fn from_str(s: &str) -> Result<Key> {
        Key::new(s)
    }
}

impl From<Key> for String {
    fn from(key: Key) -> String {
        key.0
    }
}

impl PartialEq<str> for Key {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    #[test]
    fn accepts_ordinary_keys() {
        for ok in [
            "a",
            "a/b/c.txt",
            "with space/and+plus",
            "ünïcødé/日本語/🐈.png",
            ".hidden/..dots/x..y",
            "a%2Fb",
            "a.",
        ] {
            let key = Key::new(ok).unwrap();
            assert_eq!(key.as_str(), ok);
            assert_eq!(key.to_string(), ok);
        }
        let longest = "k".repeat(MAX_KEY_LEN);
        assert!(Key::new(longest).is_ok());
    }

    #[test]
    fn rejects_unsafe_keys_as_invalid_input() {
        let too_long = "k".repeat(MAX_KEY_LEN + 1);
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/",
            "..",
            ".",
            "a/../b",
            "a/./b",
            "../x",
            "a\\b",
            "nul\0byte",
            "new\nline",
            "tab\tx",
            "del\u{7f}",
            "c1\u{85}",
            too_long.as_str(),
        ] {
            let err = Key::new(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn prefix_helpers() {
        let key = Key::new("a/b/c.txt").unwrap();
        assert_eq!(key.file_name(), "c.txt");
        assert_eq!(key.parent_prefix(), Some("a/b/"));
        assert_eq!(key.strip_prefix("a/"), Some("b/c.txt"));
        assert!(key.starts_with_prefix("a/b"));
        assert!(!key.starts_with_prefix("b"));
        assert_eq!(key.segments().collect::<Vec<_>>(), ["a", "b", "c.txt"]);
        let single = Key::new("top").unwrap();
        assert_eq!(single.parent_prefix(), None);
        assert_eq!(single.file_name(), "top");
        assert_eq!(single.join("x/y").unwrap().as_str(), "top/x/y");
        assert!(single.join("../x").is_err());
        assert_eq!(Key::with_prefix("up/", "f").unwrap().as_str(), "up/f");
    }

    #[test]
    fn prefix_validation_allows_trailing_slash_and_empty() {
        for ok in ["", "a/", "a/b", "a/b/", "a b/+"] {
            Key::validate_prefix(ok).unwrap();
        }
        for bad in ["/", "/a", "a//", "../", "a/../", "a\\"] {
            let err = Key::validate_prefix(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn conversions_and_serde() {
        let key: Key = "x/y".try_into().unwrap();
        let owned: Key = String::from("x/y").try_into().unwrap();
        assert_eq!(key, owned);
        assert_eq!(key, "x/y");
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, "\"x/y\"");
        let back: Key = serde_json::from_str(&json).unwrap();
        assert_eq!(back, key);
        assert!(serde_json::from_str::<Key>("\"../x\"").is_err());
        assert!("a//b".parse::<Key>().is_err());
    }
}
