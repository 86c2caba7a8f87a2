//! [`S3Builder`]: explicit settings, `AWS_*` variables, `s3://` URLs and
//! presets for MinIO and Cloudflare R2.

mod resolve;
mod settings;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plugbay_core::http::HttpClient;
use plugbay_core::{Result, RetryPolicy};
use url::Url;

use super::S3Store;
use super::client::S3Client;
use super::config::{AddressingStyle, PayloadSigning, S3Config};
use super::credentials::{CredentialProvider, S3Credentials};
use super::request::Endpoint;
use super::signer::Signer;
use resolve::{credential_source, default_http, parse_url, validate};

/// Builds an [`S3Store`].
///
/// ```
/// use plugbay_storage::s3::{S3Builder, S3Credentials};
///
/// let store = S3Builder::minio("http://127.0.0.1:9000")
///     .bucket("uploads")
///     .credentials(S3Credentials::new("minioadmin", "minioadmin"))
///     .part_size(16 * 1024 * 1024)
///     .build()?;
/// assert_eq!(store.config().bucket, "uploads");
///
/// let r2 = S3Builder::r2("0123456789abcdef")
///     .bucket("assets")
///     .credentials(S3Credentials::new("key", "secret"))
///     .build()?;
/// assert_eq!(r2.config().region, "auto");
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct S3Builder {
    config: S3Config,
    endpoint: Option<String>,
    http: Option<HttpClient>,
    retry_policy: Option<RetryPolicy>,
}

impl S3Builder {
    /// A builder for `bucket` with defaults (AWS, `us-east-1`).
    pub fn new(bucket: impl Into<String>) -> S3Builder {
        S3Builder::default().bucket(bucket)
    }

    /// A builder starting from a whole configuration.
    pub fn from_config(config: S3Config) -> S3Builder {
        S3Builder {
            config,
            ..S3Builder::default()
        }
    }

    /// MinIO (or any self-hosted S3-compatible) at `endpoint`: path-style
    /// addressing, region `us-east-1`.
    pub fn minio(endpoint: impl Into<String>) -> S3Builder {
        S3Builder::default()
            .endpoint(endpoint)
            .addressing(AddressingStyle::Path)
            .region("us-east-1")
    }

    /// Cloudflare R2 for `account_id`: endpoint
    /// `https://{account_id}.r2.cloudflarestorage.com`, region `auto`,
    /// path-style addressing, conditional writes on.
    pub fn r2(account_id: impl AsRef<str>) -> S3Builder {
        S3Builder::default()
            .endpoint(format!(
                "https://{}.r2.cloudflarestorage.com",
                account_id.as_ref()
            ))
            .addressing(AddressingStyle::Path)
            .region("auto")
            .conditional_writes(true)
    }

