//! JWKS-backed verification of external issuers' access tokens (feature
//! `jwks`): [`JwksCache`], [`JwksVerifier`], [`MultiIssuerVerifier`].

mod cache;
mod multi;
mod parse;
mod verifier;

pub use cache::{
    DEFAULT_JWKS_COOLDOWN, DEFAULT_JWKS_MAX_AGE, JWKS_FETCH_TIMEOUT, JwksCache, JwksCacheBuilder,
};
pub use multi::MultiIssuerVerifier;
pub use verifier::{IssuerConfig, IssuerRule, JwksVerifier, TENANT_PLACEHOLDER};

#[cfg(feature = "oidc")]
pub(crate) use verifier::verify_signature;
