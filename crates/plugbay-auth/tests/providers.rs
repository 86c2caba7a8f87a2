//! Provider specifics on wiremock stubs that follow the documented wire
//! formats: Auth0 (audience arrays, namespaced claims, login + PKCE,
//! refresh rotation, cached M2M tokens), Microsoft (`{tenantid}` issuer
//! and tenant allow-list), Google (both issuer spellings, refresh without
//! a new refresh token), GitHub (errors in 200 bodies, verified primary
//! e-mail).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use plugbay_auth::auth0::Auth0Builder;
use plugbay_auth::github::{GithubConfig, GithubProvider};
use plugbay_auth::{
    AuthorizeRequest, Callback, OAuthProvider, OidcConfig, OidcProvider, ProviderMetadata,
    TokenVerifier,
};
use plugbay_core::{ErrorKind, ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const JWKS: &str = "/.well-known/jwks.json";

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn auth0_stub() -> MockServer {
    let server = MockServer::start().await;
    serve_jwks(&server, JWKS, jwks(&[jwk(&rsa(), "k1")])).await;
    server
}

#[tokio::test]
async fn auth0_access_tokens_with_audience_arrays_and_namespaced_claims() {
    let server = auth0_stub().await;
    let auth0 = Auth0Builder::default()
        .base_url(server.uri())
        .audience("https://api.example.com")
        .roles_claim("https://example.com/roles")
        .build()
        .unwrap();
    let verifier = auth0.verifier().unwrap();
    let now = now();
    let claims = json!({
        "iss": format!("{}/", server.uri()),
        "sub": "auth0|abc",
        "aud": ["https://api.example.com", format!("{}/userinfo", server.uri())],
        "azp": "cid", "iat": now, "exp": now + 600,
        "scope": "openid profile read:items",
        "permissions": ["read:items", "delete:items"],
        "https://example.com/roles": ["admin"]
    });
    let p = verifier.verify(&rs256("k1", &claims)).await.unwrap();
    assert_eq!(p.issuer, format!("{}/", server.uri()));
    assert!(p.has_scope("read:items") && p.has_scope("delete:items"));
    assert!(p.has_role("admin"));
    assert!(p.has_audience("https://api.example.com"));
    // Without the trailing slash it is not Auth0's issuer.
    let mut wrong = claims.clone();
    wrong["iss"] = json!(server.uri());
    let err = verifier.verify(&rs256("k1", &wrong)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    // An array without our API is refused.
    let mut other = claims;
    other["aud"] = json!(["https://other.example.com", "x"]);
    assert!(verifier.verify(&rs256("k1", &other)).await.is_err());
}

fn id_token(server: &MockServer, client_id: &str, nonce: &str, extra: Value) -> String {
    let now = now();
    let mut c = json!({"iss": format!("{}/", server.uri()), "sub": "auth0|abc", "aud": client_id,
                       "iat": now, "exp": now + 600, "nonce": nonce,
                       "email": "a@b.test", "email_verified": true});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    rs256("k1", &c)
}

#[tokio::test]
async fn auth0_login_with_pkce_and_refresh_rotation() {
    let server = auth0_stub().await;
    let auth0 = Auth0Builder::default()
        .base_url(server.uri())
        .audience("https://api.example.com")
        .client("cid", SecretString::from("csecret"))
        .redirect_uri("http://localhost/cb")
        .build()
        .unwrap();
    let login = auth0.login().unwrap();
    let redirect = login.authorize_url(AuthorizeRequest::new()).await.unwrap();
    let url = &redirect.url;
    assert!(
        url.as_str()
            .starts_with(&format!("{}/authorize?", server.uri()))
    );
    assert_eq!(query(url, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(
        query(url, "audience").as_deref(),
        Some("https://api.example.com")
    );
    assert!(query(url, "scope").unwrap().contains("offline_access"));
    let nonce = redirect.pending.nonce.clone().unwrap();
    let verifier = redirect.pending.pkce_verifier.expose_secret().to_owned();

    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains(format!("code_verifier={verifier}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-1", "refresh_token": "rt-1", "token_type": "Bearer",
            "expires_in": 86400, "id_token": id_token(&server, "cid", &nonce, json!({}))
        })))
        .expect(1)
        .mount(&server)
        .await;
    let identity = login
        .exchange(
            Callback::new("code-1", redirect.state.clone()),
            redirect.pending.clone(),
        )
        .await
        .unwrap();
    assert_eq!(identity.subject, "auth0|abc");
    assert!(identity.email_verified);
    let tokens = identity.tokens.unwrap();
    assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "rt-1");

    // Auth0 rotates: the new refresh token is kept.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-2", "refresh_token": "rt-2", "token_type": "Bearer", "expires_in": 86400
        })))
        .mount(&server)
        .await;
    let next = login.refresh(&SecretString::from("rt-1")).await.unwrap();
    assert_eq!(next.refresh_token.unwrap().expose_secret(), "rt-2");
    // A reused (revoked) refresh token: invalid_grant is Unauthenticated.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("refresh_token=rt-old"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}),
        ))
        .mount(&server)
        .await;
    let err = login
        .refresh(&SecretString::from("rt-old"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.provider_code(), Some("invalid_grant"));
}

