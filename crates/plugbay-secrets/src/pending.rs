//! Stand-in for a cloud source whose feature is enabled but whose backend
//! is not written yet, so the error says that instead of asking the user to
//! enable a feature they already enabled.

use async_trait::async_trait;
use plugbay_core::{Error, Result, SecretRef, SecretSource, SecretString};

#[derive(Debug, Clone, Copy)]
pub(crate) struct NotImplementedSource {
    scheme: &'static str,
}

impl NotImplementedSource {
    pub(crate) fn new(scheme: &'static str) -> Self {
        NotImplementedSource { scheme }
    }
}

#[async_trait]
impl SecretSource for NotImplementedSource {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    async fn resolve(&self, reference: &SecretRef) -> Result<SecretString> {
        Err(Error::unsupported(format!(
            "the `{}` feature of plugbay-secrets is enabled, but its source is not \
             implemented in this version; `{reference}` cannot be resolved",
            self.scheme
        ))
        .with_provider(self.scheme))
    }
}
