//! The sandbox's own control API, under `/_sandbox`: what a test or a
//! developer uses to look inside and to make the providers misbehave.
//!
//! - `GET /_sandbox/calls`: calls received per route, `{"POST /api/v1/charges": 2}`.
//! - `POST /_sandbox/faults`: inject a fault, e.g.
//!   `{"path": "/api/v1/charges", "kind": "delay", "ms": 3000, "times": 1}`;
//!   kinds `delay`, `status` (with `status`), `garbage`, `drop_after`, `hang`,
//!   `oversized` (with `bytes`, and optionally `status`).
//! - `DELETE /_sandbox/faults`: clear them.
//! - `POST /_sandbox/qbit/keys` `{"api_key": "..."}`, `DELETE /_sandbox/qbit/keys/{key}`.
//! - `PUT /_sandbox/qbit/token-ttl` `{"seconds": 60}`.
//! - `PUT /_sandbox/debox/balances/{user}` `{"amount": "100.50"}`, and `GET` it.
//! - `POST /_sandbox/debox/orders/{serial_id}/expire`: its token expires now.
//! - `PUT /_sandbox/debox/shape` `{"wrapped": true}`: answer `{"code", "msg", "data"}`.
//! - `PUT /_sandbox/qbit/webhook` `{"url": "..."}`: where events are POSTed;
//!   `GET /_sandbox/qbit/webhook/public-key`: the PEM to verify them with.
//! - `POST /_sandbox/qbit/charges/{id}/pay`: the buyer pays; `charge.succeeded`
//!   is delivered. `POST /_sandbox/qbit/charges/{id}/events` `{"type": "charge.closed"}`: another event.
//! - `POST /_sandbox/qbit/charges/{id}/out-of-order`: `charge.succeeded` then
//!   `charge.closed` are made, and delivered newest first.
//! - `POST /_sandbox/qbit/events/{id}/redeliver`: the same event, again.
//!
//! It is the one part that reaches across providers, so it takes the
//! composed [`SandboxState`]; each handler works on the provider it is about.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use crate::debox::{format_points, parse_points};
use crate::faults::{Calls, Fault};
use crate::qbit::QbitPay;
use crate::state::SandboxState;

pub fn routes() -> Router<Arc<SandboxState>> {
    Router::new()
        .route("/calls", get(calls))
        .route("/faults", post(inject).delete(clear_faults))
        .route("/qbit/keys", post(add_key))
        .route("/qbit/keys/{key}", delete(revoke_key))
        .route("/qbit/token-ttl", put(token_ttl))
        .route("/debox/balances/{user}", put(set_balance).get(balance))
        .route("/debox/orders/{serial}/expire", post(expire_order))
        .route("/debox/shape", put(shape))
        .route("/qbit/webhook", put(webhook_url))
        .route("/qbit/webhook/public-key", get(public_key))
        .route("/qbit/charges/{id}/pay", post(pay))
        .route("/qbit/charges/{id}/events", post(charge_event))
        .route("/qbit/charges/{id}/out-of-order", post(out_of_order))
        .route("/qbit/events/{id}/redeliver", post(redeliver))
}

#[derive(Deserialize)]
struct Url {
    url: String,
}

async fn webhook_url(State(sandbox): State<Arc<SandboxState>>, Json(url): Json<Url>) -> StatusCode {
    sandbox.qbit.set_webhook_url(url.url);
    StatusCode::NO_CONTENT
}

async fn public_key(State(sandbox): State<Arc<SandboxState>>) -> String {
    sandbox.qbit.webhook_key().public_pem()
}

/// Make an event of `kind` for the charge and deliver it.
async fn make_and_deliver(
    qbit: &QbitPay,
    charge_id: &str,
    kind: &str,
) -> Result<Json<serde_json::Value>, StatusCode> {
    let event = qbit
        .settle_charge(charge_id, kind)
        .ok_or(StatusCode::NOT_FOUND)?;
    let status = qbit.deliver(&event).await;
    Ok(Json(
        serde_json::json!({"event_id": event.id, "type": kind, "webhook_status": status, "signature": event.signature}),
    ))
}

