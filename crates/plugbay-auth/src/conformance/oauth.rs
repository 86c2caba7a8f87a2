//! Conformance suite for [`OAuthProvider`] backends.
//!
//! These scenarios need no provider-side login: they check the authorize
//! URL and every way a callback must be refused before a code is
//! redeemed, which is where login CSRF and code-injection attacks live.
//! A full round trip needs a code the provider recognises, so it takes a
//! `redeem` hook (see [`login_round_trip`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use plugbay_core::{ErrorKind, SecretString};
use url::Url;

use crate::login::{AuthorizeRequest, Callback};
use crate::pkce::challenge_s256;
use crate::traits::OAuthProvider;
use plugbay_core::ExposeSecret as _;

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The authorize URL asks for a code, carries the client id, the redirect
/// URI, the pending login's `state`, a PKCE S256 challenge matching the
/// pending verifier (when the provider does PKCE) and the nonce (OIDC).
pub async fn authorize_url_is_well_formed(provider: &dyn OAuthProvider) {
    let caps = provider.capabilities();
    let redirect = provider
        .authorize_url(
            AuthorizeRequest::new()
                .redirect_uri("http://localhost/conformance/callback")
                .return_to("/after"),
        )
        .await
        .unwrap();
    let url = &redirect.url;
    assert_eq!(
        query(url, "response_type").as_deref(),
        Some("code"),
        "{url}"
    );
    assert!(
        query(url, "client_id").is_some_and(|c| !c.is_empty()),
        "{url}"
    );
    assert_eq!(
        query(url, "redirect_uri").as_deref(),
        Some("http://localhost/conformance/callback")
    );
    assert_eq!(
        query(url, "state").as_deref(),
        Some(redirect.state.as_str())
    );
    assert_eq!(redirect.pending.state, redirect.state);
    assert_eq!(redirect.pending.provider, provider.id());
    assert_eq!(redirect.pending.return_to.as_deref(), Some("/after"));
    assert!(redirect.state.len() >= 16, "state must be unguessable");
    if caps.pkce {
        assert_eq!(query(url, "code_challenge_method").as_deref(), Some("S256"));
        let expected = challenge_s256(redirect.pending.pkce_verifier.expose_secret());
        assert_eq!(query(url, "code_challenge"), Some(expected));
    }
    if caps.oidc {
        let nonce = query(url, "nonce").expect("an OIDC provider sends a nonce");
        assert_eq!(redirect.pending.nonce.as_deref(), Some(nonce.as_str()));
    }
}

/// Two logins never share a `state`, a nonce or a PKCE verifier.
pub async fn logins_are_independent(provider: &dyn OAuthProvider) {
    let a = provider
        .authorize_url(AuthorizeRequest::new())
        .await
        .unwrap();
    let b = provider
        .authorize_url(AuthorizeRequest::new())
        .await
        .unwrap();
    assert_ne!(a.state, b.state);
    assert_ne!(
        a.pending.pkce_verifier.expose_secret(),
        b.pending.pkce_verifier.expose_secret()
    );
    if provider.capabilities().oidc {
        assert_ne!(a.pending.nonce, b.pending.nonce);
    }
}

/// A callback whose `state` is not the pending login's is refused as
/// `Unauthenticated` (login CSRF), before any code is redeemed.
pub async fn foreign_state_is_refused(provider: &dyn OAuthProvider) {
    let redirect = provider
        .authorize_url(AuthorizeRequest::new())
        .await
        .unwrap();
    let err = provider
        .exchange(
            Callback::new("some-code", "not-the-state"),
            redirect.pending,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
}

/// A callback without a code, or with the provider's `access_denied`
/// error, is refused with `Unauthenticated` / `PermissionDenied`.
pub async fn error_callbacks_are_refused(provider: &dyn OAuthProvider) {
    let redirect = provider
        .authorize_url(AuthorizeRequest::new())
        .await
        .unwrap();
    let denied = Callback::error(
        "access_denied",
        Some("the user said no".to_owned()),
        Some(redirect.state.clone()),
    );
    let err = provider
        .exchange(denied, redirect.pending.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");

    let no_code = Callback {
        state: Some(redirect.state.clone()),
        ..Callback::default()
    };
    let err = provider
        .exchange(no_code, redirect.pending)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
}

/// `refresh` is either supported (and rejects garbage as
/// `Unauthenticated`/`InvalidInput`) or answers `Unsupported`.
pub async fn refresh_matches_capabilities(provider: &dyn OAuthProvider) {
    let garbage = SecretString::from("conformance-not-a-refresh-token".to_owned());
    let err = provider.refresh(&garbage).await.unwrap_err();
    if provider.capabilities().refresh {
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Unauthenticated | ErrorKind::InvalidInput
            ),
            "{err}"
        );
    } else {
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }
}

/// A full login: `redeem` plays the user at the provider (it receives the
/// authorize URL and returns the code the provider issued); the exchange
/// then yields an identity of this provider, and the same code cannot be
/// redeemed twice.
pub async fn login_round_trip<F>(provider: &dyn OAuthProvider, redeem: F)
where
    F: Fn(&Url) -> String,
{
    let redirect = provider
        .authorize_url(AuthorizeRequest::new())
        .await
        .unwrap();
    let code = redeem(&redirect.url);
    let identity = provider
        .exchange(
            Callback::new(code.clone(), redirect.state.clone()),
            redirect.pending.clone(),
        )
        .await
        .unwrap();
    assert_eq!(identity.provider, provider.id());
    assert!(!identity.subject.is_empty());
    let err = provider
        .exchange(
            Callback::new(code, redirect.state.clone()),
            redirect.pending,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
}

/// Every scenario that needs no provider-side login.
pub async fn run_all(provider: &dyn OAuthProvider) {
    authorize_url_is_well_formed(provider).await;
    logins_are_independent(provider).await;
    foreign_state_is_refused(provider).await;
    error_callbacks_are_refused(provider).await;
    refresh_matches_capabilities(provider).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::Identity;
    use crate::mock::MockOAuthProvider;

    #[tokio::test]
    async fn mock_provider_passes_the_suite() {
        run_all(&MockOAuthProvider::new("mock")).await;
        run_all(&MockOAuthProvider::new("mock-plain").plain_oauth()).await;
    }

    #[tokio::test]
    async fn mock_provider_round_trip() {
        let mock = MockOAuthProvider::new("mock");
        let counter = std::sync::atomic::AtomicUsize::new(0);
        login_round_trip(&mock, |_url| {
            let code = format!(
                "code-{}",
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            );
            mock.add_code(code.clone(), Identity::new("", "user-7"));
            code
        })
        .await;
    }
}
