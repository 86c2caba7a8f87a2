//! Shared helpers for the wiremock-based tests: a stub issuer publishing a
//! JWKS, and a token forge. Keys under `tests/fixtures/` are TEST-ONLY.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const RSA_PRIVATE: &[u8] = include_bytes!("../fixtures/rsa_private.pem");
pub const RSA_PUBLIC: &[u8] = include_bytes!("../fixtures/rsa_public.pem");
pub const RSA2_PRIVATE: &[u8] = include_bytes!("../fixtures/rsa2_private.pem");
pub const EC_PRIVATE: &[u8] = include_bytes!("../fixtures/ec_private.pem");

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

pub fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap()
}

pub fn rsa2() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA2_PRIVATE).unwrap()
}

/// Sign arbitrary header and claims (no checks: the attacker's pen).
pub fn forge(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// An RS256 token with `kid` signed by the fixture key.
pub fn rs256(kid: &str, claims: &Value) -> String {
    forge(
        &json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
        claims,
        &rsa(),
        Algorithm::RS256,
    )
}

/// The public JWK of `key` with `kid` and `use: sig`.
pub fn jwk(key: &EncodingKey, kid: &str) -> Value {
    let jwk = Jwk::from_encoding_key(key, Algorithm::RS256).unwrap();
    let mut v = serde_json::to_value(&jwk).unwrap();
    v["kid"] = json!(kid);
    v["use"] = json!("sig");
    v["alg"] = json!("RS256");
    v
}

pub fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

/// Serve `body` as the JWKS at `path`.
pub async fn serve_jwks(server: &MockServer, at: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// Requests the server received for `at`.
pub async fn hits(server: &MockServer, at: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == at)
        .count()
}
