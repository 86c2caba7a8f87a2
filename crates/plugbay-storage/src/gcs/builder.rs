//! [`GcsBuilder`]: settings, URLs and presets to a [`GcsStore`] or a
//! [`FirebaseStorage`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plugbay_core::http::{HttpClient, RetryPolicy};
use plugbay_core::{Error, Result, SecretString, Settings};
use url::Url;

use super::auth::{Auth, TokenSource};
use super::client::GcsClient;
use super::config::{CHUNK_GRANULARITY, GcsConfig, ServiceAccountKey};
use super::{FirebaseStorage, GcsStore};

/// Builds a [`GcsStore`] (or a [`FirebaseStorage`]).
///
/// ```
/// use plugbay_storage::gcs::GcsBuilder;
/// use plugbay_storage::ObjectStore;
///
/// let store = GcsBuilder::new("my-bucket")
///     .emulator("127.0.0.1:4443")
///     .chunk_size(512 * 1024)
///     .build()?;
/// assert_eq!(store.backend(), "gcs");
/// assert!(!store.capabilities().presign_get); // no key to sign with
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct GcsBuilder {
    config: GcsConfig,
    endpoint: Option<String>,
    credentials_file: Option<PathBuf>,
    credentials_json: Option<SecretString>,
    firebase: bool,
    http: Option<HttpClient>,
    retry_policy: Option<RetryPolicy>,
}

impl GcsBuilder {
    /// A builder for `bucket` on the public endpoint.
    pub fn new(bucket: impl Into<String>) -> GcsBuilder {
        GcsBuilder {
            config: GcsConfig::new(bucket),
            ..GcsBuilder::default()
        }
    }

    /// A Firebase project's default bucket, `{project}.firebasestorage.app`.
    pub fn firebase(project: &str) -> GcsBuilder {
        let mut builder = GcsBuilder::new(format!("{project}.firebasestorage.app"));
        builder.firebase = true;
        builder
    }

    /// A Firebase project's legacy default bucket, `{project}.appspot.com`
    /// (projects created before October 2024).
    pub fn firebase_legacy(project: &str) -> GcsBuilder {
        let mut builder = GcsBuilder::new(format!("{project}.appspot.com"));
        builder.firebase = true;
        builder
    }

    /// [`GcsBuilder::from_settings`] over the process environment plus
    /// `./.env.local`.
    pub fn from_env() -> Result<GcsBuilder> {
        GcsBuilder::from_settings(&Settings::from_env()?)
    }

