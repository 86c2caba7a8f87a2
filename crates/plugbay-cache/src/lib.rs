#![doc = include_str!("../README.md")]

pub mod cache;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod from_url;
pub mod kv;
pub mod memory;
pub mod rate_limit;
#[cfg(feature = "redis")]
pub mod redis;

pub use cache::Cache;
pub use from_url::from_url;
pub use kv::{DynKeyValue, KeyValue};
pub use memory::{InMemoryKeyValue, InMemoryKeyValueBuilder};
pub use rate_limit::gcra::{GcraStep, gcra};
pub use rate_limit::{DynRateLimiter, InMemoryRateLimiter, Quota, RateDecision, RateLimiter};
