#![doc = include_str!("../README.md")]

#[cfg(any(feature = "aws-sm", feature = "azure-kv"))]
mod pending;

pub use plugbay_core::{SecretRef, SecretResolver, SecretSource, Settings};

/// A resolver with every source this build has: `env://` (over
/// `settings`) and `file://` always; cloud sources as they are enabled and
/// implemented (see the crate docs).
pub fn default_resolver(settings: &Settings) -> SecretResolver {
    let resolver = SecretResolver::with_defaults(settings);
    #[cfg(feature = "aws-sm")]
    let resolver = resolver.with_source(pending::NotImplementedSource::new("aws-sm"));
    #[cfg(feature = "azure-kv")]
    let resolver = resolver.with_source(pending::NotImplementedSource::new("azure-kv"));
    resolver
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::Arc;

    use super::*;
    use plugbay_core::{ErrorKind, ExposeSecret};

    #[tokio::test]
    async fn cloud_references_are_unsupported_and_say_what_to_do() {
        let settings = Settings::from_map([
            ("DB", "aws-sm://prod/db#password"),
            ("KV", "azure-kv://vault/name"),
        ]);
        let resolver = Arc::new(default_resolver(&settings));
        let settings = settings.with_secret_resolver(resolver);
        for (key, feature) in [("DB", "aws-sm"), ("KV", "azure-kv")] {
            let err = settings.secret(key).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
            assert!(
                err.message().contains(&format!("`{feature}` feature")),
                "{err}"
            );
            assert!(err.message().contains("plugbay-secrets"), "{err}");
        }
    }

    #[tokio::test]
    async fn env_and_file_references_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "file-value\n").unwrap();
        let settings = Settings::from_map([
            ("A", "env://B".to_owned()),
            ("B", "env-value".to_owned()),
            ("C", format!("file://{}", file.display())),
        ]);
        let resolver = default_resolver(&settings);
        let mut expected = Vec::new();
        if cfg!(feature = "aws-sm") {
            expected.push("aws-sm");
        }
        if cfg!(feature = "azure-kv") {
            expected.push("azure-kv");
        }
        expected.extend(["env", "file"]);
        assert_eq!(resolver.schemes(), expected);
        let settings = settings.with_secret_resolver(Arc::new(resolver));
        assert_eq!(
            settings.require_secret("A").await.unwrap().expose_secret(),
            "env-value"
        );
        assert_eq!(
            settings.require_secret("C").await.unwrap().expose_secret(),
            "file-value"
        );
    }
}
