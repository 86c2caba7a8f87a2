//! Secret references (`env://`, `file://`, `aws-sm://`, `azure-kv://`), the
//! [`SecretSource`] trait and the two sources core ships.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::{Error, ErrorKind, Result};

/// Where a secret lives. Parsed from a setting value such as
/// `aws-sm://prod/db#password`; the reference itself is not secret and may
/// be logged.
///
/// ```
/// use plugbay_core::SecretRef;
/// let r: SecretRef = "aws-sm://prod/db#password".parse()?;
/// assert_eq!(r.scheme(), "aws-sm");
/// assert_eq!(r.to_string(), "aws-sm://prod/db#password");
/// assert!(SecretRef::detect("postgres://localhost/app").is_none());
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SecretRef {
    /// `env://NAME`: another setting (the settings map, not `std::env`).
    Env {
        /// The variable name.
        name: String,
    },
    /// `file:///abs/path`: a file's content, one trailing newline trimmed
    /// (Docker and Kubernetes secret mounts).
    File {
        /// The absolute path.
        path: PathBuf,
    },
    /// `aws-sm://secret-id[#json_key]`: AWS Secrets Manager; with a key,
    /// the `SecretString` is a JSON object and the key picks one member.
    AwsSecretsManager {
        /// The secret name or ARN.
        secret_id: String,
        /// The member of a JSON secret to return.
        json_key: Option<String>,
    },
    /// `azure-kv://vault/name[/version]`: Azure Key Vault; `vault` is a
    /// vault name (`{vault}.vault.azure.net`) or a host.
    AzureKeyVault {
        /// The vault name or host.
        vault: String,
        /// The secret name.
        name: String,
        /// A specific version (latest when absent).
        version: Option<String>,
    },
}

impl SecretRef {
    /// The schemes a reference can have.
    pub const SCHEMES: [&'static str; 4] = ["env", "file", "aws-sm", "azure-kv"];

    /// The scheme (`"env"`, `"file"`, `"aws-sm"`, `"azure-kv"`).
    pub fn scheme(&self) -> &'static str {
        match self {
            SecretRef::Env { .. } => "env",
            SecretRef::File { .. } => "file",
            SecretRef::AwsSecretsManager { .. } => "aws-sm",
            SecretRef::AzureKeyVault { .. } => "azure-kv",
        }
    }

    /// `Some` when `value` starts with a known `scheme://` (then it is a
    /// reference, well formed or not), `None` for a plain value.
    pub fn detect(value: &str) -> Option<Result<SecretRef>> {
        let value = value.trim();
        let is_ref = Self::SCHEMES.iter().any(|s| {
            value
                .get(..s.len() + 3)
                .is_some_and(|head| head.eq_ignore_ascii_case(&format!("{s}://")))
        });
        is_ref.then(|| value.parse())
    }

    fn malformed(value: &str, expected: &str) -> Error {
        Error::config(format!(
            "malformed secret reference `{value}`: expected {expected}"
        ))
    }
}

impl FromStr for SecretRef {
    type Err = Error;

