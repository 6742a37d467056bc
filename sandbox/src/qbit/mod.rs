//! Qbit Pay as its documentation describes it, plus what we assume for
//! the pages it lacks (`docs/providers.md`).
//!
//! - Basic auth with an API key as user name, on every `/api/v1` route.
//! - `GET /api/v1/accessToken`: a JWT with `iat` and `exp`.
//! - `POST /api/v1/charges`: a pending charge with a `paymentPageUrl`.
//! - `GET /api/v1/charges`: newest first, `limit` 1..100 (default 10),
//!   `starting_after` / `ending_before` cursors, `has_more`.
//! - `GET /h5/payment?tradeId=`: the hosted page, which wants
//!   `Authorization: Bearer <accessToken>` and refuses an expired token.
//! - Errors as `{"type", "message"}` with Qbit's statuses.
//! - Signed webhook events for a charge (`charge.succeeded`, ...), sent
//!   through [`crate::webhooks`].
//!
//! Qbit owns its state ([`QbitPay`]) and knows nothing of DeBox, the
//! faults or the sandbox that composes them. Its parts, each using only
//! those listed before it:
//!
//! - `model`: the objects Qbit hands out (charges, tokens, events);
//! - `account`: what Qbit holds for the merchant, behind its own lock;
//! - `api`: the HTTP routes over that account.

mod account;
mod api;
mod model;

pub use account::QbitPay;
pub use api::routes;
pub use model::{Charge, IssuedToken, SignedEvent};
