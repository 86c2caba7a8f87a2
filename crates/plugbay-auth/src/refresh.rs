//! Rotating refresh tokens with reuse detection, over a [`KeyValue`] store.
//!
//! Storage (all keys under a prefix, all with TTLs):
//! - `rt:{sha256}`: one record per token ever issued: family, subject,
//!   session, expiry. Only the SHA-256 of the token is stored, never the
//!   token, so a store dump cannot be replayed.
//! - `rtu:{sha256}`: the "rotated" marker, written with `set_if_absent` when
//!   the token is used. Exactly one concurrent refresh can write it: that
//!   one wins. A token whose marker exists has status *rotated*.
//! - `rtf:{family}`: the family (the subject to re-issue for, its session).
//!   Deleting it revokes every token of the family at once.
//!
//! Why a marker rather than `take` on the record: after a `take` the loser
//! of a race finds nothing and cannot tell reuse from an unknown token; with
//! the marker it knows the token was already used and revokes the family.
//!
//! Reuse of a rotated token is treated as theft: the family and its
//! session are revoked, so the newest token stops working as well. The one
//! exception is a short overlap window ([`DEFAULT_REUSE_OVERLAP`], 10 s) for
//! the *immediately previous* token, so a client that retries a refresh
//! whose response was lost is not logged out: such a token gets a new pair
//! in the same family (never the same successor: its plaintext was never
//! stored). A token two or more rotations old, or presented after the
//! window, always revokes the family.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use plugbay_cache::{DynKeyValue, KeyValue};
use plugbay_core::{Error, ErrorKind, ExposeSecret as _, Result, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::{DynClock, SystemClock, from_unix_millis, unix_millis};
use crate::crypto::{random_token, sha256_b64};
use crate::session::SessionStore;
use crate::types::Subject;

/// Default overlap during which the immediately previous refresh token may
/// be presented again (a lost response retried) without revoking the family.
pub const DEFAULT_REUSE_OVERLAP: Duration = Duration::from_secs(10);

/// Default refresh-token lifetime: 30 days.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Refresh tokens are 256 random bits: 43 base64url characters.
const TOKEN_BYTES: usize = 32;
const TOKEN_CHARS: usize = 43;

/// The outcome of starting or rotating a family.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefreshGrant {
    /// The new refresh token (hand to the client; never stored).
    pub refresh_token: SecretString,
    /// Lifetime of `refresh_token`.
    pub expires_in: Duration,
    /// The subject to issue the access token for.
    pub subject: Subject,
    /// The session the family belongs to.
    pub session_id: String,
    /// The family id (stable across rotations).
    pub family_id: String,
}

#[derive(Serialize, Deserialize)]
struct TokenRecord {
    family_id: String,
    subject: String,
    session_id: String,
    issued_at_ms: u64,
    expires_at_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct RotatedMarker {
    rotated_at_ms: u64,
    /// The hash of the token minted by this rotation, once known.
    #[serde(default)]
    successor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct FamilyRecord {
    subject: String,
    scopes: Vec<String>,
    roles: Vec<String>,
    claims: Map<String, Value>,
    session_id: String,
    created_at_ms: u64,
}

/// Refresh-token families in a [`KeyValue`] store.
#[derive(Clone)]
pub struct RefreshTokenStore {
    kv: DynKeyValue,
    sessions: SessionStore,
    prefix: String,
    ttl: Duration,
    overlap: Duration,
    clock: DynClock,
}

impl fmt::Debug for RefreshTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokenStore")
            .field("backend", &self.kv.backend())
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .field("overlap", &self.overlap)
            .finish_non_exhaustive()
    }
}

fn unauthenticated(reason: &'static str, message: &'static str) -> Error {
    Error::new(ErrorKind::Unauthenticated, message)
        .with_operation("refresh")
        .with_context("reason", reason)
}

