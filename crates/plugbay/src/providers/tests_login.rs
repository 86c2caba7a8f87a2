//! Auth selection from settings: modes, social login providers and the
//! errors that name the setting at fault. No network: GitHub and Auth0
//! have fixed endpoints, and the Microsoft case fails before discovery.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use plugbay_auth::AuthorizeRequest;
use plugbay_core::ErrorKind;

use super::tests::test_settings;
use super::*;
use crate::keys;

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn refused(pairs: &[(&str, &str)], setting: &str) -> plugbay_core::Error {
    let err = Providers::from_settings(&test_settings(pairs.iter().copied()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains(setting), "{setting} not in: {err}");
    err
}

#[tokio::test]
async fn without_client_ids_there_is_no_social_login() {
    let p = Providers::from_settings(&test_settings::<&str, &str>([]))
        .await
        .unwrap();
    assert!(p.social_login().is_none());
    assert_eq!(p.external_identity(), None);
    assert_eq!(p.report_for(Concern::Auth).unwrap().backend, "local-jwt");
}

#[tokio::test]
async fn github_and_auth0_logins_come_from_their_client_ids() {
    let p = Providers::from_settings(&test_settings([
        (keys::GITHUB_CLIENT_ID, "gh-client"),
        (keys::GITHUB_CLIENT_SECRET, "gh-secret-value"),
        (keys::AUTH, "local"),
        (keys::AUTH0_DOMAIN, "tenant.eu.auth0.com"),
        (keys::AUTH0_CLIENT_ID, "a0-client"),
        ("AUTH0_CLIENT_SECRET", "a0-secret-value"),
        (keys::PUBLIC_URL, "https://app.example.com/"),
    ]))
    .await
    .unwrap();
    assert_eq!(p.external_identity(), None, "PLUGBAY_AUTH=local");
    let social = p.social_login().unwrap();
    assert_eq!(social.provider_ids(), ["auth0", "github"]);
    let report = p.report_for(Concern::Auth).unwrap();
    assert!(
        report
            .note
            .as_deref()
            .unwrap()
            .contains("login with auth0, github"),
        "{report:?}"
    );
    assert!(!format!("{p:?} {report:?}").contains("secret-value"));

    let github = social
        .begin("github", AuthorizeRequest::new())
        .await
        .unwrap();
    assert_eq!(github.host_str(), Some("github.com"));
    assert_eq!(query(&github, "client_id").as_deref(), Some("gh-client"));
    assert_eq!(
        query(&github, "redirect_uri").as_deref(),
        Some("https://app.example.com/auth/callback/github")
    );
    assert_eq!(
        query(&github, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let auth0 = social
        .begin("auth0", AuthorizeRequest::new())
        .await
        .unwrap();
    assert_eq!(auth0.host_str(), Some("tenant.eu.auth0.com"));
    assert_eq!(auth0.path(), "/authorize");
    assert_eq!(
        query(&auth0, "redirect_uri").as_deref(),
        Some("https://app.example.com/auth/callback/auth0")
    );
    assert!(query(&auth0, "nonce").is_some(), "Auth0 login is OIDC");
}

#[tokio::test]
async fn auth0_mode_is_the_default_with_a_domain_and_needs_an_audience() {
    let p = Providers::from_settings(&test_settings([
        (keys::AUTH0_DOMAIN, "tenant.eu.auth0.com"),
        (keys::AUTH0_AUDIENCE, "https://api.example.com"),
    ]))
    .await
    .unwrap();
    assert_eq!(p.external_identity(), Some("auth0"));
    assert!(p.token_issuer().is_some(), "local sessions still exist");
    assert!(p.social_login().is_none(), "no AUTH0_CLIENT_ID: no login");
    assert_eq!(
        p.report_for(Concern::Auth).unwrap().backend,
        "auth0+local-jwt"
    );
    refused(
        &[(keys::AUTH0_DOMAIN, "tenant.eu.auth0.com")],
        "AUTH0_AUDIENCE",
    )
    .await;
    refused(
        &[(keys::AUTH, "auth0"), (keys::AUTH0_AUDIENCE, "https://api")],
        "AUTH0_DOMAIN",
    )
    .await;
}

#[tokio::test]
async fn bad_auth_settings_name_the_setting() {
    refused(&[(keys::AUTH, "ldap")], keys::AUTH).await;
    refused(&[(keys::PUBLIC_URL, "not a url")], keys::PUBLIC_URL).await;
    refused(&[(keys::PUBLIC_URL, "ftp://host")], keys::PUBLIC_URL).await;
    refused(
        &[(keys::GITHUB_CLIENT_ID, "gh-client")],
        keys::GITHUB_CLIENT_SECRET,
    )
    .await;
    refused(
        &[(keys::GOOGLE_CLIENT_ID, "g-client")],
        keys::GOOGLE_CLIENT_SECRET,
    )
    .await;
    refused(
        &[
            (keys::MICROSOFT_CLIENT_ID, "ms-client"),
            (keys::MICROSOFT_CLIENT_SECRET, "ms-secret"),
        ],
        keys::MICROSOFT_ALLOWED_TENANTS,
    )
    .await;
    refused(
        &[(keys::OIDC_ISSUER, "http://127.0.0.1:9")],
        keys::OIDC_CLIENT_ID,
    )
    .await;
    refused(
        &[
            (keys::OIDC_ISSUER, "http://127.0.0.1:9"),
            (keys::OIDC_CLIENT_ID, "c"),
            (keys::OIDC_PROVIDER_NAME, "Bad/Name"),
        ],
        keys::OIDC_PROVIDER_NAME,
    )
    .await;
    let err = Providers::from_settings(&test_settings([
        (keys::AUTH0_DOMAIN, "tenant.eu.auth0.com"),
        (keys::AUTH0_AUDIENCE, "https://api"),
        (keys::JWT_ISSUER, "https://tenant.eu.auth0.com/"),
    ]))
    .await
    .unwrap_err();
    assert!(err.to_string().contains(keys::JWT_ISSUER), "{err}");
}
