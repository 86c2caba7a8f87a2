//! What backends report: [`ObjectMeta`], [`ListPage`], [`StorageCapabilities`].

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::key::{Key, MAX_KEY_LEN};

/// Metadata of a stored object.
///
/// `etag` is opaque: pass it back unchanged in [`crate::PutMode::IfMatch`] or
/// [`crate::GetOptions::if_match`]. Each backend picks what it holds so that
/// those conditions map to its native ones (memory and fs: hex SHA-256 of the
/// content; S3: the quoted `ETag`; GCS may use the generation). Listings may leave `content_type`,
/// `cache_control`, `content_disposition` and `metadata` empty (S3's
/// ListObjectsV2 does not return them); `head` fills them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectMeta {
    /// The object's key.
    pub key: Key,
    /// Size in bytes.
    pub size: u64,
    /// Entity tag, changes whenever the content changes.
    pub etag: Option<String>,
    /// When the object was last written.
    pub last_modified: Option<SystemTime>,
    /// MIME type given at upload.
    pub content_type: Option<String>,
    /// `Cache-Control` given at upload.
    pub cache_control: Option<String>,
    /// `Content-Disposition` given at upload.
    pub content_disposition: Option<String>,
    /// User metadata given at upload.
    pub metadata: BTreeMap<String, String>,
    /// Version or generation id, on backends that keep versions (GCS, S3
    /// with versioning).
    pub version: Option<String>,
}

impl ObjectMeta {
    /// Metadata with only a key and a size (for backend authors).
    pub fn new(key: Key, size: u64) -> ObjectMeta {
        ObjectMeta {
            key,
            size,
            etag: None,
            last_modified: None,
            content_type: None,
            cache_control: None,
            content_disposition: None,
            metadata: BTreeMap::new(),
            version: None,
        }
    }

    /// Set the etag.
    pub fn etag(mut self, etag: impl Into<String>) -> ObjectMeta {
        self.etag = Some(etag.into());
        self
    }

    /// Set the last-modified time.
    pub fn last_modified(mut self, at: SystemTime) -> ObjectMeta {
        self.last_modified = Some(at);
        self
    }

    /// Set the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> ObjectMeta {
        self.content_type = Some(content_type.into());
        self
    }

    /// Set the version id.
    pub fn version(mut self, version: impl Into<String>) -> ObjectMeta {
        self.version = Some(version.into());
        self
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPage {
    /// Objects on this page, in ascending byte order of key.
    pub objects: Vec<ObjectMeta>,
    /// With a delimiter: the distinct prefixes up to and including the
    /// delimiter ("folders"), in ascending order.
    pub common_prefixes: Vec<String>,
    /// Pass this as [`crate::ListOptions::continuation_token`] for the next
    /// page; `None` on the last page.
    pub next_token: Option<String>,
}

impl ListPage {
    /// A page from its parts (for backend authors).
    pub fn new(
        objects: Vec<ObjectMeta>,
        common_prefixes: Vec<String>,
        next_token: Option<String>,
    ) -> ListPage {
        ListPage {
            objects,
            common_prefixes,
            next_token,
        }
    }
}

/// What a backend supports. Callers and the conformance suite consult this
/// instead of trying and catching `Unsupported`.
///
/// Build one with [`StorageCapabilities::new`] (everything off) and the
/// setters, or start from [`StorageCapabilities::full`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StorageCapabilities {
    /// `presign(PresignMethod::Get, ..)` gives a working URL.
    pub presign_get: bool,
    /// `presign(PresignMethod::Put, ..)` gives a working URL.
    pub presign_put: bool,
    /// `PutMode::Create` is atomic (exactly one concurrent creator wins).
    pub put_create: bool,
    /// `PutMode::IfMatch` is atomic.
    pub put_if_match: bool,
    /// `GetOptions` conditions (`if_match`, `if_none_match`, dates) are honoured.
    pub get_conditions: bool,
    /// `GetOptions::range` is served without reading the whole object.
    pub ranges: bool,
    /// `ListOptions::delimiter` groups keys into common prefixes.
    pub list_delimiter: bool,
    /// `copy` is supported.
    pub copy: bool,
    /// `copy` with `CopyMode::Create` is atomic.
    pub copy_create: bool,
    /// Streamed bodies are written with bounded memory.
    pub streaming_put: bool,
    /// Large bodies go up in parts (S3 multipart, GCS resumable, Cloudinary
    /// chunked).
    pub multipart_put: bool,
    /// `PutOptions::metadata` is stored and returned by `head`.
    pub custom_metadata: bool,
    /// `ObjectMeta::version` is filled.
    pub versions: bool,
    /// Longest key accepted, in bytes.
    pub max_key_len: usize,
    /// Largest object accepted, if the backend has a limit.
    pub max_object_size: Option<u64>,
    /// Largest `ListOptions::max_keys` honoured; larger values are capped.
    pub max_list_page: usize,
}