impl RefreshTokenStore {
    /// Families in `kv`, tied to `sessions`; `auth:` prefix, 30-day tokens,
    /// a [`DEFAULT_REUSE_OVERLAP`] window for the immediately previous token.
    pub fn new(kv: DynKeyValue, sessions: SessionStore) -> RefreshTokenStore {
        RefreshTokenStore {
            kv,
            sessions,
            prefix: "auth:".to_owned(),
            ttl: DEFAULT_REFRESH_TTL,
            overlap: DEFAULT_REUSE_OVERLAP,
            clock: Arc::new(SystemClock),
        }
    }

    /// Set the key prefix (namespace).
    pub fn prefix(mut self, prefix: impl Into<String>) -> RefreshTokenStore {
        self.prefix = prefix.into();
        self
    }

    /// Set the lifetime of each refresh token (sliding: every rotation
    /// issues a token good for this long).
    pub fn ttl(mut self, ttl: Duration) -> RefreshTokenStore {
        self.ttl = ttl;
        self
    }

    /// Set the overlap window during which the immediately previous token
    /// may be presented again without revoking its family (zero disables it:
    /// then exactly one of several concurrent refreshes succeeds).
    pub fn overlap(mut self, overlap: Duration) -> RefreshTokenStore {
        self.overlap = overlap;
        self
    }

    /// Use `clock` for issue times and expiry.
    pub fn clock(mut self, clock: DynClock) -> RefreshTokenStore {
        self.clock = clock;
        self
    }

    /// The refresh-token lifetime.
    pub fn token_ttl(&self) -> Duration {
        self.ttl
    }

