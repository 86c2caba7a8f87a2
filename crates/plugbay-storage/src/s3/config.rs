//! [`S3Config`]: everything an [`S3Store`](super::S3Store) is built from,
//! with a `Debug` that never shows a secret.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use plugbay_core::SecretString;
use serde::Deserialize;
use url::Url;

/// The smallest multipart part S3 accepts (except the last one).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The largest multipart part S3 accepts.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The most parts one multipart upload may have.
pub const MAX_PARTS: u64 = 10_000;
/// The default part size (and single-request threshold): 8 MiB.
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;
/// The longest a presigned URL may live (S3's limit): 7 days.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// How the bucket appears in request URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AddressingStyle {
    /// `https://endpoint/bucket/key`: what MinIO, R2, s3s, moto and most
    /// S3-compatibles expect; the default for a custom endpoint.
    Path,
    /// `https://bucket.endpoint/key`: what AWS prefers; the default for AWS
    /// (except for bucket names with dots, which break TLS host matching
    /// and fall back to path style).
    VirtualHost,
}

/// Whether request bodies are hashed into the SigV4 signature.
///
/// - [`PayloadSigning::Unsigned`] sends `x-amz-content-sha256:
///   UNSIGNED-PAYLOAD`: the headers are signed but the body is not hashed,
///   saving a full SHA-256 pass over every byte uploaded. Integrity in
///   transit then rests on TLS, so it is the default for `https` endpoints.
/// - [`PayloadSigning::Signed`] hashes each request body (each multipart
///   part separately; bodies are buffered per part anyway) and signs the
///   hash, so the server rejects a body altered in transit
///   (`XAmzContentSHA256Mismatch`). It is the default for plain `http`
///   endpoints (local peers, MinIO without TLS), where nothing else
///   protects the body.
///
/// Presigned URLs always use `UNSIGNED-PAYLOAD`: the body is not known when
/// the URL is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PayloadSigning {
    /// `UNSIGNED-PAYLOAD` (default over HTTPS).
    Unsigned,
    /// SHA-256 of each request body in the signature (default over HTTP).
    Signed,
}

/// The configuration of an [`S3Store`](super::S3Store). Build it with
/// [`S3Builder`](super::S3Builder); it is public so it can be deserialized
/// from a config file and handed to [`S3Builder::from_config`](super::S3Builder::from_config).
#[derive(Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// The signing region (`us-east-1` unless set; R2 uses `auto`).
    pub region: String,
    /// A custom endpoint (`http://127.0.0.1:9000`); `None` means AWS.
    pub endpoint: Option<Url>,
    /// Path or virtual-host addressing; `None` picks by endpoint.
    pub addressing: Option<AddressingStyle>,
    /// Static access key id.
    pub access_key_id: Option<String>,
    /// Static secret access key.
    pub secret_access_key: Option<SecretString>,
    /// Session token for temporary credentials.
    pub session_token: Option<SecretString>,
    /// Web identity token file (`AWS_WEB_IDENTITY_TOKEN_FILE`), exchanged at
    /// STS for temporary credentials together with `role_arn`.
    pub web_identity_token_file: Option<PathBuf>,
    /// The role to assume with the web identity token (`AWS_ROLE_ARN`).
    pub role_arn: Option<String>,
    /// The session name for the assumed role (`AWS_ROLE_SESSION_NAME`).
    pub role_session_name: Option<String>,
    /// The STS endpoint (default `https://sts.{region}.amazonaws.com`).
    pub sts_endpoint: Option<Url>,
    /// Ask the EC2 instance metadata service (IMDSv2) for credentials when
    /// no other source is configured. Off unless asked for.
    pub imds: bool,
    /// The IMDS endpoint (default `http://169.254.169.254`).
    pub imds_endpoint: Option<Url>,
    /// Send unsigned requests (public buckets). No credentials are read.
    pub anonymous: bool,
    /// Body hashing; `None` picks by endpoint scheme (see [`PayloadSigning`]).
    pub payload_signing: Option<PayloadSigning>,
    /// Multipart part size and single-request threshold (default 8 MiB,
    /// at least 5 MiB).
    pub part_size: u64,
    /// Parts uploaded at once (default 4). Peak upload memory is about
    /// `part_size * concurrency`.
    pub concurrency: usize,
    /// The server honours `If-None-Match: *` and `If-Match` on PutObject and
    /// CompleteMultipartUpload (AWS since 2024, R2, MinIO). Default true.
    pub conditional_writes: bool,
    /// The server honours `If-None-Match: *` on CopyObject (create-only
    /// copies). Default false: AWS documents conditions on the copy
    /// source only.
    pub conditional_copy: bool,
    /// How often a download cut mid-body is resumed from where it stopped
    /// (default 3).
    pub read_resume_attempts: u32,
    /// Ranged GETs of `part_size` in flight for a whole-object download
    /// (default 1: one plain streamed GET). Above 1, the parts are pinned to
    /// the object's ETag and memory grows to about `part_size × this`.
    pub download_concurrency: usize,
    /// Bound on each metadata call (head, list, delete, copy, multipart
    /// bookkeeping) per attempt (default 60 s).
    pub timeout: Duration,
    /// Bound on each upload request (a whole object or one part) per
    /// attempt (default 15 min).
    pub upload_timeout: Duration,
    /// Longest wait for a download's answer and then for each next piece
    /// of its body, which is what bounds downloads (default 30 s; a stalled
    /// download resumes). Uploads are bounded by `upload_timeout` alone.
    pub read_timeout: Duration,
}

