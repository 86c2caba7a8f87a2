//! The server's own settings (the providers read theirs in the facade).

use plugbay::core::{Error, Result, Settings};
use plugbay::telemetry::{LogConfig, LogFormat};

/// Listen address (default `127.0.0.1:8080`; port 0 picks a free port).
pub const ADDR: &str = "PLUGBAY_ADDR";
/// Whether `POST /auth/dev-login` is enabled when the local JWT is in use
/// (default: on, unless an external identity provider such as Auth0 is
/// trusted, where a dev login would be a way around it).
pub const DEV_LOGIN: &str = "PLUGBAY_DEV_LOGIN";
/// Where browsers reach the server (default `http://localhost:8080`); the
/// login cookie is `Secure` when it is `https://`.
pub const PUBLIC_URL: &str = plugbay::keys::PUBLIC_URL;
/// Requests per minute per user on `/v1` (default 600; 0 turns it off).
pub const RATE_LIMIT_PER_MINUTE: &str = "PLUGBAY_RATE_LIMIT_PER_MINUTE";
/// Largest JSON body (default 1 MiB).
pub const MAX_BODY_BYTES: &str = "PLUGBAY_MAX_BODY_BYTES";
/// Largest file upload (default 1 GiB).
pub const MAX_UPLOAD_BYTES: &str = "PLUGBAY_MAX_UPLOAD_BYTES";
/// Largest webhook body (default 1 MiB).
pub const MAX_WEBHOOK_BYTES: &str = "PLUGBAY_MAX_WEBHOOK_BYTES";
/// Log format: `json`, `pretty` or `compact` (default: pretty on a
/// terminal, json otherwise).
pub const LOG_FORMAT: &str = "LOG_FORMAT";
/// Log filter directives (default `info`).
pub const RUST_LOG: &str = "RUST_LOG";

const MIB: u64 = 1024 * 1024;

/// The server's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Where to listen.
    pub addr: String,
    /// Whether dev login is enabled (it also needs the local JWT issuer);
    /// `None`: on unless an external identity provider is trusted.
    pub dev_login: Option<bool>,
    /// Whether the login cookie is `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Requests per minute per user on `/v1`; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// Largest JSON body in bytes.
    pub max_body_bytes: usize,
    /// Largest upload in bytes.
    pub max_upload_bytes: u64,
    /// Largest webhook body in bytes.
    pub max_webhook_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            addr: "127.0.0.1:8080".to_owned(),
            dev_login: None,
            secure_cookies: false,
            rate_limit_per_minute: 600,
            max_body_bytes: MIB as usize,
            max_upload_bytes: 1024 * MIB,
            max_webhook_bytes: MIB as usize,
        }
    }
}

impl ServerConfig {
    /// Read the settings above; `Config` error naming the bad one.
    pub fn from_settings(settings: &Settings) -> Result<ServerConfig> {
        let defaults = ServerConfig::default();
        Ok(ServerConfig {
            addr: settings
                .get(ADDR)
                .map(|a| a.trim().to_owned())
                .unwrap_or(defaults.addr),
            dev_login: settings.get_bool(DEV_LOGIN)?.or(defaults.dev_login),
            secure_cookies: settings
                .get(PUBLIC_URL)
                .is_some_and(|u| u.trim().starts_with("https://")),
            rate_limit_per_minute: settings
                .get_parsed(RATE_LIMIT_PER_MINUTE)?
                .unwrap_or(defaults.rate_limit_per_minute),
            max_body_bytes: usize_of(bytes(settings, MAX_BODY_BYTES)?, defaults.max_body_bytes),
            max_upload_bytes: bytes(settings, MAX_UPLOAD_BYTES)?
                .unwrap_or(defaults.max_upload_bytes),
            max_webhook_bytes: usize_of(
                bytes(settings, MAX_WEBHOOK_BYTES)?,
                defaults.max_webhook_bytes,
            ),
        })
    }

    /// Setters, for tests and embedders.
    pub fn with_rate_limit_per_minute(mut self, n: u32) -> ServerConfig {
        self.rate_limit_per_minute = n;
        self
    }

