//! Where S3 credentials come from: static keys (explicit or `AWS_*`
//! variables), a web identity token exchanged at STS
//! (AssumeRoleWithWebIdentity), or the EC2 instance metadata service
//! (IMDSv2, only when asked). Temporary credentials are cached and
//! refreshed five minutes before they expire, one refresh at a time.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use plugbay_core::http::{Call, HttpClient};
use plugbay_core::{Error, ErrorKind, ExposeSecret, Result, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::error::S3ErrorMapper;
use super::xml;

/// Refresh temporary credentials this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Bound on each STS or IMDS request.
const CREDENTIAL_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// AWS credentials that sign S3 requests. `Debug` shows the access key id
/// only.
///
/// ```
/// use plugbay_storage::s3::S3Credentials;
/// let creds = S3Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI").with_session_token("FwoGZXIv");
/// assert_eq!(creds.access_key_id(), "AKIDEXAMPLE");
/// let shown = format!("{creds:?}");
/// assert!(!shown.contains("wJalrXUtnFEMI") && !shown.contains("FwoGZXIv"));
/// ```
#[derive(Clone)]
pub struct S3Credentials {
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
    expires_at: Option<SystemTime>,
}

impl S3Credentials {
    /// Long-lived credentials from an access key id and secret.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> S3Credentials {
        S3Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: SecretString::from(secret_access_key.into()),
            session_token: None,
            expires_at: None,
        }
    }

    /// Add a session token (temporary credentials).
    pub fn with_session_token(mut self, token: impl Into<String>) -> S3Credentials {
        self.session_token = Some(SecretString::from(token.into()));
        self
    }

    /// Record when the credentials expire.
    pub fn with_expiry(mut self, at: SystemTime) -> S3Credentials {
        self.expires_at = Some(at);
        self
    }

    /// The access key id.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key.
    pub fn secret_access_key(&self) -> &SecretString {
        &self.secret_access_key
    }

    /// The session token, for temporary credentials.
    pub fn session_token(&self) -> Option<&SecretString> {
        self.session_token.as_ref()
    }

    /// When the credentials expire, if they do.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    fn fresh_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|at| at > now + REFRESH_MARGIN)
    }

    fn valid_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where credentials come from.
#[derive(Debug, Clone)]
pub(crate) enum CredentialSource {
    /// Unsigned requests.
    Anonymous,
    /// Fixed keys.
    Static(S3Credentials),
    /// AssumeRoleWithWebIdentity at STS with a token read from a file.
    WebIdentity {
        token_file: PathBuf,
        role_arn: String,
        session_name: String,
        sts_endpoint: Url,
    },
    /// IMDSv2 at `endpoint`.
    Imds { endpoint: Url },
}

/// Hands out current credentials, fetching and caching temporary ones.
#[derive(Debug)]
pub(crate) struct CredentialProvider {
    source: CredentialSource,
    http: HttpClient,
    cache: Mutex<Option<S3Credentials>>,
}

impl CredentialProvider {
    pub(crate) fn new(source: CredentialSource, http: HttpClient) -> CredentialProvider {
        CredentialProvider {
            source,
            http,
            cache: Mutex::new(None),
        }
    }

    #[cfg(test)]
    pub(crate) fn source(&self) -> &CredentialSource {
        &self.source
    }

    /// Current credentials, or `None` for anonymous access.
    pub(crate) async fn credentials(&self) -> Result<Option<S3Credentials>> {
        match &self.source {
            CredentialSource::Anonymous => return Ok(None),
            CredentialSource::Static(creds) => return Ok(Some(creds.clone())),
            CredentialSource::WebIdentity { .. } | CredentialSource::Imds { .. } => {}
        }
        // Holding the lock across the fetch makes concurrent callers wait
        // for one refresh instead of stampeding STS or IMDS.
        let mut cache = self.cache.lock().await;
        let now = SystemTime::now();
        if let Some(creds) = cache.as_ref().filter(|c| c.fresh_at(now)) {
            return Ok(Some(creds.clone()));
        }
        match self.fetch().await {
            Ok(creds) => {
                *cache = Some(creds.clone());
                Ok(Some(creds))
            }
            // Serve credentials that are due for refresh but still valid
            // rather than failing every request while STS/IMDS is down.
            Err(e) => match cache.as_ref().filter(|c| c.valid_at(now)) {
                Some(stale) => {
                    tracing::warn!(error = %e, "S3 credential refresh failed; using the current ones");
                    Ok(Some(stale.clone()))
                }
                None => Err(e),
            },
        }
    }

    async fn fetch(&self) -> Result<S3Credentials> {
        match &self.source {
            CredentialSource::WebIdentity {
                token_file,
                role_arn,
                session_name,
                sts_endpoint,
            } => {
                let token = read_token(token_file).await?;
                assume_role_with_web_identity(
                    &self.http,
                    sts_endpoint,
                    role_arn,
                    session_name,
                    &token,
                )
                .await
            }
            CredentialSource::Imds { endpoint } => imds_credentials(&self.http, endpoint).await,
            CredentialSource::Anonymous | CredentialSource::Static(_) => {
                Err(Error::internal("no credentials to fetch for this source"))
            }
        }
    }
}

