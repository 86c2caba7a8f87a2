//! Access-token verification: plugbay's verifiers side by side with
//! calling `jsonwebtoken` directly with the same key and equivalent
//! validation (issuer, audience, exp/nbf, required claims), for HS256,
//! RS256 and ES256. The JWKS verifier is measured with its key set cached
//! (fetched once from a local stub before measuring): no network on the
//! hot path. Keys are the TEST-ONLY fixtures of plugbay-auth.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use plugbay::core::SecretString;
use plugbay_auth::{
    IssuerConfig, JwksCache, JwksVerifier, JwtAlgorithm, JwtConfig, JwtKey, JwtVerifier,
};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/plugbay-auth/tests/fixtures"
);
const ISS: &str = "https://issuer.bench/";
const AUD: &str = "https://api.bench";
const HS_SECRET: &str = "bench-only-hs256-secret-0123456789abcdef";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

fn claims() -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({"iss": ISS, "aud": AUD, "sub": "user-1", "iat": now, "exp": now + 3600,
           "scope": "read:items write:items", "jti": "bench-1", "sid": "s-1"})
}

fn token(alg: Algorithm, key: &EncodingKey, kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.typ = Some("at+jwt".to_owned());
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims(), key).unwrap()
}

fn validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = 10;
    v.set_issuer(&[ISS]);
    v.set_audience(&[AUD]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v
}

fn bench_verify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = JwtConfig::new(ISS, AUD);

    let cases = [
        (
            "HS256",
            Algorithm::HS256,
            EncodingKey::from_secret(HS_SECRET.as_bytes()),
            DecodingKey::from_secret(HS_SECRET.as_bytes()),
            JwtKey::hs256(&SecretString::from(HS_SECRET)).unwrap(),
        ),
        (
            "RS256",
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&read("rsa_private.pem")).unwrap(),
            DecodingKey::from_rsa_pem(&read("rsa_public.pem")).unwrap(),
            JwtKey::public_pem(JwtAlgorithm::RS256, &read("rsa_public.pem")).unwrap(),
        ),
        (
            "ES256",
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&read("ec_private.pem")).unwrap(),
            DecodingKey::from_ec_pem(&read("ec_public.pem")).unwrap(),
            JwtKey::public_pem(JwtAlgorithm::ES256, &read("ec_public.pem")).unwrap(),
        ),
    ];

    for (name, alg, enc, dec, key) in &cases {
        let t = token(*alg, enc, None);
        let verifier = JwtVerifier::new(config.clone(), key.clone()).unwrap();
        let v = validation(*alg);
        let mut group = c.benchmark_group(format!("verify/{name}"));
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<HashMap<String, Value>>(black_box(&t), dec, &v).unwrap()
            })
        });
        group.bench_function("plugbay", |b| {
            b.iter(|| verifier.verify_claims(black_box(&t)).unwrap())
        });
        group.finish();
    }

    // JWKS: RS256 keys fetched once from a local stub, then cached.
    let (_server, jwks_verifier) = rt.block_on(async {
        use wiremock::matchers::path;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        let enc = EncodingKey::from_rsa_pem(&read("rsa_private.pem")).unwrap();
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&enc, Algorithm::RS256).unwrap()).unwrap();
        jwk["kid"] = json!("k1");
        Mock::given(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [jwk]})))
            .mount(&server)
            .await;
        let keys = JwksCache::builder(format!("{}/jwks", server.uri()))
            .build()
            .unwrap();
        keys.refresh().await.unwrap();
        let v = JwksVerifier::new(IssuerConfig::new(ISS, AUD), keys).unwrap();
        (server, v)
    });
    let enc = EncodingKey::from_rsa_pem(&read("rsa_private.pem")).unwrap();
    let dec = DecodingKey::from_rsa_pem(&read("rsa_public.pem")).unwrap();
    let t = token(Algorithm::RS256, &enc, Some("k1"));
    let v = validation(Algorithm::RS256);
    let mut group = c.benchmark_group("verify/RS256-jwks");
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::decode::<HashMap<String, Value>>(black_box(&t), &dec, &v).unwrap())
    });
    group.bench_function("plugbay", |b| {
        b.iter(|| {
            rt.block_on(jwks_verifier.verify_access_token(black_box(&t)))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
