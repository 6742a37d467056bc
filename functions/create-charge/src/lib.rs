//! `POST /charges`: create a Qbit Pay charge and hand back the access token
//! the buyer's browser needs to open its hosted payment page.
//!
//! With an `Idempotency-Key` (Stripe's semantics): the same key and body
//! within 24 hours replays the first answer (`idempotent-replayed: true`)
//! without calling Qbit; the same key with another body, or while the first
//! request is still running, is 409. Only the answers of a charge call Qbit
//! may have executed are kept; a request that provably never reached Qbit's
//! charge logic (bad input, rate limit, our credentials refused, no
//! connection, our own secret failing, too little time left) gives the key
//! back, so its retry runs.
//!
//! The charge call is only started with time to finish and record it before
//! the invocation's deadline (see `shared::budget`), and is cut at that.

use http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use rand::Rng;
use serde::Serialize;
use serde_json::value::RawValue;
use shared::budget::call_budget;
use shared::http::{
    IdempotencyKey, Reply, fingerprint, invocation_deadline, json_body, request_id, respond,
};
use shared::qbit::{CallError, NewCharge, QbitClient};
use shared::store::{KeyClaim, KeyState, MAX_KEPT_ANSWER_BYTES};
use shared::table::DynamoStore;
use shared::{ApiError, now_ms};

#[derive(Serialize)]
struct Created<'a> {
    charge: &'a RawValue,
    #[serde(rename = "accessToken")]
    access_token: &'a str,
}

pub async fn handle(qbit: &QbitClient, store: &DynamoStore, req: Request) -> Response<Body> {
    respond(&request_id(&req), create(qbit, store, &req).await)
}

async fn create(qbit: &QbitClient, store: &DynamoStore, req: &Request) -> Result<Reply, ApiError> {
    let charge: NewCharge = json_body(req)?;
    let deadline = invocation_deadline(req, now_ms());
    let Some(key) = IdempotencyKey::from_headers(req.headers())? else {
        return create_charge(qbit, &charge, deadline)
            .await
            .map_err(CallError::into_api_error);
    };

    // The parsed body, re-serialised: the same parameters match however
    // they were spaced or ordered.
    let canonical =
        serde_json::to_vec(&charge).map_err(|e| ApiError::misconfigured(e.to_string()))?;
    let print = fingerprint(&canonical);
    let claim_id = format!("{:032x}", rand::rng().random::<u128>());

    match store
        .claim_key(&key, &print, &claim_id, deadline, now_ms())
        .await?
    {
        KeyClaim::Taken(record) if record.fingerprint != print => Err(ApiError::new(
            StatusCode::CONFLICT,
            "this Idempotency-Key was already used with a different request body; use a new key for a new charge",
        )),
        KeyClaim::Taken(record) => match record.state {
            KeyState::InProgress => Err(ApiError::new(
                StatusCode::CONFLICT,
                "a request with this Idempotency-Key is still being processed; retry after it finishes",
            )),
            KeyState::Completed { status, body } => {
                tracing::info!(status, "idempotent replay");
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                Ok(Reply::stored(status, body).with_header(
                    HeaderName::from_static("idempotent-replayed"),
                    HeaderValue::from_static("true"),
                ))
            }
        },
        KeyClaim::Claimed => {
            let result = create_charge(qbit, &charge, deadline).await;
            let kept = match &result {
                Ok(reply) => {
                    let (status, body) = keepable(reply.status(), reply.body());
                    store.complete_key(&key, &claim_id, status, &body).await
                }
                Err(CallError::MayHaveActed(error)) => {
                    let (status, body) = keepable(error.status(), &error.to_json());
                    store.complete_key(&key, &claim_id, status, &body).await
                }
                // Qbit's charge logic never saw it: the key stays free.
                Err(CallError::NotReached(_)) => store.release_key(&key, &claim_id).await,
            };
            if let Err(e) = kept {
                tracing::error!(error = %e, "idempotency key not updated; a retry with this key gets 409 until its lease ends");
            }
            result.map_err(CallError::into_api_error)
        }
    }
}

/// The answer as kept for replay. One too large for the table's item (a
/// charge or an error padded beyond reason) is kept as a 502 that says so:
/// the first caller had the real answer, and a key whose answer cannot be
/// written would stay `in_progress` and be handed to a second request once
/// its lease ran out.
fn keepable(status: StatusCode, body: &str) -> (u16, String) {
    if body.len() <= MAX_KEPT_ANSWER_BYTES {
        return (status.as_u16(), body.to_string());
    }
    let error = ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "the first answer to this Idempotency-Key (HTTP {}) was too large to keep; a charge may exist: list charges to find it",
            status.as_u16()
        ),
    );
    (error.status().as_u16(), error.to_json())
}

/// Token, then charge, both within the invocation's budget. The error says
/// whether Qbit may have created the charge.
async fn create_charge(
    qbit: &QbitClient,
    charge: &NewCharge,
    deadline: u64,
) -> Result<Reply, CallError> {
    let too_late = || {
        CallError::NotReached(ApiError::unavailable(
            "too little of this invocation is left to create the charge safely; nothing was sent, try again",
        ))
    };
    let timed_out = || {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!("{} did not answer in time", shared::qbit::PROVIDER),
        )
    };
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
