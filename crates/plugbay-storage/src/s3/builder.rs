//! [`S3Builder`]: explicit settings, `AWS_*` variables, `s3://` URLs and
//! presets for MinIO and Cloudflare R2.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugbay_core::http::{DEFAULT_USER_AGENT, HttpClient};
use plugbay_core::{Error, Result, RetryPolicy, SecretString, Settings};
use url::Url;

use super::S3Store;
use super::client::S3Client;
use super::config::{AddressingStyle, MAX_PART_SIZE, MIN_PART_SIZE, PayloadSigning, S3Config};
use super::credentials::{CredentialProvider, CredentialSource, S3Credentials};
use super::request::Endpoint;
use super::signer::Signer;

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

fn env_config(settings: &Settings, key: &str) -> Result<Option<String>> {
    if settings.secret_ref(key)?.is_some() {
        return Err(Error::config(format!(
            "`{key}` holds a secret reference; resolve it with Settings::secret and pass the value to S3Builder"
        )));
    }
    Ok(settings.get(key).map(str::to_owned))
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

    /// [`S3Builder::from_settings`] over the process environment plus
    /// `./.env.local`.
    pub fn from_env() -> Result<S3Builder> {
        S3Builder::from_settings(&Settings::from_env()?)
    }

    /// Read the standard AWS variables: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (or
    /// `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`),
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+
    /// `AWS_ROLE_SESSION_NAME`), `AWS_EC2_METADATA_SERVICE_ENDPOINT`, and
    /// `S3_BUCKET` for the bucket. IMDS is never used unless
    /// [`S3Builder::imds`] asks for it. Values that are secret references
    /// are a `Config` error here (resolve them first).
    pub fn from_settings(settings: &Settings) -> Result<S3Builder> {
        let mut builder = S3Builder::default();
        let get = |key: &str| env_config(settings, key);
        if let Some(bucket) = get("S3_BUCKET")? {
            builder.config.bucket = bucket;
        }
        if let Some(region) = get("AWS_REGION")?.or(get("AWS_DEFAULT_REGION")?) {
            builder.config.region = region;
        }
        builder.endpoint = get("AWS_ENDPOINT_URL_S3")?.or(get("AWS_ENDPOINT_URL")?);
        builder.config.access_key_id = get("AWS_ACCESS_KEY_ID")?;
        builder.config.secret_access_key = get("AWS_SECRET_ACCESS_KEY")?.map(SecretString::from);
        builder.config.session_token = get("AWS_SESSION_TOKEN")?.map(SecretString::from);
        builder.config.web_identity_token_file =
            get("AWS_WEB_IDENTITY_TOKEN_FILE")?.map(PathBuf::from);
        builder.config.role_arn = get("AWS_ROLE_ARN")?;
        builder.config.role_session_name = get("AWS_ROLE_SESSION_NAME")?;
        if let Some(endpoint) = get("AWS_EC2_METADATA_SERVICE_ENDPOINT")? {
            builder.config.imds_endpoint =
                Some(parse_url(&endpoint, "AWS_EC2_METADATA_SERVICE_ENDPOINT")?);
        }
        Ok(builder)
    }

    /// [`S3Builder::from_env`], then the bucket and options of an URL
    /// `s3://bucket?region=eu-west-1&endpoint=http://127.0.0.1:9000&path_style=true`.
    ///
    /// Query options: `region`, `endpoint`, `path_style` (`true`/`false`),
    /// `anonymous`, `imds`, `payload_signing` (`signed`/`unsigned`),
    /// `part_size` (bytes), `concurrency`, `conditional_writes`,
    /// `conditional_copy`. Unknown options are a `Config` error.
    pub fn from_url(url: &str) -> Result<S3Builder> {
        S3Builder::from_env()?.url(url)
    }

    /// Apply an `s3://bucket?...` URL (see [`S3Builder::from_url`]).
    pub fn url(mut self, url: &str) -> Result<S3Builder> {
        let bad = |why: &str| {
            Error::config(format!("invalid s3 URL: {why}"))
                .with_context("url", plugbay_core::redact::redact(url))
        };
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.scheme(), "s3" | "s3a") {
            return Err(bad("the scheme must be s3://"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "credentials do not belong in the URL; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            ));
        }
        let bucket = parsed
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad("it names no bucket"))?;
        if !matches!(parsed.path(), "" | "/") {
            return Err(bad("key prefixes in the URL are not supported"));
        }
        self.config.bucket = bucket.to_owned();
        for (name, value) in parsed.query_pairs() {
            let flag = || {
                parse_bool(&value).ok_or_else(|| bad(&format!("`{name}` must be true or false")))
            };
            match name.as_ref() {
                "region" => self.config.region = value.into_owned(),
                "endpoint" => self.endpoint = Some(value.into_owned()),
                "path_style" => {
                    self.config.addressing = Some(if flag()? {
                        AddressingStyle::Path
                    } else {
                        AddressingStyle::VirtualHost
                    });
                }
                "anonymous" => self.config.anonymous = flag()?,
                "imds" => self.config.imds = flag()?,
                "conditional_writes" => self.config.conditional_writes = flag()?,
                "conditional_copy" => self.config.conditional_copy = flag()?,
                "payload_signing" => {
                    self.config.payload_signing = Some(match value.as_ref() {
                        "signed" => PayloadSigning::Signed,
                        "unsigned" => PayloadSigning::Unsigned,
                        _ => return Err(bad("`payload_signing` must be signed or unsigned")),
                    });
                }
                "part_size" => {
                    self.config.part_size = value
                        .parse()
                        .map_err(|_| bad("`part_size` must be a number of bytes"))?;
                }
                "concurrency" => {
                    self.config.concurrency = value
                        .parse()
                        .map_err(|_| bad("`concurrency` must be a number"))?;
                }
                other => return Err(bad(&format!("unknown option `{other}`"))),
            }
        }
        Ok(self)
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

    /// Longest pause between reads of a response (ignored with
    /// [`S3Builder::http_client`], whose own settings apply).
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
            (None, policy) => default_http(&config, policy.unwrap_or_default())?,
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
        };
        Ok(S3Store::assemble(Arc::new(client), Arc::new(config)))
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_url(value: &str, what: &str) -> Result<Url> {
    Url::parse(value.trim()).map_err(|e| {
        Error::config(format!("invalid S3 {what} URL: {e}"))
            .with_context("setting", what.to_owned())
    })
}

fn validate(config: &S3Config) -> Result<()> {
    let bucket = &config.bucket;
    if bucket.is_empty() {
        return Err(Error::config(
            "an S3 store needs a bucket (S3Builder::bucket, S3_BUCKET or s3://bucket)",
        ));
    }
    if bucket.len() > 255
        || bucket
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(Error::config("invalid S3 bucket name").with_context("bucket", bucket.clone()));
    }
    if config.region.is_empty() || config.region.contains(['/', ' ']) {
        return Err(
            Error::config("invalid S3 region").with_context("region", config.region.clone())
        );
    }
    if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&config.part_size) {
        return Err(
            Error::config("the S3 part size must be between 5 MiB and 5 GiB")
                .with_context("part_size", config.part_size.to_string()),
        );
    }
    if config.concurrency == 0 {
        return Err(Error::config(
            "the S3 upload concurrency must be at least 1",
        ));
    }
    Ok(())
}

