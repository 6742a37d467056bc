//! DynamoDB: the table `PAYMENTS_TABLE` (partition key `pk`, a string),
//! holding what must survive a container: transfer claims, webhook events
//! and charge states, and create-charge idempotency keys.
//!
//! Items carry `expires_at` (Unix seconds), the table's TTL attribute, so
//! old records age out. Expiry that matters for correctness (a lease) is
//! checked in code, never left to TTL, which deletes up to 48 hours late.

mod dynamo;
mod events;
mod idempotency;
mod memory;
mod transfers;

pub use dynamo::DynamoStore;
pub use events::Recorded;
pub use idempotency::{KEY_RETENTION_SECS, KeyClaim, KeyRecord, KeyState, MAX_KEPT_ANSWER_BYTES};
pub use memory::MemoryStore;
pub use transfers::{
    Claim, ClaimOutcome, Settlement, TransferRecord, TransferStatus, TransferStore,
};

use crate::ApiError;

/// How long past its end a lease still counts as live. Leases are written
/// with one container's clock and read with another's; clocks differ (NTP
/// keeps Lambda's within milliseconds, but not always), and a live claim
/// taken for dead would have its transfer reported `unknown` while it runs,
/// or its idempotency key handed to a second request. Five seconds is far
/// beyond any skew NTP leaves, and only delays the reading of a dead claim.
pub const LEASE_GRACE_MS: u64 = 5_000;

/// Whether a lease ending at `lease_expires_at` is over at `now_ms`, grace
/// included.
pub fn lease_is_over(lease_expires_at: u64, now_ms: u64) -> bool {
    lease_expires_at.saturating_add(LEASE_GRACE_MS) <= now_ms
}

/// The latest lease end that counts as over at `now_ms`, for conditions
/// evaluated by the table (`lease_expires_at <= :cutoff`).
pub(crate) fn lease_cutoff(now_ms: u64) -> u64 {
    now_ms.saturating_sub(LEASE_GRACE_MS)
}

/// What a dead claim's record says when it is marked `unknown`.
pub(crate) const ABANDONED_MESSAGE: &str =
    "the function ended before DeBox answered (lease expired)";

/// The table's TTL attribute.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The store could not be reached, or refused (throttling, say).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the payments table is unavailable: {0}")]
pub struct StoreUnavailable(pub String);

impl From<StoreUnavailable> for ApiError {
    fn from(_: StoreUnavailable) -> Self {
        ApiError::unavailable(
            "the payments store is unavailable; nothing was sent, try again shortly",
        )
    }
}
