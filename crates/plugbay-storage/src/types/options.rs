//! Options for each operation.

use std::collections::BTreeMap;
use std::ops::{Range, RangeFrom};
use std::time::{SystemTime, UNIX_EPOCH};

use plugbay_core::{Error, ErrorKind, Result};

use super::meta::ObjectMeta;

/// How a put treats an existing object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PutMode {
    /// Replace whatever is there (the default).
    #[default]
    Overwrite,
    /// Write only if the key is absent; otherwise `AlreadyExists`. Of several
    /// concurrent creators exactly one wins (S3 `If-None-Match: *`, GCS
    /// `ifGenerationMatch=0`).
    Create,
    /// Write only if the current etag equals this one; otherwise
    /// `PreconditionFailed` (also when the key is absent).
    IfMatch(String),
}

/// Options for [`crate::ObjectStore::put_opts`].
///
/// ```
/// use plugbay_storage::{PutMode, PutOptions};
///
/// let opts = PutOptions::new()
///     .mode(PutMode::Create)
///     .content_type("image/png")
///     .metadata("owner", "u-42");
/// assert_eq!(opts.metadata.get("owner").map(String::as_str), Some("u-42"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutOptions {
    /// Overwrite, create-only or compare-and-swap.
    pub mode: PutMode,
    /// MIME type stored with the object.
    pub content_type: Option<String>,
    /// `Cache-Control` stored with the object.
    pub cache_control: Option<String>,
    /// `Content-Disposition` stored with the object.
    pub content_disposition: Option<String>,
    /// User metadata. Keep names lowercase ASCII (`[a-z0-9-_]`) and values
    /// printable ASCII for every backend to accept them.
    pub metadata: BTreeMap<String, String>,
    /// Backend-specific settings (S3 `storage_class`, Cloudinary
    /// `resource_type`, ...). Backends ignore names they do not know.
    pub extra: BTreeMap<String, String>,
}

impl PutOptions {
    /// Default options: overwrite, no content type, no metadata.
    pub fn new() -> PutOptions {
        PutOptions::default()
    }

    /// Set the put mode.
    pub fn mode(mut self, mode: PutMode) -> Self {
        self.mode = mode;
        self
    }

    /// Set the content type.
    pub fn content_type(mut self, value: impl Into<String>) -> Self {
        self.content_type = Some(value.into());
        self
    }

    /// Set `Cache-Control`.
    pub fn cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// Set `Content-Disposition`.
    pub fn content_disposition(mut self, value: impl Into<String>) -> Self {
        self.content_disposition = Some(value.into());
        self
    }

    /// Add one user metadata pair.
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }

    /// Add one backend-specific setting.
    pub fn extra(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }
}

/// A byte range to read, HTTP `Range` style.
///
/// Resolving against an object (see [`ByteRange::resolve`]) clamps an end
/// past the object to its size; a range that selects no byte is an
/// `InvalidInput` error (HTTP 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ByteRange {
    /// Bytes `start..end` (end exclusive).
    Bounded {
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
    },
    /// From `start` to the end of the object.
    From(u64),
    /// The last `n` bytes (the whole object if it is shorter).
    Suffix(u64),
}

impl ByteRange {
    /// Bytes `range.start..range.end`.
    pub fn new(range: Range<u64>) -> ByteRange {
        ByteRange::Bounded {
            start: range.start,
            end: range.end,
        }
    }

    /// From `start` to the end.
    pub fn from_offset(start: u64) -> ByteRange {
        ByteRange::From(start)
    }

    /// The last `n` bytes.
    pub fn suffix(n: u64) -> ByteRange {
        ByteRange::Suffix(n)
    }

    /// The concrete range this selects in an object of `size` bytes, or
    /// `InvalidInput` if it selects nothing (start at or past the end, an
    /// empty or inverted range, a zero-length suffix, any range of an empty
    /// object).
    pub fn resolve(&self, size: u64) -> Result<Range<u64>> {
        let unsatisfiable =
            || Error::invalid_input(format!("range {self} is not satisfiable for {size} bytes"));
        match *self {
            ByteRange::Bounded { start, end } => {
                if start >= end || start >= size {
                    return Err(unsatisfiable());
                }
                Ok(start..end.min(size))
            }
            ByteRange::From(start) => {
                if start >= size {
                    return Err(unsatisfiable());
                }
                Ok(start..size)
            }
            ByteRange::Suffix(n) => {
                if n == 0 || size == 0 {
                    return Err(unsatisfiable());
                }
                Ok(size.saturating_sub(n)..size)
            }
        }
    }

