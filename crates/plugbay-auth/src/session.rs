//! Login sessions over a [`KeyValue`] store.
//!
//! A session is created at every login (a fresh random id, so a session id
//! known before login is useless after it: no fixation). Refresh-token
//! families belong to a session; destroying the session ends the family.
//! "Log out everywhere" bumps a per-subject epoch counter with one atomic
//! `incr`, which invalidates every older session without listing them.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use plugbay_cache::{DynKeyValue, KeyValue};
use plugbay_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::clock::{DynClock, SystemClock, from_unix_millis, unix_millis};
use crate::crypto::random_token;

/// Default session lifetime: 30 days, the default refresh-token lifetime.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A live login session.
///
/// The id is an identifier, not a credential: it travels inside access
/// tokens (`sid`), which anyone holding the token can read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Session {
    /// Random 256-bit id, base64url.
    pub id: String,
    /// The subject that logged in.
    pub subject: String,
    /// When the session started.
    pub created_at: SystemTime,
    /// Last refresh or touch.
    pub last_seen: SystemTime,
    /// When it ends unless touched.
    pub expires_at: SystemTime,
}

#[derive(Serialize, Deserialize)]
struct StoredSession {
    subject: String,
    created_at_ms: u64,
    last_seen_ms: u64,
    expires_at_ms: u64,
    epoch: i64,
}

/// Sessions in a [`KeyValue`] store under `{prefix}session:{id}`, with a
/// per-subject epoch under `{prefix}epoch:{subject}`.
#[derive(Clone)]
pub struct SessionStore {
    kv: DynKeyValue,
    prefix: String,
    ttl: Duration,
    clock: DynClock,
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStore")
            .field("backend", &self.kv.backend())
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SessionStore {
    /// Sessions in `kv` with the `auth:` prefix and a 30-day lifetime.
    pub fn new(kv: DynKeyValue) -> SessionStore {
        SessionStore {
            kv,
            prefix: "auth:".to_owned(),
            ttl: DEFAULT_SESSION_TTL,
            clock: Arc::new(SystemClock),
        }
    }

    /// Set the key prefix (namespace), e.g. `"myapp:auth:"`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> SessionStore {
        self.prefix = prefix.into();
        self
    }

    /// Set the lifetime, extended by every [`SessionStore::touch`].
    pub fn ttl(mut self, ttl: Duration) -> SessionStore {
        self.ttl = ttl;
        self
    }

    /// Use `clock` for timestamps and expiry.
    pub fn clock(mut self, clock: DynClock) -> SessionStore {
        self.clock = clock;
        self
    }

    /// The lifetime in use.
    pub fn session_ttl(&self) -> Duration {
        self.ttl
    }

    fn session_key(&self, id: &str) -> String {
        format!("{}session:{id}", self.prefix)
    }

    fn epoch_key(&self, subject: &str) -> String {
        format!("{}epoch:{subject}", self.prefix)
    }

