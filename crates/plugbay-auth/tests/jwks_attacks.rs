//! Crafted tokens and key-cache abuse against the JWKS verifier (feature
//! `jwks`), on a wiremock issuer. Every forged, stale or misdirected token
//! must be `Unauthenticated` with a message naming the failed check, and
//! the key cache must not be turned into a request amplifier.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey};
use plugbay_auth::{
    IssuerConfig, JwksCache, JwksVerifier, JwtAlgorithm, ManualClock, TokenVerifier,
};
use plugbay_core::ErrorKind;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AUD: &str = "https://api.test";
const JWKS: &str = "/.well-known/jwks.json";

struct Issuer {
    server: MockServer,
    verifier: JwksVerifier,
    clock: ManualClock,
}

impl Issuer {
    fn iss(&self) -> String {
        format!("{}/", self.server.uri())
    }

    fn claims(&self) -> Value {
        let now = now();
        json!({"iss": self.iss(), "aud": [AUD, format!("{}/userinfo", self.server.uri())],
               "sub": "auth0|u1", "iat": now, "exp": now + 300,
               "scope": "read:items", "permissions": ["write:items"]})
    }
}

async fn issuer() -> Issuer {
    let server = MockServer::start().await;
    serve_jwks(&server, JWKS, jwks(&[jwk(&rsa(), "k1")])).await;
    let clock = ManualClock::default();
    let keys = JwksCache::builder(format!("{}{JWKS}", server.uri()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let config = IssuerConfig::new(format!("{}/", server.uri()), AUD);
    let verifier = JwksVerifier::new(config, keys).unwrap();
    Issuer {
        server,
        verifier,
        clock,
    }
}

async fn rejected(v: &JwksVerifier, token: &str, reason: &str) {
    let err = v.verify(token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{reason}: {err}");
    assert!(
        err.message().contains(reason),
        "expected `{reason}` in `{}`",
        err.message()
    );
    let shown = format!("{err} {err:?}");
    for part in token.split('.').filter(|p| p.len() > 16) {
        assert!(!shown.contains(part), "error echoes the token");
    }
}

#[tokio::test]
async fn crafted_tokens_are_rejected_with_the_right_reason() {
    let i = issuer().await;
    let v = &i.verifier;
    let good = rs256("k1", &i.claims());
    let p = v.verify(&good).await.unwrap();
    assert_eq!(p.subject, "auth0|u1");
    assert!(p.has_scope("read:items") && p.has_scope("write:items"));

    let mut cases: Vec<(String, &str)> = Vec::new();
    let c = i.claims();
    // 1. alg none
    cases.push((
        format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&c)),
        "malformed",
    ));
    cases.push((
        format!(
            "{}.{}.c2ln",
            b64(&json!({"alg": "none", "kid": "k1"})),
            b64(&c)
        ),
        "alg none",
    ));
    // 2. HS/RS confusion: HMAC keyed with the JWKS public key (PEM and n).
    for secret in [
        RSA_PUBLIC.to_vec(),
        jwk(&rsa(), "k1")["n"].to_string().into_bytes(),
    ] {
        cases.push((
            forge(
                &json!({"alg": "HS256", "kid": "k1"}),
                &c,
                &EncodingKey::from_secret(&secret),
                Algorithm::HS256,
            ),
            "algorithm",
        ));
    }
    // 3. kid traversal and injection.
    // (`.` and `/` are legal kid characters: the traversal is just a map
    // key nobody published.)
    cases.push((rs256("../../x", &c), "unknown key"));
    cases.push((rs256("' OR 1=1 --", &c), "kid"));
    // 4. jku / x5u / jwk / x5c pointing at the attacker's key are ignored.
    let attacker = jwk(&rsa2(), "k1");
    cases.push((
        forge(
            &json!({"alg": "RS256", "kid": "k1", "jku": "https://evil.test/jwks",
                    "x5u": "https://evil.test/c.pem", "jwk": attacker, "x5c": ["MIIB"]}),
            &c,
            &rsa2(),
            Algorithm::RS256,
        ),
        "signature",
    ));
    // 5. expired, 6. not yet valid, 7. issued in the future.
    let mut e = c.clone();
    e["exp"] = json!(now() - 120);
    cases.push((rs256("k1", &e), "expired"));
    let mut e = c.clone();
    e["nbf"] = json!(now() + 3600);
    cases.push((rs256("k1", &e), "not valid yet"));
    let mut e = c.clone();
    e["iat"] = json!(now() + 3600);
    e["exp"] = json!(now() + 7200);
    cases.push((rs256("k1", &e), "issued in the future"));
    // 8. wrong / missing issuer (Auth0's slash matters).
    let mut e = c.clone();
    e["iss"] = json!(i.server.uri());
    cases.push((rs256("k1", &e), "issuer"));
    e.as_object_mut().unwrap().remove("iss");
    cases.push((rs256("k1", &e), "`iss`"));
    // 9. wrong / missing audience.
    let mut e = c.clone();
    e["aud"] = json!("https://other.api");
    cases.push((rs256("k1", &e), "audience"));
    e.as_object_mut().unwrap().remove("aud");
    cases.push((rs256("k1", &e), "`aud`"));
    // 10. string-typed exp.
    let mut e = c.clone();
    e["exp"] = json!((now() + 300).to_string());
    cases.push((rs256("k1", &e), "`exp` is missing or has the wrong type"));
    // 11. an ID token (nonce, aud = client id) used as an access token.
    let mut e = c.clone();
    e["nonce"] = json!("n-1");
    e["at_hash"] = json!("abc");
    cases.push((rs256("k1", &e), "not an access token"));
    let mut e = c.clone();
    e["aud"] = json!("client-id-123");
    cases.push((rs256("k1", &e), "audience"));
    // 12. tampered payload.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut e = c.clone();
    e["sub"] = json!("auth0|admin");
    parts[1] = b64(&e);
    cases.push((parts.join("."), "signature"));
    // 13. truncated.
    cases.push((good[..good.len() - 12].to_owned(), "signature"));
    cases.push((good.rsplit_once('.').unwrap().0.to_owned(), "malformed"));
    // 14. oversized (validly signed).
    let mut e = c.clone();
    e["pad"] = json!("x".repeat(9 * 1024));
    cases.push((rs256("k1", &e), "too large"));
    // 15. algorithm other than the pinned one (ES256, RS512, PS256).
    let ec = EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    cases.push((
        forge(
            &json!({"alg": "ES256", "kid": "k1"}),
            &c,
            &ec,
            Algorithm::ES256,
        ),
        "algorithm",
    ));
    cases.push((
        forge(
            &json!({"alg": "RS512", "kid": "k1"}),
            &c,
            &rsa(),
            Algorithm::RS512,
        ),
        "algorithm",
    ));
    // 16. crit header.
    cases.push((
        forge(
            &json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]}),
            &c,
            &rsa(),
            Algorithm::RS256,
        ),
        "critical",
    ));
    // 17. signed by another key under a published kid.
    cases.push((
        forge(
            &json!({"alg": "RS256", "kid": "k1"}),
            &c,
            &rsa2(),
            Algorithm::RS256,
        ),
        "signature",
    ));

    assert!(cases.len() >= 15, "{} cases", cases.len());
    for (token, reason) in &cases {
        rejected(v, token, reason).await;
    }
    // None of the crafted tokens caused more than the first JWKS fetch.
    assert_eq!(hits(&i.server, JWKS).await, 1);
}

