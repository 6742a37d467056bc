//! The sandbox's own control API, under `/_sandbox`: what a test or a
//! developer uses to look inside and to make the providers misbehave.
//!
//! - `GET /_sandbox/calls`: calls received per route, `{"POST /api/v1/charges": 2}`.
//! - `POST /_sandbox/faults`: inject a fault, e.g.
//!   `{"path": "/api/v1/charges", "kind": "delay", "ms": 3000, "times": 1}`;
//!   kinds `delay`, `status` (with `status`), `garbage`, `drop_after`, `hang`.
//! - `DELETE /_sandbox/faults`: clear them.
//! - `POST /_sandbox/qbit/keys` `{"api_key": "..."}`, `DELETE /_sandbox/qbit/keys/{key}`.
//! - `PUT /_sandbox/qbit/token-ttl` `{"seconds": 60}`.
//! - `PUT /_sandbox/debox/balances/{user}` `{"amount": "100.50"}`, and `GET` it.
//! - `POST /_sandbox/debox/orders/{serial_id}/expire`: its token expires now.
//! - `PUT /_sandbox/debox/shape` `{"wrapped": true}`: answer `{"code", "msg", "data"}`.

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
