//! Who may call: the local JWT issuer, Auth0 access-token verification and
//! social login (Google, Microsoft, GitHub, Auth0, any OIDC provider), all
//! chosen from settings.
//!
//! The local issuer always exists: it signs the sessions that social
//! logins end in. `PLUGBAY_AUTH=auth0` (the default when `AUTH0_DOMAIN` is
//! set) adds Auth0 as a second trusted issuer of access tokens; each token
//! is routed by its `iss` to exactly one verifier, which checks everything
//! as if it were alone.

use plugbay_auth::{
    DynOAuthProvider, DynTokenIssuer, DynTokenVerifier, PendingLoginStore, SocialLogin,
};
use plugbay_cache::DynKeyValue;
use plugbay_core::{Error, Result, Settings};

use super::select::{self, named};
use crate::keys;
use crate::report::ConcernReport;

/// What [`select`] picked.
pub(crate) struct AuthSelection {
    pub(crate) issuer: DynTokenIssuer,
    pub(crate) verifier: DynTokenVerifier,
    pub(crate) social: Option<SocialLogin>,
    pub(crate) external: Option<&'static str>,
    pub(crate) report: ConcernReport,
}

/// Which verifier set `PLUGBAY_AUTH` (or its default) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Local,
    Auth0,
}

fn mode(settings: &Settings) -> Result<Mode> {
    match settings
        .get(keys::AUTH)
        .map(|m| m.trim().to_ascii_lowercase())
    {
        None => Ok(if settings.contains(keys::AUTH0_DOMAIN) {
            Mode::Auth0
        } else {
            Mode::Local
        }),
        Some(m) if m == "local" => Ok(Mode::Local),
        Some(m) if m == "auth0" => Ok(Mode::Auth0),
        Some(other) => Err(named(
            Error::config(format!("`{other}` is not an auth mode (local or auth0)")),
            keys::AUTH,
        )),
    }
}

/// The issuer, the verifier and the login providers.
pub(crate) async fn select(settings: &Settings, kv: &DynKeyValue) -> Result<AuthSelection> {
    let local = select::auth(settings, kv).await?;
    let mode = mode(settings)?;
    let public = public_url(settings)?;
    let mut logins: Vec<DynOAuthProvider> = Vec::new();
    let mut report = local.report;
    let mut external = None;
    let verifier = match mode {
        Mode::Local => local.verifier,
        Mode::Auth0 => {
            let (verifier, login) = auth0::verifier(settings, &public, local.verifier).await?;
            logins.extend(login);
            external = Some("auth0");
            report.backend = format!("auth0+{}", report.backend);
            verifier
        }
    };
    if mode == Mode::Local && settings.contains(keys::AUTH0_CLIENT_ID) {
        logins.extend(auth0::login_only(settings, &public).await?);
    }
    logins.extend(social::providers(settings, &public).await?);
    let social = (!logins.is_empty()).then(|| {
        logins.iter().fold(
            SocialLogin::new(PendingLoginStore::new(kv.clone()), local.issuer.clone()),
            |login, provider| login.provider(provider.clone()),
        )
    });
    if let Some(social) = &social {
        let ids = social.provider_ids().join(", ");
        report.note = Some(match report.note.take() {
            Some(note) => format!("{note}; login with {ids}"),
            None => format!("login with {ids}"),
        });
    }
    Ok(AuthSelection {
        issuer: local.issuer,
        verifier,
        social,
        external,
        report,
    })
}

/// `PLUGBAY_PUBLIC_URL` without a trailing slash (default
/// `http://localhost:8080`): where browsers reach this server, for the
/// login callbacks `{public}/auth/callback/{provider}`.
fn public_url(settings: &Settings) -> Result<String> {
    let raw = settings
        .get(keys::PUBLIC_URL)
        .map_or(DEFAULT_PUBLIC_URL, str::trim);
    let parsed = url::Url::parse(raw).map_err(|e| {
        named(
            Error::config(format!("`{raw}` is not an absolute URL: {e}")),
            keys::PUBLIC_URL,
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
        return Err(named(
            Error::config(format!("`{raw}` must be an http(s) URL without a query")),
            keys::PUBLIC_URL,
        ));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// Default for [`keys::PUBLIC_URL`].
pub(crate) const DEFAULT_PUBLIC_URL: &str = "http://localhost:8080";

/// `{public}/auth/callback/{id}`.
#[cfg_attr(
    not(any(feature = "auth0", feature = "oidc", feature = "github")),
    allow(dead_code)
)]
fn callback(public: &str, id: &str) -> String {
    format!("{public}/auth/callback/{id}")
}

#[cfg_attr(
    all(feature = "auth0", feature = "oidc", feature = "github"),
    allow(dead_code)
)]
fn not_built(feature: &'static str, key: &'static str) -> Error {
    named(
        Error::unsupported(format!(
            "{key} is set but this build lacks the `{feature}` feature of plugbay"
        )),
        key,
    )
    .with_context("feature", feature)
}

#[cfg(feature = "auth0")]
mod auth0 {
    use std::sync::Arc;