#[tokio::test]
async fn id_token_nonce_audience_and_azp_are_enforced() {
    let server = auth0_stub().await;
    let auth0 = Auth0Builder::default()
        .base_url(server.uri())
        .client("cid", SecretString::from("s"))
        .redirect_uri("http://localhost/cb")
        .build()
        .unwrap();
    let login = auth0.login().unwrap();
    let ok = id_token(&server, "cid", "n1", json!({}));
    assert!(login.verify_id_token(&ok, Some("n1")).await.is_ok());
    for (token, reason) in [
        (id_token(&server, "cid", "n2", json!({})), "nonce"),
        (id_token(&server, "other", "n1", json!({})), "audience"),
        (
            id_token(&server, "cid", "n1", json!({"aud": ["cid", "x"]})),
            "azp",
        ),
        (
            id_token(
                &server,
                "cid",
                "n1",
                json!({"aud": ["cid", "x"], "azp": "x"}),
            ),
            "azp",
        ),
    ] {
        let err = login.verify_id_token(&token, Some("n1")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.message().contains(reason), "{reason}: {err}");
    }
}

#[tokio::test]
async fn auth0_management_tokens_are_cached_single_flight() {
    let server = auth0_stub().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("api%2Fv2%2F"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    json!({"access_token": "mgmt-1", "token_type": "Bearer", "expires_in": 86400}),
                )
                .set_delay(std::time::Duration::from_millis(50)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let auth0 = Auth0Builder::default()
        .base_url(server.uri())
        .client("cid", SecretString::from("s"))
        .build()
        .unwrap();
    let m2m = Arc::new(auth0.management().unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let m2m = m2m.clone();
        tasks.spawn(async move { m2m.token().await });
    }
    for t in tasks.join_all().await {
        assert_eq!(t.unwrap().expose_secret(), "mgmt-1");
    }
    assert_eq!(
        hits(&server, "/oauth/token").await,
        1,
        "one fetch for 20 callers"
    );
}

#[tokio::test]
async fn auth0_management_token_is_renewed_near_expiry() {
    let server = auth0_stub().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "short", "expires_in": 120})),
        )
        .mount(&server)
        .await;
    let clock = plugbay_auth::ManualClock::default();
    let auth0 = Auth0Builder::default()
        .base_url(server.uri())
        .client("cid", SecretString::from("s"))
        .build()
        .unwrap();
    let m2m = auth0.management().unwrap().clock(Arc::new(clock.clone()));
    m2m.token().await.unwrap();
    m2m.token().await.unwrap();
    assert_eq!(hits(&server, "/oauth/token").await, 1);
    clock.advance(std::time::Duration::from_secs(61));
    m2m.token().await.unwrap();
    assert_eq!(
        hits(&server, "/oauth/token").await,
        2,
        "renewed a minute before expiry"
    );
}

