//! Creating a charge at Qbit: the access token, then the charge, each
//! within the invocation's time budget (`crate::budget`).

use serde::Serialize;
use serde_json::value::RawValue;

use crate::budget::call_budget;
use crate::http::Reply;
use crate::qbit::{CallError, NewCharge, QbitClient};
use crate::upstream::timed_out;
use crate::{ApiError, now_ms};

/// `create-charge`'s answer: Qbit's charge as sent, and the token the
/// buyer's browser opens the hosted page with.
#[derive(Serialize)]
struct Created<'a> {
    charge: &'a RawValue,
    #[serde(rename = "accessToken")]
    access_token: &'a str,
}

/// Token, then charge, both within the invocation's budget. The error says
/// whether Qbit may have created the charge.
pub async fn create_charge(
    qbit: &QbitClient,
    charge: &NewCharge,
    deadline: u64,
) -> Result<Reply, CallError> {
    let too_late = || {
        CallError::NotReached(ApiError::unavailable(
            "too little of this invocation is left to create the charge safely; nothing was sent, try again",
        ))
    };
    let timed_out = || timed_out(crate::qbit::PROVIDER);
    // The token first: if it cannot be had, no charge is left behind.
    let budget = call_budget(deadline, now_ms()).ok_or_else(too_late)?;
    let token = tokio::time::timeout(budget, qbit.access_token())
        .await
        .unwrap_or_else(|_| Err(timed_out()))
        .map_err(CallError::NotReached)?;
    // Our key read and the request built before the call is timed: a
    // secret read that stalls must not be mistaken for a charge call cut off.
    let call = qbit
        .prepare_charge(charge)
        .await
        .map_err(CallError::NotReached)?;
    // What is left now: the charge call must end, answered or not, while
    // there is time to keep its answer under the key.
    let budget = call_budget(deadline, now_ms()).ok_or_else(too_late)?;
    let created = tokio::time::timeout(budget, qbit.send_charge(call))
        .await
        .unwrap_or_else(|_| Err(CallError::MayHaveActed(timed_out())))?;
    Reply::json(&Created {
        charge: &created,
        access_token: token.as_str(),
    })
    .map_err(CallError::MayHaveActed)
}
