//! `POST /charges`: parse the body, any `Idempotency-Key` and who asked,
//! create the charge through the charge flow (`shared::charge`: the token,
//! then the charge, within the time budget, then its record; at most once
//! per key and body), respond.

use lambda_http::{Body, Request, Response};
use shared::charge::{
    ChargeStore, CreateError, IdempotencyKey, KeyStore, Requester, body_fingerprint, create_charge,
    once,
};
use shared::http::{
    Caller, Reply, invocation_deadline, json_body, request_id, require_method, respond,
};
use shared::qbit::{NewCharge, QbitClient};
use shared::{ApiError, now_ms};

pub async fn handle<S: KeyStore + ChargeStore>(
    qbit: &QbitClient,
    store: &S,
    req: Request,
) -> Response<Body> {
    respond(&request_id(&req), create(qbit, store, &req).await)
}

async fn create<S: KeyStore + ChargeStore>(
    qbit: &QbitClient,
    store: &S,
    req: &Request,
) -> Result<Reply, ApiError> {
    require_method(req, "POST /charges")?;
    let charge: NewCharge = json_body(req)?;
    let deadline = invocation_deadline(req, now_ms());
    let by = Requester {
        caller: Caller::of(req),
        request_id: request_id(req),
    };
    let call = || create_charge(qbit, store, &charge, &by, deadline);
    match IdempotencyKey::from_headers(req.headers())? {
        None => call().await.map_err(CreateError::into_api_error),
        Some(key) => {
            let print = body_fingerprint(&charge)?;
            once(store, &key, &print, &by.caller, deadline, call).await
        }
    }
}
