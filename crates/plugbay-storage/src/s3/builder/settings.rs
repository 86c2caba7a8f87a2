//! [`S3Builder`] from configuration: the standard `AWS_*` variables (or
//! any [`Settings`]) and `s3://bucket?...` URLs.

use std::path::PathBuf;

use plugbay_core::{Error, Result, SecretString, Settings};
use url::Url;

use super::S3Builder;
use super::resolve::parse_url;
use crate::s3::config::{AddressingStyle, PayloadSigning};

fn env_config(settings: &Settings, key: &str) -> Result<Option<String>> {
    if settings.secret_ref(key)?.is_some() {
        return Err(Error::config(format!(
            "`{key}` holds a secret reference; resolve it with Settings::secret and pass the value to S3Builder"
        )));
    }
    Ok(settings.get(key).map(str::to_owned))
}

impl S3Builder {
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
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}
