//! Crafted tokens against the hardened verifier. Every forged, stale or
//! misdirected token must be `Unauthenticated`, and no error may echo the
//! token. Keys under `tests/fixtures/` are TEST-ONLY.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use plugbay_auth::{JwtAlgorithm, JwtConfig, JwtKey, JwtVerifier, TokenVerifier};
use plugbay_core::ErrorKind;
use serde_json::{Value, json};

const RSA_PRIVATE: &[u8] = include_bytes!("fixtures/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("fixtures/rsa_public.pem");
const RSA2_PRIVATE: &[u8] = include_bytes!("fixtures/rsa2_private.pem");
const EC_PRIVATE: &[u8] = include_bytes!("fixtures/ec_private.pem");
const EC_PUBLIC: &[u8] = include_bytes!("fixtures/ec_public.pem");
const ED_PRIVATE: &[u8] = include_bytes!("fixtures/ed_private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("fixtures/ed_public.pem");

const ISS: &str = "https://issuer.test";
const AUD: &str = "api";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn claims() -> Value {
    let now = now();
    json!({"iss": ISS, "aud": AUD, "sub": "user-1", "iat": now, "exp": now + 300, "scope": "read"})
}

fn header(alg: &str) -> Value {
    json!({"alg": alg, "typ": "at+jwt"})
}

/// Sign arbitrary header and claims (no checks: this is the attacker's pen).
fn forge(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap()
}

fn rs256(header: &Value, claims: &Value) -> String {
    forge(header, claims, &rsa(), Algorithm::RS256)
}

fn verifier() -> JwtVerifier {
    let key = JwtKey::public_pem(JwtAlgorithm::RS256, RSA_PUBLIC).unwrap();
    JwtVerifier::new(JwtConfig::new(ISS, AUD), key).unwrap()
}

/// Assert rejection as `Unauthenticated`, with a message naming `reason`
/// and never containing the token.
async fn rejected(token: &str, reason: &str) {
    let err = verifier().verify(token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let shown = format!("{err} {err:?}");
    assert!(
        err.message().contains(reason),
        "expected `{reason}` in `{}`",
        err.message()
    );
    if token.len() > 16 {
        assert!(!shown.contains(token), "error echoes the token");
        for part in token.split('.').filter(|p| p.len() > 16) {
            assert!(!shown.contains(part), "error echoes part of the token");
        }
    }
}

#[tokio::test]
async fn control_a_well_formed_token_is_accepted() {
    let p = verifier()
        .verify(&rs256(&header("RS256"), &claims()))
        .await
        .unwrap();
    assert_eq!(p.subject, "user-1");
    assert!(p.has_scope("read"));
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let message = format!("{}.{}", b64(&header("none")), b64(&claims()));
    rejected(&format!("{message}."), "malformed").await;
    rejected(&format!("{message}.c2ln"), "alg none").await;
    let message = format!("{}.{}", b64(&header("NoNe")), b64(&claims()));
    rejected(&format!("{message}.c2ln"), "alg none").await;
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    // The classic key-confusion attack: HMAC keyed with the public PEM.
    let key = EncodingKey::from_secret(RSA_PUBLIC);
    let token = forge(&header("HS256"), &claims(), &key, Algorithm::HS256);
    rejected(&token, "algorithm").await;
}

#[tokio::test]
async fn another_key_or_algorithm_is_rejected() {
    let wrong = EncodingKey::from_rsa_pem(RSA2_PRIVATE).unwrap();
    rejected(
        &forge(&header("RS256"), &claims(), &wrong, Algorithm::RS256),
        "signature",
    )
    .await;
    // Right family, different algorithm than pinned.
    rejected(
        &forge(&header("PS256"), &claims(), &rsa(), Algorithm::PS256),
        "algorithm",
    )
    .await;
    rejected(
        &forge(&header("RS512"), &claims(), &rsa(), Algorithm::RS512),
        "algorithm",
    )
    .await;
    let ec = EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    rejected(
        &forge(&header("ES256"), &claims(), &ec, Algorithm::ES256),
        "algorithm",
    )
    .await;
}

#[tokio::test]
async fn expired_token_is_rejected_with_a_clear_message() {
    let mut c = claims();
    c["exp"] = json!(now() - 120);
    rejected(&rs256(&header("RS256"), &c), "token expired").await;
}

#[tokio::test]
async fn nbf_in_the_future_is_rejected() {
    let mut c = claims();
    c["nbf"] = json!(now() + 3600);
    rejected(&rs256(&header("RS256"), &c), "not valid yet").await;
}

#[tokio::test]
async fn iat_in_the_future_is_rejected() {
    let mut c = claims();
    c["iat"] = json!(now() + 3600);
    c["exp"] = json!(now() + 7200);
    rejected(&rs256(&header("RS256"), &c), "issued in the future").await;
}

#[tokio::test]
async fn wrong_issuer_is_rejected() {
    let mut c = claims();
    c["iss"] = json!("https://evil.test");
    rejected(&rs256(&header("RS256"), &c), "issuer").await;
    // jsonwebtoken accepts an array `iss`; we require a string.
    c["iss"] = json!([ISS, "https://evil.test"]);
    rejected(&rs256(&header("RS256"), &c), "`iss`").await;
}

#[tokio::test]
async fn missing_or_wrong_audience_is_rejected() {
    let mut c = claims();
    c.as_object_mut().unwrap().remove("aud");
    rejected(&rs256(&header("RS256"), &c), "`aud`").await;
    c["aud"] = json!("other-api");
    rejected(&rs256(&header("RS256"), &c), "audience").await;
    c["aud"] = json!(["other-api", "third"]);
    rejected(&rs256(&header("RS256"), &c), "audience").await;
    // An array that contains our audience is fine.
    c["aud"] = json!(["other-api", AUD]);
    assert!(
        verifier()
            .verify(&rs256(&header("RS256"), &c))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn missing_exp_or_string_typed_exp_is_rejected() {
    let mut c = claims();
    c["exp"] = json!((now() + 300).to_string());
    rejected(
        &rs256(&header("RS256"), &c),
        "`exp` is missing or has the wrong type",
    )
    .await;
    c["exp"] = json!(-1);
    rejected(&rs256(&header("RS256"), &c), "wrong type").await;
    c.as_object_mut().unwrap().remove("exp");
    rejected(&rs256(&header("RS256"), &c), "`exp`").await;
}

#[tokio::test]
async fn id_token_is_not_an_access_token() {
    let mut h = header("RS256");
    h["typ"] = json!("JWT");
    rejected(&rs256(&h, &claims()), "not an access token").await;
    h.as_object_mut().unwrap().remove("typ");
    rejected(&rs256(&h, &claims()), "not an access token").await;
    h["typ"] = json!("application/at+jwt");
    assert!(verifier().verify(&rs256(&h, &claims())).await.is_ok());
}

#[tokio::test]
async fn tampered_payload_is_rejected() {
    let token = rs256(&header("RS256"), &claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut c = claims();
    c["sub"] = json!("admin");
    c["scope"] = json!("read write admin");
    parts[1] = b64(&c);
    rejected(&parts.join("."), "signature").await;
}

#[tokio::test]
async fn truncated_and_malformed_tokens_are_rejected() {
    let token = rs256(&header("RS256"), &claims());
    let (without_sig, _) = token.rsplit_once('.').unwrap();
    rejected(without_sig, "malformed").await;
    rejected(&format!("{without_sig}."), "malformed").await;
    rejected(&token[..token.len() - 10], "signature").await;
    rejected(&format!("{token}.extra"), "malformed").await;
    rejected(&token[..token.find('.').unwrap() + 5], "malformed").await;
    rejected(&token.replace('.', "..").to_string(), "malformed").await;
    rejected("not a jwt at all", "malformed").await;
    rejected("", "malformed").await;
}

#[tokio::test]
async fn oversized_token_is_rejected_before_parsing() {
    let mut c = claims();
    c["padding"] = json!("x".repeat(9 * 1024));
    // Correctly signed: only the size check can reject it.
    rejected(&rs256(&header("RS256"), &c), "too large").await;
}

#[tokio::test]
async fn jku_x5u_and_jwk_headers_are_ignored() {
    let attacker = EncodingKey::from_rsa_pem(RSA2_PRIVATE).unwrap();
    let mut h = header("RS256");
    h["jku"] = json!("https://evil.test/jwks.json");
    h["x5u"] = json!("https://evil.test/cert.pem");
    // Signed by the attacker: the headers do not bring their key in.
    rejected(
        &forge(&h, &claims(), &attacker, Algorithm::RS256),
        "signature",
    )
    .await;
    // Signed by the configured key: the headers are simply ignored.
    assert!(verifier().verify(&rs256(&h, &claims())).await.is_ok());
}

#[tokio::test]
async fn kid_is_only_a_lookup_key() {
    let mut h = header("RS256");
    h["kid"] = json!("../../../../etc/passwd\u{0}");
    rejected(&rs256(&h, &claims()), "kid").await;
    h["kid"] = json!("k".repeat(129));
    rejected(&rs256(&h, &claims()), "kid").await;
    h["kid"] = json!("unknown-key");
    rejected(&rs256(&h, &claims()), "unknown key").await;
    h["kid"] = json!(42);
    rejected(&rs256(&h, &claims()), "kid").await;
}

#[tokio::test]
async fn crit_header_is_rejected() {
    let mut h = header("RS256");
    h["crit"] = json!(["exp"]);
    rejected(&rs256(&h, &claims()), "critical").await;
}

#[tokio::test]
async fn key_rotation_selects_by_kid_with_the_pinned_algorithm() {
    let old = JwtKey::public_pem(JwtAlgorithm::RS256, RSA_PUBLIC)
        .unwrap()
        .with_kid("old")
        .unwrap();
    let new = JwtKey::public_pem(JwtAlgorithm::ES256, EC_PUBLIC)
        .unwrap()
        .with_kid("new")
        .unwrap();
    let v = JwtVerifier::new(JwtConfig::new(ISS, AUD), old)
        .unwrap()
        .with_key(new)
        .unwrap();
    let ec = EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    let mut h = header("ES256");
    h["kid"] = json!("new");
    assert!(
        v.verify(&forge(&h, &claims(), &ec, Algorithm::ES256))
            .await
            .is_ok()
    );
    // The RSA key's kid with an ES256 token: the key decides the algorithm.
    h["kid"] = json!("old");
    let err = v
        .verify(&forge(&h, &claims(), &ec, Algorithm::ES256))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    // Without kid the first key is used.
    assert!(v.verify(&rs256(&header("RS256"), &claims())).await.is_ok());
}

#[tokio::test]
async fn eddsa_and_es256_keys_sign_and_verify() {
    for (alg, private, public) in [
        (JwtAlgorithm::ES256, EC_PRIVATE, EC_PUBLIC),
        (JwtAlgorithm::EdDSA, ED_PRIVATE, ED_PUBLIC),
    ] {
        let signer = plugbay_auth::JwtSigner::new(
            JwtConfig::new(ISS, AUD),
            JwtKey::from_pem(alg, private, public).unwrap(),
        )
        .unwrap();
        let (token, _) = signer
            .sign(&plugbay_auth::Subject::new("u").scopes(["s"]), "sid-1")
            .unwrap();
        use plugbay_core::ExposeSecret as _;
        let v = JwtVerifier::new(
            JwtConfig::new(ISS, AUD),
            JwtKey::public_pem(alg, public).unwrap(),
        )
        .unwrap();
        let p = v.verify(token.expose_secret()).await.unwrap();
        assert_eq!(p.session_id.as_deref(), Some("sid-1"));
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.expose_secret().split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], alg.as_str());
    }
}
