//! The HTTP vector-store and memory backends against in-process fakes of
//! Qdrant, Pinecone and Mem0 that follow the providers' documented request
//! and response bodies, limits and error shapes: the public conformance
//! suites, wire-format checks and fault suites.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod mem0;
mod pinecone;
mod qdrant;
mod support;
