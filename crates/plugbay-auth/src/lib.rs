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
mod traits;
mod types;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(test)]
mod test_kv;

pub use clock::{Clock, DynClock, ManualClock, SystemClock};
pub use jwt::{JwtConfig, JwtSigner, JwtVerifier};
pub use keys::{JwtAlgorithm, JwtKey, MAX_KID_LEN, MIN_HMAC_SECRET_BYTES, validate_kid};
pub use local::{LocalJwt, LocalJwtBuilder};
pub use login::{
    AuthorizeRedirect, AuthorizeRequest, Callback, Identity, PendingLogin, ProviderTokens,
};
pub use mock::{MOCK_AUTHORIZE_ENDPOINT, MockOAuthProvider};
pub use oauth::{AuthorizeUrl, OAuthProviderExt, PendingLoginStore, validate_callback};
pub use refresh::{DEFAULT_REFRESH_TTL, RefreshGrant, RefreshTokenStore};
pub use session::{DEFAULT_SESSION_TTL, Session, SessionStore};
pub use traits::{
    DynOAuthProvider, DynTokenIssuer, DynTokenVerifier, IssuerCapabilities, OAuthCapabilities,
    OAuthProvider, TokenIssuer, TokenVerifier, TokenVerifierExt, VerifierCapabilities,
    bearer_token, require_scopes,
};
pub use types::{Principal, Subject, TokenPair, TokenResponse};
