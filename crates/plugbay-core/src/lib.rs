#![doc = include_str!("../README.md")]

pub mod error;
pub mod redact;

pub use error::{Error, ErrorKind, Result};
pub use secrecy::{self, ExposeSecret, SecretString};