    /// Read `GCS_BUCKET` (or `FIREBASE_STORAGE_BUCKET`), credentials from
    /// `GOOGLE_APPLICATION_CREDENTIALS` (a key file path) or
    /// `GOOGLE_SERVICE_ACCOUNT_JSON` (the key JSON inline), and an emulator
    /// from `STORAGE_EMULATOR_HOST` or `FIREBASE_STORAGE_EMULATOR_HOST`
    /// (the latter also serves Firebase download URLs). Files are read at
    /// [`GcsBuilder::build`].
    pub fn from_settings(settings: &Settings) -> Result<GcsBuilder> {
        let mut builder = GcsBuilder::default();
        if let Some(bucket) = settings
            .get("GCS_BUCKET")
            .or_else(|| settings.get("FIREBASE_STORAGE_BUCKET"))
        {
            builder.config.bucket = bucket.trim().to_owned();
        }
        builder.credentials_file = settings
            .get("GOOGLE_APPLICATION_CREDENTIALS")
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from);
        builder.credentials_json = settings
            .get("GOOGLE_SERVICE_ACCOUNT_JSON")
            .filter(|v| !v.trim().is_empty())
            .map(SecretString::from);
        if let Some(host) = settings
            .get("STORAGE_EMULATOR_HOST")
            .filter(|v| !v.is_empty())
        {
            builder = builder.emulator(host);
        } else if let Some(host) = settings
            .get("FIREBASE_STORAGE_EMULATOR_HOST")
            .filter(|v| !v.is_empty())
        {
            builder = builder.emulator(host);
            if let Ok(url) = Url::parse(&emulator_url(host)) {
                builder.config.firebase_download_base = url;
            }
        }
        Ok(builder)
    }

    /// [`GcsBuilder::from_env`], then the bucket and options of a URL:
    /// `gs://bucket?endpoint=..&emulator=host:port&anonymous=true&chunk_size=..`,
    /// or `firebase://project` (bucket `{project}.firebasestorage.app`),
    /// `firebase://project?legacy=true` (`{project}.appspot.com`) or
    /// `firebase://bucket.example` (a name with a dot is the bucket).
    /// Options: `endpoint`, `emulator`, `anonymous`, `chunk_size`,
    /// `conditional_copy`, `download_tokens`. Unknown options are a
    /// `Config` error.
    pub fn from_url(url: &str) -> Result<GcsBuilder> {
        GcsBuilder::from_env()?.url(url)
    }

    /// Apply a `gs://` or `firebase://` URL (see [`GcsBuilder::from_url`]).
    pub fn url(mut self, url: &str) -> Result<GcsBuilder> {
        let bad =
            |why: &str| Error::config(format!("invalid GCS URL: {why}")).with_context("url", url);
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("it needs a bucket"))?;
        let mut legacy = false;
        for (name, value) in parsed.query_pairs() {
            let flag = || {
                parse_bool(&value).ok_or_else(|| bad(&format!("`{name}` must be true or false")))
            };
            match name.as_ref() {
                "endpoint" => self.endpoint = Some(value.into_owned()),
                "emulator" => self = self.emulator(&value),
                "anonymous" => self.config.anonymous = flag()?,
                "conditional_copy" => self.config.conditional_copy = flag()?,
                "download_tokens" => self.config.download_tokens = flag()?,
                "legacy" => legacy = flag()?,
                "chunk_size" => {
                    self.config.chunk_size = value
                        .parse()
                        .map_err(|_| bad("`chunk_size` must be a number"))?;
                }
                other => return Err(bad(&format!("unknown option `{other}`"))),
            }
        }
        match parsed.scheme() {
            "gs" | "gcs" => self.config.bucket = host.to_owned(),
            "firebase" => {
                self.firebase = true;
                self.config.bucket = if host.contains('.') {
                    host.to_owned()
                } else if legacy {
                    format!("{host}.appspot.com")
                } else {
                    format!("{host}.firebasestorage.app")
                };
            }
            other => return Err(bad(&format!("unexpected scheme `{other}`"))),
        }
        Ok(self)
    }

    /// Whether this builder targets a Firebase bucket (`firebase://`,
    /// [`GcsBuilder::firebase`]).
    pub fn is_firebase(&self) -> bool {
        self.firebase
    }

    /// Set the bucket.
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.config.bucket = bucket.into();
        self
    }

    /// The JSON API base URL (default `https://storage.googleapis.com`).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Talk to an emulator at `host` (`127.0.0.1:4443` or a full
    /// `http://..` URL) without authentication.
    pub fn emulator(mut self, host: &str) -> Self {
        self.endpoint = Some(emulator_url(host));
        self.config.emulator = true;
        self
    }

    /// Send no credentials (public buckets).
    pub fn anonymous(mut self, on: bool) -> Self {
        self.config.anonymous = on;
        self
    }

    /// Authenticate as this service account.
    pub fn service_account(mut self, key: ServiceAccountKey) -> Self {
        self.config.service_account = Some(key);
        self
    }

    /// Authenticate with a service-account key given as JSON text.
    pub fn service_account_json(mut self, json: impl Into<String>) -> Self {
        self.credentials_json = Some(SecretString::from(json.into()));
        self
    }

    /// Authenticate with the service-account key file at `path` (read at build).
    pub fn service_account_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.credentials_file = Some(path.into());
        self
    }

    /// Use a fixed OAuth access token (no refresh; no signed URLs).
    pub fn access_token(mut self, token: SecretString) -> Self {
        self.config.access_token = Some(token);
        self
    }

    /// Resumable chunk size: a positive multiple of 256 KiB (default 8 MiB).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.config.chunk_size = bytes;
        self
    }

    /// How often one chunk is resent before the upload fails (default 4).
    pub fn chunk_retries(mut self, retries: u32) -> Self {
        self.config.chunk_retries = retries;
        self
    }

    /// Longest wait for each next piece of a download's body (default
    /// 30 s): what bounds downloads, whose bodies have no total cap; a
    /// download stalled this long resumes. Uploads are not affected.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.config.read_timeout = timeout;
        self
    }

    /// How often a download cut mid-body is resumed from where it stopped,
    /// pinned to the same generation (default 3; 0 never resumes).
    pub fn read_resume_attempts(mut self, attempts: u32) -> Self {
        self.config.read_resume_attempts = attempts;
        self
    }

    /// Whether the server honours `ifGenerationMatch=0` on rewrites (default
    /// true; fake-gcs-server does not, so create-only copies there are
    /// `Unsupported`).
    pub fn conditional_copy(mut self, on: bool) -> Self {
        self.config.conditional_copy = on;
        self
    }

    /// Give every upload a `firebaseStorageDownloadTokens` UUID, as the
    /// Firebase client SDKs do.
    pub fn download_tokens(mut self, on: bool) -> Self {
        self.config.download_tokens = on;
        self
    }

    /// Base of Firebase download URLs (default
    /// `https://firebasestorage.googleapis.com`).
    pub fn firebase_download_base(mut self, base: Url) -> Self {
        self.config.firebase_download_base = base;
        self
    }

    /// Share an existing [`HttpClient`] (its retry policy and sleeper apply).
    pub fn http_client(mut self, client: HttpClient) -> Self {
        self.http = Some(client);
        self
    }

    /// The retry policy for GCS calls.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// Check the settings, read the key file if any, and build the store.
    /// No request is made.
    pub fn build(self) -> Result<GcsStore> {
        let mut config = self.config;
        if let Some(endpoint) = &self.endpoint {
            config.endpoint = Url::parse(endpoint).map_err(|e| {
                Error::config(format!("invalid GCS endpoint: {e}"))
                    .with_context("endpoint", endpoint.clone())
            })?;
        }
        if config.service_account.is_none() {
            if let Some(json) = &self.credentials_json {
                use plugbay_core::ExposeSecret;
                config.service_account = Some(ServiceAccountKey::from_json(json.expose_secret())?);
            } else if let Some(path) = &self.credentials_file
                && !config.unauthenticated()
            {
                config.service_account = Some(ServiceAccountKey::from_file(path)?);
            }
        }
        validate(&config)?;
        let http = match (self.http, self.retry_policy) {
            (Some(http), Some(policy)) => http.with_retry_policy(policy),
            (Some(http), None) => http,
            (None, policy) => HttpClient::builder()
                .retry_policy(policy.unwrap_or_default())
                .build()?,
        };
        let auth = if config.unauthenticated() {
            Auth::None
        } else if let Some(key) = &config.service_account {
            Auth::ServiceAccount(Box::new(TokenSource::new(key.clone(), http.clone())?))
        } else if let Some(token) = &config.access_token {
            Auth::Static(token.clone())
        } else {
            return Err(Error::config(
                "GCS needs credentials: GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_SERVICE_ACCOUNT_JSON, \
                 GcsBuilder::service_account / access_token, anonymous(true) or an emulator \
                 (STORAGE_EMULATOR_HOST)",
            ));
        };
        Ok(GcsStore {
            client: Arc::new(GcsClient::new(http, auth, config)),
        })
    }

    /// Build a [`FirebaseStorage`] (the same store plus download URLs).
    pub fn build_firebase(self) -> Result<FirebaseStorage> {
        Ok(FirebaseStorage::new(self.build()?))
    }
}

