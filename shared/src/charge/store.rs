//! What the idempotency key needs from a store, and what a key holds.
//!
//! Item `idem#create-charge#<key>`: the body's fingerprint, `in_progress`
//! (with a lease) or `completed` (with the answer's status and body), and
//! `expires_at` 24 hours on, which the claim itself honours (TTL deletes
//! late).

use std::future::Future;

use super::IdempotencyKey;
use crate::table::StoreUnavailable;

/// How long a key and its answer are kept.
pub const KEY_RETENTION_SECS: u64 = 24 * 3600;

/// The largest answer body kept under a key: an item holds at most 400 KB,
/// its other attributes included. (Provider answers are read up to 1 MiB.)
pub const MAX_KEPT_ANSWER_BYTES: usize = 350_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    InProgress,
    Completed { status: u16, body: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub fingerprint: String,
    pub state: KeyState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    Claimed,
    Taken(KeyRecord),
}

/// The persistence an idempotency key needs; DynamoDB in production,
/// memory in the flow's unit tests.
pub trait KeyStore: Send + Sync {
    /// Claim `key` for a request whose body has `fingerprint`, until
    /// `lease_ends` (Unix ms), in one conditional write. A key that expired,
    /// or whose first request died before finishing (its lease is over,
    /// grace included), may be claimed again; a resend of this very claim
    /// is still this claim's. Otherwise the record that holds it.
    fn claim_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        claim_id: &str,
        lease_ends: u64,
        now_ms: u64,
    ) -> impl Future<Output = Result<KeyClaim, StoreUnavailable>> + Send;

    /// Keep the answer for replay; only while the claim is ours.
    fn complete_key(
        &self,
        key: &IdempotencyKey,
        claim_id: &str,
        status: u16,
        body: &str,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send;

    /// Give the key back: the request never reached Qbit's charge logic.
    fn release_key(
        &self,
        key: &IdempotencyKey,
        claim_id: &str,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send;
}
