//! Webhook events and charge states on the table (see `crate::table`).

mod events;

pub use events::Recorded;
