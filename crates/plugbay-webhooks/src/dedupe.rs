//! Replay protection: [`ReplayGuard`] records each event id once in a
//! [`plugbay_cache::KeyValue`] store; [`VerifiedWebhooks`] verifies and
//! dedupes in one call.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderMap;
use plugbay_cache::DynKeyValue;
use plugbay_core::{Error, ErrorKind, Result};

use crate::verifier::{DynWebhookVerifier, VerifiedEvent};

/// How long an event id is remembered by default: seven days, longer than
/// any provider keeps retrying (Stripe retries for up to three days).
pub const DEFAULT_REPLAY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Records event ids in a [`plugbay_cache::KeyValue`] store and rejects an
/// id seen before.
///
/// Keys are `"{prefix}{provider}:{event_id}"` (prefix `webhook:` by
/// default), written with `set_if_absent` and a TTL, so of several
/// concurrent deliveries of one event exactly one is accepted, across every
/// process sharing the store.
///
/// Record an event before acting on it. If handling then fails and you want
/// the provider's retry to be processed, call [`ReplayGuard::forget`].
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    kv: DynKeyValue,
    ttl: Duration,
    prefix: String,
}

impl ReplayGuard {
    /// A guard over `kv` with the default TTL and prefix.
    pub fn new(kv: DynKeyValue) -> ReplayGuard {
        ReplayGuard {
            kv,
            ttl: DEFAULT_REPLAY_TTL,
            prefix: "webhook:".to_owned(),
        }
    }

    /// Remember ids for `ttl` (default [`DEFAULT_REPLAY_TTL`]).
    pub fn ttl(mut self, ttl: Duration) -> ReplayGuard {
        self.ttl = ttl;
        self
    }

    /// Namespace keys with `prefix` (default `"webhook:"`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> ReplayGuard {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, provider: &str, id: &str) -> String {
        format!("{}{provider}:{id}", self.prefix)
    }

    /// Record `event`; `AlreadyExists` if its id was recorded before (a
    /// replay or a redelivery). Store failures pass through unchanged.
    pub async fn check_and_record(&self, event: &VerifiedEvent) -> Result<()> {
        self.check_and_record_key(&event.provider, &event.event_id)
            .await
    }

    /// Record an arbitrary `(provider, id)` pair, for schemes that batch
    /// several events in one delivery (Auth0 log streams): dedupe each
    /// item on its own id. `AlreadyExists` for an id seen before.
    pub async fn check_and_record_key(&self, provider: &str, id: &str) -> Result<()> {
        let key = self.key(provider, id);
        let fresh = self
            .kv
            .set_if_absent(&key, Bytes::from_static(b"1"), Some(self.ttl))
            .await?;
        if fresh {
            Ok(())
        } else {
            Err(
                Error::new(ErrorKind::AlreadyExists, "webhook event already received")
                    .with_provider(provider.to_owned())
                    .with_operation("dedupe")
                    .with_context("event_id", id),
            )
        }
    }

    /// Forget `event`, so a redelivery is accepted again (after a handler
    /// failed). `true` if it was recorded.
    pub async fn forget(&self, event: &VerifiedEvent) -> Result<bool> {
        self.kv
            .delete(&self.key(&event.provider, &event.event_id))
            .await
    }
}

/// A verifier and a replay guard together: what a webhook endpoint calls.
///
/// [`VerifiedWebhooks::accept`] verifies first, so forged requests never
/// touch the store, then records the event id.
#[derive(Debug, Clone)]
pub struct VerifiedWebhooks {
    verifier: DynWebhookVerifier,
    guard: ReplayGuard,
}

impl VerifiedWebhooks {
    /// Combine `verifier` and `guard`.
    pub fn new(verifier: DynWebhookVerifier, guard: ReplayGuard) -> VerifiedWebhooks {
        VerifiedWebhooks { verifier, guard }
    }

    /// The verifier.
    pub fn verifier(&self) -> &DynWebhookVerifier {
        &self.verifier
    }

    /// The replay guard.
    pub fn guard(&self) -> &ReplayGuard {
        &self.guard
    }