    fn from_str(value: &str) -> Result<SecretRef> {
        let value = value.trim();
        let Some((scheme, rest)) = value.split_once("://") else {
            return Err(Error::config(format!(
                "`{value}` is not a secret reference (scheme://...)"
            )));
        };
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        match scheme.to_ascii_lowercase().as_str() {
            "env" => match non_empty(rest) {
                Some(name) if !name.contains(['/', '#', '=']) => Ok(SecretRef::Env { name }),
                _ => Err(Self::malformed(value, "env://NAME")),
            },
            "file" => {
                if rest.len() > 1 && rest.starts_with('/') {
                    Ok(SecretRef::File {
                        path: PathBuf::from(rest),
                    })
                } else {
                    Err(Self::malformed(value, "file:///absolute/path"))
                }
            }
            "aws-sm" => {
                let (id, key) = match rest.split_once('#') {
                    Some((id, key)) => (id, Some(key)),
                    None => (rest, None),
                };
                let secret_id = non_empty(id)
                    .ok_or_else(|| Self::malformed(value, "aws-sm://name[#json_key]"))?;
                let json_key = match key {
                    Some(k) => Some(
                        non_empty(k).ok_or_else(|| Self::malformed(value, "a key after `#`"))?,
                    ),
                    None => None,
                };
                Ok(SecretRef::AwsSecretsManager {
                    secret_id,
                    json_key,
                })
            }
            "azure-kv" => {
                let parts: Vec<&str> = rest.split('/').collect();
                let expected = "azure-kv://vault/name[/version]";
                match parts.as_slice() {
                    [vault, name] | [vault, name, ""] if !vault.is_empty() && !name.is_empty() => {
                        Ok(SecretRef::AzureKeyVault {
                            vault: (*vault).to_owned(),
                            name: (*name).to_owned(),
                            version: None,
                        })
                    }
                    [vault, name, version]
                        if !vault.is_empty() && !name.is_empty() && !version.is_empty() =>
                    {
                        Ok(SecretRef::AzureKeyVault {
                            vault: (*vault).to_owned(),
                            name: (*name).to_owned(),
                            version: Some((*version).to_owned()),
                        })
                    }
                    _ => Err(Self::malformed(value, expected)),
                }
            }
            other => Err(Error::new(
                ErrorKind::Unsupported,
                format!("unknown secret scheme `{other}://` (known: env, file, aws-sm, azure-kv)"),
            )),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env { name } => write!(f, "env://{name}"),
            SecretRef::File { path } => write!(f, "file://{}", path.display()),
            SecretRef::AwsSecretsManager {
                secret_id,
                json_key,
            } => {
                write!(f, "aws-sm://{secret_id}")?;
                match json_key {
                    Some(k) => write!(f, "#{k}"),
                    None => Ok(()),
                }
            }
            SecretRef::AzureKeyVault {
                vault,
                name,
                version,
            } => {
                write!(f, "azure-kv://{vault}/{name}")?;
                match version {
                    Some(v) => write!(f, "/{v}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Resolves [`SecretRef`]s of one scheme to their values.
///
/// Implementations: [`EnvSecretSource`], [`FileSecretSource`] here; AWS
/// Secrets Manager and Azure Key Vault in `plugbay-secrets`. Register them
/// in a [`SecretResolver`](super::SecretResolver), which adds caching.
#[async_trait]
pub trait SecretSource: Send + Sync + fmt::Debug {
    /// The scheme this source answers (`"env"`, `"aws-sm"` ...).
    fn scheme(&self) -> &'static str;

    /// Fetch the secret. Contract: a reference of another scheme is
    /// [`ErrorKind::InvalidInput`]; a missing secret is
    /// [`ErrorKind::NotFound`]; a forbidden one is
    /// [`ErrorKind::PermissionDenied`]; errors never contain the value.
    async fn resolve(&self, reference: &SecretRef) -> Result<SecretString>;

    /// Whether resolved values may be cached (default `true`). Sources
    /// that are free to ask, like [`EnvSecretSource`], say `false`.
    fn cacheable(&self) -> bool {
        true
    }
}

/// A shared secret source.
pub type DynSecretSource = Arc<dyn SecretSource>;

#[async_trait]
impl<T: SecretSource + ?Sized> SecretSource for Arc<T> {
    fn scheme(&self) -> &'static str {
        (**self).scheme()
    }
    async fn resolve(&self, reference: &SecretRef) -> Result<SecretString> {
        (**self).resolve(reference).await
    }
    fn cacheable(&self) -> bool {
        (**self).cacheable()
    }
}

#[async_trait]
impl<T: SecretSource + ?Sized> SecretSource for Box<T> {
    fn scheme(&self) -> &'static str {
        (**self).scheme()
    }
    async fn resolve(&self, reference: &SecretRef) -> Result<SecretString> {
        (**self).resolve(reference).await
    }
    fn cacheable(&self) -> bool {
        (**self).cacheable()
    }
}

/// The error for a reference handed to a source of another scheme.
pub fn wrong_scheme(source: &str, reference: &SecretRef) -> Error {
    Error::invalid_input(format!(
        "the `{source}` secret source cannot resolve `{}://` references",
        reference.scheme()
    ))
    .with_provider(source.to_owned())
}

/// Resolves `env://NAME` from a settings map (a snapshot taken at
/// construction; the process environment is not read).
#[derive(Clone)]
pub struct EnvSecretSource {
    vars: Arc<BTreeMap<String, String>>,
}

impl fmt::Debug for EnvSecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvSecretSource")
            .field("vars", &self.vars.len())
            .finish()
    }
}

impl EnvSecretSource {
    /// A source over the given variables.
    pub fn from_map<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        EnvSecretSource {
            vars: Arc::new(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// A source over a snapshot of `settings` (later changes to a clone of
    /// the settings are not seen).
    pub fn new(settings: &super::Settings) -> Self {
        Self::from_shared(settings.shared_vars())
    }

    pub(crate) fn from_shared(vars: Arc<BTreeMap<String, String>>) -> Self {
        EnvSecretSource { vars }
    }
}

#[async_trait]
impl SecretSource for EnvSecretSource {
    fn scheme(&self) -> &'static str {
        "env"
    }

    async fn resolve(&self, reference: &SecretRef) -> Result<SecretString> {
        let SecretRef::Env { name } = reference else {
            return Err(wrong_scheme("env", reference));
        };
        match self.vars.get(name) {
            Some(v) if !v.is_empty() => Ok(SecretString::from(v.clone())),
            Some(_) => Err(Error::config(format!("secret variable `{name}` is empty"))),
            None => Err(Error::not_found(format!(
                "secret variable `{name}` is not set"
            ))),
        }
    }

    fn cacheable(&self) -> bool {
        false
    }
}

/// Resolves `file:///path` by reading the file and trimming one trailing
/// newline (`\n` or `\r\n`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSecretSource;

impl FileSecretSource {
    /// A file source.
    pub fn new() -> Self {
        FileSecretSource
    }
}

#[async_trait]
impl SecretSource for FileSecretSource {
    fn scheme(&self) -> &'static str {
        "file"
    }

    async fn resolve(&self, reference: &SecretRef) -> Result<SecretString> {
        let SecretRef::File { path } = reference else {
            return Err(wrong_scheme("file", reference));
        };
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            let kind = match e.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
                _ => ErrorKind::Unavailable,
            };
            Error::new(kind, format!("cannot read secret file {}", path.display())).with_source(e)
        })?;
        let mut text = String::from_utf8(bytes)
            .map_err(|_| Error::config(format!("secret file {} is not UTF-8", path.display())))?;
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        Ok(SecretString::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn parses_every_scheme_and_round_trips() {
        let cases = [
            "env://OPENAI_API_KEY",
            "file:///run/secrets/db",
            "aws-sm://prod/db",
            "aws-sm://arn:aws:secretsmanager:eu-west-1:1:secret:x-AbC#password",
            "azure-kv://myvault/db-password",
            "azure-kv://myvault.vault.azure.net/db/0123abcd",
        ];
        for text in cases {
            let r: SecretRef = text.parse().unwrap();
            assert_eq!(r.to_string(), text);
            assert!(SecretRef::detect(text).unwrap().is_ok());
        }
        assert_eq!(
            "aws-sm://prod/db#password".parse::<SecretRef>().unwrap(),
            SecretRef::AwsSecretsManager {
                secret_id: "prod/db".into(),
                json_key: Some("password".into())
            }
        );
    }

    #[test]
    fn rejects_malformed_references() {
        for bad in [
            "env://",
            "file://relative/path",
            "file:///",
            "aws-sm://",
            "aws-sm://name#",
            "azure-kv://vault",
            "azure-kv:///name",
            "azure-kv://v/n/ver/extra",
        ] {
            let err = bad.parse::<SecretRef>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
        }
        let err = "vault://x".parse::<SecretRef>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        for plain in ["hunter2", "postgres://u:p@h/db", "https://x", ""] {
            assert!(SecretRef::detect(plain).is_none(), "{plain}");
        }
    }

    #[tokio::test]
    async fn env_source() {
        let src = EnvSecretSource::from_map([("A", "alpha"), ("EMPTY", "")]);
        let v = src.resolve(&"env://A".parse().unwrap()).await.unwrap();
        assert_eq!(v.expose_secret(), "alpha");
        let missing = src.resolve(&"env://B".parse().unwrap()).await.unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        let empty = src
            .resolve(&"env://EMPTY".parse().unwrap())
            .await
            .unwrap_err();
        assert_eq!(empty.kind(), ErrorKind::Config);
        let wrong = src
            .resolve(&"file:///x".parse().unwrap())
            .await
            .unwrap_err();
        assert_eq!(wrong.kind(), ErrorKind::InvalidInput);
        assert!(!src.cacheable());
    }

    #[tokio::test]
    async fn file_source_trims_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let src = FileSecretSource::new();
        let reference = SecretRef::File { path: path.clone() };
        for (content, want) in [
            ("pw\n", "pw"),
            ("pw\r\n", "pw"),
            ("pw\n\n", "pw\n"),
            ("pw", "pw"),
        ] {
            std::fs::write(&path, content).unwrap();
            let v = src.resolve(&reference).await.unwrap();
            assert_eq!(v.expose_secret(), want, "{content:?}");
        }
        let missing = SecretRef::File {
            path: dir.path().join("none"),
        };
        let err = src.resolve(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
            // root reads anything; only assert when the permission bites.
            if std::fs::read(&path).is_err() {
                let err = src.resolve(&reference).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::PermissionDenied);
            }
        }
    }
}