fn emulator_url(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.starts_with("http://") || host.starts_with("https://") {
        host.to_owned()
    } else {
        format!("http://{host}")
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn validate(config: &GcsConfig) -> Result<()> {
    let bucket = &config.bucket;
    if bucket.is_empty() {
        return Err(Error::config(
            "a GCS store needs a bucket (GcsBuilder::new, GCS_BUCKET or gs://bucket)",
        ));
    }
    if bucket.len() > 222
        || bucket
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(Error::config("invalid GCS bucket name").with_context("bucket", bucket.clone()));
    }
    if config.chunk_size == 0 || !config.chunk_size.is_multiple_of(CHUNK_GRANULARITY) {
        return Err(
            Error::config("the GCS chunk size must be a positive multiple of 256 KiB")
                .with_context("chunk_size", config.chunk_size.to_string()),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;
    use crate::ObjectStore;

    #[test]
    fn urls_settings_and_validation() {
        let b = GcsBuilder::default()
            .url("gs://bkt?emulator=127.0.0.1:9&chunk_size=524288")
            .unwrap();
        let store = b.build().unwrap();
        assert_eq!(store.bucket(), "bkt");
        assert_eq!(store.config().endpoint.as_str(), "http://127.0.0.1:9/");
        assert_eq!(store.config().chunk_size, 512 * 1024);
        assert_eq!(store.config().read_timeout, Duration::from_secs(30));
        assert_eq!(store.config().read_resume_attempts, 3);
        let tuned = GcsBuilder::new("b")
            .anonymous(true)
            .read_timeout(Duration::from_secs(5))
            .read_resume_attempts(0)
            .build()
            .unwrap();
        assert_eq!(tuned.config().read_timeout, Duration::from_secs(5));
        assert_eq!(tuned.config().read_resume_attempts, 0);
        assert!(store.config().emulator);
        let fb = GcsBuilder::default()
            .url("firebase://proj?emulator=localhost:1")
            .unwrap();
        assert!(fb.is_firebase());
        assert_eq!(fb.build().unwrap().bucket(), "proj.firebasestorage.app");
        let legacy = GcsBuilder::default()
            .url("firebase://proj?legacy=true&anonymous=true")
            .unwrap();
        assert_eq!(legacy.build().unwrap().bucket(), "proj.appspot.com");
        assert_eq!(
            GcsBuilder::firebase_legacy("p").config.bucket,
            "p.appspot.com"
        );
        for bad in ["gs://b?colour=red", "gs://b?anonymous=maybe", "gs://"] {
            assert_eq!(
                GcsBuilder::default().url(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
        let no_creds = GcsBuilder::new("b").build().unwrap_err();
        assert_eq!(no_creds.kind(), ErrorKind::Config);
        let odd = GcsBuilder::new("b")
            .anonymous(true)
            .chunk_size(1000)
            .build()
            .unwrap_err();
        assert_eq!(odd.kind(), ErrorKind::Config);
        let settings = Settings::from_map([
            ("GCS_BUCKET", "from-settings"),
            ("STORAGE_EMULATOR_HOST", "http://127.0.0.1:4443"),
        ]);
        let store = GcsBuilder::from_settings(&settings)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(store.bucket(), "from-settings");
        assert_eq!(store.backend(), "gcs");
        assert!(!store.capabilities().presign_put);
    }
}
