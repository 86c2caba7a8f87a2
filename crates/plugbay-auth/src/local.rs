//! [`LocalJwt`]: the self-hosted token service (JWT access tokens, rotating
//! refresh tokens, sessions) implementing both [`TokenIssuer`] and
//! [`TokenVerifier`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plugbay_cache::DynKeyValue;
use plugbay_core::{Result, SecretString};

use crate::clock::{DynClock, SystemClock};
use crate::jwt::{JwtConfig, JwtSigner, JwtVerifier};
use crate::keys::JwtKey;
use crate::refresh::{DEFAULT_REFRESH_TTL, RefreshTokenStore};
use crate::session::SessionStore;
use crate::traits::{IssuerCapabilities, TokenIssuer, TokenVerifier, VerifierCapabilities};
use crate::types::{Principal, Subject, TokenPair};

/// Self-hosted tokens: signs access tokens with a local [`JwtKey`], keeps
/// refresh-token families and sessions in a [`plugbay_cache::KeyValue`].
///
/// ```
/// # async fn demo(kv: plugbay_cache::DynKeyValue) -> plugbay_core::Result<()> {
/// use plugbay_auth::{JwtConfig, JwtKey, LocalJwt, Subject, TokenIssuer, TokenVerifier};
/// use plugbay_core::SecretString;
///
/// let key = JwtKey::hs256(&SecretString::from("a-32-byte-or-longer-secret-value!"))?;
/// let auth = LocalJwt::builder(JwtConfig::new("https://api.example", "example-api"), key, kv)
///     .session_check(true)
///     .build()?;
/// let pair = auth.issue(&Subject::new("user-1").scopes(["read"])).await?;
/// # use plugbay_core::ExposeSecret as _;
/// let who = auth.verify(pair.access_token.expose_secret()).await?;
/// assert!(who.has_scope("read"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LocalJwt {
    signer: JwtSigner,
    verifier: JwtVerifier,
    refresh: RefreshTokenStore,
    sessions: SessionStore,
    session_check: bool,
}

impl fmt::Debug for LocalJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalJwt")
            .field("signer", &self.signer)
            .field("refresh", &self.refresh)
            .field("session_check", &self.session_check)
            .finish_non_exhaustive()
    }
}

/// Builder for [`LocalJwt`].
#[derive(Debug)]
pub struct LocalJwtBuilder {
    config: JwtConfig,
    key: JwtKey,
    extra_keys: Vec<JwtKey>,
    kv: DynKeyValue,
    prefix: String,
    refresh_ttl: Duration,
    overlap: Duration,
    session_check: bool,
    clock: DynClock,
}

impl LocalJwt {
    /// Start building: `key` signs (and verifies) access tokens, `kv` holds
    /// refresh tokens and sessions.
    pub fn builder(config: JwtConfig, key: JwtKey, kv: DynKeyValue) -> LocalJwtBuilder {
        LocalJwtBuilder {
            config,
            key,
            extra_keys: Vec::new(),
            kv,
            prefix: "auth:".to_owned(),
            refresh_ttl: DEFAULT_REFRESH_TTL,
            overlap: crate::refresh::DEFAULT_REUSE_OVERLAP,
            session_check: false,
            clock: Arc::new(SystemClock),
        }
    }

    /// The session store (for logout pages, admin views).
    pub fn sessions(&self) -> &SessionStore {
        &self.sessions
    }

    /// The access-token verifier alone (share it with services that only
    /// verify).
    pub fn verifier(&self) -> &JwtVerifier {
        &self.verifier
    }
}

impl LocalJwtBuilder {
    /// Namespace for every stored key (default `auth:`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Refresh-token and session lifetime (default 30 days).
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// Window in which the immediately previous refresh token may be
    /// presented again without revoking its family (default 10 s,
    /// [`crate::DEFAULT_REUSE_OVERLAP`]; zero disables it).
    pub fn reuse_overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// Make `verify` also require the token's session to be alive, so
    /// logout takes effect before access tokens expire (default off: one
    /// store read per request).
    pub fn session_check(mut self, yes: bool) -> Self {
        self.session_check = yes;
        self
    }

    /// Also accept access tokens signed by `key` (rotation; needs a `kid`).
    pub fn verification_key(mut self, key: JwtKey) -> Self {
        self.extra_keys.push(key);
        self
    }

    /// Use `clock` everywhere (tests).
    pub fn clock(mut self, clock: DynClock) -> Self {
        self.clock = clock;
        self
    }

