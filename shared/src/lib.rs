//! What the six payment functions share: configuration, the provider secret,
//! the contract's errors and their one mapping to HTTP responses, request
//! parsing into typed values, and the provider clients.
//!
//! Each provider module (`qbit`, later `debox`) owns its types, its client and
//! every assumption we make about it where its docs are silent.

pub mod bootstrap;
pub mod budget;
pub mod charge;
pub mod config;
pub mod debox;
pub mod error;
pub mod http;
pub mod metrics;
pub mod qbit;
pub mod secrets;
pub mod table;
pub mod transfer;
pub mod upstream;
pub mod webhook;

pub use error::{ApiError, ErrorType};

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// SHA-256 of `bytes`, as lowercase hex (fingerprints and item keys).
pub fn sha256_hex(bytes: &[u8]) -> String {
    lower_hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

/// Bytes as lowercase hex (digests in signatures and fingerprints).
pub fn lower_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}
