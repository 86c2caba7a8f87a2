#![doc = include_str!("../README.md")]

pub mod auth0;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod dedupe;
pub mod github;
pub mod log;
pub mod notification;
pub mod notifier;
pub mod recording;
pub mod standard;
pub mod stripe;
pub mod verifier;

pub use auth0::{Auth0LogStreamVerifier, auth0_log_id};
pub use dedupe::{DEFAULT_REPLAY_TTL, ReplayGuard, VerifiedWebhooks};
pub use github::GithubVerifier;
pub use log::LogNotifier;
pub use notification::{Delivery, Notification, Severity, truncate_text};
pub use notifier::{DynNotifier, Notifier, NotifierCapabilities, NotifierExt};
pub use recording::RecordingNotifier;
pub use standard::StandardWebhooksVerifier;
pub use stripe::StripeVerifier;
pub use verifier::{
    DEFAULT_TOLERANCE, DynWebhookVerifier, VerifiedEvent, VerifierCapabilities, WebhookVerifier,
};
