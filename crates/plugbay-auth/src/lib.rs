#![doc = include_str!("../README.md")]

mod clock;
mod crypto;
pub mod jwt;
mod keys;
mod local;
mod login;
mod mock;
pub mod oauth;
pub mod pkce;
mod refresh;
mod session;
mod social;
mod traits;
mod types;

#[cfg(feature = "auth0")]
pub mod auth0;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(feature = "github")]
pub mod github;
#[cfg(feature = "jwks")]
pub mod jwks;
#[cfg(feature = "oidc")]
pub mod oidc;
#[cfg(test)]
mod test_kv;
#[cfg(any(feature = "oidc", feature = "github"))]
mod token_endpoint;

#[cfg(feature = "auth0")]
pub use auth0::{Auth0, Auth0Builder, Auth0Config};
pub use clock::{Clock, DynClock, ManualClock, SystemClock};
#[cfg(feature = "github")]
pub use github::{GithubConfig, GithubProvider};
#[cfg(feature = "jwks")]
pub use jwks::{
    IssuerConfig, IssuerRule, JwksCache, JwksCacheBuilder, JwksVerifier, MultiIssuerVerifier,
};
pub use jwt::{JwtConfig, JwtSigner, JwtVerifier};
pub use keys::{JwtAlgorithm, JwtKey, MAX_KID_LEN, MIN_HMAC_SECRET_BYTES, validate_kid};
pub use local::{LocalJwt, LocalJwtBuilder};
pub use login::{
    AuthorizeRedirect, AuthorizeRequest, Callback, Identity, PendingLogin, ProviderTokens,
};
pub use mock::{MOCK_AUTHORIZE_ENDPOINT, MockOAuthProvider};
pub use oauth::{AuthorizeUrl, OAuthProviderExt, PendingLoginStore, validate_callback};
#[cfg(feature = "oidc")]
pub use oidc::{ClientCredentials, OidcConfig, OidcProvider, ProviderMetadata};
pub use refresh::{DEFAULT_REFRESH_TTL, DEFAULT_REUSE_OVERLAP, RefreshGrant, RefreshTokenStore};
pub use session::{DEFAULT_SESSION_TTL, Session, SessionStore};
pub use social::{LoginOutcome, SocialLogin, SubjectMapper, default_subject};
pub use traits::{
    DynOAuthProvider, DynTokenIssuer, DynTokenVerifier, IssuerCapabilities, OAuthCapabilities,
    OAuthProvider, TokenIssuer, TokenVerifier, TokenVerifierExt, VerifierCapabilities,
    bearer_token, require_scopes,
};
pub use types::{Principal, Subject, TokenPair, TokenResponse};
