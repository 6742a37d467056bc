//! Webhook events and charge states, and create-charge idempotency keys,
//! on the table (see `crate::table`).

mod events;
mod idempotency;

pub use events::Recorded;
pub use idempotency::{KEY_RETENTION_SECS, KeyClaim, KeyRecord, KeyState, MAX_KEPT_ANSWER_BYTES};
