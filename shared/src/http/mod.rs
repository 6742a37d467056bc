//! The edge of every function: turning an API Gateway request into typed
//! values, and a result into the contract's response.

mod body;
mod caller;
mod event;
mod method;
mod panics;
mod query;
mod response;

pub use body::{MAX_BODY_BYTES, json_body, not_null, parse_json, raw_json_body};
pub use caller::{Caller, UNAUTHENTICATED};
pub use event::{UNDECODABLE_BODY, request_from, run};
pub use method::require_method;
pub use panics::{BUG_MESSAGE, CatchPanics};
pub use query::QueryParams;
pub use response::{FUNCTION_TIMEOUT_MS, Reply, invocation_deadline, request_id, respond};