    use plugbay_auth::{
        Auth0, Auth0Builder, DynOAuthProvider, DynTokenVerifier, IssuerRule, MultiIssuerVerifier,
    };
    use plugbay_core::{Error, Result, Settings};

    use super::{callback, named};
    use crate::keys;

    async fn tenant(settings: &Settings, public: &str) -> Result<Auth0> {
        let mut builder = Auth0Builder::from_settings(settings)
            .await
            .map_err(|e| named(e, keys::AUTH0_DOMAIN))?;
        if !settings.contains("AUTH0_REDIRECT_URI") {
            builder = builder.redirect_uri(callback(public, "auth0"));
        }
        builder.build().map_err(|e| named(e, keys::AUTH0_DOMAIN))
    }

    fn login(auth0: &Auth0, settings: &Settings) -> Result<Option<DynOAuthProvider>> {
        if !settings.contains(keys::AUTH0_CLIENT_ID) {
            return Ok(None);
        }
        let provider = auth0.login().map_err(|e| named(e, keys::AUTH0_CLIENT_ID))?;
        Ok(Some(Arc::new(provider)))
    }

    /// Auth0 access tokens (`AUTH0_AUDIENCE` required) beside the local
    /// issuer's, and Auth0 login when `AUTH0_CLIENT_ID` is set.
    pub(super) async fn verifier(
        settings: &Settings,
        public: &str,
        local: DynTokenVerifier,
    ) -> Result<(DynTokenVerifier, Option<DynOAuthProvider>)> {
        let auth0 = tenant(settings, public).await?;
        let remote = auth0
            .verifier()
            .map_err(|e| named(e, keys::AUTH0_AUDIENCE))?;
        let local_issuer = super::select::local_issuer(settings);
        if local_issuer == auth0.issuer() {
            return Err(named(
                Error::config("the local JWT issuer must differ from the Auth0 issuer"),
                keys::JWT_ISSUER,
            ));
        }
        let verifier = MultiIssuerVerifier::new()
            .with_issuer(remote)
            .with_verifier(IssuerRule::new(local_issuer), local);
        Ok((Arc::new(verifier), login(&auth0, settings)?))
    }

    /// Auth0 as one more login provider only (`PLUGBAY_AUTH=local`).
    pub(super) async fn login_only(
        settings: &Settings,
        public: &str,
    ) -> Result<Option<DynOAuthProvider>> {
        let auth0 = tenant(settings, public).await?;
        login(&auth0, settings)
    }
}

#[cfg(not(feature = "auth0"))]
mod auth0 {
    use plugbay_auth::{DynOAuthProvider, DynTokenVerifier};
    use plugbay_core::{Result, Settings};

    use super::not_built;
    use crate::keys;

    pub(super) async fn verifier(
        _: &Settings,
        _: &str,
        _: DynTokenVerifier,
    ) -> Result<(DynTokenVerifier, Option<DynOAuthProvider>)> {
        Err(not_built("auth0", keys::AUTH0_DOMAIN))
    }

    pub(super) async fn login_only(_: &Settings, _: &str) -> Result<Option<DynOAuthProvider>> {
        Err(not_built("auth0", keys::AUTH0_CLIENT_ID))
    }
}

mod social {
    use plugbay_auth::DynOAuthProvider;
    use plugbay_core::{Error, Result, Settings};

    use super::named;
    use crate::keys;

    /// Every social login whose client id is set.
    pub(super) async fn providers(
        settings: &Settings,
        public: &str,
    ) -> Result<Vec<DynOAuthProvider>> {
        let mut out = Vec::new();
        if settings.contains(keys::GITHUB_CLIENT_ID) {
            out.push(github(settings, public).await?);
        }
        if settings.contains(keys::GOOGLE_CLIENT_ID) {
            out.push(oidc::google(settings, public).await?);
        }
        if settings.contains(keys::MICROSOFT_CLIENT_ID) {
            out.push(oidc::microsoft(settings, public).await?);
        }
        if settings.contains(keys::OIDC_ISSUER) {
            out.push(oidc::generic(settings, public).await?);
        }
        Ok(out)
    }

    /// The secret paired with `id_key`; `Config` naming it when missing.
    #[cfg_attr(not(any(feature = "github", feature = "oidc")), allow(dead_code))]
    pub(super) async fn secret(
        settings: &Settings,
        key: &'static str,
        id_key: &'static str,
    ) -> Result<plugbay_core::SecretString> {
        settings
            .secret(key)
            .await
            .map_err(|e| named(e, key))?
            .ok_or_else(|| named(Error::config(format!("{id_key} needs {key}")), key))
    }

    #[cfg(feature = "github")]
    async fn github(settings: &Settings, public: &str) -> Result<DynOAuthProvider> {
        use plugbay_auth::{GithubConfig, GithubProvider};
        let id = settings.get(keys::GITHUB_CLIENT_ID).unwrap_or("").trim();
        let secret = secret(settings, keys::GITHUB_CLIENT_SECRET, keys::GITHUB_CLIENT_ID).await?;
        let config = GithubConfig::new(id, secret, super::callback(public, "github"));
        let provider = GithubProvider::new(config).map_err(|e| named(e, keys::GITHUB_CLIENT_ID))?;
        Ok(std::sync::Arc::new(provider))
    }

