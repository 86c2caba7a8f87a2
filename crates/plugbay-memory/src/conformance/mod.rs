//! Public conformance suites: run them against any backend to check it
//! honours the trait contracts (error kinds included).
//!
//! - [`vector`]: scenarios for [`VectorStore`](crate::VectorStore);
//! - [`memory`]: scenarios for [`Memory`](crate::Memory).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod memory;
pub mod vector;
