//! The webhook-events flow: `POST /webhooks/qbit` receives Qbit Pay's
//! signed events, verified over the raw bytes, recorded exactly once,
//! moving a charge's state only forward, and only a charge create-charge
//! recorded, with the amount and currency recorded; any other event is
//! kept as unmatched for an operator, acknowledged, and counted. A
//! verified body we cannot read is kept whole for an operator and
//! acknowledged, never dropped. Qbit's wire format (the signature scheme,
//! the event's shape, its ranks) is Qbit's: `crate::qbit::webhook`.
//!
//! - `matching`: [`match_charge`], whether an event may apply to a charge;
//! - `store`: the [`EventStore`] trait the flow needs, and its items;
//! - `dynamo`: it on the table; `memory`: it in memory, for unit tests;
//! - `receive`: [`receive`], one delivery from header to answer;
//! - `operator`: what the operator CLI (`payments-admin`) does: mark an
//!   unmatched or unreadable event handled, by one conditional write
//!   ([`operator::EventAdmin`]).

mod dynamo;
mod matching;
mod memory;
pub mod operator;
#[cfg(test)]
mod order_props;
mod receive;
mod store;

pub use matching::{RecordedCharge, Unmatched, UnmatchedReason, match_charge, unhandled};
pub use memory::{ChargeState, MemoryEvents};
pub use receive::receive;
pub use store::{EventStore, Recorded, unreadable_event_key};
