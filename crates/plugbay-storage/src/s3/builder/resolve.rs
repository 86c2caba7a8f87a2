//! What [`S3Builder::build`](super::S3Builder::build) derives from a
//! configuration: its validation, the credential source and the default
//! HTTP client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugbay_core::http::{DEFAULT_USER_AGENT, HttpClient};
use plugbay_core::{Error, Result, RetryPolicy};
use url::Url;

use crate::s3::config::{MAX_PART_SIZE, MIN_PART_SIZE, S3Config};
use crate::s3::credentials::{CredentialSource, S3Credentials};

pub(super) fn parse_url(value: &str, what: &str) -> Result<Url> {
    Url::parse(value.trim()).map_err(|e| {
        Error::config(format!("invalid S3 {what} URL: {e}"))
            .with_context("setting", what.to_owned())
    })
}

pub(super) fn validate(config: &S3Config) -> Result<()> {
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

pub(super) fn credential_source(config: &S3Config) -> Result<CredentialSource> {
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
pub(super) fn default_http(policy: RetryPolicy) -> Result<HttpClient> {
    let client = reqwest::Client::builder()
        .tls_backend_rustls()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(DEFAULT_USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            Error::config("could not build the S3 HTTP client").with_source(e.without_url())
        })?;
    Ok(HttpClient::from_reqwest(client, policy))
}
