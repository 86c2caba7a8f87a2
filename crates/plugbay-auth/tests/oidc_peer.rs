//! The whole login flow against a real OpenID Connect provider
//! (`oidc-provider-mock`, started by `scripts/peers.d/oidc.sh`, address in
//! `PLUGBAY_TEST_OIDC_ISSUER`): discovery, authorize URL with PKCE / state /
//! nonce, the provider's consent form driven with reqwest, code exchange,
//! ID-token verification against the provider's JWKS, then a local session
//! and refresh-token family, in the real Redis (`PLUGBAY_TEST_REDIS_URL`,
//! feature `redis`) or in memory otherwise, with refresh, rotation and
//! reuse detection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use plugbay_auth::{
    AuthorizeRequest, Callback, JwtConfig, JwtKey, LocalJwt, OAuthProvider, OidcConfig,
    OidcProvider, PendingLoginStore, SocialLogin, TokenIssuer, TokenVerifier,
};
use plugbay_cache::DynKeyValue;
use plugbay_core::{ErrorKind, ExposeSecret as _, SecretString};
use url::Url;

fn peer() -> Option<String> {
    match std::env::var("PLUGBAY_TEST_OIDC_ISSUER") {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "PLUGBAY_TEST_OIDC_ISSUER is not set: start the peer with scripts/peers.d/oidc.sh"
            )
        }
        _ => {
            println!("skipping: PLUGBAY_TEST_OIDC_ISSUER is not set (scripts/peers.d/oidc.sh)");
            None
        }
    }
}

/// The store for sessions and refresh families: Redis when available.
fn store() -> (DynKeyValue, &'static str) {
    #[cfg(feature = "redis")]
    {
        match std::env::var("PLUGBAY_TEST_REDIS_URL") {
            Ok(url) if !url.is_empty() => {
                let prefix = format!("plugbay-auth-test-{}:", std::process::id());
                let kv = plugbay_cache::redis::RedisKeyValue::builder()
                    .url(url)
                    .key_prefix(prefix)
                    .build()
                    .unwrap();
                return (kv.into_dyn(), "redis");
            }
            _ if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("PLUGBAY_TEST_REDIS_URL is not set: start scripts/peers.d/redis.sh")
            }
            _ => println!("PLUGBAY_TEST_REDIS_URL not set: sessions in memory"),
        }
    }
    (plugbay_cache::InMemoryKeyValue::new().into_dyn(), "memory")
}

/// Approve the login as `sub` in the mock's consent form and return the
/// redirect back to us.
async fn approve(authorize: &Url, sub: &str) -> Url {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = http.get(authorize.clone()).send().await.unwrap();
    assert!(
        form.status().is_success(),
        "consent form: {}",
        form.status()
    );
    let res = http
        .post(authorize.clone())
        .form(&[("sub", sub)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "approve: {}", res.status());
    let location = res.headers()["location"].to_str().unwrap();
    Url::parse(location).unwrap()
}

fn callback(url: &Url) -> Callback {
    serde_json::from_value(serde_json::Value::Object(
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect(),
    ))
    .unwrap()
}

#[tokio::test]
async fn full_login_flow_against_a_real_oidc_provider() {
    let Some(issuer) = peer() else { return };
    let (kv, backend) = store();
    println!("sessions and refresh families in {backend}");

    // Discovery -> endpoints + jwks_uri.
    let config = OidcConfig::new("oidc-mock", "plugbay-test-client", "http://localhost:9/cb")
        .client_secret(SecretString::from("any-secret"));
    let provider = Arc::new(OidcProvider::discover(&issuer, config).await.unwrap());
    assert_eq!(provider.metadata().issuer, issuer);
    assert!(provider.metadata().jwks_uri.starts_with(&issuer));

    let key = JwtKey::hs256(&SecretString::from("peer-test-secret-0123456789abcdef")).unwrap();
    let local = Arc::new(
        LocalJwt::builder(JwtConfig::new("https://app.test", "app"), key, kv.clone())
            .prefix("auth:")
            .session_check(true)
            .build()
            .unwrap(),
    );
    let login =
        SocialLogin::new(PendingLoginStore::new(kv), local.clone()).provider(provider.clone());

    // Authorize URL with PKCE S256, state and nonce.
    let url = login
        .begin("oidc-mock", AuthorizeRequest::new().return_to("/dashboard"))
        .await
        .unwrap();
    let q = |n: &str| {
        url.query_pairs()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    assert!(q("nonce").is_some() && q("state").is_some());

    // The user approves; the provider redirects back with code and state.
    let back = approve(&url, "alice@example.test").await;
    let cb = callback(&back);
    assert_eq!(cb.state, q("state"));

    // A forged state is refused before any code is redeemed.
    let forged = Callback::new(cb.code.clone().unwrap(), "forged-state");
    assert_eq!(
        login
            .complete("oidc-mock", forged)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unauthenticated
    );

    // Code exchange, ID-token verification (JWKS, nonce, aud, iss).
    let out = login.complete("oidc-mock", cb.clone()).await.unwrap();
    assert_eq!(out.identity.subject, "alice@example.test");
    assert_eq!(out.return_to.as_deref(), Some("/dashboard"));
    let provider_tokens = out.identity.tokens.clone().unwrap();
    let id_token = provider_tokens.id_token.clone().unwrap();
    let claims = provider
        .verify_id_token(id_token.expose_secret(), None)
        .await
        .unwrap();
    assert!(claims["aud"].to_string().contains("plugbay-test-client"));
    assert!(provider.keys().is_loaded());
    // The same code cannot be redeemed twice (the state is gone too).
    assert!(login.complete("oidc-mock", cb).await.is_err());

    // Provider refresh: the mock does not rotate, so the old token is kept.
    let provider_refresh = provider_tokens.refresh_token.clone().unwrap();
    let refreshed = provider.refresh(&provider_refresh).await.unwrap();
    assert_eq!(
        refreshed.refresh_token.unwrap().expose_secret(),
        provider_refresh.expose_secret()
    );
    assert_ne!(
        refreshed.access_token.expose_secret(),
        provider_tokens.access_token.expose_secret()
    );

    // Local session + refresh family: verify, rotate, detect reuse.
    let first = out.tokens;
    let who = local
        .verify(first.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(who.subject, "oidc-mock|alice@example.test");
    let second = local.refresh(&first.refresh_token).await.unwrap();
    let third = local.refresh(&second.refresh_token).await.unwrap();
    assert_eq!(third.session_id, first.session_id);
    let err = local.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.message().contains("already used"), "{err}");
    assert!(
        local.refresh(&third.refresh_token).await.is_err(),
        "family revoked"
    );
    assert!(
        local
            .verify(third.access_token.expose_secret())
            .await
            .is_err(),
        "session revoked with the family"
    );

    // A second login gets a fresh session; log out everywhere ends it.
    let url = login
        .begin("oidc-mock", AuthorizeRequest::new())
        .await
        .unwrap();
    let back = approve(&url, "alice@example.test").await;
    let again = login.complete("oidc-mock", callback(&back)).await.unwrap();
    assert_ne!(again.tokens.session_id, first.session_id);
    local.revoke_all(&who.subject).await.unwrap();
    assert!(
        local
            .verify(again.tokens.access_token.expose_secret())
            .await
            .is_err()
    );
}