fn credential_source(config: &S3Config) -> Result<CredentialSource> {
    if config.anonymous {
        return Ok(CredentialSource::Anonymous);
    }
    match (&config.access_key_id, &config.secret_access_key) {
        (Some(id), Some(secret)) => {
            let mut creds = S3Credentials::new(
                id.clone(),
                plugbay_core::ExposeSecret::expose_secret(secret),
            );
            if let Some(token) = &config.session_token {
                creds = creds.with_session_token(plugbay_core::ExposeSecret::expose_secret(token));
            }
            return Ok(CredentialSource::Static(creds));
        }
        (Some(_), None) => {
            return Err(Error::config(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
            ));
        }
        (None, Some(_)) => {
            return Err(Error::config(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
            ));
        }
        (None, None) => {}
    }
    if let (Some(token_file), Some(role_arn)) = (&config.web_identity_token_file, &config.role_arn)
    {
        let session_name = config.role_session_name.clone().unwrap_or_else(|| {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            format!("plugbay-{secs}")
        });
        let sts_endpoint = match &config.sts_endpoint {
            Some(url) => url.clone(),
            None => parse_url(
                &format!("https://sts.{}.amazonaws.com/", config.region),
                "STS endpoint",
            )?,
        };
        return Ok(CredentialSource::WebIdentity {
            token_file: token_file.clone(),
            role_arn: role_arn.clone(),
            session_name,
            sts_endpoint,
        });
    }
    if config.imds {
        let endpoint = match &config.imds_endpoint {
            Some(url) => url.clone(),
            None => parse_url("http://169.254.169.254", "IMDS endpoint")?,
        };
        return Ok(CredentialSource::Imds { endpoint });
    }
    Err(Error::config(
        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, or ask for .imds(true) or .anonymous(true)",
    ))
}

