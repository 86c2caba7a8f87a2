//! The S3 backend against scripted failures: wiremock stubs in S3's
//! documented wire format, plus a raw TCP server for cut connections and
//! truncated bodies. Each case checks the error kind and the attempts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod raw;

use std::time::Duration;

use bytes::Bytes;
use plugbay_core::http::{HttpClient, RecordingSleeper};
use plugbay_core::{Error, ErrorKind, RetryPolicy};
use plugbay_storage::s3::{S3Builder, S3Credentials, S3Store};
use plugbay_storage::{Key, ListOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use wiremock::matchers::{body_string_contains, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MIB: usize = 1024 * 1024;

fn xml_error(code: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>scripted</Message><RequestId>REQ1</RequestId></Error>"
    )
}

fn http(sleeper: &RecordingSleeper, timeout: Duration) -> HttpClient {
    HttpClient::builder()
        .sleeper(sleeper.clone())
        .timeout(timeout)
        .retry_policy(RetryPolicy::default().max_retries(2).jitter(0.0))
        .build()
        .unwrap()
}

fn store_at(uri: &str, sleeper: &RecordingSleeper) -> S3Store {
    S3Builder::minio(uri)
        .bucket("b")
        .credentials(S3Credentials::new("AKID", "SECRET"))
        .part_size(5 * MIB as u64)
        .concurrency(2)
        .http_client(http(sleeper, Duration::from_secs(5)))
        .build()
        .unwrap()
}

fn attempts(err: &Error) -> Option<String> {
    err.context()
        .find(|(k, _)| *k == "attempts")
        .map(|(_, v)| v.to_owned())
}

fn key(name: &str) -> Key {
    Key::new(name).unwrap()
}

async fn count(server: &MockServer, verb: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == verb)
        .count()
}

#[tokio::test]
async fn slow_down_503_is_rate_limited_after_bounded_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/b/"))
        .respond_with(ResponseTemplate::new(503).set_body_string(xml_error("SlowDown")))
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let err = store_at(&server.uri(), &sleeper)
        .list("", ListOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.provider_code(), Some("SlowDown"));
    assert_eq!(err.request_id(), Some("REQ1"));
    assert_eq!(attempts(&err).as_deref(), Some("3"));
    assert_eq!(count(&server, "GET").await, 3);
    assert_eq!(sleeper.waits().len(), 2);
}

