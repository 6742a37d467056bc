//! `POST /charges`: create a Qbit Pay charge and hand back the access token
//! the buyer's browser needs to open its hosted payment page.
//!
//! With an `Idempotency-Key` (Stripe's semantics): the same key and body
//! within 24 hours replays the first answer (`idempotent-replayed: true`)
//! without calling Qbit; the same key with another body, or while the first
//! request is still running, is 409. A request refused before the charge
//! call (bad input, no token) keeps nothing under its key.

use http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use rand::Rng;
use serde::Serialize;
use serde_json::value::RawValue;
use shared::http::{
    IdempotencyKey, Reply, fingerprint, invocation_deadline, json_body, request_id, respond,
};
use shared::qbit::{NewCharge, QbitClient};
use shared::store::{DynamoStore, KeyClaim, KeyState};
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
    let Some(key) = IdempotencyKey::from_headers(req.headers())? else {
        return create_charge(qbit, &charge)
            .await
            .map_err(|(error, _)| error);
    };

    // The parsed body, re-serialised: the same parameters match however
    // they were spaced or ordered.
    let canonical =
        serde_json::to_vec(&charge).map_err(|e| ApiError::misconfigured(e.to_string()))?;
    let print = fingerprint(&canonical);
    let claim_id = format!("{:032x}", rand::rng().random::<u128>());
    let now = now_ms();
    let lease_ends = invocation_deadline(req, now);

    match store
        .claim_key(&key, &print, &claim_id, lease_ends, now)
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
            let result = create_charge(qbit, &charge).await;
            let kept = match &result {
                Ok(reply) => {
                    store
                        .complete_key(&key, &claim_id, reply.status().as_u16(), reply.body())
                        .await
                }
                Err((error, true)) => {
                    store
                        .complete_key(&key, &claim_id, error.status().as_u16(), &error.to_json())
                        .await
                }
                // The charge call was never made: the key stays free.
                Err((_, false)) => store.release_key(&key, &claim_id).await,
            };
            if let Err(e) = kept {
                tracing::error!(error = %e, "idempotency key not updated; a retry with this key gets 409 until its lease ends");
            }
            result.map_err(|(error, _)| error)
        }
    }
}

/// Token, then charge. The error says whether the charge call was made.
async fn create_charge(qbit: &QbitClient, charge: &NewCharge) -> Result<Reply, (ApiError, bool)> {
    // The token first: if it cannot be had, no charge is left behind.
    let token = qbit.access_token().await.map_err(|e| (e, false))?;
    let created = qbit.create_charge(charge).await.map_err(|e| (e, true))?;
    Reply::json(&Created {
        charge: &created,
        access_token: token.as_str(),
    })
    .map_err(|e| (e, true))
}
