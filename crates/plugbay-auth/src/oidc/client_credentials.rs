//! [`ClientCredentials`]: machine-to-machine tokens (RFC 6749 §4.4),
//! cached until shortly before they expire.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use plugbay_core::http::{Call, HttpClient};
use plugbay_core::{Error, ExposeSecret as _, Result, SecretString};

use crate::clock::{DynClock, SystemClock};
use crate::token_endpoint::{OAuthErrorMapper, TokenEndpointResponse};

/// Tokens are renewed this long before they expire.
const RENEW_MARGIN: Duration = Duration::from_secs(60);
/// Assumed lifetime when the response states none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

struct Cached {
    token: SecretString,
    expires_at: SystemTime,
}

/// A client-credentials token source (Auth0 Management API, any M2M API).
///
/// [`ClientCredentials::token`] returns the cached token while it has more
/// than a minute left; otherwise one caller fetches a new one while the
/// others wait for it (single flight), so a burst of callers makes one
/// request. Cheap to clone (shared).
#[derive(Clone)]
pub struct ClientCredentials {
    provider: String,
    token_endpoint: String,
    client_id: String,
    client_secret: SecretString,
    audience: Option<String>,
    http: HttpClient,
    clock: DynClock,
    cached: Arc<tokio::sync::Mutex<Option<Cached>>>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("provider", &self.provider)
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// Tokens from `token_endpoint` for `client_id` / `client_secret`.
    pub fn new(
        provider: impl Into<String>,
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Result<ClientCredentials> {
        Ok(ClientCredentials {
            provider: provider.into(),
            token_endpoint: token_endpoint.into(),
            client_id: client_id.into(),
            client_secret,
            audience: None,
            http: super::token_http()?,
            clock: Arc::new(SystemClock),
            cached: Arc::default(),
        })
    }

    /// Request tokens for `audience` (Auth0: the API identifier).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Use `clock` for expiry (tests).
    pub fn clock(mut self, clock: DynClock) -> Self {
        self.clock = clock;
        self
    }

    /// A valid access token, from the cache or freshly fetched.
    pub async fn token(&self) -> Result<SecretString> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some(c) = cached.as_ref()
            && c.expires_at > now + RENEW_MARGIN
        {
            return Ok(c.token.clone());
        }
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", self.client_id.clone()),
            (
                "client_secret",
                self.client_secret.expose_secret().to_owned(),
            ),
        ];
        if let Some(audience) = &self.audience {
            form.push(("audience", audience.clone()));
        }
        let call = Call::new(self.provider.clone(), "client_credentials")
            .idempotent(true)
            .with_error_mapper(OAuthErrorMapper::default());
        let endpoint = self.token_endpoint.clone();
        let response: TokenEndpointResponse = self
            .http
            .execute_json(&call, |c| {
                c.post(&endpoint)
                    .header("accept", "application/json")
                    .form(&form)
            })
            .await?;
        let tokens = response.into_tokens();
        if tokens.access_token.expose_secret().is_empty() {
            return Err(
                Error::protocol("the token response has an empty access token")
                    .with_provider(self.provider.clone()),
            );
        }
        let lifetime = tokens.expires_in.unwrap_or(DEFAULT_LIFETIME);
        *cached = Some(Cached {
            token: tokens.access_token.clone(),
            expires_at: now + lifetime,
        });
        Ok(tokens.access_token)
    }

    /// Forget the cached token (after the API answered 401 with it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}