    #[cfg(not(feature = "github"))]
    async fn github(_: &Settings, _: &str) -> Result<DynOAuthProvider> {
        Err(super::not_built("github", keys::GITHUB_CLIENT_ID))
    }

    #[cfg(feature = "oidc")]
    mod oidc {
        use std::sync::Arc;

        use plugbay_auth::{DynOAuthProvider, OidcConfig, OidcProvider};
        use plugbay_core::{Error, Result, Settings};

        use super::super::{callback, named};
        use super::secret;
        use crate::keys;

        fn text<'a>(settings: &'a Settings, key: &str) -> &'a str {
            settings.get(key).unwrap_or("").trim()
        }

        /// Google by discovery (both `iss` spellings accepted).
        pub(super) async fn google(settings: &Settings, public: &str) -> Result<DynOAuthProvider> {
            let key = keys::GOOGLE_CLIENT_ID;
            let secret = secret(settings, keys::GOOGLE_CLIENT_SECRET, key).await?;
            let config = OidcConfig::new("google", text(settings, key), callback(public, "google"))
                .client_secret(secret);
            let provider = OidcProvider::google(config)
                .await
                .map_err(|e| named(e, key))?;
            Ok(Arc::new(provider))
        }

        /// Microsoft for `MICROSOFT_TENANT` (default `common`, which needs
        /// `MICROSOFT_ALLOWED_TENANTS`).
        pub(super) async fn microsoft(
            settings: &Settings,
            public: &str,
        ) -> Result<DynOAuthProvider> {
            let key = keys::MICROSOFT_CLIENT_ID;
            let secret = secret(settings, keys::MICROSOFT_CLIENT_SECRET, key).await?;
            let tenant = match text(settings, keys::MICROSOFT_TENANT) {
                "" => "common",
                tenant => tenant,
            };
            let allowed: Vec<&str> = text(settings, keys::MICROSOFT_ALLOWED_TENANTS)
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect();
            if matches!(tenant, "common" | "organizations" | "consumers") && allowed.is_empty() {
                return Err(named(
                    Error::config(format!(
                        "MICROSOFT_TENANT={tenant} accepts any tenant: list the accepted tenant ids"
                    )),
                    keys::MICROSOFT_ALLOWED_TENANTS,
                ));
            }
            let config = OidcConfig::new(
                "microsoft",
                text(settings, key),
                callback(public, "microsoft"),
            )
            .client_secret(secret)
            .allowed_tenants(allowed);
            let provider = OidcProvider::microsoft(tenant, config)
                .await
                .map_err(|e| named(e, keys::MICROSOFT_TENANT))?;
            Ok(Arc::new(provider))
        }

        /// Any OIDC provider by discovery, reported as `OIDC_PROVIDER_NAME`
        /// (default `oidc`); a public client (PKCE only) without a secret.
        pub(super) async fn generic(settings: &Settings, public: &str) -> Result<DynOAuthProvider> {
            let name = match text(settings, keys::OIDC_PROVIDER_NAME) {
                "" => "oidc",
                name => name,
            };
            let valid = name.len() <= 32
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                return Err(named(
                    Error::config("a provider name is 1 to 32 of a-z 0-9 -"),
                    keys::OIDC_PROVIDER_NAME,
                ));
            }
            let client_id = text(settings, keys::OIDC_CLIENT_ID);
            if client_id.is_empty() {
                return Err(named(
                    Error::config("OIDC_ISSUER needs OIDC_CLIENT_ID"),
                    keys::OIDC_CLIENT_ID,
                ));
            }
            let mut config = OidcConfig::new(name, client_id, callback(public, name));
            if let Some(secret) = settings
                .secret(keys::OIDC_CLIENT_SECRET)
                .await
                .map_err(|e| named(e, keys::OIDC_CLIENT_SECRET))?
            {
                config = config.client_secret(secret);
            }
            let provider = OidcProvider::discover(text(settings, keys::OIDC_ISSUER), config)
                .await
                .map_err(|e| named(e, keys::OIDC_ISSUER))?;
            Ok(Arc::new(provider))
        }
    }

    #[cfg(not(feature = "oidc"))]
    mod oidc {
        use plugbay_auth::DynOAuthProvider;
        use plugbay_core::{Result, Settings};

        use super::super::not_built;
        use crate::keys;

        pub(super) async fn google(_: &Settings, _: &str) -> Result<DynOAuthProvider> {
            Err(not_built("oidc", keys::GOOGLE_CLIENT_ID))
        }

        pub(super) async fn microsoft(_: &Settings, _: &str) -> Result<DynOAuthProvider> {
            Err(not_built("oidc", keys::MICROSOFT_CLIENT_ID))
        }

        pub(super) async fn generic(_: &Settings, _: &str) -> Result<DynOAuthProvider> {
            Err(not_built("oidc", keys::OIDC_ISSUER))
        }
    }
}