async fn pay(
    State(sandbox): State<Arc<SandboxState>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    make_and_deliver(&sandbox.qbit, &id, "charge.succeeded").await
}

#[derive(Deserialize)]
struct EventKind {
    #[serde(rename = "type")]
    kind: String,
}

async fn charge_event(
    State(sandbox): State<Arc<SandboxState>>,
    Path(id): Path<String>,
    Json(kind): Json<EventKind>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    make_and_deliver(&sandbox.qbit, &id, &kind.kind).await
}

async fn out_of_order(
    State(sandbox): State<Arc<SandboxState>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    let older = sandbox
        .qbit
        .settle_charge(&id, "charge.succeeded")
        .ok_or(StatusCode::NOT_FOUND)?;
    // A later timestamp for the second event, whatever the clock's resolution.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let newer = sandbox
        .qbit
        .settle_charge(&id, "charge.closed")
        .ok_or(StatusCode::NOT_FOUND)?;
    let newer_status = sandbox.qbit.deliver(&newer).await;
    let older_status = sandbox.qbit.deliver(&older).await;
    Ok(Json(serde_json::json!({"delivered": [
        {"event_id": newer.id, "type": newer.kind, "webhook_status": newer_status},
        {"event_id": older.id, "type": older.kind, "webhook_status": older_status},
    ]})))
}

async fn redeliver(
    State(sandbox): State<Arc<SandboxState>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    let event = sandbox.qbit.event(&id).ok_or(StatusCode::NOT_FOUND)?;
    let status = sandbox.qbit.deliver(&event).await;
    Ok(Json(
        serde_json::json!({"event_id": event.id, "webhook_status": status}),
    ))
}

#[derive(Deserialize)]
struct Points {
    amount: String,
}

async fn set_balance(
    State(sandbox): State<Arc<SandboxState>>,
    Path(user): Path<String>,
    Json(points): Json<Points>,
) -> StatusCode {
    match parse_points(&points.amount) {
        Some(hundredths) => {
            sandbox.debox.set_balance(&user, hundredths);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn balance(
    State(sandbox): State<Arc<SandboxState>>,
    Path(user): Path<String>,
) -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"user_id": user, "balance": format_points(sandbox.debox.balance(&user))}),
    )
}

async fn expire_order(
    State(sandbox): State<Arc<SandboxState>>,
    Path(serial): Path<String>,
) -> StatusCode {
    if sandbox.debox.expire_order(&serial) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

#[derive(Deserialize)]
struct Shape {
    wrapped: bool,
}

async fn shape(State(sandbox): State<Arc<SandboxState>>, Json(shape): Json<Shape>) -> StatusCode {
    sandbox.debox.set_wrapped(shape.wrapped);
    StatusCode::NO_CONTENT
}

async fn calls(State(sandbox): State<Arc<SandboxState>>) -> Json<Calls> {
    Json(sandbox.faults.calls())
}

async fn inject(State(sandbox): State<Arc<SandboxState>>, Json(fault): Json<Fault>) -> StatusCode {
    sandbox.faults.inject(fault);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(sandbox): State<Arc<SandboxState>>) -> StatusCode {
    sandbox.faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct NewKey {
    api_key: String,
}

async fn add_key(State(sandbox): State<Arc<SandboxState>>, Json(key): Json<NewKey>) -> StatusCode {
    sandbox.qbit.add_key(&key.api_key);
    StatusCode::NO_CONTENT
}

async fn revoke_key(
    State(sandbox): State<Arc<SandboxState>>,
    Path(key): Path<String>,
) -> StatusCode {
    sandbox.qbit.revoke_key(&key);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Ttl {
    seconds: u64,
}

async fn token_ttl(State(sandbox): State<Arc<SandboxState>>, Json(ttl): Json<Ttl>) -> StatusCode {
    sandbox.qbit.set_token_ttl(Duration::from_secs(ttl.seconds));
    StatusCode::NO_CONTENT
}
