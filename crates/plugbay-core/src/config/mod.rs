//! Settings and secret references.
//!
//! [`Settings`] is a string map built from the process environment plus a
//! development `.env.local` file (real environment variables win; the
//! process environment is never modified), with typed accessors whose
//! errors name the key but never a value that could be secret.
//!
//! Any value may instead be a [`SecretRef`] (`env://NAME`,
//! `file:///run/secrets/x`, `aws-sm://name#json_key`,
//! `azure-kv://vault/name`), resolved by [`Settings::secret`] through a
//! [`SecretResolver`].

mod env_file;
mod parse;
mod resolver;
mod secret;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::{Error, Result};
use crate::redact::{REDACTED, redact};

pub use parse::{parse_bool, parse_duration, parse_list};
pub use resolver::{DEFAULT_SECRET_TTL, SecretResolver};
pub use secret::{
    DynSecretSource, EnvSecretSource, FileSecretSource, SecretRef, SecretSource, wrong_scheme,
};

/// The development file [`Settings::from_env`] reads from the current
/// directory.
pub const ENV_FILE: &str = ".env.local";

/// Parts of a key that mark its value as secret (compared on the
/// upper-cased key).
const SECRET_KEY_MARKERS: &[&str] = &[
    "KEY",
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PWD",
    "DSN",
    "CREDENTIAL",
    "PRIVATE",
    "SIGNATURE",
    "COOKIE",
    "SALT",
    "WEBHOOK",
];

/// Whether a setting's name says its value is secret (`OPENAI_API_KEY`,
/// `JWT_SECRET`, `HF_TOKEN`, `SENTRY_DSN`, `DB_PASSWORD` ...).
pub fn is_secret_key(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    SECRET_KEY_MARKERS.iter().any(|m| upper.contains(m))
}

/// Application settings: a map of strings with typed accessors.
///
/// ```
/// use std::time::Duration;
/// use plugbay_core::Settings;
/// let settings = Settings::from_map([("PORT", "8080"), ("TIMEOUT", "30s")])
///     .with("DEBUG", "yes");
/// assert_eq!(settings.get_parsed::<u16>("PORT")?, Some(8080));
/// assert_eq!(settings.get_duration("TIMEOUT")?, Some(Duration::from_secs(30)));
/// assert_eq!(settings.get_bool("DEBUG")?, Some(true));
/// assert!(settings.require("MISSING").is_err());
/// # Ok::<(), plugbay_core::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Settings {
    vars: Arc<BTreeMap<String, String>>,
    resolver: Option<Arc<SecretResolver>>,
}

impl Settings {
    /// The process environment plus `.env.local` from the current
    /// directory (if present; real variables win).
    pub fn from_env() -> Result<Self> {
        Self::from_env_and_file(ENV_FILE)
    }

    /// The process environment plus the dotenv file at `path` (a missing
    /// file is fine; a malformed one is a `Config` error naming the line).
    /// Real environment variables win over the file.
    pub fn from_env_and_file(path: impl AsRef<Path>) -> Result<Self> {
        let mut vars: BTreeMap<String, String> = env_file::read_env_file(path.as_ref())?
            .into_iter()
            .collect();
        vars.extend(process_env());
        Ok(Self::from_btree(vars))
    }

    /// The process environment only (variables that are not UTF-8 are
    /// skipped).
    pub fn from_process_env() -> Self {
        Self::from_btree(process_env().collect())
    }

    /// Settings from explicit pairs (tests, config files, CLI flags).
    pub fn from_map<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self::from_btree(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    fn from_btree(vars: BTreeMap<String, String>) -> Self {
        Settings {
            vars: Arc::new(vars),
            resolver: None,
        }
    }

    /// These settings with `key` set to `value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.vars).insert(key.into(), value.into());
        self
    }

