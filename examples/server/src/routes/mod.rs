//! One module per area; each exposes `router()`.

pub mod auth;
pub mod chat;
pub mod files;
pub mod health;
pub mod login;
pub mod memories;
pub mod webhooks;