    /// Build; `Config` error for unusable settings or a key without its
    /// private half.
    pub fn build(self) -> Result<LocalJwt> {
        let sessions = SessionStore::new(self.kv.clone())
            .prefix(self.prefix.clone())
            .ttl(self.refresh_ttl)
            .clock(self.clock.clone());
        let refresh = RefreshTokenStore::new(self.kv, sessions.clone())
            .prefix(self.prefix)
            .ttl(self.refresh_ttl)
            .overlap(self.overlap)
            .clock(self.clock.clone());
        let signer =
            JwtSigner::new(self.config.clone(), self.key.clone())?.with_clock(self.clock.clone());
        let mut verifier = JwtVerifier::new(self.config, self.key)?.with_clock(self.clock);
        for key in self.extra_keys {
            verifier = verifier.with_key(key)?;
        }
        if self.session_check {
            verifier = verifier.with_session_check(sessions.clone());
        }
        Ok(LocalJwt {
            signer,
            verifier,
            refresh,
            sessions,
            session_check: self.session_check,
        })
    }
}

impl LocalJwt {
    fn pair(
        &self,
        access: SecretString,
        refresh: SecretString,
        refresh_ttl: Duration,
        session_id: String,
    ) -> TokenPair {
        TokenPair::new(
            access,
            refresh,
            self.signer.config().access_ttl,
            refresh_ttl,
            session_id,
        )
    }
}

#[async_trait]
impl TokenIssuer for LocalJwt {
    fn capabilities(&self) -> IssuerCapabilities {
        IssuerCapabilities::all()
    }

    async fn issue(&self, subject: &Subject) -> Result<TokenPair> {
        // The token needs the session id; an invalid subject fails at
        // signing, so drop the session just created.
        let session = self.sessions.create(&subject.id).await?;
        let (access, _) = match self.signer.sign(subject, &session.id) {
            Ok(signed) => signed,
            Err(e) => {
                self.sessions.destroy(&session.id).await?;
                return Err(e);
            }
        };
        let grant = self.refresh.start(subject, &session.id).await?;
        Ok(self.pair(access, grant.refresh_token, grant.expires_in, session.id))
    }

    async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenPair> {
        let grant = self.refresh.rotate(refresh_token).await?;
        let (access, _) = self.signer.sign(&grant.subject, &grant.session_id)?;
        Ok(self.pair(
            access,
            grant.refresh_token,
            grant.expires_in,
            grant.session_id,
        ))
    }

    async fn revoke(&self, refresh_token: &SecretString) -> Result<()> {
        self.refresh.revoke(refresh_token).await
    }

    async fn revoke_all(&self, subject: &str) -> Result<()> {
        self.sessions.destroy_all(subject).await
    }
}

#[async_trait]
impl TokenVerifier for LocalJwt {
    fn capabilities(&self) -> VerifierCapabilities {
        self.verifier.capabilities()
    }

