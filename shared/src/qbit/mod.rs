//! Qbit Pay: a REST gateway. We create a charge, hand the buyer its hosted
//! page (opened with a short-lived access token), and list charges.
//!
//! What Qbit Pay documents (see `docs/providers.md`): Basic auth with the API key as user
//! name and an empty password; `GET /api/v1/accessToken` returning a JWT with
//! `iat`/`exp`; the charge object; cursor-paginated lists (`limit` 1..100,
//! default 10, `starting_after` / `ending_before`), newest first; errors as
//! `{"type", "message", "detail"?}` with statuses 400, 401, 402, 403, 404, 5xx.
//!
//! What we ASSUME because Qbit's "charges" and "webhooks" pages are missing
//! (see `docs/providers.md`; correct them here, and only here):
//! - `POST /api/v1/charges` takes `{"amount", "currency", "externalOrderId"}`
//!   with Basic auth and returns the charge object.
//! - `externalOrderId` is at most [`types::MAX_EXTERNAL_ORDER_ID`] characters
//!   and object ids (cursors) are printable ASCII without spaces, at most
//!   [`types::MAX_OBJECT_ID`] long. Qbit states neither bound.
//! - A list answer may carry `has_more`; it is passed through when present.
//! - 403 with `type` `rate_limit_error` is the concurrency limit (429 to our
//!   caller); any other 403 means our key may not do this (502).
//! - 401, 403 and 429 are answered before Qbit's logic runs, so a charge
//!   call refused with one of them created nothing; any other answer, or
//!   none, may come after a charge was created (see [`CallError`]).

mod client;
mod errors;
#[cfg(test)]
mod minor_units_props;
mod token;
pub mod types;
pub mod webhook;
#[cfg(test)]
mod webhook_props;

pub use client::{PreparedCharge, QbitClient};
pub use errors::CallError;
pub use token::AccessToken;
pub use types::{
    ChargeList, Currency, Cursor, ExternalOrderId, ListQuery, MinorUnits, NewCharge, ObjectId,
    PageLimit,
};

/// How Qbit Pay is named in our messages and logs.
pub const PROVIDER: &str = "Qbit Pay";
