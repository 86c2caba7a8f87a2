//! The GCS backend against scripted failures on wiremock: the
//! service-account JWT exchange and token cache, retries (429 with
//! Retry-After, 503), connection resets, timeouts, malformed and truncated
//! bodies, and resumable uploads resumed after a failed chunk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use plugbay_core::http::{HttpClient, RecordingSleeper, RetryPolicy};
use plugbay_core::{ErrorKind, SecretString};
use plugbay_storage::gcs::{GcsBuilder, GcsStore};
use plugbay_storage::{Body, Key, ObjectStore, ObjectStoreExt, PresignMethod};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY_PEM: &str = include_str!("fixtures/gcs_test_key.pem");
const PUB_PEM: &str = include_str!("fixtures/gcs_test_key.pub.pem");

fn http(timeout: Duration) -> HttpClient {
    HttpClient::builder()
        .timeout(timeout)
        .sleeper(RecordingSleeper::new())
        .retry_policy(
            RetryPolicy::default()
                .max_retries(2)
                .initial_backoff(Duration::ZERO),
        )
        .build()
        .unwrap()
}

fn key_json(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "client_email": "tester@plugbay-test.iam.gserviceaccount.com",
        "private_key": KEY_PEM,
        "private_key_id": "test-key-1",
        "token_uri": token_uri,
        "project_id": "plugbay-test",
    })
    .to_string()
}

fn resource(name: &str, size: u64, generation: u64) -> serde_json::Value {
    json!({"kind": "storage#object", "name": name, "bucket": "b", "size": size.to_string(),
           "generation": generation.to_string(), "metageneration": "1",
           "updated": "2024-05-01T10:00:00.000Z", "contentType": "text/plain"})
}

fn store(server: &MockServer) -> GcsStore {
    GcsBuilder::new("b")
        .endpoint(server.uri())
        .access_token(SecretString::from("static-token"))
        .http_client(http(Duration::from_secs(5)))
        .chunk_size(256 * 1024)
        .build()
        .unwrap()
}

fn attempts(e: &plugbay_core::Error) -> Option<String> {
    e.context()
        .find(|(k, _)| *k == "attempts")
        .map(|(_, v)| v.to_owned())
}

#[tokio::test]
async fn service_account_jwt_is_exchanged_once_and_refreshed_on_401() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "tok-1", "expires_in": 3599, "token_type": "Bearer"}),
        ))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b/b/o/k"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(resource("k", 3, 7)))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b/b/o/k"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"code": 401, "message": "Invalid Credentials", "errors": [{"reason": "authError"}]}}),
        ))
        .mount(&server)
        .await;
    let store = GcsBuilder::new("b")
        .endpoint(server.uri())
        .service_account_json(key_json(&format!("{}/token", server.uri())))
        .http_client(http(Duration::from_secs(5)))
        .build()
        .unwrap();
    let key = Key::new("k").unwrap();
    // Concurrent first calls share one exchange.
    let (a, b) = tokio::join!(store.head(&key), store.head(&key));
    assert_eq!(a.unwrap().etag.as_deref(), Some("7"));
    assert_eq!(b.unwrap().size, 3);
    assert_eq!(
        store.head(&key).await.unwrap().version.as_deref(),
        Some("7")
    );
    // The 4th call is refused: the token is dropped, a new one minted, and
    // the refusal (still 401) reported as Unauthenticated.
    let err = store.head(&key).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);

    // The assertion is an RS256 JWT with the documented claims.
    let requests = server.received_requests().await.unwrap();
    let form = String::from_utf8(
        requests
            .iter()
            .find(|r| r.url.path() == "/token")
            .unwrap()
            .body
            .clone(),
    )
    .unwrap();
    let assertion = form
        .split('&')
        .find_map(|p| p.strip_prefix("assertion="))
        .unwrap();
    let header = jsonwebtoken::decode_header(assertion).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("test-key-1"));
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[format!("{}/token", server.uri())]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let decoded = jsonwebtoken::decode::<serde_json::Value>(
        assertion,
        &jsonwebtoken::DecodingKey::from_rsa_pem(PUB_PEM.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap();
    let claims = decoded.claims;
    assert_eq!(claims["iss"], "tester@plugbay-test.iam.gserviceaccount.com");
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/devstorage.read_write"
    );
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!(lifetime <= 3600, "{lifetime}");
}

