//! `POST /webhooks/qbit`: Qbit Pay's signed events, verified over the raw
//! bytes, recorded exactly once, moving the charge's state only forward.
//!
//! Public route: the signature is the only trust. A request without a
//! plausible signature header is a 401 before the key is even fetched; a
//! forged event is a 401 and writes nothing; a real one is recorded once (a
//! redelivery answers `duplicate: true` and changes nothing); if the store
//! fails after the signature is good, the answer is 503 so Qbit delivers
//! again, and nothing half-written makes that retry look like a duplicate.
//! A verified body we cannot read is kept whole for an operator and
//! acknowledged, never dropped.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::{Reply, raw_json_body, request_id, respond};
use shared::qbit::webhook::{
    Event, SIGNATURE_HEADER, Signature, SignatureError, Unreadable, WebhookKey,
};
use shared::secrets::Secrets;
use shared::store::Recorded;
use shared::table::DynamoStore;
use shared::{ApiError, metrics, now_ms};

pub async fn handle(secrets: &Secrets, store: &DynamoStore, req: Request) -> Response<Body> {
    respond(&request_id(&req), receive(secrets, store, &req).await)
}

async fn receive(secrets: &Secrets, store: &DynamoStore, req: &Request) -> Result<Reply, ApiError> {
    let body = raw_json_body(req)?;
    // The header first: anyone can call this route, and a request that
    // cannot be signed must not make us call Secrets Manager.
    let header = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let refused = |why: SignatureError| {
        // Why, but never the body or the signature.
        tracing::warn!(reason = %why, bytes = body.len(), "webhook refused");
        ApiError::from(why)
    };
    let signature = Signature::from_header(header).map_err(refused)?;
    let key = WebhookKey::from_pem(secrets.get().await?.qbit_webhook_public_key()?)?;
    key.verify(body, &signature).map_err(refused)?;
    let event = match Event::parse(body) {
        Ok(event) => event,
        Err(why) => return keep_unreadable(store, body, header.unwrap_or_default(), &why).await,
    };
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

/// A verified body we cannot read: Qbit sent it, so it may be a payment.
/// Keep it whole and alarm, then acknowledge (200), so Qbit stops sending
/// it: retrying cannot make it readable, and a webhook that keeps failing
/// gets disabled, which would drop every later event. If it cannot be kept
/// (the store is down), answer 503 so Qbit, which still holds it, delivers
/// it again. (Every body that gets this far fits in one item: see
/// `DynamoStore::keep_unreadable_event`.)
async fn keep_unreadable(
    store: &DynamoStore,
    body: &[u8],
    signature: &str,
    why: &Unreadable,
) -> Result<Reply, ApiError> {
    let key = DynamoStore::unreadable_event_key(body);
    // Every verified event we cannot read raises the alarm, kept or not.
    metrics::unreadable_webhook_event(&key);
    let deliveries = match store
        .keep_unreadable_event(body, signature, &why.reason, now_ms())
        .await
    {
        Ok(deliveries) => deliveries,
        Err(_) => {
            tracing::error!(item_key = %key, bytes = body.len(), reason = %why.reason,
                "unreadable webhook event could not be kept: store unavailable");
            return Err(ApiError::unavailable(
                "the event could not be read and the store is unavailable to keep it; \
                 it was not kept, deliver it again",
            ));
        }
    };
    tracing::error!(item_key = %key, bytes = body.len(), reason = %why.reason, deliveries,
        "unreadable webhook event kept for an operator");
    Reply::json(&json!({"received": true, "duplicate": deliveries > 1}))
}
