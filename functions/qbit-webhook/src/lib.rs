//! `POST /webhooks/qbit`: take the raw body and the signature header, and
//! receive the delivery through the webhook flow (`shared::webhook`: the
//! header checked before the key is loaded, the signature over the exact
//! bytes, the event recorded once or, unreadable, kept whole), respond.

use lambda_http::{Body, Request, Response};
use shared::http::{raw_json_body, request_id, require_method, respond};
use shared::qbit::webhook::{SIGNATURE_HEADER, WebhookKey};
use shared::secrets::Secrets;
use shared::webhook::{EventStore, receive};

pub async fn handle<S: EventStore>(secrets: &Secrets, store: &S, req: Request) -> Response<Body> {
    let result = async {
        require_method(&req, "POST /webhooks/qbit")?;
        let body = raw_json_body(&req)?;
        let header = req
            .headers()
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok());
        receive(store, body, header, || async {
            WebhookKey::from_pem(secrets.get().await?.qbit_webhook_public_key()?)
        })
        .await
    }
    .await;
    respond(&request_id(&req), result)
}
