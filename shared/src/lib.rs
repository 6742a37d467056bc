//! What the six payment functions share: configuration, the provider secret,
//! the contract's errors and their one mapping to HTTP responses, request
//! parsing into typed values, and the provider clients.
//!
//! Each provider module (`qbit`, later `debox`) owns its types, its client and
//! every assumption we make about it where its docs are silent.

pub mod bootstrap;
pub mod config;
pub mod debox;
pub mod error;
pub mod http;
pub mod qbit;
pub mod secrets;
pub mod store;
pub mod upstream;

pub use error::{ApiError, ErrorType};