    /// The sessions the families belong to.
    pub fn sessions(&self) -> &SessionStore {
        &self.sessions
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// Start a new family for `subject` in session `session_id` and return
    /// its first token.
    pub async fn start(&self, subject: &Subject, session_id: &str) -> Result<RefreshGrant> {
        let family_id = random_token(16)?;
        let family = FamilyRecord {
            subject: subject.id.clone(),
            scopes: subject.scopes.iter().cloned().collect(),
            roles: subject.roles.iter().cloned().collect(),
            claims: subject.claims.clone(),
            session_id: session_id.to_owned(),
            created_at_ms: unix_millis(self.clock.now()),
        };
        self.kv
            .set(
                &self.key("rtf", &family_id),
                to_bytes(&family)?,
                Some(self.ttl),
            )
            .await?;
        self.mint(&family_id, family).await
    }

    /// Issue a new active token in `family_id`.
    async fn mint(&self, family_id: &str, family: FamilyRecord) -> Result<RefreshGrant> {
        let token = random_token(TOKEN_BYTES)?;
        let now = self.clock.now();
        let record = TokenRecord {
            family_id: family_id.to_owned(),
            subject: family.subject.clone(),
            session_id: family.session_id.clone(),
            issued_at_ms: unix_millis(now),
            expires_at_ms: unix_millis(now + self.ttl),
        };
        let hash = sha256_b64(token.as_bytes());
        let fresh = self
            .kv
            .set_if_absent(&self.key("rt", &hash), to_bytes(&record)?, Some(self.ttl))
            .await?;
        if !fresh {
            return Err(Error::internal("random refresh token collided"));
        }
        let subject = Subject {
            id: family.subject,
            scopes: family.scopes.into_iter().collect(),
            roles: family.roles.into_iter().collect(),
            claims: family.claims,
        };
        Ok(RefreshGrant {
            refresh_token: SecretString::from(token),
            expires_in: self.ttl,
            subject,
            session_id: family.session_id,
            family_id: family_id.to_owned(),
        })
    }

    async fn load_family(&self, family_id: &str) -> Result<Option<FamilyRecord>> {
        match self.kv.get(&self.key("rtf", family_id)).await? {
            None => Ok(None),
            Some(bytes) => Ok(Some(from_bytes(&bytes, "refresh family")?)),
        }
    }

    /// Exchange `token` for the next token of its family (see the module
    /// docs for the rules). `Unauthenticated` for unknown, expired, revoked
    /// or reused tokens.
    pub async fn rotate(&self, token: &SecretString) -> Result<RefreshGrant> {
        let hash = token_hash(token)
            .ok_or_else(|| unauthenticated("malformed", "refresh token is invalid or expired"))?;
        let record: TokenRecord = match self.kv.get(&self.key("rt", &hash)).await? {
            None => {
                return Err(unauthenticated(
                    "unknown",
                    "refresh token is invalid or expired",
                ));
            }
            Some(bytes) => from_bytes(&bytes, "refresh token record")?,
        };
        let now = self.clock.now();
        let expires_at = from_unix_millis(record.expires_at_ms);
        if expires_at <= now {
            return Err(unauthenticated("expired", "refresh token expired"));
        }
        let Some(family) = self.load_family(&record.family_id).await? else {
            return Err(unauthenticated("revoked", "refresh token was revoked"));
        };
        if self.sessions.get(&family.session_id).await?.is_none() {
            self.kv.delete(&self.key("rtf", &record.family_id)).await?;
            return Err(unauthenticated(
                "session_ended",
                "the session of this refresh token has ended",
            ));
        }

        let marker = RotatedMarker {
            rotated_at_ms: unix_millis(now),
            successor: None,
        };
        let remaining = expires_at
            .duration_since(now)
            .unwrap_or(Duration::from_secs(1));
        let won = self
            .kv
            .set_if_absent(&self.key("rtu", &hash), to_bytes(&marker)?, Some(remaining))
            .await?;
        if !won && !self.within_overlap(&hash, now).await? {
            tracing::warn!(
                family = %record.family_id,
                subject = %record.subject,
                "refresh token reuse detected; revoking the family and its session"
            );
            self.revoke_family(&record.family_id, &family.session_id)
                .await?;
            return Err(unauthenticated(
                "reuse",
                "refresh token was already used; the session has been revoked",
            ));
        }

        let session_id = family.session_id.clone();
        let grant = self.mint(&record.family_id, family).await?;
        if won && !self.overlap.is_zero() {
            // Remember the successor, so the overlap applies only while this
            // token is the immediately previous one.
            let marker = RotatedMarker {
                rotated_at_ms: marker.rotated_at_ms,
                successor: Some(sha256_b64(grant.refresh_token.expose_secret().as_bytes())),
            };
            self.kv
                .set(&self.key("rtu", &hash), to_bytes(&marker)?, Some(remaining))
                .await?;
        }
        // A revocation may have raced with this rotation: re-check so a
        // token minted into a revoked family is not handed out.
        if self.load_family(&record.family_id).await?.is_none() {
            let new_hash = sha256_b64(grant.refresh_token.expose_secret().as_bytes());
            self.kv.delete(&self.key("rt", &new_hash)).await?;
            return Err(unauthenticated("revoked", "refresh token was revoked"));
        }
        self.kv
            .expire(&self.key("rtf", &record.family_id), self.ttl)
            .await?;
        self.sessions.touch(&session_id).await?;
        Ok(grant)
    }

    async fn within_overlap(&self, hash: &str, now: SystemTime) -> Result<bool> {
        if self.overlap.is_zero() {
            return Ok(false);
        }
        let Some(bytes) = self.kv.get(&self.key("rtu", hash)).await? else {
            return Ok(false);
        };
        let marker: RotatedMarker = from_bytes(&bytes, "refresh rotation marker")?;
        let rotated_at = from_unix_millis(marker.rotated_at_ms);
        if now.duration_since(rotated_at).unwrap_or(Duration::ZERO) > self.overlap {
            return Ok(false);
        }
        // Only the immediately previous token: once its successor was
        // rotated in turn, presenting it is reuse.
        match marker.successor {
            None => Ok(true),
            Some(successor) => Ok(self.kv.get(&self.key("rtu", &successor)).await?.is_none()),
        }
    }

    async fn revoke_family(&self, family_id: &str, session_id: &str) -> Result<()> {
        self.kv.delete(&self.key("rtf", family_id)).await?;
        self.sessions.destroy(session_id).await?;
        Ok(())
    }

    /// Revoke the family and session of `token` (logout). Unknown tokens are
    /// `Ok`, so the answer does not reveal whether a token existed.
    pub async fn revoke(&self, token: &SecretString) -> Result<()> {
        let Some(hash) = token_hash(token) else {
            return Ok(());
        };
        let Some(bytes) = self.kv.get(&self.key("rt", &hash)).await? else {
            return Ok(());
        };
        let record: TokenRecord = from_bytes(&bytes, "refresh token record")?;
        self.revoke_family(&record.family_id, &record.session_id)
            .await?;
        self.kv.delete(&self.key("rt", &hash)).await?;
        Ok(())
    }
}

/// The storage hash of a well-formed token; `None` for anything that cannot
/// be one of ours (checked before hashing so junk never reaches the store).
fn token_hash(token: &SecretString) -> Option<String> {
    let token = token.expose_secret();
    let ok = token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    ok.then(|| sha256_b64(token.as_bytes()))
}

fn to_bytes<T: Serialize>(value: &T) -> Result<Bytes> {
    Ok(Bytes::from(serde_json::to_vec(value)?))
}

fn from_bytes<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &'static str) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::internal(format!("stored {what} is corrupt")).with_source(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugbay_cache::InMemoryKeyValue;

