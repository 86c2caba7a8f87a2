//! Conformance suite for [`TokenIssuer`] + [`TokenVerifier`] backends.
//!
//! Each scenario takes the issuer and the verifier that accepts its access
//! tokens (often the same object, as with [`crate::LocalJwt`]). Scenarios a
//! backend cannot run (by its capabilities) are skipped with a printed
//! reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use plugbay_core::{ErrorKind, ExposeSecret as _, SecretString};

use crate::traits::{TokenIssuer, TokenVerifier};
use crate::types::Subject;

fn subject(tag: &str) -> Subject {
    Subject::new(format!("conformance-{tag}"))
        .scopes(["read:items", "write:items"])
        .roles(["member"])
}

fn skip(scenario: &str, reason: &str) {
    println!("conformance: skipping {scenario}: {reason}");
}

/// Issue a pair and verify the access token: subject, scopes, roles and
/// session come back; the pair is a bearer pair with positive lifetimes.
pub async fn issue_then_verify(issuer: &dyn TokenIssuer, verifier: &dyn TokenVerifier) {
    let s = subject("issue");
    let pair = issuer.issue(&s).await.unwrap();
    assert_eq!(pair.token_type, "Bearer");
    assert!(!pair.expires_in.is_zero());
    assert_ne!(
        pair.access_token.expose_secret(),
        pair.refresh_token.expose_secret()
    );
    let p = verifier
        .verify(pair.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(p.subject, s.id);
    assert!(p.has_scope("read:items") && p.has_scope("write:items"));
    assert!(!p.has_scope("admin"));
    assert!(p.has_role("member"));
    assert_eq!(p.session_id.as_deref(), Some(pair.session_id.as_str()));
    let other = issuer.issue(&s).await.unwrap();
    assert_ne!(
        other.session_id, pair.session_id,
        "every login gets a new session"
    );
}

/// Refresh returns a new refresh token in the same session, and the new
/// access token verifies.
pub async fn refresh_rotates(issuer: &dyn TokenIssuer, verifier: &dyn TokenVerifier) {
    if !issuer.capabilities().rotation {
        return skip("refresh_rotates", "backend does not rotate refresh tokens");
    }
    let pair = issuer.issue(&subject("rotate")).await.unwrap();
    let next = issuer.refresh(&pair.refresh_token).await.unwrap();
    assert_ne!(
        next.refresh_token.expose_secret(),
        pair.refresh_token.expose_secret()
    );
    assert_eq!(next.session_id, pair.session_id);
    let p = verifier
        .verify(next.access_token.expose_secret())
        .await
        .unwrap();
    assert!(p.has_scope("read:items"), "scopes survive refresh");
    let third = issuer.refresh(&next.refresh_token).await.unwrap();
    assert_ne!(
        third.refresh_token.expose_secret(),
        next.refresh_token.expose_secret()
    );
}

/// Presenting a token two rotations old revokes the family: the reused
/// token fails and so does the newest one. (Two rotations, because a
/// backend may tolerate the immediately previous token for a short
/// overlap, as Auth0 does.)
pub async fn reuse_revokes_family(issuer: &dyn TokenIssuer, verifier: &dyn TokenVerifier) {
    if !issuer.capabilities().reuse_detection {
        return skip("reuse_revokes_family", "backend has no reuse detection");
    }
    let pair = issuer.issue(&subject("reuse")).await.unwrap();
    let middle = issuer.refresh(&pair.refresh_token).await.unwrap();
    let next = issuer.refresh(&middle.refresh_token).await.unwrap();
    let err = issuer.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let err = issuer.refresh(&next.refresh_token).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unauthenticated,
        "the newest token is revoked too"
    );
    if verifier.capabilities().session_check {
        let err = verifier
            .verify(next.access_token.expose_secret())
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Unauthenticated,
            "the session is revoked"
        );
    }
}

/// Revoke ends the family; revoking again or revoking junk is `Ok`.
pub async fn revoke(issuer: &dyn TokenIssuer, verifier: &dyn TokenVerifier) {
    if !issuer.capabilities().revoke {
        return skip("revoke", "backend cannot revoke");
    }
    let pair = issuer.issue(&subject("revoke")).await.unwrap();
    let keep = issuer.issue(&subject("revoke")).await.unwrap();
    issuer.revoke(&pair.refresh_token).await.unwrap();
    issuer.revoke(&pair.refresh_token).await.unwrap();
    issuer
        .revoke(&SecretString::from("not-a-token"))
        .await
        .unwrap();
    let err = issuer.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    issuer.refresh(&keep.refresh_token).await.unwrap();
    if verifier.capabilities().session_check {
        let err = verifier
            .verify(pair.access_token.expose_secret())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }
}

/// Revoke-all ends every session of one subject and no other.
pub async fn revoke_all(issuer: &dyn TokenIssuer, verifier: &dyn TokenVerifier) {
    if !issuer.capabilities().revoke_all {
        return skip("revoke_all", "backend cannot revoke all sessions");
    }
    let a = issuer.issue(&subject("all-a")).await.unwrap();
    let b = issuer.issue(&subject("all-a")).await.unwrap();
    let other = issuer.issue(&subject("all-b")).await.unwrap();
    issuer.revoke_all(&subject("all-a").id).await.unwrap();
    issuer.revoke_all("conformance-nobody").await.unwrap();
    for pair in [&a, &b] {
        let err = issuer.refresh(&pair.refresh_token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        if verifier.capabilities().session_check {
            let err = verifier
                .verify(pair.access_token.expose_secret())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        }
    }
    issuer.refresh(&other.refresh_token).await.unwrap();
    let fresh = issuer.issue(&subject("all-a")).await.unwrap();
    issuer.refresh(&fresh.refresh_token).await.unwrap();
}

/// Garbage access and refresh tokens are `Unauthenticated`, and the error
/// message never repeats the token.
pub async fn garbage_is_unauthenticated(issuer: &dyn TokenIssuer, verifier: &dyn TokenVerifier) {
    for junk in [
        "",
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",
        "x.y.z.w",
    ] {
        let err = verifier.verify(junk).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{junk:?}");
        if junk.len() > 3 {
            assert!(
                !err.to_string().contains(junk),
                "error echoes the token: {err}"
            );
        }
    }
    let err = issuer
        .refresh(&SecretString::from("garbage-refresh-token"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(!err.to_string().contains("garbage-refresh-token"));
    let err = issuer.issue(&Subject::new("")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// Run every scenario.
pub async fn run_all(issuer: &dyn TokenIssuer, verifier: &dyn TokenVerifier) {
    issue_then_verify(issuer, verifier).await;
    refresh_rotates(issuer, verifier).await;
    reuse_revokes_family(issuer, verifier).await;
    revoke(issuer, verifier).await;
    revoke_all(issuer, verifier).await;
    garbage_is_unauthenticated(issuer, verifier).await;
}

pub mod oauth;