#[tokio::test]
async fn hs256_is_never_accepted_with_a_jwks_even_if_published() {
    let server = MockServer::start().await;
    let secret = b"0123456789abcdef0123456789abcdef";
    let oct = json!({"kty": "oct", "kid": "h1", "alg": "HS256", "use": "sig",
                     "k": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret)});
    serve_jwks(&server, JWKS, jwks(&[oct, jwk(&rsa(), "k1")])).await;
    assert_eq!(
        JwksCache::builder(format!("{}{JWKS}", server.uri()))
            .algorithms([JwtAlgorithm::HS256])
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
    let keys = JwksCache::builder(format!("{}{JWKS}", server.uri()))
        .build()
        .unwrap();
    let v = JwksVerifier::new(IssuerConfig::new("https://i/", AUD), keys).unwrap();
    let now = now();
    let c = json!({"iss": "https://i/", "aud": AUD, "sub": "u", "exp": now + 60});
    let token = forge(
        &json!({"alg": "HS256", "kid": "h1"}),
        &c,
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    );
    rejected(&v, &token, "algorithm").await;
    assert!(v.verify(&rs256("k1", &c)).await.is_ok());
}

#[tokio::test]
async fn a_storm_of_unknown_kids_costs_one_fetch_per_cooldown() {
    let i = issuer().await;
    let c = i.claims();
    i.verifier.verify(&rs256("k1", &c)).await.unwrap();
    assert_eq!(hits(&i.server, JWKS).await, 1);

    // Past the first fetch's cooldown: one refetch is due.
    i.clock.advance(Duration::from_secs(31));
    let v = Arc::new(i.verifier.clone());
    let payload = b64(&c);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..10_000u32 {
        let v = v.clone();
        // The kid is looked up before the signature is checked, so the
        // signature need not be real.
        let header = b64(&json!({"alg": "RS256", "kid": format!("random-{n}")}));
        let token = format!("{header}.{payload}.c2lnbmF0dXJl");
        tasks.spawn(async move { v.verify(&token).await });
    }
    for result in tasks.join_all().await {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.message().contains("unknown key"), "{err}");
    }
    assert_eq!(
        hits(&i.server, JWKS).await,
        2,
        "10,000 unknown kids caused one refetch"
    );
    // Still cooling down: the same and new kids cause nothing.
    i.clock.advance(Duration::from_secs(20));
    for n in 0..100u32 {
        let header = b64(&json!({"alg": "RS256", "kid": format!("again-{n}")}));
        let token = format!("{header}.{payload}.c2lnbmF0dXJl");
        assert!(i.verifier.verify(&token).await.is_err());
    }
    assert_eq!(hits(&i.server, JWKS).await, 2);
    // After the cooldown one more fetch is allowed.
    i.clock.advance(Duration::from_secs(11));
    for n in 0..100u32 {
        let header = b64(&json!({"alg": "RS256", "kid": format!("later-{n}")}));
        let token = format!("{header}.{payload}.c2lnbmF0dXJl");
        assert!(i.verifier.verify(&token).await.is_err());
    }
    assert_eq!(hits(&i.server, JWKS).await, 3);
    // Known keys kept working throughout, without fetches.
    i.verifier.verify(&rs256("k1", &c)).await.unwrap();
    assert_eq!(hits(&i.server, JWKS).await, 3);
}

