//! The charge flow: `POST /charges` creates a Qbit Pay charge and hands
//! back the access token its hosted page needs, at most once per
//! `Idempotency-Key` and body.
//!
//! - `key`: the `Idempotency-Key` header and the request's fingerprint;
//! - `store`: the [`KeyStore`] trait the key needs, and what a key holds;
//! - `dynamo`: it on the table; `memory`: it in memory, for unit tests;
//! - `create`: [`create_charge`], the token then the charge, within the
//!   invocation's time budget;
//! - `idempotent`: [`once`], the call made at most once per key (kept or
//!   released by what Qbit may have done).

mod create;
mod dynamo;
mod idempotent;
mod key;
mod memory;
mod store;

pub use create::create_charge;
pub use idempotent::{body_fingerprint, once};
pub use key::{IdempotencyKey, fingerprint};
pub use memory::MemoryKeys;
pub use store::{
    KEY_RETENTION_SECS, KeyClaim, KeyRecord, KeyState, KeyStore, MAX_KEPT_ANSWER_BYTES,
};
