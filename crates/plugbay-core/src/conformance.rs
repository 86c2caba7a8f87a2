//! Conformance suite for [`SecretSource`] backends.
//!
//! Every backend runs [`run_all`] with a [`SecretFixture`] describing one
//! secret it holds and one it does not: the in-core sources in `cargo
//! test`, cloud sources (in `plugbay-secrets`) against their peers or
//! documented wire stubs. Scenarios assert error kinds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use secrecy::ExposeSecret;

use crate::{ErrorKind, SecretRef, SecretSource};

/// What the suite needs to know about the backend's data.
#[derive(Debug, Clone)]
pub struct SecretFixture {
    /// A reference the source can resolve.
    pub present: SecretRef,
    /// The value `present` resolves to.
    pub expected: String,
    /// A reference of the source's scheme that does not exist.
    pub missing: SecretRef,
}

impl SecretFixture {
    /// Describe a fixture.
    pub fn new(present: SecretRef, expected: impl Into<String>, missing: SecretRef) -> Self {
        SecretFixture {
            present,
            expected: expected.into(),
            missing,
        }
    }
}

/// The source names the scheme of the references it resolves.
pub async fn scheme_matches_references(source: &dyn SecretSource, fixture: &SecretFixture) {
    assert_eq!(source.scheme(), fixture.present.scheme());
    assert_eq!(source.scheme(), fixture.missing.scheme());
    assert!(SecretRef::SCHEMES.contains(&source.scheme()));
}

/// A present secret resolves to its exact value, twice in a row.
pub async fn resolves_present_secret(source: &dyn SecretSource, fixture: &SecretFixture) {
    for _ in 0..2 {
        let value = source.resolve(&fixture.present).await.unwrap();
        assert_eq!(value.expose_secret(), fixture.expected);
    }
}

/// A missing secret is `NotFound`, and the error does not leak the value of
/// the present one.
pub async fn missing_secret_is_not_found(source: &dyn SecretSource, fixture: &SecretFixture) {
    let err = source.resolve(&fixture.missing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err:#}");
    let shown = format!("{err:#} {err:?}");
    assert!(!shown.contains(&fixture.expected), "{shown}");
}

/// A reference of another scheme is `InvalidInput`.
pub async fn other_scheme_is_invalid_input(source: &dyn SecretSource, _fixture: &SecretFixture) {
    let other: SecretRef = if source.scheme() == "env" {
        "file:///nonexistent/plugbay".parse().unwrap()
    } else {
        "env://PLUGBAY_CONFORMANCE".parse().unwrap()
    };
    let err = source.resolve(&other).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:#}");
}

/// Every scenario above.
pub async fn run_all(source: &dyn SecretSource, fixture: &SecretFixture) {
    scheme_matches_references(source, fixture).await;
    resolves_present_secret(source, fixture).await;
    missing_secret_is_not_found(source, fixture).await;
    other_scheme_is_invalid_input(source, fixture).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EnvSecretSource, FileSecretSource};

    #[tokio::test]
    async fn env_source_conforms() {
        let source = EnvSecretSource::from_map([("PRESENT", "value-1")]);
        let fixture = SecretFixture::new(
            "env://PRESENT".parse().unwrap(),
            "value-1",
            "env://ABSENT".parse().unwrap(),
        );
        run_all(&source, &fixture).await;
    }

    #[tokio::test]
    async fn file_source_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("present");
        std::fs::write(&path, "value-2\n").unwrap();
        let fixture = SecretFixture::new(
            SecretRef::File { path },
            "value-2",
            SecretRef::File {
                path: dir.path().join("absent"),
            },
        );
        let boxed: Box<dyn SecretSource> = Box::new(FileSecretSource::new());
        run_all(&boxed, &fixture).await;
    }
}
