//! [`MultiIssuerVerifier`]: accept tokens from several issuers at once.

use std::fmt;

use async_trait::async_trait;
use plugbay_core::Result;

use super::verifier::{IssuerRule, JwksVerifier, unverified_issuer};
use crate::jwt::claims::unauthenticated;
use crate::traits::{DynTokenVerifier, TokenVerifier, VerifierCapabilities};
use crate::types::Principal;

/// Routes each token to the verifier of its issuer, then verifies it fully
/// there.
///
/// The unverified `iss` (and, for `{tenantid}` templates, `tid`) is read
/// only to choose the verifier; the chosen verifier checks signature,
/// issuer, audience and times as if it were alone, so a forged `iss` can
/// at most pick a verifier that then rejects the token.
#[derive(Clone, Default)]
pub struct MultiIssuerVerifier {
    routes: Vec<(IssuerRule, DynTokenVerifier)>,
}

impl fmt::Debug for MultiIssuerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.routes.iter().map(|(rule, _)| &rule.issuer))
            .finish()
    }
}

impl MultiIssuerVerifier {
    /// No issuers yet.
    pub fn new() -> MultiIssuerVerifier {
        MultiIssuerVerifier::default()
    }

    /// Route tokens of `verifier`'s issuer to it.
    pub fn with_issuer(mut self, verifier: JwksVerifier) -> Self {
        let rule = verifier.config().issuer.clone();
        self.routes
            .push((rule, std::sync::Arc::new(verifier) as DynTokenVerifier));
        self
    }

    /// Route tokens whose `iss` matches `rule` to any verifier (a local
    /// [`crate::JwtVerifier`], a custom one).
    pub fn with_verifier(mut self, rule: IssuerRule, verifier: DynTokenVerifier) -> Self {
        self.routes.push((rule, verifier));
        self
    }

    /// How many issuers are routed.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether no issuer is routed.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[async_trait]
impl TokenVerifier for MultiIssuerVerifier {
    fn capabilities(&self) -> VerifierCapabilities {
        let offline = self.routes.iter().all(|(_, v)| v.capabilities().offline);
        let session = self
            .routes
            .iter()
            .all(|(_, v)| v.capabilities().session_check);
        VerifierCapabilities::default()
            .offline(offline)
            .session_check(session && !self.routes.is_empty())
    }

    async fn verify(&self, token: &str) -> Result<Principal> {
        let (iss, claims) = unverified_issuer(token)?;
        let Some((_, verifier)) = self
            .routes
            .iter()
            .find(|(rule, _)| rule.accepts(&iss, &claims))
        else {
            return Err(unauthenticated("issuer", "token issuer is not accepted"));
        };
        verifier.verify(token).await
    }
}