impl StorageCapabilities {
    /// Nothing supported beyond the required operations.
    pub fn new() -> StorageCapabilities {
        StorageCapabilities {
            presign_get: false,
            presign_put: false,
            put_create: false,
            put_if_match: false,
            get_conditions: false,
            ranges: false,
            list_delimiter: false,
            copy: false,
            copy_create: false,
            streaming_put: false,
            multipart_put: false,
            custom_metadata: false,
            versions: false,
            max_key_len: MAX_KEY_LEN,
            max_object_size: None,
            max_list_page: 1000,
        }
    }

    /// Everything supported (turn off what a backend lacks).
    pub fn full() -> StorageCapabilities {
        StorageCapabilities {
            presign_get: true,
            presign_put: true,
            put_create: true,
            put_if_match: true,
            get_conditions: true,
            ranges: true,
            list_delimiter: true,
            copy: true,
            copy_create: true,
            streaming_put: true,
            multipart_put: true,
            custom_metadata: true,
            versions: true,
            ..StorageCapabilities::new()
        }
    }

    /// Whether presigning `method` is supported.
    pub fn presign(&self, method: crate::PresignMethod) -> bool {
        match method {
            crate::PresignMethod::Get => self.presign_get,
            crate::PresignMethod::Put => self.presign_put,
        }
    }

    /// Set [`Self::presign_get`] and [`Self::presign_put`].
    pub fn with_presign(mut self, get: bool, put: bool) -> Self {
        self.presign_get = get;
        self.presign_put = put;
        self
    }

    /// Set [`Self::put_create`] and [`Self::put_if_match`].
    pub fn with_conditional_put(mut self, create: bool, if_match: bool) -> Self {
        self.put_create = create;
        self.put_if_match = if_match;
        self
    }

    /// Set [`Self::get_conditions`].
    pub fn with_get_conditions(mut self, on: bool) -> Self {
        self.get_conditions = on;
        self
    }

    /// Set [`Self::ranges`].
    pub fn with_ranges(mut self, on: bool) -> Self {
        self.ranges = on;
        self
    }

    /// Set [`Self::list_delimiter`].
    pub fn with_list_delimiter(mut self, on: bool) -> Self {
        self.list_delimiter = on;
        self
    }

    /// Set [`Self::copy`] and [`Self::copy_create`].
    pub fn with_copy(mut self, copy: bool, create: bool) -> Self {
        self.copy = copy;
        self.copy_create = create;
        self
    }

    /// Set [`Self::streaming_put`] and [`Self::multipart_put`].
    pub fn with_streaming_put(mut self, streaming: bool, multipart: bool) -> Self {
        self.streaming_put = streaming;
        self.multipart_put = multipart;
        self
    }

    /// Set [`Self::custom_metadata`].
    pub fn with_custom_metadata(mut self, on: bool) -> Self {
        self.custom_metadata = on;
        self
    }

    /// Set [`Self::versions`].
    pub fn with_versions(mut self, on: bool) -> Self {
        self.versions = on;
        self
    }

    /// Set [`Self::max_key_len`].
    pub fn with_max_key_len(mut self, len: usize) -> Self {
        self.max_key_len = len;
        self
    }

    /// Set [`Self::max_object_size`].
    pub fn with_max_object_size(mut self, size: Option<u64>) -> Self {
        self.max_object_size = size;
        self
    }

    /// Set [`Self::max_list_page`].
    pub fn with_max_list_page(mut self, size: usize) -> Self {
        self.max_list_page = size;
        self
    }
}

impl Default for StorageCapabilities {
    fn default() -> Self {
        StorageCapabilities::new()
    }
}
