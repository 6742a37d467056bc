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

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State as Extract};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use crate::faults::Fault;
use crate::state::{Calls, State};

pub fn routes() -> Router<Arc<State>> {
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

async fn webhook_url(Extract(state): Extract<Arc<State>>, Json(url): Json<Url>) -> StatusCode {
    state.world().webhook_url = Some(url.url);
    StatusCode::NO_CONTENT
}

async fn public_key(Extract(state): Extract<Arc<State>>) -> String {
    state.webhook_key.public_pem()
}

/// Make an event of `kind` for the charge and deliver it.
async fn make_and_deliver(
    state: &State,
    charge_id: &str,
    kind: &str,
) -> Result<Json<serde_json::Value>, StatusCode> {
    let event = state
        .settle_charge(charge_id, kind)
        .ok_or(StatusCode::NOT_FOUND)?;
    let status = state.deliver(&event).await;
    Ok(Json(
        serde_json::json!({"event_id": event.id, "type": kind, "webhook_status": status}),
    ))
}

async fn pay(
    Extract(state): Extract<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    make_and_deliver(&state, &id, "charge.succeeded").await
}

#[derive(Deserialize)]
struct EventKind {
    #[serde(rename = "type")]
    kind: String,
}

async fn charge_event(
    Extract(state): Extract<Arc<State>>,
    Path(id): Path<String>,
    Json(kind): Json<EventKind>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    make_and_deliver(&state, &id, &kind.kind).await
}

async fn out_of_order(
    Extract(state): Extract<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    let older = state
        .settle_charge(&id, "charge.succeeded")
        .ok_or(StatusCode::NOT_FOUND)?;
    // A later timestamp for the second event, whatever the clock's resolution.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let newer = state
        .settle_charge(&id, "charge.closed")
        .ok_or(StatusCode::NOT_FOUND)?;
    let newer_status = state.deliver(&newer).await;
    let older_status = state.deliver(&older).await;
    Ok(Json(serde_json::json!({"delivered": [
        {"event_id": newer.id, "type": newer.kind, "webhook_status": newer_status},
        {"event_id": older.id, "type": older.kind, "webhook_status": older_status},
    ]})))
}

async fn redeliver(
    Extract(state): Extract<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    let event = state.event(&id).ok_or(StatusCode::NOT_FOUND)?;
    let status = state.deliver(&event).await;
    Ok(Json(
        serde_json::json!({"event_id": event.id, "webhook_status": status}),
    ))
}

#[derive(Deserialize)]
struct Points {
    amount: String,
}

async fn set_balance(
    Extract(state): Extract<Arc<State>>,
    Path(user): Path<String>,
    Json(points): Json<Points>,
) -> StatusCode {
    match crate::debox::parse_points(&points.amount) {
        Some(hundredths) => {
            state.set_balance(&user, hundredths);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn balance(
    Extract(state): Extract<Arc<State>>,
    Path(user): Path<String>,
) -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"user_id": user, "balance": crate::debox::format_points(state.balance(&user))}),
    )
}

async fn expire_order(
    Extract(state): Extract<Arc<State>>,
    Path(serial): Path<String>,
) -> StatusCode {
    if state.expire_order(&serial) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

#[derive(Deserialize)]
struct Shape {
    wrapped: bool,
}

async fn shape(Extract(state): Extract<Arc<State>>, Json(shape): Json<Shape>) -> StatusCode {
    state.set_debox_wrapped(shape.wrapped);
    StatusCode::NO_CONTENT
}

async fn calls(Extract(state): Extract<Arc<State>>) -> Json<Calls> {
    Json(state.calls())
}

async fn inject(Extract(state): Extract<Arc<State>>, Json(fault): Json<Fault>) -> StatusCode {
    state.inject(fault);
    StatusCode::NO_CONTENT
}

async fn clear_faults(Extract(state): Extract<Arc<State>>) -> StatusCode {
    state.clear_faults();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct NewKey {
    api_key: String,
}

async fn add_key(Extract(state): Extract<Arc<State>>, Json(key): Json<NewKey>) -> StatusCode {
    state.add_qbit_key(&key.api_key);
    StatusCode::NO_CONTENT
}

async fn revoke_key(Extract(state): Extract<Arc<State>>, Path(key): Path<String>) -> StatusCode {
    state.revoke_qbit_key(&key);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Ttl {
    seconds: u64,
}

async fn token_ttl(Extract(state): Extract<Arc<State>>, Json(ttl): Json<Ttl>) -> StatusCode {
    state.set_qbit_token_ttl(Duration::from_secs(ttl.seconds));
    StatusCode::NO_CONTENT
}
