#![doc = include_str!("../README.md")]

pub mod config;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod error;
pub mod http;
pub mod redact;
#[cfg(feature = "conformance")]
pub mod test_servers;

pub use config::{
    DynSecretSource, EnvSecretSource, FileSecretSource, SecretRef, SecretResolver, SecretSource,
    Settings,
};
pub use error::{Error, ErrorKind, Result};
pub use http::{Call, HttpClient, HttpResponse, RetryPolicy};
pub use secrecy::{self, ExposeSecret, SecretString};