async fn read_token(path: &PathBuf) -> Result<SecretString> {
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        Error::config("could not read the web identity token file")
            .with_context("path", path.display().to_string())
            .with_source(e)
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::config("the web identity token file is empty")
            .with_context("path", path.display().to_string()));
    }
    Ok(SecretString::from(token.to_owned()))
}

/// Exchange a web identity token for temporary credentials at STS.
pub(crate) async fn assume_role_with_web_identity(
    http: &HttpClient,
    sts_endpoint: &Url,
    role_arn: &str,
    session_name: &str,
    token: &SecretString,
) -> Result<S3Credentials> {
    // A token exchange has no side effect, so repeating it is safe.
    let call = Call::new("sts", "assume_role_with_web_identity")
        .idempotent(true)
        .with_error_mapper(S3ErrorMapper::default())
        .with_timeout(CREDENTIAL_CALL_TIMEOUT);
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", role_arn),
        ("RoleSessionName", session_name),
        ("WebIdentityToken", token.expose_secret()),
    ];
    let response = http
        .execute(&call, |c| c.post(sts_endpoint.clone()).form(&form))
        .await?;
    let parsed: xml::AssumeRoleWithWebIdentityResponse =
        xml::decode(response.body(), "AssumeRoleWithWebIdentityResponse")
            .map_err(|e| e.with_provider("sts"))?;
    let sts = parsed.assume_role_with_web_identity_result.credentials;
    let mut creds = S3Credentials::new(sts.access_key_id, sts.secret_access_key);
    if let Some(token) = sts.session_token {
        creds = creds.with_session_token(token);
    }
    if let Some(at) = sts.expiration.as_deref().and_then(xml::parse_timestamp) {
        creds = creds.with_expiry(at);
    }
    Ok(creds)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImdsCredentials {
    #[serde(default)]
    code: Option<String>,
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    expiration: Option<String>,
}

/// IMDSv2: a session token by PUT, the role name, then the role's
/// credentials, each request carrying the session token.
pub(crate) async fn imds_credentials(http: &HttpClient, endpoint: &Url) -> Result<S3Credentials> {
    let base = endpoint.as_str().trim_end_matches('/').to_owned();
    let call = |op: &'static str| {
        Call::new("imds", op)
            .idempotent(true)
            .with_timeout(CREDENTIAL_CALL_TIMEOUT)
    };
    let token_url = format!("{base}/latest/api/token");
    let token = http
        .execute(&call("token"), |c| {
            c.put(&token_url)
                .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
        })
        .await?;
    let token = SecretString::from(token.text()?.trim().to_owned());
    let roles_url = format!("{base}/latest/meta-data/iam/security-credentials/");
    let roles = http
        .execute(&call("role"), |c| {
            c.get(&roles_url)
                .header("x-aws-ec2-metadata-token", token.expose_secret())
        })
        .await?;
    let role = roles
        .text()?
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthenticated,
                "the instance has no IAM role attached",
            )
            .with_provider("imds")
        })?;
    let creds_url = format!(
        "{roles_url}{}",
        percent_encoding::utf8_percent_encode(&role, super::request::QUERY_VALUE)
    );
    let response = http
        .execute(&call("credentials"), |c| {
            c.get(&creds_url)
                .header("x-aws-ec2-metadata-token", token.expose_secret())
        })
        .await?;
    let parsed: ImdsCredentials = response.json().map_err(|e| e.with_provider("imds"))?;
    if let Some(code) = parsed.code.as_deref().filter(|c| *c != "Success") {
        return Err(Error::new(
            ErrorKind::Unauthenticated,
            "the instance metadata service did not return credentials",
        )
        .with_provider("imds")
        .with_provider_code(code.to_owned()));
    }
    let mut creds = S3Credentials::new(parsed.access_key_id, parsed.secret_access_key);
    if let Some(token) = parsed.token {
        creds = creds.with_session_token(token);
    }
    if let Some(at) = parsed.expiration.as_deref().and_then(xml::parse_timestamp) {
        creds = creds.with_expiry(at);
    }
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness() {
        let now = SystemTime::now();
        let creds = S3Credentials::new("a", "b");
        assert!(creds.fresh_at(now));
        let soon = creds.clone().with_expiry(now + Duration::from_secs(60));
        assert!(!soon.fresh_at(now));
        assert!(soon.valid_at(now));
        let later = creds.with_expiry(now + Duration::from_secs(3600));
        assert!(later.fresh_at(now));
        let shown = format!("{later:?}");
        assert!(!shown.contains("\"b\""), "{shown}");
    }
}
