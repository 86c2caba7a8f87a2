//! Test signers: produce the headers each provider would send.
//!
//! These exist for tests (this crate's, and integrators' tests that post
//! signed webhooks to their own server). They take secrets as plain `&str`
//! because test secrets are not secret; do not use them to sign production
//! traffic.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use crate::verifier::hmac_sha256;

/// The `Stripe-Signature` value for `body` signed at Unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`.
pub fn sign_stripe(secret: &str, t: u64, body: &[u8]) -> String {
    let t = t.to_string();
    let mac = hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", body]).unwrap();
    format!("t={t},v1={}", hex::encode(mac))
}

/// The `X-Hub-Signature-256` value for `body`: `sha256=<hex HMAC>`.
pub fn sign_github(secret: &str, body: &[u8]) -> String {
    let mac = hmac_sha256(secret.as_bytes(), &[body]).unwrap();
    format!("sha256={}", hex::encode(mac))
}

/// One Standard Webhooks signature, `v1,<base64>`, for message `id` sent
/// at Unix time `timestamp`. `secret` is `whsec_<base64>` (prefix
/// optional); `None` if it is not base64.
pub fn sign_standard(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Option<String> {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let ts = timestamp.to_string();
    let mac = hmac_sha256(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]).ok()?;
    Some(format!("v1,{}", BASE64.encode(mac)))
}

fn unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn body_id(prefix: &str, body: &[u8]) -> String {
    format!("{prefix}{}", &hex::encode(Sha256::digest(body))[..24])
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(value).unwrap(),
    );
}

/// Produces the request headers of one webhook scheme, for tests.
pub trait WebhookSigner: fmt::Debug + Send + Sync {
    /// The (lower-case) header that carries the signature or token.
    fn signature_header(&self) -> &'static str;

    /// Headers for `body`, signed at `at` with the right secret.
    fn sign(&self, body: &[u8], at: SystemTime) -> HeaderMap;

    /// Headers for `body` signed with a different secret.
    fn sign_with_wrong_secret(&self, body: &[u8], at: SystemTime) -> HeaderMap;

    /// Headers carrying two signatures of which only the second is valid,
    /// or `None` if the scheme takes a single signature.
    fn sign_second_of_two(&self, body: &[u8], at: SystemTime) -> Option<HeaderMap>;
}

/// Signs like Stripe.
#[derive(Debug, Clone)]
pub struct StripeSigner {
    secret: String,
}

impl StripeSigner {
    /// A signer for the endpoint secret `whsec_...`.
    pub fn new(secret: &str) -> StripeSigner {
        StripeSigner {
            secret: secret.to_owned(),
        }
    }
}

impl WebhookSigner for StripeSigner {
    fn signature_header(&self) -> &'static str {
        crate::stripe::STRIPE_SIGNATURE_HEADER
    }
    fn sign(&self, body: &[u8], at: SystemTime) -> HeaderMap {
        let mut h = HeaderMap::new();
        insert(
            &mut h,
            "stripe-signature",
            &sign_stripe(&self.secret, unix(at), body),
        );
        h
    }
    fn sign_with_wrong_secret(&self, body: &[u8], at: SystemTime) -> HeaderMap {
        StripeSigner::new("whsec_wrong").sign(body, at)
    }
    fn sign_second_of_two(&self, body: &[u8], at: SystemTime) -> Option<HeaderMap> {
        let good = sign_stripe(&self.secret, unix(at), body);
        let bad = sign_stripe("whsec_old", unix(at), body);
        let bad_v1 = bad.split_once(",v1=")?.1;
        let (t, good_v1) = good.split_once(",v1=")?;
        let mut h = HeaderMap::new();
        insert(
            &mut h,
            "stripe-signature",
            &format!("{t},v1={bad_v1},v1={good_v1}"),
        );
        Some(h)
    }
}

/// Signs like GitHub; also sets `X-GitHub-Event: conformance` and an
/// `X-GitHub-Delivery` derived from the body (same body, same id).
#[derive(Debug, Clone)]
pub struct GithubSigner {
    secret: String,
}