    /// Resolve secret references through `resolver` (by default a
    /// [`SecretResolver::with_defaults`] over these settings, without a
    /// cache, is used per call).
    pub fn with_secret_resolver(mut self, resolver: Arc<SecretResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    pub(crate) fn shared_vars(&self) -> Arc<BTreeMap<String, String>> {
        self.vars.clone()
    }

    /// The raw value of `key`; unset and blank values are both `None`
    /// (`FOO=` in a dotenv file means "not configured").
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Whether `key` has a non-blank value.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key`, or a `Config` error naming it.
    pub fn require(&self, key: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| Error::config(format!("setting `{key}` is required but not set")))
    }

    /// Parse `key` with `FromStr`; `Ok(None)` when unset, a `Config` error
    /// naming the key (and the value, unless the key looks secret) when it
    /// does not parse.
    pub fn get_parsed<T>(&self, key: &str) -> Result<Option<T>>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.get(key)
            .map(|v| {
                v.trim().parse::<T>().map_err(|e| {
                    invalid(key, v, &format!("a valid {}", short_type_name::<T>()))
                        .with_context("reason", e.to_string())
                })
            })
            .transpose()
    }

    /// [`Settings::get_parsed`], but an unset key is a `Config` error.
    pub fn require_parsed<T>(&self, key: &str) -> Result<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.require(key)?;
        self.get_parsed(key)?
            .ok_or_else(|| Error::config(format!("setting `{key}` is required but not set")))
    }

    /// A boolean: `true/false`, `1/0`, `yes/no`, `on/off`.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>> {
        self.typed(
            key,
            parse_bool,
            "a boolean (true/false, 1/0, yes/no, on/off)",
        )
    }

    /// A duration: `"250ms"`, `"30s"`, `"5m"`, `"1h"`, `"1h30m"` or bare
    /// seconds.
    pub fn get_duration(&self, key: &str) -> Result<Option<Duration>> {
        self.typed(key, parse_duration, "a duration like 30s, 5m, 1h or 250ms")
    }

    /// An absolute URL. The error never shows the value (URLs carry
    /// credentials).
    pub fn get_url(&self, key: &str) -> Result<Option<Url>> {
        self.get(key)
            .map(|v| {
                Url::parse(v.trim())
                    .map_err(|e| Error::config(format!("setting `{key}` is not a valid URL: {e}")))
            })
            .transpose()
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    pub fn get_list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(parse_list)
    }

    /// The reference in `key`, if its value is one.
    pub fn secret_ref(&self, key: &str) -> Result<Option<SecretRef>> {
        match self.get(key).and_then(SecretRef::detect) {
            Some(parsed) => parsed
                .map(Some)
                .map_err(|e| e.with_context("setting", key.to_owned())),
            None => Ok(None),
        }
    }

    /// The secret in `key`: the value itself, or what its reference
    /// resolves to. `Ok(None)` when unset. The value is a `SecretString`
    /// from here on.
    pub async fn secret(&self, key: &str) -> Result<Option<SecretString>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Some(reference) = self.secret_ref(key)? else {
            return Ok(Some(SecretString::from(value.to_owned())));
        };
        let resolved = match &self.resolver {
            Some(resolver) => resolver.resolve(&reference).await,
            None => {
                SecretResolver::with_defaults(self)
                    .resolve(&reference)
                    .await
            }
        };
        resolved
            .map(Some)
            .map_err(|e| e.with_context("setting", key.to_owned()))
    }

    /// [`Settings::secret`], but an unset key is a `Config` error.
    pub async fn require_secret(&self, key: &str) -> Result<SecretString> {
        self.secret(key)
            .await?
            .ok_or_else(|| Error::config(format!("secret setting `{key}` is required but not set")))
    }

    /// All keys and raw values, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The keys starting with `prefix` (e.g. `"AWS_"`), sorted.
    pub fn keys_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.vars
            .keys()
            .filter(move |k| k.starts_with(prefix))
            .map(String::as_str)
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    fn typed<T>(
        &self,
        key: &str,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>> {
        self.get(key)
            .map(|v| parse(v).ok_or_else(|| invalid(key, v, expected)))
            .transpose()
    }
}

fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// A `Config` error for a value that does not parse: names the key, and
/// shows the value only when the key does not look secret.
fn invalid(key: &str, value: &str, expected: &str) -> Error {
    if is_secret_key(key) || SecretRef::detect(value).is_some() {
        Error::config(format!("setting `{key}` is not {expected}"))
    } else {
        Error::config(format!(
            "setting `{key}` is not {expected} (got `{}`)",
            redact(value)
        ))
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Vars<'a>(&'a BTreeMap<String, String>);
        impl fmt::Debug for Vars<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut map = f.debug_map();
                for (k, v) in self.0 {
                    // A reference only says where a secret lives: keep it.
                    let shown = if SecretRef::detect(v).is_some_and(|r| r.is_ok()) {
                        v.clone()
                    } else if is_secret_key(k) {
                        REDACTED.to_owned()
                    } else {
                        redact(v)
                    };
                    map.entry(k, &shown);
                }
                map.finish()
            }
        }
        f.debug_struct("Settings")
            .field("vars", &Vars(&self.vars))
            .field("resolver", &self.resolver)
            .finish()
    }
}

#[cfg(test)]
mod tests;