    async fn verify(&self, token: &str) -> Result<Principal> {
        self.verifier.verify(token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::test_kv::RecordingKeyValue;
    use plugbay_cache::InMemoryKeyValue;
    use plugbay_core::{ErrorKind, ExposeSecret as _};

    const SECRET: &str = "test-only-hs256-secret-0123456789abcdef";

    fn builder(kv: DynKeyValue) -> LocalJwtBuilder {
        let key = JwtKey::hs256(&SecretString::from(SECRET)).unwrap();
        LocalJwt::builder(JwtConfig::new("https://issuer.test", "api"), key, kv)
    }

    fn auth() -> LocalJwt {
        builder(InMemoryKeyValue::new().into_dyn()).build().unwrap()
    }

    fn user() -> Subject {
        Subject::new("user-1").scopes(["read"]).roles(["admin"])
    }

    #[tokio::test]
    async fn conformance_suite_passes_without_and_with_session_check() {
        let a = auth();
        crate::conformance::run_all(&a, &a).await;
        let checked = builder(InMemoryKeyValue::new().into_dyn())
            .session_check(true)
            .build()
            .unwrap();
        assert!(TokenVerifier::capabilities(&checked).session_check);
        crate::conformance::run_all(&checked, &checked).await;
    }

    #[tokio::test]
    async fn rotation_retires_the_old_token() {
        let a = auth();
        let first = a.issue(&user()).await.unwrap();
        let second = a.refresh(&first.refresh_token).await.unwrap();
        let third = a.refresh(&second.refresh_token).await.unwrap();
        assert_eq!(third.session_id, first.session_id);
        let p = a.verify(third.access_token.expose_secret()).await.unwrap();
        assert!(p.has_scope("read") && p.has_role("admin"));
    }

    #[tokio::test]
    async fn reuse_revokes_the_family_including_the_newest_token() {
        let a = builder(InMemoryKeyValue::new().into_dyn())
            .session_check(true)
            .build()
            .unwrap();
        let first = a.issue(&user()).await.unwrap();
        let second = a.refresh(&first.refresh_token).await.unwrap();
        let third = a.refresh(&second.refresh_token).await.unwrap();
        let err = a.refresh(&first.refresh_token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.message().contains("already used"), "{err}");
        let err = a.refresh(&third.refresh_token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        let err = a
            .verify(third.access_token.expose_secret())
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Unauthenticated,
            "session destroyed with the family"
        );
        assert!(a.sessions().get(&first.session_id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn concurrent_refreshes_with_one_token_have_exactly_one_winner() {
        let kv = Arc::new(RecordingKeyValue::yielding());
        let a = Arc::new(builder(kv).reuse_overlap(Duration::ZERO).build().unwrap());
        let first = a.issue(&user()).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (a, token) = (a.clone(), first.refresh_token.clone());
            tasks.spawn(async move { a.refresh(&token).await });
        }
        let results: Vec<_> = tasks.join_all().await;
        let winners: Vec<&TokenPair> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert!(
            winners.len() <= 1,
            "two concurrent refreshes both succeeded"
        );
        let losers = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .collect::<Vec<_>>();
        assert!(losers.len() >= 3);
        for err in losers {
            assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        }
        // The losers presented a used token: with no overlap window that is
        // reuse, so the family dies, including any winner's new token (a
        // winner still in flight when the family is revoked fails instead).
        for winner in winners {
            let err = a.refresh(&winner.refresh_token).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        }
        assert!(a.sessions().get(&first.session_id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn sequential_duplicate_refresh_has_one_winner_then_revokes() {
        let a = builder(InMemoryKeyValue::new().into_dyn())
            .reuse_overlap(Duration::ZERO)
            .build()
            .unwrap();
        let first = a.issue(&user()).await.unwrap();
        let (r1, r2) = (
            a.refresh(&first.refresh_token).await,
            a.refresh(&first.refresh_token).await,
        );
        assert!(r1.is_ok());
        assert_eq!(r2.unwrap_err().kind(), ErrorKind::Unauthenticated);
        assert!(a.refresh(&r1.unwrap().refresh_token).await.is_err());
    }

    #[tokio::test]
    async fn overlap_window_tolerates_a_retry_but_not_a_late_reuse() {
        let clock = ManualClock::default();
        let a = builder(InMemoryKeyValue::new().into_dyn())
            .reuse_overlap(Duration::from_secs(5))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap();
        let first = a.issue(&user()).await.unwrap();
        let second = a.refresh(&first.refresh_token).await.unwrap();
        clock.advance(Duration::from_secs(3));
        let retry = a.refresh(&first.refresh_token).await.unwrap();
        assert_eq!(
            retry.session_id, first.session_id,
            "same family and session"
        );
        assert_ne!(
            retry.refresh_token.expose_secret(),
            second.refresh_token.expose_secret()
        );
        a.refresh(&second.refresh_token).await.unwrap();
        clock.advance(Duration::from_secs(3));
        let err = a.refresh(&first.refresh_token).await.unwrap_err();
        assert!(err.message().contains("already used"), "{err}");
        let err = a.refresh(&retry.refresh_token).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Unauthenticated,
            "family revoked after the window"
        );
    }

    #[tokio::test]
    async fn default_overlap_covers_only_the_immediately_previous_token() {
        let a = builder(InMemoryKeyValue::new().into_dyn())
            .session_check(true)
            .build()
            .unwrap();
        let first = a.issue(&user()).await.unwrap();
        let second = a.refresh(&first.refresh_token).await.unwrap();
        // A retried refresh (lost response) right away is tolerated.
        let retry = a.refresh(&first.refresh_token).await.unwrap();
        assert_eq!(retry.session_id, first.session_id);
        let third = a.refresh(&second.refresh_token).await.unwrap();
        // `first` is now two rotations old: reuse, even inside the window.
        let err = a.refresh(&first.refresh_token).await.unwrap_err();
        assert!(err.message().contains("already used"), "{err}");
        for pair in [&third, &retry] {
            assert_eq!(
                a.refresh(&pair.refresh_token).await.unwrap_err().kind(),
                ErrorKind::Unauthenticated
            );
        }
        assert!(a.verify(third.access_token.expose_secret()).await.is_err());
    }

    #[tokio::test]
    async fn refresh_tokens_expire() {
        let clock = ManualClock::default();
        let a = builder(InMemoryKeyValue::new().into_dyn())
            .refresh_ttl(Duration::from_secs(3600))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap();
        let first = a.issue(&user()).await.unwrap();
        assert_eq!(first.refresh_expires_in, Duration::from_secs(3600));
        clock.advance(Duration::from_secs(3000));
        let second = a.refresh(&first.refresh_token).await.unwrap();
        clock.advance(Duration::from_secs(3000));
        // Sliding lifetime: the rotated token is good for another hour.
        let third = a.refresh(&second.refresh_token).await.unwrap();
        clock.advance(Duration::from_secs(3601));
        let err = a.refresh(&third.refresh_token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.message().contains("expired"), "{err}");
    }

    #[tokio::test]
    async fn access_tokens_expire_on_the_injected_clock() {
        let clock = ManualClock::default();
        let a = builder(InMemoryKeyValue::new().into_dyn())
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap();
        let pair = a.issue(&user()).await.unwrap();
        assert!(a.verify(pair.access_token.expose_secret()).await.is_ok());
        clock.advance(Duration::from_secs(15 * 60 + 11));
        let err = a
            .verify(pair.access_token.expose_secret())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert_eq!(err.message(), "token expired");
    }

    #[tokio::test]
    async fn store_holds_hashes_never_plaintext_tokens() {
        let kv = Arc::new(RecordingKeyValue::default());
        let a = builder(kv.clone()).build().unwrap();
        let mut secrets = Vec::new();
        let first = a.issue(&user()).await.unwrap();
        let second = a.refresh(&first.refresh_token).await.unwrap();
        let _ = a.refresh(&first.refresh_token).await; // reuse path writes too
        for pair in [&first, &second] {
            secrets.push(pair.refresh_token.expose_secret().to_owned());
            secrets.push(pair.access_token.expose_secret().to_owned());
        }
        let writes = kv.writes();
        assert!(
            writes.iter().any(|(k, _)| k.starts_with("auth:rt:")),
            "tokens were stored"
        );
        for (key, value) in writes {
            let value = String::from_utf8_lossy(&value);
            for secret in &secrets {
                assert!(
                    !key.contains(secret.as_str()),
                    "plaintext token in key {key}"
                );
                assert!(
                    !value.contains(secret.as_str()),
                    "plaintext token under {key}"
                );
            }
        }
    }

    #[tokio::test]
    async fn revoke_all_logs_out_everywhere_but_not_others() {
        let a = builder(InMemoryKeyValue::new().into_dyn())
            .session_check(true)
            .build()
            .unwrap();
        let p1 = a.issue(&user()).await.unwrap();
        let p2 = a.issue(&user()).await.unwrap();
        let other = a.issue(&Subject::new("user-2")).await.unwrap();
        a.revoke_all("user-1").await.unwrap();
        for p in [&p1, &p2] {
            assert!(a.refresh(&p.refresh_token).await.is_err());
            assert!(a.verify(p.access_token.expose_secret()).await.is_err());
        }
        assert!(a.verify(other.access_token.expose_secret()).await.is_ok());
        assert!(a.refresh(&other.refresh_token).await.is_ok());
    }

    #[tokio::test]
    async fn invalid_subject_leaves_no_session_behind() {
        let kv = Arc::new(RecordingKeyValue::default());
        let a = builder(kv.clone()).build().unwrap();
        let err = a
            .issue(&Subject::new("u").claim("iss", serde_json::json!("evil")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        for (key, _) in kv.writes() {
            if let Some(id) = key.strip_prefix("auth:session:") {
                assert!(a.sessions().get(id).await.unwrap().is_none());
            }
            assert!(
                !key.starts_with("auth:rt"),
                "no refresh family for a failed issue"
            );
        }
    }

    #[test]
    fn verify_only_keys_cannot_build_an_issuer() {
        let public = include_bytes!("../tests/fixtures/rsa_public.pem");
        let key = JwtKey::public_pem(crate::JwtAlgorithm::RS256, public).unwrap();
        let err = LocalJwt::builder(
            JwtConfig::new("i", "a"),
            key,
            InMemoryKeyValue::new().into_dyn(),
        )
        .build()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