#[tokio::test]
async fn rejected_assertions_are_unauthenticated_and_signed_urls_use_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let store = GcsBuilder::new("b")
        .endpoint(server.uri())
        .service_account_json(key_json(&format!("{}/token", server.uri())))
        .http_client(http(Duration::from_secs(5)))
        .build()
        .unwrap();
    let err = store.head(&Key::new("k").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(!err.to_string().contains("BEGIN PRIVATE KEY"));

    let caps = store.capabilities();
    assert!(caps.presign_get && caps.presign_put);
    let key = Key::new("dir/a b.txt").unwrap();
    let url = store
        .presign(PresignMethod::Get, &key, Duration::from_secs(600))
        .await
        .unwrap();
    assert!(url.as_str().starts_with("https://storage.googleapis.com/b/dir/a%20b.txt?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=tester%40plugbay-test.iam.gserviceaccount.com%2F"), "{url}");
    let signature = url
        .query_pairs()
        .find(|(k, _)| k == "X-Goog-Signature")
        .unwrap()
        .1;
    assert_eq!(signature.len(), 512, "hex of a 2048-bit RSA signature");
    assert_eq!(
        url.query_pairs()
            .find(|(k, _)| k == "X-Goog-Expires")
            .unwrap()
            .1,
        "600"
    );
    let too_long = store
        .presign(PresignMethod::Put, &key, Duration::from_secs(8 * 24 * 3600))
        .await;
    assert_eq!(too_long.unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn retries_honour_retry_after_and_give_up_with_kinds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b/b/o/limited"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2").set_body_json(
            json!({"error": {"code": 429, "message": "slow down", "errors": [{"reason": "rateLimitExceeded"}]}}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b/b/o/limited"))
        .respond_with(ResponseTemplate::new(200).set_body_json(resource("limited", 1, 3)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b/b/o/down"))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            json!({"error": {"code": 503, "message": "backend", "errors": [{"reason": "backendError"}]}}),
        ))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b/b/o/garbled"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"name\": \"garbled\", \"size\": "),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b/b/o/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .expect(3)
        .mount(&server)
        .await;
    let store = store(&server);
    let limited = store.head(&Key::new("limited").unwrap()).await.unwrap();
    assert_eq!(limited.size, 1);
    let down = store.head(&Key::new("down").unwrap()).await.unwrap_err();
    assert_eq!(down.kind(), ErrorKind::Unavailable);
    assert_eq!(attempts(&down).as_deref(), Some("3"));
    let garbled = store.head(&Key::new("garbled").unwrap()).await.unwrap_err();
    assert_eq!(garbled.kind(), ErrorKind::Protocol);
    let slow_store = GcsBuilder::new("b")
        .endpoint(server.uri())
        .anonymous(true)
        .http_client(http(Duration::from_millis(200)))
        .build()
        .unwrap();
    let slow = slow_store
        .head(&Key::new("slow").unwrap())
        .await
        .unwrap_err();
    assert_eq!(slow.kind(), ErrorKind::Timeout);
    assert_eq!(attempts(&slow).as_deref(), Some("3"));
}

#[tokio::test]
async fn truncated_downloads_and_resets_are_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b/b/o/cut"))
        .and(query_param("alt", "media"))
        .and(query_param("ifGenerationMatch", "9"))
        .respond_with(ResponseTemplate::new(200).set_body_string("only part"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b/b/o/cut"))
        .respond_with(ResponseTemplate::new(200).set_body_json(resource("cut", 100, 9)))
        .mount(&server)
        .await;
    let store = store(&server);
    let got = store.get(&Key::new("cut").unwrap()).await.unwrap();
    assert_eq!(got.range, 0..100);
    assert_eq!(got.bytes().await.unwrap_err().kind(), ErrorKind::Protocol);

    // A server that accepts and drops connections.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0u32));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            *counter.lock().unwrap() += 1;
            drop(socket);
        }
    });
    let reset = GcsBuilder::new("b")
        .endpoint(format!("http://{addr}"))
        .anonymous(true)
        .http_client(http(Duration::from_secs(5)))
        .build()
        .unwrap();
    let err = reset.head(&Key::new("k").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(attempts(&err).as_deref(), Some("3"));
    assert_eq!(*accepted.lock().unwrap(), 3);
}

