//! [`CloudinaryConfig`] and [`CloudinaryBuilder`].

use std::fmt;
use std::sync::Arc;

use plugbay_core::http::{HttpClient, RetryPolicy};
use plugbay_core::{Error, Result, SecretString, Settings};
use url::Url;

use super::CloudinaryStore;
use super::signature::SignatureAlgorithm;

/// Smallest chunk Cloudinary accepts for chunked uploads: 5 MiB.
pub const MIN_CHUNK_SIZE: usize = 5 * 1024 * 1024;
/// Default chunk (and largest single-request upload): 20 MiB.
pub const DEFAULT_CHUNK_SIZE: usize = 20 * 1024 * 1024;

/// Which of Cloudinary's asset families the store keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceType {
    /// Any file, kept byte for byte; the public id includes the extension
    /// (the default: the only type that accepts arbitrary objects).
    #[default]
    Raw,
    /// Images; the public id has no extension, delivery adds `.{format}`.
    Image,
    /// Videos (and audio).
    Video,
}

impl ResourceType {
    /// The path segment (`raw`, `image`, `video`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Raw => "raw",
            ResourceType::Image => "image",
            ResourceType::Video => "video",
        }
    }
}

/// Settings of a [`CloudinaryStore`]; `Debug` hides the secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct CloudinaryConfig {
    /// The cloud name.
    pub cloud_name: String,
    /// The API key.
    pub api_key: String,
    /// The API secret (signs uploads; the Admin API's basic-auth password).
    pub api_secret: SecretString,
    /// The resource type of every object.
    pub resource_type: ResourceType,
    /// Upload and Admin API base (default `https://api.cloudinary.com`).
    pub api_base: Url,
    /// Delivery base (default `https://res.cloudinary.com`).
    pub delivery_base: Url,
    /// Digest of upload signatures.
    pub signature_algorithm: SignatureAlgorithm,
    /// Chunk size of chunked uploads (at least 5 MiB); bodies up to one
    /// chunk are one request.
    pub chunk_size: usize,
}

impl fmt::Debug for CloudinaryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudinaryConfig")
            .field("cloud_name", &self.cloud_name)
            .field("api_key", &self.api_key)
            .field("api_secret", &"[redacted]")
            .field("resource_type", &self.resource_type)
            .field("api_base", &self.api_base.as_str())
            .field("delivery_base", &self.delivery_base.as_str())
            .field("signature_algorithm", &self.signature_algorithm)
            .field("chunk_size", &self.chunk_size)
            .finish()
    }
}

/// Builds a [`CloudinaryStore`].
///
/// ```
/// use plugbay_storage::cloudinary::CloudinaryBuilder;
/// use plugbay_storage::ObjectStore;
///
/// let store = CloudinaryBuilder::from_url("cloudinary://key:secret@demo")?.build()?;
/// assert_eq!(store.backend(), "cloudinary");
/// assert!(!store.capabilities().put_create);
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct CloudinaryBuilder {
    cloud_name: String,
    api_key: String,
    api_secret: Option<SecretString>,
    resource_type: ResourceType,
    api_base: Option<String>,
    delivery_base: Option<String>,
    signature_algorithm: SignatureAlgorithm,
    chunk_size: Option<usize>,
    http: Option<HttpClient>,
    retry_policy: Option<RetryPolicy>,
}

impl CloudinaryBuilder {
    /// A builder from explicit credentials.
    pub fn new(
        cloud_name: impl Into<String>,
        api_key: impl Into<String>,
        api_secret: SecretString,
    ) -> Self {
        CloudinaryBuilder {
            cloud_name: cloud_name.into(),
            api_key: api_key.into(),
            api_secret: Some(api_secret),
            ..CloudinaryBuilder::default()
        }
    }