impl GithubSigner {
    /// A signer for the webhook secret.
    pub fn new(secret: &str) -> GithubSigner {
        GithubSigner {
            secret: secret.to_owned(),
        }
    }
}

impl WebhookSigner for GithubSigner {
    fn signature_header(&self) -> &'static str {
        crate::github::GITHUB_SIGNATURE_HEADER
    }
    fn sign(&self, body: &[u8], _at: SystemTime) -> HeaderMap {
        let mut h = HeaderMap::new();
        insert(
            &mut h,
            "x-hub-signature-256",
            &sign_github(&self.secret, body),
        );
        insert(&mut h, "x-github-event", "conformance");
        insert(&mut h, "x-github-delivery", &body_id("delivery-", body));
        h
    }
    fn sign_with_wrong_secret(&self, body: &[u8], at: SystemTime) -> HeaderMap {
        GithubSigner::new("wrong secret").sign(body, at)
    }
    fn sign_second_of_two(&self, _body: &[u8], _at: SystemTime) -> Option<HeaderMap> {
        None
    }
}

/// Signs like Standard Webhooks (`webhook-*` headers), with a message id
/// derived from the body.
#[derive(Debug, Clone)]
pub struct StandardWebhooksSigner {
    secret: String,
}

impl StandardWebhooksSigner {
    /// A signer for a `whsec_<base64>` secret.
    pub fn new(secret: &str) -> StandardWebhooksSigner {
        StandardWebhooksSigner {
            secret: secret.to_owned(),
        }
    }

    fn headers(&self, signature: &str, id: &str, at: SystemTime) -> HeaderMap {
        let mut h = HeaderMap::new();
        insert(&mut h, "webhook-id", id);
        insert(&mut h, "webhook-timestamp", &unix(at).to_string());
        insert(&mut h, "webhook-signature", signature);
        h
    }
}

impl WebhookSigner for StandardWebhooksSigner {
    fn signature_header(&self) -> &'static str {
        "webhook-signature"
    }
    fn sign(&self, body: &[u8], at: SystemTime) -> HeaderMap {
        let id = body_id("msg_", body);
        let sig = sign_standard(&self.secret, &id, unix(at), body).unwrap();
        self.headers(&sig, &id, at)
    }
    fn sign_with_wrong_secret(&self, body: &[u8], at: SystemTime) -> HeaderMap {
        StandardWebhooksSigner::new("whsec_d3Jvbmcgc2VjcmV0IGtleQ==").sign(body, at)
    }
    fn sign_second_of_two(&self, body: &[u8], at: SystemTime) -> Option<HeaderMap> {
        let id = body_id("msg_", body);
        let good = sign_standard(&self.secret, &id, unix(at), body)?;
        let bad = sign_standard("whsec_b2xkIHNlY3JldCBrZXk=", &id, unix(at), body)?;
        Some(self.headers(&format!("{bad} {good}"), &id, at))
    }
}

/// Sends an Auth0 log stream's static `Authorization` value.
#[derive(Debug, Clone)]
pub struct Auth0Signer {
    token: String,
}

impl Auth0Signer {
    /// A signer sending `Authorization: <token>`.
    pub fn new(token: &str) -> Auth0Signer {
        Auth0Signer {
            token: token.to_owned(),
        }
    }
}

impl WebhookSigner for Auth0Signer {
    fn signature_header(&self) -> &'static str {
        "authorization"
    }
    fn sign(&self, _body: &[u8], _at: SystemTime) -> HeaderMap {
        let mut h = HeaderMap::new();
        insert(&mut h, "authorization", &self.token);
        h
    }
    fn sign_with_wrong_secret(&self, body: &[u8], at: SystemTime) -> HeaderMap {
        Auth0Signer::new(&format!("{}-wrong", self.token)).sign(body, at)
    }
    fn sign_second_of_two(&self, _body: &[u8], _at: SystemTime) -> Option<HeaderMap> {
        None
    }
}
