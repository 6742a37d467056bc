//! The persistence a transfer needs, and what its records are called.

use std::future::Future;

use super::{Claim, ClaimOutcome, Settlement, TransferRecord};
use crate::debox::SerialId;
use crate::table::StoreUnavailable;

/// The persistence a transfer needs; DynamoDB in production, memory in the
/// unit tests of the state machine.
pub trait TransferStore: Send + Sync {
    /// One conditional write: the serial is free (or only `failed`), and
    /// becomes `in_progress` for this claim. Otherwise the record that holds
    /// it, without a second read where the store can avoid one.
    fn claim(
        &self,
        claim: &Claim,
    ) -> impl Future<Output = Result<ClaimOutcome, StoreUnavailable>> + Send;

    /// Record how the claim ended; only while it is still this claim's.
    /// Answers whether the record was changed.
    fn settle(
        &self,
        serial_id: &SerialId,
        claim_id: &str,
        settlement: &Settlement,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, StoreUnavailable>> + Send;

    /// Turn a dead claim (`in_progress`, lease over, grace included) into
    /// `unknown`, so that operators find it. Answers whether this call
    /// changed the record (a write the store's client resent after a lost
    /// reply counts as this call's), so that one caller reports it.
    fn mark_abandoned(
        &self,
        record: &TransferRecord,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, StoreUnavailable>> + Send;

    /// The record, if any (for tests and operators).
    fn get(
        &self,
        serial_id: &SerialId,
    ) -> impl Future<Output = Result<Option<TransferRecord>, StoreUnavailable>> + Send;
}

/// The DynamoDB key of a transfer.
pub(crate) fn transfer_key(serial_id: &str) -> String {
    format!("transfer#{serial_id}")
}

/// How long a transfer record is kept (the TTL), in seconds.
pub(crate) const TRANSFER_RETENTION_SECS: u64 = 90 * 24 * 3600;

/// What a dead claim's record says when it is marked `unknown`.
pub(crate) const ABANDONED_MESSAGE: &str =
    "the function ended before DeBox answered (lease expired)";
