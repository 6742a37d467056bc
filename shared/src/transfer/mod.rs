//! The transfer flow: spend a DeBox order's token, at most once per
//! `serial_id`, whatever retries, concurrency or crashes happen.
//!
//! 0. Sign and build DeBox's request (secret, signature, headers): whatever
//!    can fail before a byte reaches DeBox fails now, before any claim.
//! 1. Claim the serial with one conditional write (`in_progress`, with a
//!    lease that ends no later than this invocation) before DeBox is called.
//!    If it is taken: 409, code `-2016`, with its state; DeBox is not called.
//! 2. Call DeBox, within what is left of the invocation after the claim,
//!    less the time to record the outcome; too little left: not sent, 503.
//! 3. Settle the claim: `succeeded`; `failed` when DeBox definitely did
//!    nothing (the serial may be claimed again by a corrected request); or
//!    `unknown` when the points may have moved (a lost or unreadable answer,
//!    a 5xx, a system error). An `unknown` transfer is never sent again.
//! 4. Report the outcome the table now holds (the metric the alarm watches).
//!
//! A claim whose lease ran out belonged to a function that died mid-call:
//! it is `unknown` too. Usual idempotency utilities re-run such a call; a
//! payment must not.
//!
//! ```text
//!   (none) or failed --claim--> in_progress --settle--> succeeded | failed | unknown
//!                                    |
//!                                    +-- lease runs out (the function died mid-call) --> unknown
//!
//!   unknown, or in_progress past its lease --an operator resolves--> succeeded | failed
//! ```
//!
//! - `types`: the states, the record, a claim, a settlement;
//! - `store`: the [`TransferStore`] trait the flow needs;
//! - `dynamo`: it on the table; `memory`: it in memory, for unit tests;
//! - `flow`: [`run`], the state machine, and [`OutcomeReport`], where its
//!   outcomes go;
//! - `operator`: what the operator CLI (`payments-admin`) does: list by
//!   status (`stuck` included), and resolve an `unknown` or dead transfer
//!   by hand, by one conditional write ([`operator::TransferAdmin`]).

mod dynamo;
mod flow;
mod memory;
pub mod operator;
mod store;
mod types;

pub use flow::{EmfReport, OutcomeReport, run};
pub use memory::MemoryTransfers;
pub use store::TransferStore;
pub use types::{Claim, ClaimOutcome, Resolution, Settlement, TransferRecord, TransferStatus};
