#![doc = include_str!("../README.md")]

pub mod kv;

pub use kv::{DynKeyValue, KeyValue};
