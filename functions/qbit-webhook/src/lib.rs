//! `POST /webhooks/qbit`: Qbit Pay's signed events, verified over the raw
//! bytes, recorded exactly once, moving the charge's state only forward.
//!
//! Public route: the signature is the only trust. A forged event is a 401
//! and writes nothing; a real one is recorded once (a redelivery answers
//! `duplicate: true` and changes nothing); if the store fails after the
//! signature is good, the answer is 503 so Qbit delivers again, and nothing
//! half-written makes that retry look like a duplicate.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::{Reply, raw_json_body, request_id, respond};
use shared::qbit::webhook::{Event, SIGNATURE_HEADER, WebhookKey};
use shared::secrets::Secrets;
use shared::store::{DynamoStore, Recorded};
use shared::{ApiError, now_ms};

pub async fn handle(secrets: &Secrets, store: &DynamoStore, req: Request) -> Response<Body> {
    respond(&request_id(&req), receive(secrets, store, &req).await)
}

async fn receive(secrets: &Secrets, store: &DynamoStore, req: &Request) -> Result<Reply, ApiError> {
    let body = raw_json_body(req)?;
    let key = WebhookKey::from_pem(secrets.get().await?.qbit_webhook_public_key()?)?;
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if let Err(why) = key.verify(body, signature) {
        // Why, but never the body or the signature.
        tracing::warn!(reason = %why, bytes = body.len(), "webhook refused");
        return Err(why.into());
    }
    let event = Event::parse(body)?;
    let recorded = store.record_event(&event, now_ms()).await?;
    let duplicate = recorded == Recorded::Duplicate;
    tracing::info!(
        event_id = %event.id,
        event_type = %event.kind,
        charge_id = event.charge.as_ref().map(|c| c.id.as_str()).unwrap_or(""),
        duplicate,
        applied = matches!(recorded, Recorded::New { applied: true }),
        "webhook recorded"
    );
    Reply::json(&json!({"received": true, "duplicate": duplicate}))
}