/// A resumable session that fails the 2nd chunk once after keeping half of
/// it; plugbay must ask the session, then send only the missing half.
#[derive(Clone, Default)]
struct Session {
    log: Arc<Mutex<Vec<String>>>,
    kept: Arc<Mutex<u64>>,
    failed: Arc<Mutex<bool>>,
}

impl Respond for Session {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let range = request
            .headers
            .get("content-range")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        self.log.lock().unwrap().push(range.clone());
        let mut kept = self.kept.lock().unwrap();
        let kept_header = |k: u64| format!("bytes=0-{}", k - 1);
        if range.starts_with("bytes */") {
            return ResponseTemplate::new(308).insert_header("range", kept_header(*kept).as_str());
        }
        let span = range.trim_start_matches("bytes ");
        let (span, total) = span.split_once('/').unwrap();
        let first: u64 = span.split('-').next().unwrap().parse().unwrap();
        assert_eq!(first, *kept, "chunk must start where the session stands");
        let len = request.body.len() as u64;
        let mut failed = self.failed.lock().unwrap();
        if first == 256 * 1024 && !*failed {
            *failed = true;
            *kept += len / 2;
            return ResponseTemplate::new(503);
        }
        *kept += len;
        if total != "*" {
            assert_eq!(total.parse::<u64>().unwrap(), *kept);
            return ResponseTemplate::new(200).set_body_json(resource("up", *kept, 42));
        }
        ResponseTemplate::new(308).insert_header("range", kept_header(*kept).as_str())
    }
}

#[tokio::test]
async fn resumable_upload_resumes_after_a_failed_chunk() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/upload/storage/v1/b/b/o"))
        .and(query_param("uploadType", "resumable"))
        .and(query_param("ifGenerationMatch", "0"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("location", format!("{}/session/1", server.uri()).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let session = Session::default();
    Mock::given(method("PUT"))
        .and(path("/session/1"))
        .respond_with(session.clone())
        .mount(&server)
        .await;
    let store = store(&server);
    let data = vec![7u8; 3 * 256 * 1024 + 10];
    let pieces: Vec<plugbay_core::Result<Bytes>> = data
        .chunks(100_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let opts = plugbay_storage::PutOptions::new().mode(plugbay_storage::PutMode::Create);
    let meta = store
        .put_opts(
            &Key::new("up").unwrap(),
            Body::from_stream(stream::iter(pieces)),
            opts,
        )
        .await
        .unwrap();
    assert_eq!(meta.size, data.len() as u64);
    assert_eq!(meta.etag.as_deref(), Some("42"));
    let log = session.log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "bytes 0-262143/*",
            "bytes 262144-524287/*",
            "bytes */*",
            "bytes 393216-524287/*",
            "bytes 524288-786431/*",
            "bytes 786432-786441/786442",
        ]
    );
}

#[tokio::test]
async fn a_failing_body_cancels_the_session() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/upload/storage/v1/b/b/o"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("location", format!("{}/session/2", server.uri()).as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/session/2"))
        .respond_with(ResponseTemplate::new(308).insert_header("range", "bytes=0-262143"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/session/2"))
        .respond_with(ResponseTemplate::new(308).insert_header("range", "bytes=0-524287"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/session/2"))
        .respond_with(ResponseTemplate::new(499))
        .expect(1)
        .mount(&server)
        .await;
    let store = store(&server);
    let mut pieces: Vec<plugbay_core::Result<Bytes>> = vec![
        Ok(Bytes::from(vec![1u8; 300 * 1024])),
        Ok(Bytes::from(vec![2u8; 300 * 1024])),
    ];
    pieces.push(Err(plugbay_core::Error::new(
        ErrorKind::Unavailable,
        "source went away",
    )));
    let err = store
        .put(
            &Key::new("never").unwrap(),
            Body::from_stream(stream::iter(pieces)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("source went away"));
}
