//! The charge flow: `POST /charges` creates a Qbit Pay charge, records it
//! (`charge#<id>`, the ledger the webhook matches events against) and hands
//! back the access token its hosted page needs, at most once per
//! `Idempotency-Key` and body.
//!
//! - `key`: the `Idempotency-Key` header and the request's fingerprint;
//! - `store`: the [`KeyStore`] and [`ChargeStore`] traits the flow needs,
//!   what a key holds and what a charge record holds;
//! - `dynamo`: them on the table; `memory`: them in memory, for unit tests;
//! - `create`: [`create_charge`], the token then the charge, within the
//!   invocation's time budget, then its record (a charge that cannot be
//!   recorded is not handed out);
//! - `idempotent`: [`once`], the call made at most once per key (kept or
//!   released by what Qbit may have done).

mod create;
mod dynamo;
mod idempotent;
mod key;
mod memory;
mod store;

pub use create::{CreateError, Requester, create_charge};
pub use idempotent::{body_fingerprint, once};
pub use key::{IdempotencyKey, fingerprint};
pub use memory::{MemoryCharges, MemoryKeys};
pub use store::{
    CREATED_RANK, CREATED_STATUS, ChargeRecord, ChargeStore, KEY_RETENTION_SECS, KeyClaim,
    KeyRecord, KeyState, KeyStore, MAX_KEPT_ANSWER_BYTES,
};
