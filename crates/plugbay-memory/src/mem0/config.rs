//! [`Mem0Config`]: where the Mem0 platform is and how to call it, with a
//! `Debug` that never shows the API key.

use std::fmt;
use std::time::Duration;

use plugbay_core::{RetryPolicy, SecretString};
use serde::{Deserialize, Serialize};

/// The hosted platform's API root.
pub const DEFAULT_BASE_URL: &str = "https://api.mem0.ai";

/// Settings of a [`Mem0Memory`](super::Mem0Memory). Build it with
/// [`Mem0Builder`](super::Mem0Builder).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Mem0Config {
    /// Sent as `Authorization: Token <key>` (required).
    #[serde(skip_serializing)]
    pub api_key: Option<SecretString>,
    /// The API root, without a trailing slash.
    pub base_url: String,
    /// `org_id` query parameter, for keys that reach several organisations.
    pub org_id: Option<String>,
    /// `project_id` query parameter.
    pub project_id: Option<String>,
    /// Bound on each attempt.
    pub timeout: Duration,
    /// Retries, backoff and budget.
    #[serde(skip)]
    pub retry_policy: RetryPolicy,
    /// Wait between polls of an add's event.
    pub poll_interval: Duration,
    /// Give up waiting for an add's event after this long (`Timeout`).
    pub poll_timeout: Duration,
}

impl Default for Mem0Config {
    fn default() -> Mem0Config {
        Mem0Config {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            org_id: None,
            project_id: None,
            timeout: Duration::from_secs(60),
            retry_policy: RetryPolicy::default(),
            poll_interval: Duration::from_secs(1),
            poll_timeout: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for Mem0Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mem0Config")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("org_id", &self.org_id)
            .field("project_id", &self.project_id)
            .field("timeout", &self.timeout)
            .field("poll_interval", &self.poll_interval)
            .field("poll_timeout", &self.poll_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let config = Mem0Config {
            api_key: Some(SecretString::from("m0-secret-key")),
            ..Mem0Config::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("m0-secret-key"), "{text}");
    }
}
