#![doc = include_str!("../README.md")]

pub mod keys;
mod providers;
mod report;

pub use plugbay_auth as auth;
pub use plugbay_cache as cache;
pub use plugbay_core as core;
pub use plugbay_data as data;
pub use plugbay_llm as llm;
pub use plugbay_memory as memory;
pub use plugbay_secrets as secrets;
pub use plugbay_storage as storage;
pub use plugbay_telemetry as telemetry;
pub use plugbay_webhooks as webhooks;

pub use providers::{Providers, ProvidersBuilder};
pub use report::{Concern, ConcernReport, ConcernStatus};