    /// Set the JSON body limit.
    pub fn with_max_body_bytes(mut self, n: usize) -> ServerConfig {
        self.max_body_bytes = n;
        self
    }

    /// Set the upload limit.
    pub fn with_max_upload_bytes(mut self, n: u64) -> ServerConfig {
        self.max_upload_bytes = n;
        self
    }

    /// Enable or disable dev login.
    pub fn with_dev_login(mut self, on: bool) -> ServerConfig {
        self.dev_login = Some(on);
        self
    }
}

fn usize_of(value: Option<u64>, default: usize) -> usize {
    value.map_or(default, |v| usize::try_from(v).unwrap_or(usize::MAX))
}

/// A size: bytes, or with a `KiB`/`MiB`/`GiB` (or `K`/`M`/`G`) suffix.
fn bytes(settings: &Settings, key: &str) -> Result<Option<u64>> {
    let Some(raw) = settings.get(key) else {
        return Ok(None);
    };
    parse_bytes(raw).map(Some).ok_or_else(|| {
        Error::config(format!(
            "setting `{key}` is not a size like 1048576, 512KiB, 10MiB or 1GiB (got `{raw}`)"
        ))
    })
}

fn parse_bytes(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => 1024 * MIB,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// The logging set-up from `LOG_FORMAT` and `RUST_LOG`.
pub fn log_config(settings: &Settings) -> Result<LogConfig> {
    use std::io::IsTerminal as _;
    let format = match settings
        .get(LOG_FORMAT)
        .map(|f| f.trim().to_ascii_lowercase())
    {
        None if std::io::stdout().is_terminal() => LogFormat::Pretty,
        None => LogFormat::Json,
        Some(f) if f == "json" => LogFormat::Json,
        Some(f) if f == "pretty" => LogFormat::Pretty,
        Some(f) if f == "compact" => LogFormat::Compact,
        Some(other) => {
            return Err(Error::config(format!(
                "setting `{LOG_FORMAT}` must be json, pretty or compact (got `{other}`)"
            )));
        }
    };
    let filter = settings.get(RUST_LOG).unwrap_or("info").to_owned();
    Ok(LogConfig::new().format(format).filter(filter))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use plugbay::core::ErrorKind;

    use super::*;

    #[test]
    fn defaults_with_no_settings() {
        let config = ServerConfig::from_settings(&Settings::default()).unwrap();
        assert_eq!(config, ServerConfig::default());
        assert_eq!(config.addr, "127.0.0.1:8080");
        assert_eq!(config.max_upload_bytes, 1 << 30);
    }

    #[test]
    fn sizes_and_bad_values() {
        let settings = Settings::from_map([
            (MAX_BODY_BYTES, "64KiB"),
            (MAX_UPLOAD_BYTES, "2g"),
            (RATE_LIMIT_PER_MINUTE, "0"),
            (DEV_LOGIN, "off"),
        ]);
        let config = ServerConfig::from_settings(&settings).unwrap();
        assert_eq!(config.max_body_bytes, 64 * 1024);
        assert_eq!(config.max_upload_bytes, 2 << 30);
        assert_eq!(config.rate_limit_per_minute, 0);
        assert_eq!(config.dev_login, Some(false));
        assert!(!config.secure_cookies);
        let https = Settings::from_map([(PUBLIC_URL, "https://app.example.com")]);
        assert!(ServerConfig::from_settings(&https).unwrap().secure_cookies);
        for (key, value) in [
            (MAX_BODY_BYTES, "lots"),
            (RATE_LIMIT_PER_MINUTE, "-1"),
            (DEV_LOGIN, "maybe"),
        ] {
            let err = ServerConfig::from_settings(&Settings::from_map([(key, value)])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(key), "{err}");
        }
        let err = log_config(&Settings::from_map([(LOG_FORMAT, "xml")])).unwrap_err();
        assert!(err.to_string().contains(LOG_FORMAT));
        assert_eq!(
            log_config(&Settings::from_map([(LOG_FORMAT, "JSON")]))
                .unwrap()
                .format,
            LogFormat::Json
        );
    }
}
