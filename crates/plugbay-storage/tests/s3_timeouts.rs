//! What the S3 backend's timeouts bound, on its default HTTP client: the
//! read timeout bounds a download's wait for its answer (and each silence
//! of its body), never an upload, which `upload_timeout` alone bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use bytes::Bytes;
use plugbay_core::ErrorKind;
use plugbay_storage::s3::{S3Builder, S3Credentials, S3Store};
use plugbay_storage::{Key, ObjectStoreExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn store(uri: &str) -> S3Store {
    S3Builder::minio(uri)
        .bucket("b")
        .credentials(S3Credentials::new("AKID", "SECRET"))
        .read_timeout(Duration::from_millis(200))
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_upload_answered_after_the_read_timeout_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/b/k"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"e1\"")
                .set_delay(Duration::from_millis(700)),
        )
        .mount(&server)
        .await;
    let meta = store(&server.uri())
        .put(&Key::new("k").unwrap(), Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(meta.etag.as_deref(), Some("\"e1\""));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_download_whose_answer_is_late_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/b/k"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"e1\"")
                .set_body_bytes(b"hello".to_vec())
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let err = store(&server.uri())
        .get(&Key::new("k").unwrap())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:#}");
}
