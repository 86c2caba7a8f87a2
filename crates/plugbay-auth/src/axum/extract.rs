//! The extractors: [`Authenticated`] (also as `Option<Authenticated>`),
//! [`RequireScope`] and [`RequireRole`], with the [`RequiredScopes`] and
//! [`RequiredRoles`] traits that name what a route needs.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use super::{AuthRejection, authenticate, missing, require_roles};
use crate::traits::{DynTokenVerifier, require_scopes};
use crate::types::Principal;

/// The verified caller of a request (`Authorization: Bearer <token>`).
///
/// As `Option<Authenticated>` a missing header yields `None`, while a
/// present but invalid token is still rejected.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    DynTokenVerifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Already verified by the `require_auth` middleware.
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(Authenticated(principal.clone()));
        }
        let verifier = DynTokenVerifier::from_ref(state);
        authenticate(parts, &verifier)
            .await?
            .map(Authenticated)
            .ok_or_else(missing)
    }
}

impl<S> OptionalFromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    DynTokenVerifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let verifier = DynTokenVerifier::from_ref(state);
        Ok(authenticate(parts, &verifier).await?.map(Authenticated))
    }
}

/// A set of scopes a route requires, named by a type:
///
/// ```
/// use plugbay_auth::axum::{RequiredScopes, RequireScope};
/// struct WriteItems;
/// impl RequiredScopes for WriteItems {
///     const SCOPES: &'static [&'static str] = &["write:items"];
/// }
/// async fn create(RequireScope(who, ..): RequireScope<WriteItems>) {}
/// ```
pub trait RequiredScopes: Send + Sync + 'static {
    /// Every scope listed is required.
    const SCOPES: &'static [&'static str];
}

/// Like [`Authenticated`], but also requires `R::SCOPES`; a valid token
/// lacking one is answered 403 `insufficient_scope`.
#[derive(Debug)]
pub struct RequireScope<R: RequiredScopes>(pub Principal, pub PhantomData<R>);

impl<S, R> FromRequestParts<S> for RequireScope<R>
where
    S: Send + Sync,
    R: RequiredScopes,
    DynTokenVerifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authenticated(principal) =
            <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        require_scopes(&principal, R::SCOPES).map_err(|error| AuthRejection {
            error,
            missing_header: false,
            scopes: R::SCOPES.to_vec(),
        })?;
        Ok(RequireScope(principal, PhantomData))
    }
}

/// A set of roles a route requires, named by a type (see [`RequiredScopes`]).
pub trait RequiredRoles: Send + Sync + 'static {
    /// Every role listed is required.
    const ROLES: &'static [&'static str];
}

/// Like [`Authenticated`], but also requires `R::ROLES`; a valid token
/// lacking one is answered 403.
#[derive(Debug)]
pub struct RequireRole<R: RequiredRoles>(pub Principal, pub PhantomData<R>);

impl<S, R> FromRequestParts<S> for RequireRole<R>
where
    S: Send + Sync,
    R: RequiredRoles,
    DynTokenVerifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authenticated(principal) =
            <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        require_roles(&principal, R::ROLES)?;
        Ok(RequireRole(principal, PhantomData))
    }
}
