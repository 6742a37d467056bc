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
pub use idempotency::{KEY_RETENTION_SECS, KeyClaim, KeyRecord, KeyState};
pub use memory::MemoryStore;
pub use transfers::{
    Claim, ClaimOutcome, Settlement, TransferRecord, TransferStatus, TransferStore,
};

use crate::ApiError;

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
