//! Signing access tokens.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use jsonwebtoken::Header;
use plugbay_core::{Error, Result, SecretString};

use super::claims::{access_claims, validate_subject};
use super::{ACCESS_TOKEN_TYPE, JwtConfig};
use crate::clock::{DynClock, SystemClock, unix_seconds};
use crate::crypto::random_token;
use crate::keys::JwtKey;
use crate::types::Subject;

/// Signs `typ: at+jwt` access tokens with one pinned key.
#[derive(Clone)]
pub struct JwtSigner {
    config: JwtConfig,
    key: JwtKey,
    clock: DynClock,
}

impl fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSigner")
            .field("issuer", &self.config.issuer)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl JwtSigner {
    /// A signer; `Config` error if the settings are unusable or `key` holds
    /// no private material.
    pub fn new(config: JwtConfig, key: JwtKey) -> Result<JwtSigner> {
        let config = config.validated()?;
        if !key.can_sign() {
            return Err(Error::config("the JWT signing key has no private half"));
        }
        Ok(JwtSigner {
            config,
            key,
            clock: Arc::new(SystemClock),
        })
    }

    /// Use `clock` for `iat` / `exp`.
    pub fn with_clock(mut self, clock: DynClock) -> JwtSigner {
        self.clock = clock;
        self
    }

    /// The settings in use.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Sign an access token for `subject` in session `session_id`; returns
    /// the token and its expiry.
    ///
    /// `InvalidInput` for an invalid subject (see [`crate::TokenIssuer::issue`]).
    pub fn sign(&self, subject: &Subject, session_id: &str) -> Result<(SecretString, SystemTime)> {
        validate_subject(subject, &self.config)?;
        let now = self.clock.now();
        let expires = now + self.config.access_ttl;
        let claims = access_claims(
            subject,
            &self.config,
            session_id,
            &random_token(16)?,
            unix_seconds(now),
            unix_seconds(expires),
        );
        let mut header = Header::new(self.key.algorithm().to_jsonwebtoken());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = self.key.kid().map(str::to_owned);
        let encoding = self
            .key
            .encoding()
            .ok_or_else(|| Error::config("the JWT signing key has no private half"))?;
        let token = jsonwebtoken::encode(&header, &claims, encoding).map_err(|e| {
            Error::internal("signing the access token failed")
                .with_provider("jwt")
                .with_operation("sign")
                .with_source(e)
        })?;
        Ok((SecretString::from(token), expires))
    }
}