    /// The HTTP `Range` header value (`bytes=0-99`, `bytes=100-`, `bytes=-5`).
    /// An empty bounded range has no header form and gives `None`.
    pub fn to_http_header(&self) -> Option<String> {
        match *self {
            ByteRange::Bounded { start, end } if end > start => {
                Some(format!("bytes={start}-{}", end - 1))
            }
            ByteRange::Bounded { .. } => None,
            ByteRange::From(start) => Some(format!("bytes={start}-")),
            ByteRange::Suffix(n) => Some(format!("bytes=-{n}")),
        }
    }
}

impl std::fmt::Display for ByteRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ByteRange::Bounded { start, end } => write!(f, "{start}..{end}"),
            ByteRange::From(start) => write!(f, "{start}.."),
            ByteRange::Suffix(n) => write!(f, "last {n}"),
        }
    }
}

impl From<Range<u64>> for ByteRange {
    fn from(r: Range<u64>) -> ByteRange {
        ByteRange::new(r)
    }
}

impl From<RangeFrom<u64>> for ByteRange {
    fn from(r: RangeFrom<u64>) -> ByteRange {
        ByteRange::From(r.start)
    }
}

/// Options for [`crate::ObjectStore::get_opts`].
///
/// Every failed condition is `PreconditionFailed`, including
/// `if_none_match` matching and `if_modified_since` not being met (where HTTP
/// would answer 304 Not Modified): one kind keeps callers simple and is what
/// every backend can report. Dates compare at whole-second precision, like
/// HTTP dates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetOptions {
    /// Read only these bytes.
    pub range: Option<ByteRange>,
    /// Succeed only if the etag equals this (or this is `*`).
    pub if_match: Option<String>,
    /// Succeed only if the etag differs from this (`*` never succeeds).
    pub if_none_match: Option<String>,
    /// Succeed only if modified after this time.
    pub if_modified_since: Option<SystemTime>,
    /// Succeed only if not modified after this time.
    pub if_unmodified_since: Option<SystemTime>,
}

impl GetOptions {
    /// The whole object, unconditionally.
    pub fn new() -> GetOptions {
        GetOptions::default()
    }

    /// Read only `range`.
    pub fn range(mut self, range: impl Into<ByteRange>) -> Self {
        self.range = Some(range.into());
        self
    }

    /// Require the etag to equal `etag`.
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Require the etag to differ from `etag`.
    pub fn if_none_match(mut self, etag: impl Into<String>) -> Self {
        self.if_none_match = Some(etag.into());
        self
    }

    /// Require a modification after `at`.
    pub fn if_modified_since(mut self, at: SystemTime) -> Self {
        self.if_modified_since = Some(at);
        self
    }

    /// Require no modification after `at`.
    pub fn if_unmodified_since(mut self, at: SystemTime) -> Self {
        self.if_unmodified_since = Some(at);
        self
    }

    /// Evaluate the conditions against `meta` (for backends that cannot push
    /// them to the server). A missing etag or date fails conditions that
    /// need it.
    pub fn check(&self, meta: &ObjectMeta) -> Result<()> {
        let failed = |what: &str| {
            Err(Error::new(
                ErrorKind::PreconditionFailed,
                format!("{what} did not hold"),
            )
            .with_context("key", meta.key.as_str()))
        };
        let etag = meta.etag.as_deref();
        if let Some(want) = &self.if_match
            && !(want == "*" || etag == Some(want.as_str()))
        {
            return failed("if_match");
        }
        if let Some(avoid) = &self.if_none_match
            && (avoid == "*" || etag == Some(avoid.as_str()))
        {
            return failed("if_none_match");
        }
        let modified = meta.last_modified.map(whole_seconds);
        if let Some(since) = self.if_modified_since
            && modified.is_none_or(|m| m <= whole_seconds(since))
        {
            return failed("if_modified_since");
        }
        if let Some(since) = self.if_unmodified_since
            && modified.is_none_or(|m| m > whole_seconds(since))
        {
            return failed("if_unmodified_since");
        }
        Ok(())
    }
}

fn whole_seconds(at: SystemTime) -> i128 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::from(d.as_secs()),
        Err(e) => -i128::from(e.duration().as_secs()) - 1,
    }
}

/// How a copy treats an existing destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopyMode {
    /// Replace the destination (the default).
    #[default]
    Overwrite,
    /// Copy only if the destination is absent; otherwise `AlreadyExists`.
    Create,
}

/// Options for [`crate::ObjectStore::copy`]. The copy keeps the source's
/// content type and metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyOptions {
    /// Overwrite or create-only.
    pub mode: CopyMode,
}

impl CopyOptions {
    /// Default options: overwrite.
    pub fn new() -> CopyOptions {
        CopyOptions::default()
    }

    /// Set the copy mode.
    pub fn mode(mut self, mode: CopyMode) -> Self {
        self.mode = mode;
        self
    }
}