impl Default for S3Config {
    fn default() -> S3Config {
        S3Config {
            bucket: String::new(),
            region: "us-east-1".to_owned(),
            endpoint: None,
            addressing: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            web_identity_token_file: None,
            role_arn: None,
            role_session_name: None,
            sts_endpoint: None,
            imds: false,
            imds_endpoint: None,
            anonymous: false,
            payload_signing: None,
            part_size: DEFAULT_PART_SIZE,
            concurrency: 4,
            conditional_writes: true,
            conditional_copy: false,
            read_resume_attempts: 3,
            download_concurrency: 1,
            timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(15 * 60),
            read_timeout: Duration::from_secs(30),
        }
    }
}

impl S3Config {
    /// The addressing style in effect: the configured one, else virtual
    /// host for AWS and path style for custom endpoints. Bucket names with
    /// dots always use path style (their virtual host breaks TLS).
    pub fn effective_addressing(&self) -> AddressingStyle {
        if self.bucket.contains('.') {
            return AddressingStyle::Path;
        }
        match (self.addressing, &self.endpoint) {
            (Some(style), _) => style,
            (None, Some(_)) => AddressingStyle::Path,
            (None, None) => AddressingStyle::VirtualHost,
        }
    }

    /// The payload signing in effect: the configured one, else unsigned
    /// over HTTPS and signed over plain HTTP.
    pub fn effective_payload_signing(&self) -> PayloadSigning {
        match (self.payload_signing, &self.endpoint) {
            (Some(signing), _) => signing,
            (None, Some(url)) if url.scheme() == "http" => PayloadSigning::Signed,
            (None, _) => PayloadSigning::Unsigned,
        }
    }

    /// The endpoint in effect: the configured one or AWS's regional one.
    pub fn effective_endpoint(&self) -> String {
        match &self.endpoint {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("https://s3.{}.amazonaws.com", self.region),
        }
    }
}

fn shown(secret: &Option<SecretString>) -> &'static str {
    if secret.is_some() {
        "<redacted>"
    } else {
        "None"
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("addressing", &self.addressing)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &shown(&self.secret_access_key))
            .field("session_token", &shown(&self.session_token))
            .field("web_identity_token_file", &self.web_identity_token_file)
            .field("role_arn", &self.role_arn)
            .field("imds", &self.imds)
            .field("anonymous", &self.anonymous)
            .field("payload_signing", &self.payload_signing)
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("conditional_writes", &self.conditional_writes)
            .field("conditional_copy", &self.conditional_copy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let config = S3Config {
            access_key_id: Some("AKIDVISIBLE".into()),
            secret_access_key: Some(SecretString::from("wJalrXUtnFEMI/K7MDENG")),
            session_token: Some(SecretString::from("FwoGZXIvYXdzEJr")),
            ..S3Config::default()
        };
        let shown = format!("{config:?}");
        assert!(shown.contains("AKIDVISIBLE"), "{shown}");
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(!shown.contains("FwoGZXIvYXdzEJr"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn defaults_follow_the_endpoint() {
        let aws = S3Config {
            bucket: "b".into(),
            ..S3Config::default()
        };
        assert_eq!(aws.effective_addressing(), AddressingStyle::VirtualHost);
        assert_eq!(aws.effective_payload_signing(), PayloadSigning::Unsigned);
        assert_eq!(
            aws.effective_endpoint(),
            "https://s3.us-east-1.amazonaws.com"
        );
        let dotted = S3Config {
            bucket: "my.bucket".into(),
            ..S3Config::default()
        };
        assert_eq!(dotted.effective_addressing(), AddressingStyle::Path);
        let local = S3Config {
            bucket: "b".into(),
            endpoint: Some(Url::parse("http://127.0.0.1:9000/").unwrap()),
            ..S3Config::default()
        };
        assert_eq!(local.effective_addressing(), AddressingStyle::Path);
        assert_eq!(local.effective_payload_signing(), PayloadSigning::Signed);
        assert_eq!(local.effective_endpoint(), "http://127.0.0.1:9000");
    }
}