    /// The bucket.
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.config.bucket = bucket.into();
        self
    }

    /// The signing region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = region.into();
        self
    }

    /// A custom endpoint URL (checked by [`S3Builder::build`]).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Path-style or virtual-host addressing.
    pub fn addressing(mut self, style: AddressingStyle) -> Self {
        self.config.addressing = Some(style);
        self
    }

    /// Shorthand: path style on (`true`) or virtual host (`false`).
    pub fn path_style(self, on: bool) -> Self {
        self.addressing(if on {
            AddressingStyle::Path
        } else {
            AddressingStyle::VirtualHost
        })
    }

    /// Static credentials.
    pub fn credentials(mut self, creds: S3Credentials) -> Self {
        self.config.access_key_id = Some(creds.access_key_id().to_owned());
        self.config.secret_access_key = Some(creds.secret_access_key().clone());
        self.config.session_token = creds.session_token().cloned();
        self
    }

    /// Get temporary credentials from STS with the web identity token in
    /// `token_file` for `role_arn` (what EKS/IRSA and GitHub OIDC set up).
    pub fn web_identity(
        mut self,
        token_file: impl Into<PathBuf>,
        role_arn: impl Into<String>,
    ) -> Self {
        self.config.web_identity_token_file = Some(token_file.into());
        self.config.role_arn = Some(role_arn.into());
        self
    }

    /// The STS endpoint for web identity (default: regional AWS STS).
    pub fn sts_endpoint(mut self, url: Url) -> Self {
        self.config.sts_endpoint = Some(url);
        self
    }

    /// Use IMDSv2 credentials when nothing else is configured.
    pub fn imds(mut self, on: bool) -> Self {
        self.config.imds = on;
        self
    }

    /// The IMDS endpoint (default `http://169.254.169.254`).
    pub fn imds_endpoint(mut self, url: Url) -> Self {
        self.config.imds_endpoint = Some(url);
        self
    }

    /// Send unsigned requests (public buckets).
    pub fn anonymous(mut self, on: bool) -> Self {
        self.config.anonymous = on;
        self
    }

    /// Body hashing (see [`PayloadSigning`]).
    pub fn payload_signing(mut self, signing: PayloadSigning) -> Self {
        self.config.payload_signing = Some(signing);
        self
    }

    /// Part size and single-request threshold, 5 MiB to 5 GiB.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.config.part_size = bytes;
        self
    }

    /// Parts uploaded at once (at least 1).
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.config.concurrency = parts;
        self
    }

    /// Whether the server honours conditional writes.
    pub fn conditional_writes(mut self, on: bool) -> Self {
        self.config.conditional_writes = on;
        self
    }

    /// Whether the server honours `If-None-Match: *` on CopyObject.
    pub fn conditional_copy(mut self, on: bool) -> Self {
        self.config.conditional_copy = on;
        self
    }

    /// How often a cut download resumes.
    pub fn read_resume_attempts(mut self, attempts: u32) -> Self {
        self.config.read_resume_attempts = attempts;
        self
    }

    /// Download whole objects as `parts` ranged GETs of `part_size` in
    /// flight (default 1: one streamed GET). Faster from servers that serve
    /// one connection slower than the client reads; costs at most
    /// `part_size × (parts + 1)` of memory per download.
    pub fn download_concurrency(mut self, parts: usize) -> Self {
        self.config.download_concurrency = parts;
        self
    }

    /// Bound on each metadata call attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Bound on each upload request attempt.
    pub fn upload_timeout(mut self, timeout: Duration) -> Self {
        self.config.upload_timeout = timeout;
        self
    }

    /// Longest wait for a download's answer and then for each next piece
    /// of its body (default 30 s); a download stalled this long resumes.
    /// Uploads are bounded by [`S3Builder::upload_timeout`] alone.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.config.read_timeout = timeout;
        self
    }

    /// Share an existing [`HttpClient`] (its retry policy and sleeper apply).
    pub fn http_client(mut self, client: HttpClient) -> Self {
        self.http = Some(client);
        self
    }

    /// The retry policy for S3 calls.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// Check the settings and build the store. No request is made.
    pub fn build(self) -> Result<S3Store> {
        let mut config = self.config;
        if let Some(endpoint) = &self.endpoint {
            config.endpoint = Some(parse_url(endpoint, "endpoint")?);
        }
        validate(&config)?;
        let http = match (self.http, self.retry_policy) {
            (Some(http), Some(policy)) => http.with_retry_policy(policy),
            (Some(http), None) => http,
            (None, policy) => default_http(policy.unwrap_or_default())?,
        };
        let source = credential_source(&config)?;
        let endpoint = Endpoint::new(
            &config.effective_endpoint(),
            &config.bucket,
            config.effective_addressing(),
        )?;
        let client = S3Client {
            signer: Signer::new(config.region.clone(), config.effective_payload_signing()),
            credentials: CredentialProvider::new(source, http.clone()),
            http,
            endpoint,
            bucket: config.bucket.clone(),
            timeout: config.timeout,
            upload_timeout: config.upload_timeout,
            read_timeout: config.read_timeout,
        };
        Ok(S3Store::assemble(Arc::new(client), Arc::new(config)))
    }
}
