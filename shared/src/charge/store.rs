//! What the charge flow needs from a store: the idempotency key, and the
//! record of each charge created.
//!
//! Item `idem#create-charge#<key>`: the body's fingerprint, who claimed it
//! (`caller_arn`, `caller_account`), `in_progress` (with a lease) or
//! `completed` (with the answer's status and body), and `expires_at` 24
//! hours on, which the claim itself honours (TTL deletes late).
//!
//! Item `charge#<id>`: the charge as create-charge recorded it (`pending`,
//! amount, currency, externalOrderId, who asked, when, in which request);
//! the webhook flow moves its status forward and matches events against
//! it. No TTL: charges are the ledger.

use std::future::Future;

use super::IdempotencyKey;
use crate::http::Caller;
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
    /// The AWS account whose request claimed the key (`None`: a key written
    /// before keys recorded it). A key belongs to its account: another
    /// account's request is never answered from it.
    pub caller_account: Option<String>,
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
    /// is still this claim's. Otherwise the record that holds it. The
    /// claim records `caller`, who sent the request.
    fn claim_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        claim_id: &str,
        caller: &Caller,
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

/// The status a charge is recorded with when Qbit has just created it, and
/// its rank (`charge.pending`'s, see `crate::qbit::webhook::rank`): events
/// move it on from there.
pub const CREATED_STATUS: &str = "pending";
pub const CREATED_RANK: u8 = 0;

/// A charge Qbit has just created, as create-charge records it: what was
/// asked (the amount and currency a webhook event must carry to apply to
/// it), by whom, when, in which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRecord {
    pub charge_id: String,
    /// Minor units, as asked and as Qbit was sent it.
    pub amount: u64,
    pub currency: String,
    pub external_order_id: String,
    /// Unix ms.
    pub created_at: u64,
    /// The Lambda request id of the `POST /charges` that created it.
    pub request_id: String,
    pub caller: Caller,
}

/// The persistence the charge record needs; DynamoDB in production,
/// memory in the flow's unit tests.
pub trait ChargeStore: Send + Sync {
    /// Record a charge Qbit has just created, as `pending`, in one
    /// conditional write that never overwrites a record of that id: a
    /// resend of this very write (its reply lost), or a record already
    /// there, is success; a charge an event already moved stays as it is.
    fn record_charge(
        &self,
        charge: &ChargeRecord,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send;
}
