//! Public conformance suites and test signers.
//!
//! Compiled in tests and under the `conformance` feature. Everything here
//! is a **test utility**: the signers produce the headers a provider would
//! send, so a server's own tests can post correctly signed (and
//! deliberately broken) webhooks; the scenarios assert the error *kinds*
//! every backend must return.
//!
//! - [`signers`]: `sign_stripe`, `sign_github`, `sign_standard` and one
//!   [`signers::WebhookSigner`] per scheme;
//! - [`verifier`]: scenarios for any [`crate::WebhookVerifier`], generic
//!   over a signer;
//! - [`notifier`]: scenarios for any [`crate::Notifier`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod notifier;
pub mod signers;
pub mod verifier;
