//! DeBox as its documentation describes it, plus what we assume
//! (`docs/providers.md`).
//!
//! - Every `/openapi` call must carry `app_id`, `X-API-KEY`, `nonce` (8
//!   digits), `timestamp` (Unix ms, at most 5 minutes off) and `signature` =
//!   lowercase hex SHA-1 of `app_secret + nonce + timestamp`; otherwise HTTP
//!   401 with code -2001.
//! - `/openapi/payment/order`: a merchant-pays order, token valid 5 minutes.
//! - `/openapi/payment/transfer`: -2006 unknown serial or wrong
//!   `verify_amount`, -2015 wrong token, -2016 already transferred, -2013
//!   token expired, -7048 balance short; else the points move, code 1.
//! - `/openapi/payment/assert/vbox`: the merchant's balance, `total` as a
//!   JSON number and `usable_balance` as a string (both shapes occur).
//! - `GET /oauth/authorize`: stands in for the user's consent on the
//!   authorize page: a user-pays order, and a redirect to `redirect_uri`
//!   with `code`, `serial_id` and `source`.
//!
//! Answers are flat, or wrapped as `{"code", "msg", "data"}` when the
//! sandbox is told to (`PUT /_sandbox/debox/shape`).
//!
//! DeBox owns its state ([`Debox`]) and knows nothing of Qbit, the faults
//! or the sandbox that composes them. Its parts, each using only those
//! listed before it:
//!
//! - `wire`: DeBox's rules with no state: points, the signature, the limits;
//! - `books`: the apps, the merchant, balances and orders, behind its own lock;
//! - `api`: the HTTP routes over those books.

mod api;
mod books;
mod wire;

pub use api::{count_transfer_requests, routes};
pub use books::{Debox, DeboxApp, DeboxOrder};
pub use wire::{MAX_CLOCK_SKEW_MS, TOKEN_LIFETIME_MS, format_points, parse_points, signature};