    fn store(kv: DynKeyValue) -> RefreshTokenStore {
        RefreshTokenStore::new(kv.clone(), SessionStore::new(kv))
    }

    #[test]
    fn only_well_formed_tokens_are_hashed() {
        let good = random_token(TOKEN_BYTES).unwrap();
        assert_eq!(
            token_hash(&SecretString::from(good.clone())),
            Some(sha256_b64(good.as_bytes()))
        );
        for bad in [
            "",
            "short",
            &format!("{good}x"),
            &format!("{}!", &good[..42]),
        ] {
            assert!(
                token_hash(&SecretString::from(bad.to_owned())).is_none(),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn family_keeps_the_subject_for_reissue() {
        let kv = InMemoryKeyValue::new().into_dyn();
        let s = store(kv.clone());
        let session = s.sessions().create("u1").await.unwrap();
        let subject = Subject::new("u1")
            .scopes(["a"])
            .roles(["r"])
            .claim("tenant", "t1".into());
        let first = s.start(&subject, &session.id).await.unwrap();
        let next = s.rotate(&first.refresh_token).await.unwrap();
        assert_eq!(next.subject, subject);
        assert_eq!(next.family_id, first.family_id);
        assert_eq!(next.session_id, session.id);
    }

    #[tokio::test]
    async fn corrupt_records_are_internal_and_unknown_tokens_unauthenticated() {
        let kv = InMemoryKeyValue::new().into_dyn();
        let s = store(kv.clone());
        let token = SecretString::from(random_token(TOKEN_BYTES).unwrap());
        let err = s.rotate(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        s.revoke(&token).await.unwrap();
        let hash = token_hash(&token).unwrap();
        kv.set(&format!("auth:rt:{hash}"), Bytes::from_static(b"{"), None)
            .await
            .unwrap();
        assert_eq!(
            s.rotate(&token).await.unwrap_err().kind(),
            ErrorKind::Internal
        );
    }

    #[tokio::test]
    async fn prefix_namespaces_every_key() {
        let kv = InMemoryKeyValue::new().into_dyn();
        let sessions = SessionStore::new(kv.clone()).prefix("app1:");
        let s = RefreshTokenStore::new(kv.clone(), sessions.clone()).prefix("app1:");
        let session = sessions.create("u").await.unwrap();
        let grant = s.start(&Subject::new("u"), &session.id).await.unwrap();
        let hash = token_hash(&grant.refresh_token).unwrap();
        assert!(kv.get(&format!("app1:rt:{hash}")).await.unwrap().is_some());
        assert!(kv.get(&format!("auth:rt:{hash}")).await.unwrap().is_none());
        assert!(
            kv.get(&format!("app1:rtf:{}", grant.family_id))
                .await
                .unwrap()
                .is_some()
        );
    }
}
