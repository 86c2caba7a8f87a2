//! In-process route tests: every route's success and main failure cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod basics;
mod chat_memories;
mod chat_openai;
mod common;
mod files;
mod login;
mod webhooks;