/// Options for [`crate::ObjectStore::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// Group keys that contain this after the prefix into
    /// [`crate::ListPage::common_prefixes`] (usually `/`).
    pub delimiter: Option<String>,
    /// Page size: at most this many objects plus common prefixes per page.
    /// `None` is the backend default (1000); values above the backend's
    /// `max_list_page` are capped; `Some(0)` is `InvalidInput`.
    pub max_keys: Option<usize>,
    /// The `next_token` of the previous page. Opaque and backend-specific.
    pub continuation_token: Option<String>,
    /// List only keys strictly after this one (ignored when a continuation
    /// token is given).
    pub start_after: Option<String>,
}

impl ListOptions {
    /// A flat listing with the default page size.
    pub fn new() -> ListOptions {
        ListOptions::default()
    }

    /// Set the delimiter.
    pub fn delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.delimiter = Some(delimiter.into());
        self
    }

    /// Set the page size.
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = Some(max_keys);
        self
    }

    /// Continue from a previous page.
    pub fn continuation_token(mut self, token: impl Into<String>) -> Self {
        self.continuation_token = Some(token.into());
        self
    }

    /// Start strictly after `key`.
    pub fn start_after(mut self, key: impl Into<String>) -> Self {
        self.start_after = Some(key.into());
        self
    }
}

/// The HTTP method a presigned URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PresignMethod {
    /// Download the object.
    Get,
    /// Upload the object.
    Put,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Key;

    #[test]
    fn ranges_resolve_like_http() {
        assert_eq!(ByteRange::new(2..5).resolve(10).unwrap(), 2..5);
        assert_eq!(ByteRange::new(8..50).resolve(10).unwrap(), 8..10);
        assert_eq!(ByteRange::from_offset(7).resolve(10).unwrap(), 7..10);
        assert_eq!(ByteRange::suffix(3).resolve(10).unwrap(), 7..10);
        assert_eq!(ByteRange::suffix(30).resolve(10).unwrap(), 0..10);
        for bad in [
            (ByteRange::new(10..12), 10),
            (ByteRange::new(5..5), 10),
            (ByteRange::Bounded { start: 6, end: 2 }, 10),
            (ByteRange::from_offset(10), 10),
            (ByteRange::suffix(0), 10),
            (ByteRange::suffix(1), 0),
            (ByteRange::from_offset(0), 0),
        ] {
            let err = bad.0.resolve(bad.1).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        assert_eq!(
            ByteRange::new(0..100).to_http_header().as_deref(),
            Some("bytes=0-99")
        );
        assert_eq!(
            ByteRange::from(5..).to_http_header().as_deref(),
            Some("bytes=5-")
        );
        assert_eq!(
            ByteRange::suffix(4).to_http_header().as_deref(),
            Some("bytes=-4")
        );
        assert_eq!(ByteRange::new(3..3).to_http_header(), None);
    }

    #[test]
    fn get_conditions() {
        let at = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let meta = ObjectMeta::new(Key::new("k").unwrap(), 1)
            .etag("abc")
            .last_modified(at);
        let hour = Duration::from_secs(3600);
        let ok = [
            GetOptions::new(),
            GetOptions::new().if_match("abc"),
            GetOptions::new().if_match("*"),
            GetOptions::new().if_none_match("zzz"),
            GetOptions::new().if_modified_since(at - hour),
            GetOptions::new().if_unmodified_since(at),
            GetOptions::new().if_unmodified_since(at + hour),
        ];
        for opts in ok {
            opts.check(&meta).unwrap();
        }
        let failing = [
            GetOptions::new().if_match("zzz"),
            GetOptions::new().if_none_match("abc"),
            GetOptions::new().if_none_match("*"),
            GetOptions::new().if_modified_since(at),
            GetOptions::new().if_modified_since(at + hour),
            GetOptions::new().if_unmodified_since(at - hour),
        ];
        for opts in failing {
            let err = opts.check(&meta).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{opts:?}");
        }
        // Without an etag, if_match cannot hold.
        let bare = ObjectMeta::new(Key::new("k").unwrap(), 1);
        assert!(GetOptions::new().if_match("abc").check(&bare).is_err());
    }

    #[test]
    fn builders_set_fields() {
        let put = PutOptions::new()
            .mode(PutMode::IfMatch("e".into()))
            .cache_control("no-cache")
            .content_disposition("attachment")
            .extra("storage_class", "STANDARD_IA");
        assert_eq!(put.mode, PutMode::IfMatch("e".into()));
        assert_eq!(put.cache_control.as_deref(), Some("no-cache"));
        assert_eq!(put.extra.len(), 1);
        let list = ListOptions::new()
            .delimiter("/")
            .max_keys(5)
            .start_after("a")
            .continuation_token("t");
        assert_eq!(list.max_keys, Some(5));
        assert_eq!(list.delimiter.as_deref(), Some("/"));
        assert_eq!(
            CopyOptions::new().mode(CopyMode::Create).mode,
            CopyMode::Create
        );
    }
}
