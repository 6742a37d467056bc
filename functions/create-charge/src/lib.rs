//! `POST /charges`: parse the body and any `Idempotency-Key`, create the
//! charge through the charge flow (`shared::charge`: the token, then the
//! charge, within the time budget; at most once per key and body), respond.

use lambda_http::{Body, Request, Response};
use shared::charge::{IdempotencyKey, KeyStore, body_fingerprint, create_charge, once};
use shared::http::{Reply, invocation_deadline, json_body, request_id, respond};
use shared::qbit::{CallError, NewCharge, QbitClient};
use shared::{ApiError, now_ms};

pub async fn handle<S: KeyStore>(qbit: &QbitClient, keys: &S, req: Request) -> Response<Body> {
    respond(&request_id(&req), create(qbit, keys, &req).await)
}

async fn create<S: KeyStore>(
    qbit: &QbitClient,
    keys: &S,
    req: &Request,
) -> Result<Reply, ApiError> {
    let charge: NewCharge = json_body(req)?;
    let deadline = invocation_deadline(req, now_ms());
    let call = || create_charge(qbit, &charge, deadline);
    match IdempotencyKey::from_headers(req.headers())? {
        None => call().await.map_err(CallError::into_api_error),
        Some(key) => once(keys, &key, &body_fingerprint(&charge)?, deadline, call).await,
    }
}