    /// Parse `cloudinary://key:secret@cloud` (options: `resource_type`,
    /// `signature_algorithm=sha256`, `api_base`, `delivery_base`, `chunk_size`).
    pub fn from_url(url: &str) -> Result<CloudinaryBuilder> {
        // Never echo the URL: it holds the secret.
        let bad = |why: &str| Error::config(format!("invalid CLOUDINARY_URL: {why}"));
        let parsed = Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
        if parsed.scheme() != "cloudinary" {
            return Err(bad("the scheme must be cloudinary://"));
        }
        let cloud = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no cloud name"))?;
        let key = parsed.username();
        let secret = parsed.password().ok_or_else(|| bad("no api secret"))?;
        if key.is_empty() || secret.is_empty() {
            return Err(bad("it needs key:secret@cloud"));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let mut builder =
            CloudinaryBuilder::new(cloud, decode(key), SecretString::from(decode(secret)));
        for (name, value) in parsed.query_pairs() {
            match name.as_ref() {
                "resource_type" => {
                    builder.resource_type = match value.as_ref() {
                        "raw" => ResourceType::Raw,
                        "image" => ResourceType::Image,
                        "video" => ResourceType::Video,
                        _ => return Err(bad("resource_type must be raw, image or video")),
                    }
                }
                "signature_algorithm" => {
                    builder.signature_algorithm = match value.as_ref() {
                        "sha1" => SignatureAlgorithm::Sha1,
                        "sha256" => SignatureAlgorithm::Sha256,
                        _ => return Err(bad("signature_algorithm must be sha1 or sha256")),
                    }
                }
                "api_base" => builder.api_base = Some(value.into_owned()),
                "delivery_base" => builder.delivery_base = Some(value.into_owned()),
                "chunk_size" => {
                    builder.chunk_size = Some(
                        value
                            .parse()
                            .map_err(|_| bad("chunk_size must be a number"))?,
                    );
                }
                other => return Err(bad(&format!("unknown option `{other}`"))),
            }
        }
        Ok(builder)
    }

    /// [`CloudinaryBuilder::from_url`] of the `CLOUDINARY_URL` setting.
    pub fn from_settings(settings: &Settings) -> Result<CloudinaryBuilder> {
        CloudinaryBuilder::from_url(settings.require("CLOUDINARY_URL")?)
    }

    /// [`CloudinaryBuilder::from_settings`] over the process environment
    /// plus `./.env.local`.
    pub fn from_env() -> Result<CloudinaryBuilder> {
        CloudinaryBuilder::from_settings(&Settings::from_env()?)
    }

    /// Keep objects as this resource type (default `raw`).
    pub fn resource_type(mut self, resource_type: ResourceType) -> Self {
        self.resource_type = resource_type;
        self
    }

    /// Sign uploads with this digest (default SHA-1).
    pub fn signature_algorithm(mut self, algorithm: SignatureAlgorithm) -> Self {
        self.signature_algorithm = algorithm;
        self
    }

    /// Upload and Admin API base URL (tests point it at a stub).
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = Some(url.into());
        self
    }

    /// Delivery base URL (tests point it at a stub).
    pub fn delivery_base(mut self, url: impl Into<String>) -> Self {
        self.delivery_base = Some(url.into());
        self
    }

    /// Chunk size of chunked uploads: at least 5 MiB (default 20 MiB).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes);
        self
    }

    /// Share an existing [`HttpClient`].
    pub fn http_client(mut self, client: HttpClient) -> Self {
        self.http = Some(client);
        self
    }

    /// The retry policy for Cloudinary calls.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// Check the settings and build the store. No request is made.
    pub fn build(self) -> Result<CloudinaryStore> {
        let url = |value: Option<String>, default: &str, what: &'static str| {
            let text = value.unwrap_or_else(|| default.to_owned());
            Url::parse(&text).map_err(|e| Error::config(format!("invalid Cloudinary {what}: {e}")))
        };
        let api_secret = self
            .api_secret
            .ok_or_else(|| Error::config("Cloudinary needs an API secret (CLOUDINARY_URL)"))?;
        if self.cloud_name.is_empty() || self.api_key.is_empty() {
            return Err(Error::config(
                "Cloudinary needs a cloud name and an API key",
            ));
        }
        let chunk_size = self.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE);
        if chunk_size < MIN_CHUNK_SIZE {
            return Err(
                Error::config("the Cloudinary chunk size must be at least 5 MiB")
                    .with_context("chunk_size", chunk_size.to_string()),
            );
        }
        let config = CloudinaryConfig {
            cloud_name: self.cloud_name,
            api_key: self.api_key,
            api_secret,
            resource_type: self.resource_type,
            api_base: url(self.api_base, "https://api.cloudinary.com", "api_base")?,
            delivery_base: url(
                self.delivery_base,
                "https://res.cloudinary.com",
                "delivery_base",
            )?,
            signature_algorithm: self.signature_algorithm,
            chunk_size,
        };
        let http = match (self.http, self.retry_policy) {
            (Some(http), Some(policy)) => http.with_retry_policy(policy),
            (Some(http), None) => http,
            (None, policy) => HttpClient::builder()
                .retry_policy(policy.unwrap_or_default())
                .build()?,
        };
        Ok(CloudinaryStore::assemble(Arc::new(config), http))
    }
}

#[cfg(test)]
mod tests {
    use plugbay_core::ErrorKind;

    use super::*;

    #[test]
    fn urls_parse_and_hide_the_secret() {
        let b = CloudinaryBuilder::from_url(
            "cloudinary://123:s3cr%2Fet@demo?resource_type=image&signature_algorithm=sha256",
        )
        .unwrap();
        let store = b.build().unwrap();
        let config = store.config();
        assert_eq!(config.cloud_name, "demo");
        assert_eq!(config.api_key, "123");
        assert_eq!(config.resource_type, ResourceType::Image);
        assert_eq!(config.signature_algorithm, SignatureAlgorithm::Sha256);
        assert!(!format!("{config:?}").contains("s3cr"));
        for bad in [
            "cloudinary://demo",
            "cloudinary://k@demo",
            "s3://k:s@demo",
            "cloudinary://k:s@demo?x=1",
        ] {
            let err = CloudinaryBuilder::from_url(bad)
                .and_then(CloudinaryBuilder::build)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(!err.to_string().contains(":s@"), "{err}");
        }
        let small = CloudinaryBuilder::from_url("cloudinary://k:s@demo?chunk_size=1000")
            .unwrap()
            .build();
        assert_eq!(small.unwrap_err().kind(), ErrorKind::Config);
    }
}