#[tokio::test]
async fn too_many_requests_429_honours_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .and(path("/b/k"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(path("/b/k"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-length", "5")
                .insert_header("etag", "\"e1\""),
        )
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::new();
    let meta = store_at(&server.uri(), &sleeper)
        .head(&key("k"))
        .await
        .unwrap();
    assert_eq!(meta.size, 5);
    assert_eq!(meta.etag.as_deref(), Some("\"e1\""));
    assert_eq!(sleeper.waits(), [Duration::from_secs(3)]);
    assert_eq!(count(&server, "HEAD").await, 2);
}

#[tokio::test]
async fn client_errors_map_to_kinds_without_retries() {
    let cases = [
        (404, "NoSuchKey", ErrorKind::NotFound),
        (403, "AccessDenied", ErrorKind::PermissionDenied),
        (403, "SignatureDoesNotMatch", ErrorKind::Unauthenticated),
        (404, "NoSuchBucket", ErrorKind::Config),
        (416, "InvalidRange", ErrorKind::InvalidInput),
    ];
    for (status, code, kind) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/b/k"))
            .respond_with(ResponseTemplate::new(status).set_body_string(xml_error(code)))
            .mount(&server)
            .await;
        let err = store_at(&server.uri(), &RecordingSleeper::new())
            .get(&key("k"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{code}: {err}");
        assert_eq!(attempts(&err).as_deref(), Some("1"), "{code}");
        assert_eq!(
            err.context().find(|(k, _)| *k == "key").map(|(_, v)| v),
            Some("k")
        );
    }
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/b/k"))
        .respond_with(ResponseTemplate::new(500).set_body_string(xml_error("InternalError")))
        .mount(&server)
        .await;
    let err = store_at(&server.uri(), &RecordingSleeper::new())
        .delete(&key("k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(attempts(&err).as_deref(), Some("3"));
    assert_eq!(count(&server, "DELETE").await, 3);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let store = S3Builder::minio(server.uri())
        .bucket("b")
        .credentials(S3Credentials::new("AKID", "SECRET"))
        .http_client(http(&RecordingSleeper::new(), Duration::from_secs(5)))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = store.head(&key("k")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(attempts(&err).as_deref(), Some("3"));
}

#[tokio::test]
async fn malformed_listing_is_a_protocol_error_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/b/"))
        .and(query_param("list-type", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("<ListBucketResult><Contents><Key>a</Ke"),
        )
        .mount(&server)
        .await;
    let err = store_at(&server.uri(), &RecordingSleeper::new())
        .list("", ListOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert_eq!(count(&server, "GET").await, 1);
}

#[tokio::test]
async fn requests_are_signed_and_empty_puts_say_content_length_zero() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/b/dir/a%20b.txt"))
        .and(header("content-length", "0"))
        .and(header("if-none-match", "*"))
        .and(header("x-amz-meta-owner", "me"))
        .and(header("content-type", "text/plain"))
        .and(header_exists("x-amz-date"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"d41d8cd98f00b204e9800998ecf8427e\""),
        )
        .mount(&server)
        .await;
    let store = store_at(&server.uri(), &RecordingSleeper::new());
    let opts = PutOptions::new()
        .mode(PutMode::Create)
        .content_type("text/plain")
        .metadata("owner", "me");
    let meta = store
        .put_opts(&key("dir/a b.txt"), Bytes::new().into(), opts)
        .await
        .unwrap();
    assert_eq!(meta.size, 0);
    assert_eq!(
        meta.etag.as_deref(),
        Some("\"d41d8cd98f00b204e9800998ecf8427e\"")
    );
    let requests = server.received_requests().await.unwrap();
    let auth = requests[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/"),
        "{auth}"
    );
    assert!(auth.contains("/us-east-1/s3/aws4_request"), "{auth}");
    // Plain-http endpoints sign the body hash (SHA-256 of nothing here).
    assert_eq!(
        requests[0].headers.get("x-amz-content-sha256").unwrap(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // No checksum headers that S3-compatibles may reject.
    assert!(
        requests[0]
            .headers
            .keys()
            .all(|h| !h.as_str().starts_with("x-amz-checksum"))
    );
}

#[tokio::test]
async fn create_only_put_conflict_is_already_exists() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(412).set_body_string(xml_error("PreconditionFailed")))
        .mount(&server)
        .await;
    let store = store_at(&server.uri(), &RecordingSleeper::new());
    let err = store
        .put_opts(
            &key("k"),
            "x".into(),
            PutOptions::new().mode(PutMode::Create),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    let err = store
        .put_opts(
            &key("k"),
            "x".into(),
            PutOptions::new().mode(PutMode::IfMatch("\"e\"".into())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(attempts(&err).as_deref(), Some("1"));
}

async fn mount_multipart_start(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/b/big"))
        .and(query_param("uploads", ""))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>big</Key><UploadId>UP1</UploadId></InitiateMultipartUploadResult>",
        ))
        .mount(server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/b/big"))
        .and(query_param("uploadId", "UP1"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
}

#[tokio::test]
async fn error_inside_a_200_complete_is_retried_then_aborts_the_upload() {
    let server = MockServer::start().await;
    mount_multipart_start(&server).await;
    Mock::given(method("PUT"))
        .and(path("/b/big"))
        .and(query_param("uploadId", "UP1"))
        .respond_with(ResponseTemplate::new(200).insert_header("etag", "\"part\""))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/b/big"))
        .and(query_param("uploadId", "UP1"))
        .and(body_string_contains("<PartNumber>2</PartNumber>"))
        .respond_with(ResponseTemplate::new(200).set_body_string(xml_error("InternalError")))
        .mount(&server)
        .await;
    let store = store_at(&server.uri(), &RecordingSleeper::new());
    let body = vec![7u8; 5 * MIB + 1];
    let err = store.put(&key("big"), body).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(err.status(), Some(200));
    assert_eq!(err.provider_code(), Some("InternalError"));
    assert_eq!(attempts(&err).as_deref(), Some("3"));
    let requests = server.received_requests().await.unwrap();
    let parts = requests
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .count();
    let completes = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.query() == Some("uploadId=UP1"))
        .count();
    assert_eq!((parts, completes), (2, 3));
    assert_eq!(
        count(&server, "DELETE").await,
        1,
        "the upload must be aborted"
    );
}

#[tokio::test]
async fn complete_succeeds_after_an_error_in_200() {
    let server = MockServer::start().await;
    mount_multipart_start(&server).await;
    Mock::given(method("PUT"))
        .and(query_param("uploadId", "UP1"))
        .respond_with(ResponseTemplate::new(200).insert_header("etag", "\"part\""))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(query_param("uploadId", "UP1"))
        .respond_with(ResponseTemplate::new(200).set_body_string(xml_error("InternalError")))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(query_param("uploadId", "UP1"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "<CompleteMultipartUploadResult><Key>big</Key><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>",
        ))
        .mount(&server)
        .await;
    let store = store_at(&server.uri(), &RecordingSleeper::new());
    let meta = store
        .put(&key("big"), vec![1u8; 5 * MIB + 1])
        .await
        .unwrap();
    assert_eq!(meta.etag.as_deref(), Some("\"abc-2\""));
    assert_eq!(meta.size, 5 * MIB as u64 + 1);
    assert_eq!(count(&server, "DELETE").await, 0);
}

#[tokio::test]
async fn failed_part_aborts_the_upload() {
    let server = MockServer::start().await;
    mount_multipart_start(&server).await;
    Mock::given(method("PUT"))
        .and(query_param("uploadId", "UP1"))
        .respond_with(ResponseTemplate::new(403).set_body_string(xml_error("AccessDenied")))
        .mount(&server)
        .await;
    let store = store_at(&server.uri(), &RecordingSleeper::new());
    let err = store
        .put(&key("big"), vec![1u8; 11 * MIB])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(count(&server, "DELETE").await, 1);
}

#[tokio::test]
async fn cancelled_upload_is_aborted_in_the_background() {
    let server = MockServer::start().await;
    mount_multipart_start(&server).await;
    Mock::given(method("PUT"))
        .and(query_param("uploadId", "UP1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"p\"")
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let store = store_at(&server.uri(), &RecordingSleeper::new());
    let big = key("big");
    let put = store.put(&big, vec![1u8; 11 * MIB]);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), put)
            .await
            .is_err()
    );
    // The drop guard spawned the abort; wait for it (bounded).
    for _ in 0..100 {
        if count(&server, "DELETE").await == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the cancelled upload was not aborted");
}

#[tokio::test]
async fn copy_error_inside_200_is_detected() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/b/dst"))
        .and(header("x-amz-copy-source", "/b/src%20file"))
        .respond_with(ResponseTemplate::new(200).set_body_string(xml_error("SlowDown")))
        .mount(&server)
        .await;
    let err = store_at(&server.uri(), &RecordingSleeper::new())
        .copy(&key("src file"), &key("dst"), Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(attempts(&err).as_deref(), Some("3"));
}

#[tokio::test]
async fn connection_resets_are_retried_then_unavailable() {
    let server = raw::RawServer::start(|_, _| raw::Reply::Close).await;
    let err = store_at(&server.uri(), &RecordingSleeper::new())
        .head(&key("k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(attempts(&err).as_deref(), Some("3"));
    assert_eq!(server.requests().len(), 3);
}

fn raw_store(uri: &str, resumes: u32) -> S3Store {
    S3Builder::minio(uri)
        .bucket("b")
        .credentials(S3Credentials::new("AKID", "SECRET"))
        .read_resume_attempts(resumes)
        .http_client(http(&RecordingSleeper::new(), Duration::from_secs(5)))
        .build()
        .unwrap()
}

fn data() -> Vec<u8> {
    (0..1000u32).map(|i| (i % 251) as u8).collect()
}

fn etag() -> (&'static str, String) {
    ("etag", "\"v1\"".to_owned())
}

#[tokio::test]
async fn cut_download_resumes_with_a_range_pinned_to_the_etag() {
    let server = raw::RawServer::start(|i, _| {
        let data = data();
        if i == 0 {
            raw::Reply::cut("200 OK", &[etag()], &data, 400)
        } else {
            let range = ("content-range", "bytes 400-999/1000".to_owned());
            raw::Reply::cut("206 Partial Content", &[etag(), range], &data[400..], 600)
        }
    })
    .await;
    let got = raw_store(&server.uri(), 3)
        .get_bytes(&key("k"))
        .await
        .unwrap();
    assert_eq!(got, data());
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(!requests[0].contains("range:"), "{}", requests[0]);
    assert!(
        requests[1].contains("range: bytes=400-999\r\n"),
        "{}",
        requests[1]
    );
    assert!(
        requests[1].contains("if-match: \"v1\"\r\n"),
        "{}",
        requests[1]
    );
}

#[tokio::test]
async fn ranged_download_resumes_inside_its_range() {
    let server = raw::RawServer::start(|i, _| {
        let data = data();
        if i == 0 {
            let range = ("content-range", "bytes 100-899/1000".to_owned());
            raw::Reply::cut(
                "206 Partial Content",
                &[etag(), range],
                &data[100..900],
                300,
            )
        } else {
            let range = ("content-range", "bytes 400-899/1000".to_owned());
            raw::Reply::cut(
                "206 Partial Content",
                &[etag(), range],
                &data[400..900],
                500,
            )
        }
    })
    .await;
    let got = raw_store(&server.uri(), 3)
        .get_range(&key("k"), 100..900)
        .await
        .unwrap();
    assert_eq!(&got[..], &data()[100..900]);
    let requests = server.requests();
    assert!(requests[0].contains("range: bytes=100-899\r\n"));
    assert!(
        requests[1].contains("range: bytes=400-899\r\n"),
        "{}",
        requests[1]
    );
}

#[tokio::test]
async fn an_object_changed_mid_read_fails_the_stream() {
    let server = raw::RawServer::start(|i, _| {
        if i == 0 {
            raw::Reply::cut("200 OK", &[etag()], &data(), 400)
        } else {
            let body = xml_error("PreconditionFailed");
            raw::Reply::cut("412 Precondition Failed", &[], body.as_bytes(), body.len())
        }
    })
    .await;
    let got = raw_store(&server.uri(), 3).get(&key("k")).await.unwrap();
    let err = got.bytes().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.message().contains("changed"), "{err}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn resumes_are_bounded() {
    let server = raw::RawServer::start(|i, _| {
        let data = data();
        let start = 100 * i;
        let range = ("content-range", format!("bytes {start}-999/1000"));
        raw::Reply::cut("206 Partial Content", &[etag(), range], &data[start..], 100)
    })
    .await;
    let store = raw_store(&server.uri(), 2);
    let got = store
        .get_opts(&key("k"), plugbay_storage::GetOptions::new().range(0..1000))
        .await
        .unwrap();
    let err = got.bytes().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert_eq!(server.requests().len(), 3, "one read and two resumes");
}

#[tokio::test]
async fn truncated_body_without_resumes_is_a_protocol_error() {
    let server =
        raw::RawServer::start(|_, _| raw::Reply::cut("200 OK", &[etag()], &data(), 10)).await;
    let err = raw_store(&server.uri(), 0)
        .get_bytes(&key("k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert_eq!(server.requests().len(), 1);
}