    async fn epoch(&self, subject: &str) -> Result<i64> {
        // Counters are decimal text (Redis INCR semantics); absent means 0,
        // so no key is written until a subject first logs out everywhere.
        match self.kv.get(&self.epoch_key(subject)).await? {
            None => Ok(0),
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| Error::internal("stored session epoch is not an integer")),
        }
    }

    /// Start a new session for `subject` with a fresh random id.
    pub async fn create(&self, subject: &str) -> Result<Session> {
        if subject.is_empty() {
            return Err(Error::invalid_input("session subject must not be empty"));
        }
        let now = self.clock.now();
        let id = random_token(32)?;
        let stored = StoredSession {
            subject: subject.to_owned(),
            created_at_ms: unix_millis(now),
            last_seen_ms: unix_millis(now),
            expires_at_ms: unix_millis(now + self.ttl),
            epoch: self.epoch(subject).await?,
        };
        let created = self
            .kv
            .set_if_absent(&self.session_key(&id), encode(&stored)?, Some(self.ttl))
            .await?;
        if !created {
            return Err(Error::internal("random session id collided"));
        }
        Ok(to_session(id, stored))
    }

    async fn load(&self, id: &str) -> Result<Option<StoredSession>> {
        let Some(bytes) = self.kv.get(&self.session_key(id)).await? else {
            return Ok(None);
        };
        let stored: StoredSession = serde_json::from_slice(&bytes)
            .map_err(|e| Error::internal("stored session is corrupt").with_source(e))?;
        if from_unix_millis(stored.expires_at_ms) <= self.clock.now() {
            return Ok(None);
        }
        if stored.epoch != self.epoch(&stored.subject).await? {
            return Ok(None);
        }
        Ok(Some(stored))
    }

    /// The session `id` if it is alive: present, not expired, not ended by
    /// [`SessionStore::destroy_all`].
    pub async fn get(&self, id: &str) -> Result<Option<Session>> {
        Ok(self.load(id).await?.map(|s| to_session(id.to_owned(), s)))
    }

    /// Record activity: `last_seen` becomes now and the lifetime restarts.
    /// `None` if the session is not alive.
    pub async fn touch(&self, id: &str) -> Result<Option<Session>> {
        let Some(mut stored) = self.load(id).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        stored.last_seen_ms = unix_millis(now);
        stored.expires_at_ms = unix_millis(now + self.ttl);
        self.kv
            .set(&self.session_key(id), encode(&stored)?, Some(self.ttl))
            .await?;
        Ok(Some(to_session(id.to_owned(), stored)))
    }

    /// End session `id`; `true` if it existed.
    pub async fn destroy(&self, id: &str) -> Result<bool> {
        self.kv.delete(&self.session_key(id)).await
    }

    /// End every session of `subject` ("log out everywhere"), including
    /// ones being created concurrently.
    pub async fn destroy_all(&self, subject: &str) -> Result<()> {
        self.kv
            .incr(&self.epoch_key(subject), 1, None)
            .await
            .map(|_| ())
    }
}

fn encode(stored: &StoredSession) -> Result<Bytes> {
    Ok(Bytes::from(serde_json::to_vec(stored)?))
}

fn to_session(id: String, s: StoredSession) -> Session {
    Session {
        id,
        subject: s.subject,
        created_at: from_unix_millis(s.created_at_ms),
        last_seen: from_unix_millis(s.last_seen_ms),
        expires_at: from_unix_millis(s.expires_at_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use plugbay_cache::InMemoryKeyValue;

    fn store() -> (SessionStore, ManualClock) {
        let clock = ManualClock::default();
        let s = SessionStore::new(InMemoryKeyValue::new().into_dyn())
            .ttl(Duration::from_secs(60))
            .clock(Arc::new(clock.clone()));
        (s, clock)
    }

    #[tokio::test]
    async fn create_get_destroy() {
        let (s, _) = store();
        let a = s.create("u1").await.unwrap();
        let b = s.create("u1").await.unwrap();
        assert_ne!(a.id, b.id, "every login gets a new id");
        assert_eq!(s.get(&a.id).await.unwrap().unwrap().subject, "u1");
        assert!(s.destroy(&a.id).await.unwrap());
        assert!(s.get(&a.id).await.unwrap().is_none());
        assert!(s.get(&b.id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn destroy_all_ends_every_session_of_the_subject_only() {
        let (s, _) = store();
        let a = s.create("u1").await.unwrap();
        let b = s.create("u1").await.unwrap();
        let other = s.create("u2").await.unwrap();
        s.destroy_all("u1").await.unwrap();
        assert!(s.get(&a.id).await.unwrap().is_none());
        assert!(s.get(&b.id).await.unwrap().is_none());
        assert!(s.get(&other.id).await.unwrap().is_some());
        let fresh = s.create("u1").await.unwrap();
        assert!(
            s.get(&fresh.id).await.unwrap().is_some(),
            "logging in again works"
        );
    }

    #[tokio::test]
    async fn sessions_expire_and_touch_extends_them() {
        let (s, clock) = store();
        let a = s.create("u1").await.unwrap();
        clock.advance(Duration::from_secs(45));
        let touched = s.touch(&a.id).await.unwrap().unwrap();
        assert!(touched.last_seen > a.last_seen);
        clock.advance(Duration::from_secs(45));
        assert!(
            s.get(&a.id).await.unwrap().is_some(),
            "touch restarted the lifetime"
        );
        clock.advance(Duration::from_secs(61));
        assert!(s.get(&a.id).await.unwrap().is_none());
        assert!(s.touch(&a.id).await.unwrap().is_none());
    }
}
