//! What the six payment functions share, organised by flow:
//!
//! - the flows, each in one folder with its types, its store trait, a
//!   DynamoDB and an in-memory store, and its orchestration: `charge` (a
//!   charge and its Idempotency-Key), `transfer` (a DeBox transfer at most
//!   once), `webhook` (Qbit's signed events);
//! - what they stand on: `table` (the DynamoDB table), `budget` (time left
//!   in an invocation), the provider modules `qbit` and `debox` (each the
//!   one place for its wire format and every assumption we make about it),
//!   `upstream` (the HTTP client), `secrets`, `http` (request parsing and
//!   the one error-to-response mapping), `error` (the API's error),
//!   `config`, `bootstrap` (a container's clients) and `metrics`.

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
pub mod tls;
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
