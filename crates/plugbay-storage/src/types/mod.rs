//! Request, response and option types shared by every backend.

mod body;
mod meta;
mod options;

pub use body::{Body, ByteStream, GetResult};
pub use meta::{ListPage, ObjectMeta, StorageCapabilities};
pub use options::{
    ByteRange, CopyMode, CopyOptions, GetOptions, ListOptions, PresignMethod, PutMode, PutOptions,
};
