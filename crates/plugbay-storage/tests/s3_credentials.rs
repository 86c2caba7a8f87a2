//! Temporary S3 credentials on wiremock: web identity exchanged at STS
//! (AssumeRoleWithWebIdentity) and IMDSv2, cached between calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use plugbay_core::http::{HttpClient, RecordingSleeper};
use plugbay_core::{ErrorKind, RetryPolicy};
use plugbay_storage::s3::S3Builder;
use plugbay_storage::{Key, ObjectStore, PresignMethod};
use url::Url;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http() -> HttpClient {
    HttpClient::builder()
        .sleeper(RecordingSleeper::new())
        .retry_policy(RetryPolicy::default().max_retries(1))
        .build()
        .unwrap()
}

async fn s3_head_ok(server: &MockServer) {
    Mock::given(method("HEAD"))
        .and(path("/b/k"))
        .respond_with(ResponseTemplate::new(200).insert_header("content-length", "3"))
        .mount(server)
        .await;
}

fn sts_reply(expiration: &str) -> String {
    format!(
        r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIATEMP</AccessKeyId>
      <SecretAccessKey>TEMP-SECRET</SecretAccessKey>
      <SessionToken>TEMP-SESSION</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#
    )
}

#[tokio::test]
async fn web_identity_is_exchanged_once_and_signs_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sts/"))
        .and(body_string_contains("Action=AssumeRoleWithWebIdentity"))
        .and(body_string_contains(
            "RoleArn=arn%3Aaws%3Aiam%3A%3A123%3Arole%2Fapp",
        ))
        .and(body_string_contains("WebIdentityToken=jwt-from-file"))
        .and(body_string_contains("RoleSessionName=my-session"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_reply("2099-01-01T00:00:00Z")))
        .expect(1)
        .mount(&server)
        .await;
    s3_head_ok(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "jwt-from-file\n").unwrap();
    let settings = plugbay_core::Settings::from_map([
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123:role/app".to_owned()),
        ("AWS_ROLE_SESSION_NAME", "my-session".to_owned()),
        ("AWS_ENDPOINT_URL_S3", server.uri()),
        ("S3_BUCKET", "b".to_owned()),
    ]);
    let store = S3Builder::from_settings(&settings)
        .unwrap()
        .sts_endpoint(Url::parse(&format!("{}/sts/", server.uri())).unwrap())
        .http_client(http())
        .build()
        .unwrap();
    let key = Key::new("k").unwrap();
    assert_eq!(store.head(&key).await.unwrap().size, 3);
    assert_eq!(store.head(&key).await.unwrap().size, 3);
    let url = store
        .presign(PresignMethod::Get, &key, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        url.as_str().contains("X-Amz-Security-Token=TEMP-SESSION"),
        "{url}"
    );
    let requests = server.received_requests().await.unwrap();
    let heads: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "HEAD")
        .collect();
    assert_eq!(heads.len(), 2);
    for head in heads {
        let auth = head.headers.get("authorization").unwrap().to_str().unwrap();
        assert!(auth.contains("Credential=ASIATEMP/"), "{auth}");
        assert_eq!(
            head.headers.get("x-amz-security-token").unwrap(),
            "TEMP-SESSION"
        );
    }
    // `expect(1)`: the second call and the presign reused the cached credentials.
}

#[tokio::test]
async fn expiring_credentials_are_refreshed() {
    let server = MockServer::start().await;
    // Already inside the refresh margin: every use refreshes.
    let soon = iso8601_in_minutes(1);
    Mock::given(method("POST"))
        .and(path("/sts/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_reply(&soon)))
        .expect(2)
        .mount(&server)
        .await;
    s3_head_ok(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "jwt").unwrap();
    let store = S3Builder::minio(server.uri())
        .bucket("b")
        .web_identity(&token, "arn:aws:iam::1:role/r")
        .sts_endpoint(Url::parse(&format!("{}/sts/", server.uri())).unwrap())
        .http_client(http())
        .build()
        .unwrap();
    let key = Key::new("k").unwrap();
    store.head(&key).await.unwrap();
    store.head(&key).await.unwrap();
}

/// An ISO 8601 time `minutes` from now.
fn iso8601_in_minutes(minutes: u64) -> String {
    let at = std::time::SystemTime::now() + Duration::from_secs(minutes * 60);
    let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[tokio::test]
async fn rejected_web_identity_is_unauthenticated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sts/"))
        .respond_with(ResponseTemplate::new(400).set_body_string(
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>bad jwt</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "jwt").unwrap();
    let store = S3Builder::minio(server.uri())
        .bucket("b")
        .web_identity(&token, "arn:aws:iam::1:role/r")
        .sts_endpoint(Url::parse(&format!("{}/sts/", server.uri())).unwrap())
        .http_client(http())
        .build()
        .unwrap();
    let err = store.head(&Key::new("k").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert_eq!(err.provider(), Some("sts"));
    let missing = S3Builder::minio(server.uri())
        .bucket("b")
        .web_identity(dir.path().join("absent"), "arn:aws:iam::1:role/r")
        .http_client(http())
        .build()
        .unwrap();
    let err = missing.head(&Key::new("k").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

#[tokio::test]
async fn imds_v2_credentials_when_asked() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/latest/api/token"))
        .and(header("x-aws-ec2-metadata-token-ttl-seconds", "21600"))
        .respond_with(ResponseTemplate::new(200).set_body_string("IMDS-TOKEN"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/latest/meta-data/iam/security-credentials/"))
        .and(header("x-aws-ec2-metadata-token", "IMDS-TOKEN"))
        .respond_with(ResponseTemplate::new(200).set_body_string("app-role\n"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/latest/meta-data/iam/security-credentials/app-role"))
        .and(header("x-aws-ec2-metadata-token", "IMDS-TOKEN"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"Code":"Success","LastUpdated":"2024-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"IMDS-SECRET","Token":"IMDS-SESSION","Expiration":"2099-01-01T00:00:00Z"}"#,
        ))
        .mount(&server)
        .await;
    s3_head_ok(&server).await;
    let store = S3Builder::minio(server.uri())
        .bucket("b")
        .imds(true)
        .imds_endpoint(Url::parse(&server.uri()).unwrap())
        .http_client(http())
        .build()
        .unwrap();
    let key = Key::new("k").unwrap();
    store.head(&key).await.unwrap();
    store.head(&key).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let head = requests
        .iter()
        .rfind(|r| r.method.as_str() == "HEAD")
        .unwrap();
    let auth = head.headers.get("authorization").unwrap().to_str().unwrap();
    assert!(auth.contains("Credential=ASIAIMDS/"), "{auth}");
    assert_eq!(
        head.headers.get("x-amz-security-token").unwrap(),
        "IMDS-SESSION"
    );
}

#[tokio::test]
async fn imds_is_not_used_unless_asked() {
    let settings = plugbay_core::Settings::from_map([
        ("S3_BUCKET", "b"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9"),
    ]);
    let err = S3Builder::from_settings(&settings)
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}
