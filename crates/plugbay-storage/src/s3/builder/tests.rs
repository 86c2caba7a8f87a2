//! Tests of [`S3Builder`]: settings, credential order, URLs, validation
//! and presets.

use plugbay_core::{ErrorKind, Settings};

use super::*;
use crate::s3::credentials::CredentialSource;

fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn settings_follow_the_aws_variables() {
    let s = settings(&[
        ("S3_BUCKET", "media"),
        ("AWS_DEFAULT_REGION", "eu-west-3"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9100"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "SECRET"),
        ("AWS_SESSION_TOKEN", "TOKEN"),
    ]);
    let store = S3Builder::from_settings(&s).unwrap().build().unwrap();
    let config = store.config();
    assert_eq!(config.bucket, "media");
    assert_eq!(config.region, "eu-west-3");
    assert_eq!(
        config.endpoint.as_ref().unwrap().as_str(),
        "http://127.0.0.1:9100/"
    );
    assert_eq!(config.access_key_id.as_deref(), Some("AKID"));
    assert_eq!(config.effective_addressing(), AddressingStyle::Path);
    let shown = format!("{store:?}");
    assert!(
        !shown.contains("SECRET") && !shown.contains("TOKEN\""),
        "{shown}"
    );

    let region = settings(&[
        ("AWS_REGION", "us-west-2"),
        ("AWS_DEFAULT_REGION", "eu-west-3"),
    ]);
    assert_eq!(
        S3Builder::from_settings(&region).unwrap().config.region,
        "us-west-2"
    );
    let reference = settings(&[("AWS_SECRET_ACCESS_KEY", "env://OTHER")]);
    assert_eq!(
        S3Builder::from_settings(&reference).unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn credential_sources_in_order() {
    let base = || S3Builder::new("b");
    let err = base().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("AWS_ACCESS_KEY_ID"), "{err}");
    assert!(matches!(
        base()
            .anonymous(true)
            .build()
            .unwrap()
            .client
            .credentials
            .source(),
        CredentialSource::Anonymous
    ));
    let web = base()
        .web_identity("/var/run/token", "arn:aws:iam::1:role/r")
        .build()
        .unwrap();
    assert!(matches!(
        web.client.credentials.source(),
        CredentialSource::WebIdentity { .. }
    ));
    let imds = base().imds(true).build().unwrap();
    assert!(matches!(
        imds.client.credentials.source(),
        CredentialSource::Imds { .. }
    ));
    let stat = base()
        .imds(true)
        .credentials(S3Credentials::new("a", "b"))
        .build()
        .unwrap();
    assert!(matches!(
        stat.client.credentials.source(),
        CredentialSource::Static(_)
    ));
    let mut half = base();
    half.config.access_key_id = Some("a".into());
    assert_eq!(half.build().unwrap_err().kind(), ErrorKind::Config);
}

#[test]
fn urls_and_validation() {
    let b = S3Builder::default()
        .url("s3://my-bucket?region=eu-central-1&endpoint=http://127.0.0.1:9000&path_style=true&payload_signing=unsigned&part_size=6291456&concurrency=2&conditional_copy=true")
        .unwrap();
    assert_eq!(b.config.bucket, "my-bucket");
    assert_eq!(b.config.region, "eu-central-1");
    assert_eq!(b.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(b.config.addressing, Some(AddressingStyle::Path));
    assert_eq!(b.config.payload_signing, Some(PayloadSigning::Unsigned));
    assert_eq!(b.config.part_size, 6 * 1024 * 1024);
    assert_eq!(b.config.concurrency, 2);
    assert!(b.config.conditional_copy);
    for bad in [
        "s3://",
        "s3://b/prefix",
        "s3://b?colour=red",
        "s3://b?path_style=maybe",
        "s3://AK:SK@b",
        "gs://b",
    ] {
        let err = S3Builder::default().url(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
        assert!(!err.to_string().contains("SK@"), "{err}");
    }
    let anon = || S3Builder::new("b").anonymous(true);
    assert_eq!(
        anon().part_size(1024).build().unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(
        anon().concurrency(0).build().unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(
        anon().endpoint("not a url").build().unwrap_err().kind(),
        ErrorKind::Config
    );
    assert_eq!(
        S3Builder::new("")
            .anonymous(true)
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
    assert_eq!(
        S3Builder::new("a/b")
            .anonymous(true)
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
}

#[test]
fn presets() {
    let minio = S3Builder::minio("http://127.0.0.1:9000")
        .bucket("b")
        .anonymous(true)
        .build()
        .unwrap();
    assert_eq!(minio.config().effective_addressing(), AddressingStyle::Path);
    let r2 = S3Builder::r2("acc")
        .bucket("b")
        .anonymous(true)
        .build()
        .unwrap();
    assert_eq!(
        r2.config().effective_endpoint(),
        "https://acc.r2.cloudflarestorage.com"
    );
    assert_eq!(r2.config().region, "auto");
    assert_eq!(
        r2.config().effective_payload_signing(),
        PayloadSigning::Unsigned
    );
}
