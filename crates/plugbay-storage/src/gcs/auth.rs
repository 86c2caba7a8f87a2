//! OAuth access tokens for GCS: a service account's RS256 JWT exchanged at
//! the token endpoint (`urn:ietf:params:oauth:grant-type:jwt-bearer`),
//! cached until five minutes before expiry, refreshed by one caller at a
//! time (the others wait for its result instead of stampeding the endpoint).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use plugbay_core::http::{Call, HttpClient};
use plugbay_core::{Error, ExposeSecret, Result, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::config::{SCOPE_READ_WRITE, ServiceAccountKey};
use super::error::GcsErrorMapper;

/// A JWT lives one hour, the most Google accepts.
const JWT_LIFETIME: Duration = Duration::from_secs(3600);
/// Refresh this long before the token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How requests are authorised.
#[derive(Debug)]
pub(crate) enum Auth {
    /// Nothing (emulators, public buckets).
    None,
    /// A fixed bearer token.
    Static(SecretString),
    /// Tokens minted from a service-account key.
    ServiceAccount(Box<TokenSource>),
}

impl Auth {
    /// The bearer token to send, if any.
    pub(crate) async fn bearer(&self) -> Result<Option<SecretString>> {
        match self {
            Auth::None => Ok(None),
            Auth::Static(token) => Ok(Some(token.clone())),
            Auth::ServiceAccount(source) => source.token().await.map(Some),
        }
    }

    /// Forget a token the server refused, so the next call mints another.
    pub(crate) async fn invalidate(&self) {
        if let Auth::ServiceAccount(source) = self {
            *source.cached.lock().await = None;
        }
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<u64>,
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

/// Mints and caches access tokens for one service account.
pub(crate) struct TokenSource {
    key: ServiceAccountKey,
    signing_key: EncodingKey,
    scope: String,
    http: HttpClient,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("client_email", &self.key.client_email)
            .field("token_uri", &self.key.token_uri)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Fails with `Config` if the key is not an RSA PEM key.
    pub(crate) fn new(key: ServiceAccountKey, http: HttpClient) -> Result<TokenSource> {
        let signing_key = signing_key(&key)?;
        Ok(TokenSource {
            key,
            signing_key,
            scope: SCOPE_READ_WRITE.to_owned(),
            http,
            cached: Mutex::new(None),
        })
    }

    /// A valid access token, from the cache or a new exchange. The lock is
    /// held during the exchange: concurrent callers share one refresh.
    pub(crate) async fn token(&self) -> Result<SecretString> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let reply = self.exchange().await?;
        let lifetime = Duration::from_secs(reply.expires_in.unwrap_or(3600));
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        let token = reply.access_token;
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(token)
    }

    async fn exchange(&self) -> Result<TokenReply> {
        let assertion = self.jwt(SystemTime::now())?;
        let call = Call::new("gcs", "token")
            .idempotent(true)
            .with_error_mapper(GcsErrorMapper);
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.expose_secret()),
        ];
        let reply: TokenReply = self
            .http
            .execute_json(&call, |http| http.post(&self.key.token_uri).form(&form))
            .await
            .map_err(|e| {
                // A rejected assertion is an authentication failure whatever
                // status the endpoint picked.
                if matches!(e.status(), Some(400 | 401)) {
                    e.with_kind(plugbay_core::ErrorKind::Unauthenticated)
                } else {
                    e
                }
            })?;
        if reply.access_token.expose_secret().is_empty() {
            return Err(
                Error::protocol("the token endpoint returned an empty access_token")
                    .with_provider("gcs")
                    .with_operation("token"),
            );
        }
        Ok(reply)
    }

    /// The signed assertion for `now`.
    pub(crate) fn jwt(&self, now: SystemTime) -> Result<SecretString> {
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Claims {
            iss: &self.key.client_email,
            scope: &self.scope,
            aud: &self.key.token_uri,
            iat,
            exp: iat + JWT_LIFETIME.as_secs(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key.private_key_id.clone();
        let jwt = jsonwebtoken::encode(&header, &claims, &self.signing_key).map_err(|e| {
            Error::internal("could not sign the service-account JWT").with_source(e)
        })?;
        Ok(SecretString::from(jwt))
    }

    /// RSA-SHA256 signature of `message`, raw bytes (V4 signed URLs).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        sign_raw(&self.signing_key, message)
    }
}

pub(crate) fn signing_key(key: &ServiceAccountKey) -> Result<EncodingKey> {
    EncodingKey::from_rsa_pem(key.private_key.expose_secret().as_bytes()).map_err(|e| {
        Error::config("the service-account private_key is not an RSA PEM key").with_source(e)
    })
}

pub(crate) fn sign_raw(key: &EncodingKey, message: &[u8]) -> Result<Vec<u8>> {
    use base64::Engine as _;
    let b64 = jsonwebtoken::crypto::sign(message, key, Algorithm::RS256)
        .map_err(|e| Error::internal("RSA signing failed").with_source(e))?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|e| Error::internal("RSA signature was not base64url").with_source(e))
}