async fn discovery_stub(server: &MockServer, issuer: &str) {
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/common/v2.0/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/common/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{base}/common/oauth2/v2.0/token"),
            "jwks_uri": format!("{base}/common/discovery/v2.0/keys"),
            "id_token_signing_alg_values_supported": ["RS256"],
            "unknown_future_field": {"x": 1}
        })))
        .mount(server)
        .await;
    serve_jwks(
        server,
        "/common/discovery/v2.0/keys",
        jwks(&[jwk(&rsa(), "k1")]),
    )
    .await;
}

#[tokio::test]
async fn microsoft_tenant_template_is_substituted_and_allow_listed() {
    let server = MockServer::start().await;
    let template = format!("{}/{{tenantid}}/v2.0", server.uri());
    discovery_stub(&server, &template).await;
    let config =
        OidcConfig::new("microsoft", "app-id", "http://localhost/cb").allowed_tenants(["tenant-a"]);
    let ms = OidcProvider::discover(&format!("{}/common/v2.0", server.uri()), config)
        .await
        .unwrap();
    assert_eq!(ms.metadata().issuer, template);
    let now = now();
    let token = |tid: &str, iss: String| {
        rs256(
            "k1",
            &json!({"iss": iss, "tid": tid, "sub": "s", "aud": "app-id", "iat": now, "exp": now + 60, "nonce": "n"}),
        )
    };
    let good = token("tenant-a", format!("{}/tenant-a/v2.0", server.uri()));
    assert_eq!(
        ms.verify_id_token(&good, Some("n")).await.unwrap()["tid"],
        "tenant-a"
    );
    for bad in [
        token("tenant-b", format!("{}/tenant-b/v2.0", server.uri())),
        token("tenant-a", format!("{}/tenant-b/v2.0", server.uri())),
        token("tenant-a", template.clone()),
    ] {
        let err = ms.verify_id_token(&bad, Some("n")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.message().contains("issuer"), "{err}");
    }
    // No allow-list for a template: refused at build.
    let err = OidcProvider::discover(
        &format!("{}/common/v2.0", server.uri()),
        OidcConfig::new("microsoft", "app-id", "http://localhost/cb"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn discovery_issuer_mismatch_is_refused() {
    let server = MockServer::start().await;
    discovery_stub(&server, "https://evil.test").await;
    let err = OidcProvider::discover(
        &format!("{}/common/v2.0", server.uri()),
        OidcConfig::new("oidc", "c", "http://localhost/cb"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
}

#[tokio::test]
async fn google_issuer_spellings_and_refresh_without_new_refresh_token() {
    let server = MockServer::start().await;
    serve_jwks(&server, "/oauth2/v3/certs", jwks(&[jwk(&rsa(), "k1")])).await;
    let base = server.uri();
    let metadata = ProviderMetadata::new(
        "https://accounts.google.com",
        format!("{base}/o/oauth2/v2/auth"),
        format!("{base}/token"),
        format!("{base}/oauth2/v3/certs"),
    );
    let config = OidcConfig::new(
        "google",
        "gid.apps.googleusercontent.com",
        "http://localhost/cb",
    )
    .client_secret(SecretString::from("gs"))
    .alternate_issuer("accounts.google.com");
    let google = OidcProvider::from_metadata(metadata, config).unwrap();
    let now = now();
    for iss in ["https://accounts.google.com", "accounts.google.com"] {
        let t = rs256(
            "k1",
            &json!({"iss": iss, "sub": "1", "aud": "gid.apps.googleusercontent.com",
                    "azp": "gid.apps.googleusercontent.com", "iat": now, "exp": now + 60}),
        );
        assert!(google.verify_id_token(&t, None).await.is_ok(), "{iss}");
    }
    let t = rs256(
        "k1",
        &json!({"iss": "https://accounts.google.com/", "sub": "1", "aud": "gid.apps.googleusercontent.com", "iat": now, "exp": now + 60}),
    );
    assert!(google.verify_id_token(&t, None).await.is_err());

    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.new", "expires_in": 3599, "token_type": "Bearer",
            "scope": "openid email"
        })))
        .mount(&server)
        .await;
    let refreshed = google.refresh(&SecretString::from("1//old")).await.unwrap();
    assert_eq!(refreshed.access_token.expose_secret(), "ya29.new");
    assert_eq!(refreshed.refresh_token.unwrap().expose_secret(), "1//old");
}

async fn github() -> (MockServer, GithubProvider) {
    let server = MockServer::start().await;
    let config = GithubConfig::new(
        "gh-client",
        SecretString::from("gh-secret"),
        "http://localhost/cb",
    )
    .base_urls(&server.uri(), &format!("{}/api", server.uri()));
    (server, GithubProvider::new(config).unwrap())
}

#[tokio::test]
async fn github_login_picks_the_verified_primary_email() {
    let (server, gh) = github().await;
    let redirect = gh.authorize_url(AuthorizeRequest::new()).await.unwrap();
    assert!(redirect.pending.nonce.is_none(), "GitHub is not OIDC");
    assert_eq!(
        query(&redirect.url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query(&redirect.url, "scope").as_deref(),
        Some("read:user user:email")
    );
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .and(header("accept", "application/json"))
        .and(body_string_contains("code_verifier="))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "gho_abc", "token_type": "bearer", "scope": "read:user,user:email"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user"))
        .and(header("authorization", "Bearer gho_abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": 583231, "login": "octocat", "name": null, "email": "public@x.test", "avatar_url": "https://a/1"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"email": "unverified-primary@x.test", "primary": false, "verified": false},
            {"email": "secondary@x.test", "primary": false, "verified": true},
            {"email": "octo@x.test", "primary": true, "verified": true, "visibility": "private"}
        ])))
        .mount(&server)
        .await;
    let id = gh
        .exchange(
            Callback::new("code", redirect.state.clone()),
            redirect.pending,
        )
        .await
        .unwrap();
    assert_eq!(id.subject, "583231");
    assert_eq!(id.email.as_deref(), Some("octo@x.test"));
    assert!(id.email_verified);
    assert_eq!(id.name.as_deref(), Some("octocat"));
    assert_eq!(id.tokens.unwrap().scopes, ["read:user", "user:email"]);
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("user-agent").is_some_and(|v| !v.is_empty())),
        "every call sends a User-Agent"
    );
}