#[tokio::test]
async fn rotated_keys_are_picked_up_after_the_cooldown() {
    let i = issuer().await;
    let c = i.claims();
    i.verifier.verify(&rs256("k1", &c)).await.unwrap();
    i.server.reset().await;
    serve_jwks(
        &i.server,
        JWKS,
        jwks(&[jwk(&rsa(), "k1"), jwk(&rsa2(), "k2")]),
    )
    .await;
    let new = forge(
        &json!({"alg": "RS256", "kid": "k2"}),
        &c,
        &rsa2(),
        Algorithm::RS256,
    );
    // Within the cooldown of the first fetch the new kid is unknown...
    assert!(i.verifier.verify(&new).await.is_err());
    assert_eq!(hits(&i.server, JWKS).await, 0);
    i.clock.advance(Duration::from_secs(31));
    // ...afterwards one fetch brings it in.
    assert_eq!(i.verifier.verify(&new).await.unwrap().subject, "auth0|u1");
    assert_eq!(hits(&i.server, JWKS).await, 1);
}

#[tokio::test]
async fn stale_keys_are_served_when_the_endpoint_fails() {
    let i = issuer().await;
    let c = i.claims();
    i.verifier.verify(&rs256("k1", &c)).await.unwrap();
    i.server.reset().await;
    Mock::given(method("GET"))
        .and(path(JWKS))
        .respond_with(ResponseTemplate::new(503))
        .mount(&i.server)
        .await;
    // Past max_age the set is refreshed on use; the refresh fails, the
    // cached key keeps verifying.
    i.clock.advance(Duration::from_secs(3601));
    i.verifier.verify(&rs256("k1", &c)).await.unwrap();
    assert!(hits(&i.server, JWKS).await >= 1);
    // A manual refresh reports the outage but keeps the keys.
    let err = i.verifier.keys().refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    i.verifier.verify(&rs256("k1", &c)).await.unwrap();
}