    /// Verify the delivery and record its id. `Unauthenticated` /
    /// `InvalidInput` from the verifier, `AlreadyExists` for a replay.
    ///
    /// Failed verifications and replays are also logged as security events
    /// (`tracing` target `security`, `WARN`), with the provider and our own
    /// error message only: never a header or the body.
    pub async fn accept(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<VerifiedEvent> {
        let provider = self.verifier.provider();
        let event = self
            .verifier
            .verify(headers, body, now)
            .inspect_err(|err| {
                if err.kind() == ErrorKind::Unauthenticated {
                    tracing::warn!(
                        target: "security",
                        kind = "webhook.verification_failed",
                        provider,
                        reason = err.message(),
                        "webhook rejected"
                    );
                }
            })?;
        self.guard
            .check_and_record(&event)
            .await
            .inspect_err(|err| {
                if err.kind() == ErrorKind::AlreadyExists {
                    tracing::warn!(
                        target: "security",
                        kind = "webhook.replay",
                        provider,
                        event_id = %event.event_id,
                        "webhook replay rejected"
                    );
                }
            })?;
        Ok(event)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::conformance::signers::{StripeSigner, WebhookSigner};
    use crate::conformance::verifier::{SAMPLE_BODY, SIGNED_AT_SECS};
    use crate::stripe::StripeVerifier;
    use plugbay_cache::KeyValue;
    use plugbay_core::SecretString;
    use std::sync::Arc;
    use std::time::UNIX_EPOCH;

    fn kv() -> DynKeyValue {
        Arc::new(plugbay_cache::InMemoryKeyValue::new())
    }

    fn webhooks(kv: DynKeyValue) -> VerifiedWebhooks {
        let verifier = Arc::new(StripeVerifier::new(SecretString::from("whsec_dedupe")));
        VerifiedWebhooks::new(verifier, ReplayGuard::new(kv))
    }

    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(SIGNED_AT_SECS)
    }

    #[tokio::test]
    async fn replay_is_rejected_and_forget_allows_it_again() {
        let kv = kv();
        let hooks = webhooks(kv.clone());
        let headers = StripeSigner::new("whsec_dedupe").sign(SAMPLE_BODY, at());
        let event = hooks.accept(&headers, SAMPLE_BODY, at()).await.unwrap();
        assert_eq!(event.event_id, "evt_conformance");
        assert!(
            kv.get("webhook:stripe:evt_conformance")
                .await
                .unwrap()
                .is_some()
        );
        let err = hooks.accept(&headers, SAMPLE_BODY, at()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(hooks.guard().forget(&event).await.unwrap());
        assert!(hooks.accept(&headers, SAMPLE_BODY, at()).await.is_ok());
    }

    #[tokio::test]
    async fn forged_requests_never_touch_the_store() {
        let kv = kv();
        let hooks = webhooks(kv.clone());
        let headers = StripeSigner::new("whsec_other").sign(SAMPLE_BODY, at());
        let err = hooks.accept(&headers, SAMPLE_BODY, at()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(
            kv.get("webhook:stripe:evt_conformance")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_duplicates_accept_exactly_one() {
        let hooks = webhooks(kv());
        let headers = StripeSigner::new("whsec_dedupe").sign(SAMPLE_BODY, at());
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let hooks = hooks.clone();
                let headers = headers.clone();
                tokio::spawn(async move { hooks.accept(&headers, SAMPLE_BODY, at()).await })
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => accepted += 1,
                Err(err) => assert_eq!(err.kind(), ErrorKind::AlreadyExists),
            }
        }
        assert_eq!(accepted, 1);
    }

    #[tokio::test]
    async fn keys_are_namespaced_per_provider_and_prefix() {
        let kv = kv();
        let guard = ReplayGuard::new(kv.clone())
            .prefix("hooks/")
            .ttl(Duration::from_secs(60));
        guard.check_and_record_key("a", "1").await.unwrap();
        guard.check_and_record_key("b", "1").await.unwrap();
        let err = guard.check_and_record_key("a", "1").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(kv.get("hooks/a:1").await.unwrap().is_some());
    }
}