/// A client tuned for object storage: no total request timeout (a large
/// download may take long) but a read timeout that catches stalls, and no
/// redirects (a redirected signed request would be refused anyway, and
/// S3's 301 means a wrong region, which must surface).
fn default_http(config: &S3Config, policy: RetryPolicy) -> Result<HttpClient> {
    let client = reqwest::Client::builder()
        .tls_backend_rustls()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(config.read_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(DEFAULT_USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            Error::config("could not build the S3 HTTP client").with_source(e.without_url())
        })?;
    Ok(HttpClient::from_reqwest(client, policy))
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn settings_follow_the_aws_variables() {
        let s = settings(&[
            ("S3_BUCKET", "media"),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9100"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "SECRET"),
            ("AWS_SESSION_TOKEN", "TOKEN"),
        ]);
        let store = S3Builder::from_settings(&s).unwrap().build().unwrap();
        let config = store.config();
        assert_eq!(config.bucket, "media");
        assert_eq!(config.region, "eu-west-3");
        assert_eq!(
            config.endpoint.as_ref().unwrap().as_str(),
            "http://127.0.0.1:9100/"
        );
        assert_eq!(config.access_key_id.as_deref(), Some("AKID"));
        assert_eq!(config.effective_addressing(), AddressingStyle::Path);
        let shown = format!("{store:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("TOKEN\""),
            "{shown}"
        );

        let region = settings(&[
            ("AWS_REGION", "us-west-2"),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
        ]);
        assert_eq!(
            S3Builder::from_settings(&region).unwrap().config.region,
            "us-west-2"
        );
        let reference = settings(&[("AWS_SECRET_ACCESS_KEY", "env://OTHER")]);
        assert_eq!(
            S3Builder::from_settings(&reference).unwrap_err().kind(),
            ErrorKind::Config
        );
    }

    #[test]
    fn credential_sources_in_order() {
        let base = || S3Builder::new("b");
        let err = base().build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("AWS_ACCESS_KEY_ID"), "{err}");
        assert!(matches!(
            base()
                .anonymous(true)
                .build()
                .unwrap()
                .client
                .credentials
                .source(),
            CredentialSource::Anonymous
        ));
        let web = base()
            .web_identity("/var/run/token", "arn:aws:iam::1:role/r")
            .build()
            .unwrap();
        assert!(matches!(
            web.client.credentials.source(),
            CredentialSource::WebIdentity { .. }
        ));
        let imds = base().imds(true).build().unwrap();
        assert!(matches!(
            imds.client.credentials.source(),
            CredentialSource::Imds { .. }
        ));
        let stat = base()
            .imds(true)
            .credentials(S3Credentials::new("a", "b"))
            .build()
            .unwrap();
        assert!(matches!(
            stat.client.credentials.source(),
            CredentialSource::Static(_)
        ));
        let mut half = base();
        half.config.access_key_id = Some("a".into());
        assert_eq!(half.build().unwrap_err().kind(), ErrorKind::Config);
    }

    #[test]
    fn urls_and_validation() {
        let b = S3Builder::default()
            .url("s3://my-bucket?region=eu-central-1&endpoint=http://127.0.0.1:9000&path_style=true&payload_signing=unsigned&part_size=6291456&concurrency=2&conditional_copy=true")
            .unwrap();
        assert_eq!(b.config.bucket, "my-bucket");
        assert_eq!(b.config.region, "eu-central-1");
        assert_eq!(b.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(b.config.addressing, Some(AddressingStyle::Path));
        assert_eq!(b.config.payload_signing, Some(PayloadSigning::Unsigned));
        assert_eq!(b.config.part_size, 6 * 1024 * 1024);
        assert_eq!(b.config.concurrency, 2);
        assert!(b.config.conditional_copy);
        for bad in [
            "s3://",
            "s3://b/prefix",
            "s3://b?colour=red",
            "s3://b?path_style=maybe",
            "s3://AK:SK@b",
            "gs://b",
        ] {
            let err = S3Builder::default().url(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(!err.to_string().contains("SK@"), "{err}");
        }
        let anon = || S3Builder::new("b").anonymous(true);
        assert_eq!(
            anon().part_size(1024).build().unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(
            anon().concurrency(0).build().unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(
            anon().endpoint("not a url").build().unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(
            S3Builder::new("")
                .anonymous(true)
                .build()
                .unwrap_err()
                .kind(),
            ErrorKind::Config
        );
        assert_eq!(
            S3Builder::new("a/b")
                .anonymous(true)
                .build()
                .unwrap_err()
                .kind(),
            ErrorKind::Config
        );
    }

    #[test]
    fn presets() {
        let minio = S3Builder::minio("http://127.0.0.1:9000")
            .bucket("b")
            .anonymous(true)
            .build()
            .unwrap();
        assert_eq!(minio.config().effective_addressing(), AddressingStyle::Path);
        let r2 = S3Builder::r2("acc")
            .bucket("b")
            .anonymous(true)
            .build()
            .unwrap();
        assert_eq!(
            r2.config().effective_endpoint(),
            "https://acc.r2.cloudflarestorage.com"
        );
        assert_eq!(r2.config().region, "auto");
        assert_eq!(
            r2.config().effective_payload_signing(),
            PayloadSigning::Unsigned
        );
    }
}
