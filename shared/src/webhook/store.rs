//! What the webhook flow needs from a store, and what recording did.
//!
//! Items: `event#<id>` (type, time, charge id, whether it was applied;
//! kept 90 days; an unmatched one also keeps why, the event's amount and
//! currency and its exact body, with no TTL, until an operator removes
//! it), `charge#<id>` (written by create-charge, see `crate::charge`; an
//! applied event sets its status, paid, the event's id and time, its rank),
//! and `unreadable_event#<sha256 of the body>` (a verified body we could
//! not read, kept byte for byte for an operator to replay; 90 days).

use std::future::Future;

use super::matching::Unmatched;
use crate::qbit::webhook::Event;
use crate::table::StoreUnavailable;

/// How long event records are kept (the TTL), in seconds.
pub(crate) const EVENT_RETENTION_SECS: u64 = 90 * 24 * 3600;

/// What recording an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// First delivery. `applied`: the charge moved to this event's state
    /// (false when a newer or higher-ranked event was already applied, or
    /// the event carries no charge).
    New { applied: bool },
    /// First delivery of an event about a charge that is not ours, or not
    /// as recorded: kept as unmatched, no charge created or changed.
    Unmatched(Unmatched),
    /// This event id was recorded before: nothing changed.
    Duplicate,
}

/// The item that keeps an unreadable `body`: keyed by its SHA-256, so
/// every delivery of the same bytes lands on one item.
pub fn unreadable_event_key(body: &[u8]) -> String {
    format!("unreadable_event#{}", crate::sha256_hex(body))
}

/// The persistence the webhook flow needs; DynamoDB in production, memory
/// in the flow's unit tests.
pub trait EventStore: Send + Sync {
    /// Record `event` once and, for a charge event, move the charge forward
    /// (a higher rank, or the same rank and a later instant), both or
    /// neither, so that a failure leaves Qbit's retry to be processed as
    /// new rather than taken for a duplicate. The charge must be one
    /// create-charge recorded, with the event's amount and currency
    /// (`super::matching`); otherwise the event alone is recorded, as
    /// unmatched, with `body` (the event exactly as received). No charge is
    /// ever created here.
    fn record_event(
        &self,
        event: &Event,
        body: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<Recorded, StoreUnavailable>> + Send;

    /// Keep a verified body we cannot read, exactly as received, with the
    /// signature header it came with (so it can be replayed to the webhook
    /// once the code reads it), one item per body. Answers how many times
    /// it has now been delivered.
    fn keep_unreadable_event(
        &self,
        body: &[u8],
        signature: &str,
        reason: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<u64, StoreUnavailable>> + Send;
}
