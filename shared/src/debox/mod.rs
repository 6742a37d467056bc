//! DeBox: vBOX points. The merchant pays a user (a signed order, then a
//! transfer), or a user pays the merchant after consenting on DeBox's
//! authorize page (we build its URL; the transfer follows).
//!
//! What DeBox documents (see `docs/providers.md`): the authorize page and its parameters;
//! `/openapi/payment/order`, `/openapi/payment/transfer` and
//! `/openapi/payment/assert/vbox`; the five signed headers, with
//! `signature = SHA1(app_secret + nonce + timestamp)`; tokens valid 5
//! minutes; the error codes.
//!
//! What we ASSUME (see `docs/providers.md`; correct them here, and
//! only here):
//! - the signature is lowercase hex;
//! - a refused app id, key, signature or stale timestamp is HTTP 401 with
//!   code -2001;
//! - an answer is flat or `{"code", "msg"|"message", "data"}`, and any code
//!   other than 1 is an error;
//! - balances may be JSON numbers or strings;
//! - "system error, retry" codes (-2014, -2028, -2030, -7052), a -2016, a
//!   5xx, a lost or unreadable answer leave a transfer's outcome unknown: we
//!   never send it again on our own (see `answer::refusal_for_code`);
//! - a call that could not connect did nothing, so the transfer may be
//!   retried;
//! - user ids are at most 64, serial ids at most 128 printable ASCII
//!   characters; `pay_info` at most 256 characters.

mod amount;
#[cfg(test)]
mod amount_props;
pub mod answer;
pub mod authorize;
mod client;
pub mod decimal;
pub mod sign;
#[cfg(test)]
mod sign_props;
mod types;

pub use amount::{Amount, AmountError};
pub use answer::{Certainty, Refusal};
pub use client::{Balance, DeboxClient, Order, SignedCall, Transfer};
pub use types::{PayInfo, RedirectUri, SerialId, TransferToken, UserId};

/// How DeBox is named in our messages and logs.
pub const PROVIDER: &str = "DeBox";