#[tokio::test]
async fn first_fetch_failures_are_infrastructure_errors_not_token_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(JWKS))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .mount(&server)
        .await;
    let keys = JwksCache::builder(format!("{}{JWKS}", server.uri()))
        .build()
        .unwrap();
    let v = JwksVerifier::new(IssuerConfig::new("https://i/", AUD), keys).unwrap();
    let c = json!({"iss": "https://i/", "aud": AUD, "sub": "u", "exp": now() + 60});
    let err = v.verify(&rs256("k1", &c)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    // Within the cooldown: still not an authentication verdict.
    let err = v.verify(&rs256("k1", &c)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(hits(&server, JWKS).await, 1);
}

#[tokio::test]
async fn jwks_redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(JWKS))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/evil-jwks", server.uri())),
        )
        .mount(&server)
        .await;
    serve_jwks(&server, "/evil-jwks", jwks(&[jwk(&rsa(), "k1")])).await;
    let keys = JwksCache::builder(format!("{}{JWKS}", server.uri()))
        .build()
        .unwrap();
    let v = JwksVerifier::new(IssuerConfig::new("https://i/", AUD), keys).unwrap();
    let c = json!({"iss": "https://i/", "aud": AUD, "sub": "u", "exp": now() + 60});
    let err = v.verify(&rs256("k1", &c)).await.unwrap_err();
    assert_ne!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert_eq!(hits(&server, "/evil-jwks").await, 0, "redirect followed");
    assert_eq!(
        JwksCache::builder("http://example.com/jwks")
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Config,
        "plain http off loopback"
    );
}

#[tokio::test]
async fn multi_issuer_routes_by_iss_then_verifies_fully() {
    let a = issuer().await;
    let b = issuer().await;
    let multi = plugbay_auth::MultiIssuerVerifier::new()
        .with_issuer(a.verifier.clone())
        .with_issuer(b.verifier.clone());
    assert_eq!(multi.len(), 2);
    assert_eq!(
        multi
            .verify(&rs256("k1", &a.claims()))
            .await
            .unwrap()
            .issuer,
        a.iss()
    );
    assert_eq!(
        multi
            .verify(&rs256("k1", &b.claims()))
            .await
            .unwrap()
            .issuer,
        b.iss()
    );
    let mut c = a.claims();
    c["iss"] = json!("https://unknown.test/");
    rejected_multi(&multi, &rs256("k1", &c), "issuer").await;
    // A token claiming issuer B but signed by a key B does not publish.
    let forged = forge(
        &json!({"alg": "RS256", "kid": "k1"}),
        &b.claims(),
        &rsa2(),
        Algorithm::RS256,
    );
    rejected_multi(&multi, &forged, "signature").await;
}

async fn rejected_multi(v: &plugbay_auth::MultiIssuerVerifier, token: &str, reason: &str) {
    let err = v.verify(token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.message().contains(reason), "{err}");
}
