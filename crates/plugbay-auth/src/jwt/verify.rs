//! Verifying access tokens, hardened per the checklist in the crate README.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use plugbay_core::{Error, Result};
use serde_json::Value;

use super::claims::{principal_from_claims, unauthenticated};
use super::{JwtConfig, core};
use crate::clock::{DynClock, SystemClock};
use crate::keys::{JwtKey, validate_kid};
use crate::session::SessionStore;
use crate::traits::{TokenVerifier, VerifierCapabilities};
use crate::types::Principal;

/// Verifies access tokens against configured keys only.
///
/// The algorithm comes from the key, never from the token; `jku`, `x5u`,
/// `jwk` and `x5c` headers are ignored; `kid` only selects among configured
/// keys. Several keys (distinct `kid`s) allow rotation; a token without
/// `kid` is checked against the first key.
#[derive(Clone)]
pub struct JwtVerifier {
    config: JwtConfig,
    keys: Vec<JwtKey>,
    by_kid: HashMap<String, usize>,
    clock: DynClock,
    sessions: Option<SessionStore>,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.config.issuer)
            .field("audience", &self.config.audience)
            .field("keys", &self.keys)
            .field("session_check", &self.sessions.is_some())
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// A verifier accepting tokens signed by `key`.
    pub fn new(config: JwtConfig, key: JwtKey) -> Result<JwtVerifier> {
        let mut verifier = JwtVerifier {
            config: config.validated()?,
            keys: Vec::new(),
            by_kid: HashMap::new(),
            clock: Arc::new(SystemClock),
            sessions: None,
        };
        verifier.add_key(key)?;
        Ok(verifier)
    }

    /// Also accept tokens signed by `key` (key rotation). Every key after the
    /// first needs a `kid` distinct from the others; `Config` error otherwise.
    pub fn with_key(mut self, key: JwtKey) -> Result<JwtVerifier> {
        self.add_key(key)?;
        Ok(self)
    }

    fn add_key(&mut self, key: JwtKey) -> Result<()> {
        match key.kid() {
            Some(kid) => {
                if self.by_kid.contains_key(kid) {
                    return Err(Error::config(format!("duplicate JWT key id `{kid}`")));
                }
                self.by_kid.insert(kid.to_owned(), self.keys.len());
            }
            None if !self.keys.is_empty() => {
                return Err(Error::config("additional JWT keys need a key id (kid)"));
            }
            None => {}
        }
        self.keys.push(key);
        Ok(())
    }

    /// Use `clock` for the `exp` / `nbf` / `iat` checks.
    pub fn with_clock(mut self, clock: DynClock) -> JwtVerifier {
        self.clock = clock;
        self
    }

    /// Also require the token's `sid` session to be alive in `sessions`, so
    /// logout and "log out everywhere" take effect before `exp`. Costs one
    /// store read per verification.
    pub fn with_session_check(mut self, sessions: SessionStore) -> JwtVerifier {
        self.sessions = Some(sessions);
        self
    }

    /// The settings in use.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Verify signature and claims without the session check.
    pub fn verify_claims(&self, token: &str) -> Result<Principal> {
        let parsed = core::parse(token)?;
        if self.config.require_access_token_type && !parsed.header.is_access_token_type() {
            return Err(unauthenticated(
                "not_access_token",
                "not an access token (typ must be at+jwt)",
            ));
        }
        let key = self.select_key(parsed.header.kid.as_ref())?;
        let claims = parsed.verify_with(key)?;
        principal_from_claims(claims, &self.config, self.clock.now())
    }

    fn select_key(&self, kid: Option<&Value>) -> Result<&JwtKey> {
        let key = match kid {
            None | Some(Value::Null) => self.keys.first(),
            Some(Value::String(kid)) => {
                validate_kid(kid)?;
                self.by_kid
                    .get(kid.as_str())
                    .and_then(|i| self.keys.get(*i))
            }
            Some(_) => {
                return Err(unauthenticated(
                    "malformed",
                    "token key id (kid) is malformed",
                ));
            }
        };
        key.ok_or_else(|| unauthenticated("unknown_key", "token was signed by an unknown key"))
    }
}

#[async_trait]
impl TokenVerifier for JwtVerifier {
    fn capabilities(&self) -> VerifierCapabilities {
        VerifierCapabilities::default()
            .offline(true)
            .session_check(self.sessions.is_some())
    }

    async fn verify(&self, token: &str) -> Result<Principal> {
        let principal = self.verify_claims(token)?;
        if let Some(sessions) = &self.sessions {
            let sid = principal
                .session_id
                .as_deref()
                .ok_or_else(|| unauthenticated("no_session", "token has no session (sid)"))?;
            if sessions.get(sid).await?.is_none() {
                return Err(unauthenticated(
                    "session_ended",
                    "the session of this token has ended",
                ));
            }
        }
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::JwtSigner;
    use crate::types::Subject;
    use plugbay_cache::InMemoryKeyValue;
    use plugbay_core::{ErrorKind, ExposeSecret as _, SecretString};

    fn key() -> JwtKey {
        JwtKey::hs256(&SecretString::from("k".repeat(32))).unwrap()
    }

    #[tokio::test]
    async fn session_check_requires_a_live_sid() {
        let config = JwtConfig::new("iss", "aud");
        let sessions = SessionStore::new(InMemoryKeyValue::new().into_dyn());
        let signer = JwtSigner::new(config.clone(), key()).unwrap();
        let verifier = JwtVerifier::new(config, key())
            .unwrap()
            .with_session_check(sessions.clone());
        assert!(verifier.capabilities().session_check);

        let session = sessions.create("u").await.unwrap();
        let (token, _) = signer.sign(&Subject::new("u"), &session.id).unwrap();
        assert!(verifier.verify(token.expose_secret()).await.is_ok());
        sessions.destroy(&session.id).await.unwrap();
        let err = verifier.verify(token.expose_secret()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.message().contains("session"));
        // Without the check the same token still passes until `exp`.
        assert!(verifier.verify_claims(token.expose_secret()).is_ok());
    }

    #[test]
    fn extra_keys_need_distinct_kids() {
        let v = JwtVerifier::new(JwtConfig::new("iss", "aud"), key()).unwrap();
        assert_eq!(
            v.clone().with_key(key()).unwrap_err().kind(),
            ErrorKind::Config
        );
        let v = v.with_key(key().with_kid("a").unwrap()).unwrap();
        assert_eq!(
            v.with_key(key().with_kid("a").unwrap()).unwrap_err().kind(),
            ErrorKind::Config
        );
    }
}