#[tokio::test]
async fn github_errors_in_200_bodies_are_errors() {
    let (server, gh) = github().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired.",
            "error_uri": "https://docs.github.com/..."
        })))
        .mount(&server)
        .await;
    let redirect = gh.authorize_url(AuthorizeRequest::new()).await.unwrap();
    let err = gh
        .exchange(
            Callback::new("stale", redirect.state.clone()),
            redirect.pending,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.provider_code(), Some("bad_verification_code"));
    assert_eq!(
        hits(&server, "/api/user").await,
        0,
        "no user call after a failed exchange"
    );
    // A user without a verified primary address has no e-mail.
    Mock::given(method("GET"))
        .and(path("/api/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1, "login": "x"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/user/emails"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"email": "p@x.test", "primary": true, "verified": false}])),
        )
        .mount(&server)
        .await;
    let id = gh.user(&SecretString::from("t")).await.unwrap();
    assert!(id.email.is_none() && !id.email_verified);
}

#[tokio::test]
async fn github_passes_the_oauth_provider_conformance_suite() {
    let (server, gh) = github().await;
    // GitHub refuses a bad refresh token with an error inside a 200.
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "bad_refresh_token",
            "error_description": "The refresh token passed is incorrect or expired."
        })))
        .mount(&server)
        .await;
    plugbay_auth::conformance::oauth::run_all(&gh).await;
}

#[tokio::test]
async fn auth0_login_passes_the_oauth_provider_conformance_suite() {
    let server = auth0_stub().await;
    // Auth0 refuses a bad refresh token with 403 invalid_grant.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "Unknown or invalid refresh token."
        })))
        .mount(&server)
        .await;
    let auth0 = Auth0Builder::default()
        .base_url(server.uri())
        .audience("https://api.example.com")
        .client("cid", SecretString::from("csecret"))
        .redirect_uri("http://localhost/cb")
        .build()
        .unwrap();
    let login = auth0.login().unwrap();
    plugbay_auth::conformance::oauth::run_all(&login).await;
}
