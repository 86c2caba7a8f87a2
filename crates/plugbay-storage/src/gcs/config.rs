//! [`GcsConfig`] and the service-account key it may carry.

use std::fmt;
use std::time::Duration;

use plugbay_core::{Error, ExposeSecret, Result, SecretString};
use serde::Deserialize;
use url::Url;

/// The public JSON API endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";
/// Google's OAuth 2 token endpoint (the `aud` of service-account JWTs).
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The scope asked for: read and write objects.
pub const SCOPE_READ_WRITE: &str = "https://www.googleapis.com/auth/devstorage.read_write";
/// Where Firebase download URLs point.
pub const FIREBASE_DOWNLOAD_BASE: &str = "https://firebasestorage.googleapis.com";
/// Resumable chunks must be multiples of this (256 KiB).
pub const CHUNK_GRANULARITY: usize = 256 * 1024;
/// The default resumable chunk: 8 MiB (also the largest single-request upload).
pub const DEFAULT_CHUNK_SIZE: usize = 32 * CHUNK_GRANULARITY;
/// The default read timeout: 30 s (see [`GcsConfig::read_timeout`]).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of a [`GcsStore`](super::GcsStore). Build it through
/// [`GcsBuilder`](super::GcsBuilder); `Debug` never shows the key.
#[derive(Clone)]
#[non_exhaustive]
pub struct GcsConfig {
    /// The bucket.
    pub bucket: String,
    /// JSON API base URL (`https://storage.googleapis.com`, or an emulator).
    pub endpoint: Url,
    /// Whether `endpoint` is an emulator: no authentication is sent.
    pub emulator: bool,
    /// Send no credentials at all (public buckets, emulators).
    pub anonymous: bool,
    /// The service-account key used for tokens and signed URLs.
    pub service_account: Option<ServiceAccountKey>,
    /// A fixed OAuth access token used instead of a service account.
    pub access_token: Option<SecretString>,
    /// Resumable chunk size in bytes, a multiple of 256 KiB. Bodies up to
    /// one chunk go up in one multipart request.
    pub chunk_size: usize,
    /// How often one chunk is resent (after asking the session how much it
    /// kept) before the upload fails.
    pub chunk_retries: u32,
    /// Longest wait for each next piece of a download's body (default
    /// 30 s): what bounds downloads, whose bodies have no total cap; a
    /// download stalled this long resumes. Uploads are not affected.
    pub read_timeout: Duration,
    /// How often a download cut mid-body (reset, stall, early end) is
    /// resumed from where it stopped, pinned to the same generation
    /// (default 3).
    pub read_resume_attempts: u32,
    /// The server honours `ifGenerationMatch=0` on rewrites, so
    /// create-only copies are atomic (true on GCS; fake-gcs-server ignores it).
    pub conditional_copy: bool,
    /// Add a `firebaseStorageDownloadTokens` UUID to every upload.
    pub download_tokens: bool,
    /// Base of Firebase download URLs.
    pub firebase_download_base: Url,
}

impl GcsConfig {
    /// Defaults for `bucket` on the public endpoint.
    pub fn new(bucket: impl Into<String>) -> GcsConfig {
        GcsConfig {
            bucket: bucket.into(),
            endpoint: default_url(DEFAULT_ENDPOINT),
            emulator: false,
            anonymous: false,
            service_account: None,
            access_token: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            chunk_retries: 4,
            read_timeout: DEFAULT_READ_TIMEOUT,
            read_resume_attempts: 3,
            conditional_copy: true,
            download_tokens: false,
            firebase_download_base: default_url(FIREBASE_DOWNLOAD_BASE),
        }
    }

    /// Whether requests carry no `Authorization` header.
    pub fn unauthenticated(&self) -> bool {
        self.emulator || self.anonymous
    }
}

impl Default for GcsConfig {
    fn default() -> Self {
        GcsConfig::new("")
    }
}

impl fmt::Debug for GcsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcsConfig")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint.as_str())
            .field("emulator", &self.emulator)
            .field("anonymous", &self.anonymous)
            .field("service_account", &self.service_account)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "[redacted]"),
            )
            .field("chunk_size", &self.chunk_size)
            .field("chunk_retries", &self.chunk_retries)
            .field("read_timeout", &self.read_timeout)
            .field("read_resume_attempts", &self.read_resume_attempts)
            .field("conditional_copy", &self.conditional_copy)
            .field("download_tokens", &self.download_tokens)
            .finish_non_exhaustive()
    }
}

// Only called with the constants above, which are valid URLs.
#[allow(clippy::expect_used)]
pub(crate) fn default_url(s: &str) -> Url {
    Url::parse(s).expect("built-in URL constants parse")
}

/// A Google service-account key (the JSON file a console download gives).
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct ServiceAccountKey {
    /// The service account's e-mail: the JWT issuer and the signed-URL
    /// credential.
    pub client_email: String,
    /// The PEM private key (PKCS#8 RSA).
    pub private_key: SecretString,
    /// The key id, sent as the JWT `kid`.
    #[serde(default)]
    pub private_key_id: Option<String>,
    /// The token endpoint (`https://oauth2.googleapis.com/token`).
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
    /// The project the account belongs to.
    #[serde(default)]
    pub project_id: Option<String>,
}

fn default_token_uri() -> String {
    DEFAULT_TOKEN_URI.to_owned()
}

impl ServiceAccountKey {
    /// Parse a key file's JSON. Fails with `Config` on anything else
    /// (without echoing the input: it holds a private key).
    pub fn from_json(json: &str) -> Result<ServiceAccountKey> {
        let key: ServiceAccountKey = serde_json::from_str(json).map_err(|e| {
            Error::config(format!(
                "invalid service-account JSON (line {}, column {}): it needs client_email and private_key",
                e.line(),
                e.column()
            ))
        })?;
        if key.client_email.is_empty() || key.private_key.expose_secret().is_empty() {
            return Err(Error::config(
                "the service-account JSON has an empty client_email or private_key",
            ));
        }
        Ok(key)
    }

    /// Read and parse a key file (`GOOGLE_APPLICATION_CREDENTIALS`).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<ServiceAccountKey> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!("cannot read the service-account file: {e}"))
                .with_context("path", path.display().to_string())
        })?;
        ServiceAccountKey::from_json(&text)
    }
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key", &"[redacted]")
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .field("project_id", &self.project_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parsing_and_debug_hide_the_key() {
        let json = r#"{"type":"service_account","client_email":"sa@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nSECRETBITS\n-----END PRIVATE KEY-----\n","private_key_id":"k1","project_id":"p"}"#;
        let key = ServiceAccountKey::from_json(json).unwrap();
        assert_eq!(key.token_uri, DEFAULT_TOKEN_URI);
        assert_eq!(key.private_key_id.as_deref(), Some("k1"));
        let shown = format!("{key:?}");
        assert!(!shown.contains("SECRETBITS"), "{shown}");
        let mut config = GcsConfig::new("b");
        config.service_account = Some(key);
        config.access_token = Some(SecretString::from("ya29.TOKEN"));
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("SECRETBITS") && !shown.contains("ya29"),
            "{shown}"
        );
        let err = ServiceAccountKey::from_json(r#"{"private_key":"SECRETBITS"}"#).unwrap_err();
        assert_eq!(err.kind(), plugbay_core::ErrorKind::Config);
        assert!(!err.to_string().contains("SECRETBITS"));
    }
}
