//! Qbit Pay as its documentation describes it (seed 000), plus what
//! `shared/spec/providers.md` assumes for the pages the seed lacks.
//!
//! - Basic auth with an API key as user name, on every `/api/v1` route.
//! - `GET /api/v1/accessToken`: a JWT with `iat` and `exp`.
//! - `POST /api/v1/charges`: a pending charge with a `paymentPageUrl`.
//! - `GET /api/v1/charges`: newest first, `limit` 1..100 (default 10),
//!   `starting_after` / `ending_before` cursors, `has_more`.
//! - `GET /h5/payment?tradeId=`: the hosted page, which wants
//!   `Authorization: Bearer <accessToken>` and refuses an expired token.
//! - Errors as `{"type", "message"}` with Qbit's statuses.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::state::State;

/// A charge as Qbit Pay returns it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Charge {
    pub id: String,
    pub object: &'static str,
    pub created_at: String,
    pub paid: bool,
    pub status: String,
    pub amount: u64,
    pub currency: String,
    pub external_order_id: String,
    pub payment_page_url: String,
    #[serde(skip)]
    pub trade_id: String,
}

/// An access token the sandbox issued, and until when it is good.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub expires_at: u64,
}

pub fn routes() -> Router<Arc<State>> {
    Router::new()
        .route("/api/v1/accessToken", get(access_token))
        .route("/api/v1/charges", post(create_charge).get(list_charges))
        .route("/h5/payment", get(payment_page))
        .route("/h5/payment/pay", axum::routing::post(pay_on_page))
}

impl State {
    /// Move a charge on (`charge.succeeded`: paid; `charge.closed`;
    /// `charge.failed`) and make its signed event, stamped now.
    pub fn settle_charge(
        &self,
        charge_id: &str,
        kind: &str,
    ) -> Option<crate::webhooks::SignedEvent> {
        let mut world = self.world();
        let charge = world.charges.iter_mut().find(|c| c.id == charge_id)?;
        match kind {
            "charge.succeeded" => {
                charge.paid = true;
                charge.status = "succeeded".into();
            }
            "charge.closed" => charge.status = "closed".into(),
            "charge.failed" => charge.status = "failed".into(),
            _ => {}
        }
        let snapshot = charge.clone();
        let created_at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let event = crate::webhooks::event(
            &self.webhook_key,
            format!("evt_{}", random_id(16)),
            kind,
            created_at,
            &snapshot,
        );
        world.events.push(event.clone());
        Some(event)
    }

    /// An event made earlier.
    pub fn event(&self, event_id: &str) -> Option<crate::webhooks::SignedEvent> {
        self.world()
            .events
            .iter()
            .find(|e| e.id == event_id)
            .cloned()
    }

    /// POST the event to the webhook URL, if one is set; the status answered
    /// (0: no URL, or no answer).
    pub async fn deliver(&self, event: &crate::webhooks::SignedEvent) -> u16 {
        let Some(url) = self.world().webhook_url.clone() else {
            return 0;
        };
        let status = crate::webhooks::deliver(&url, event).await;
        self.world().deliveries.push((event.id.clone(), status));
        status
    }
}

/// The buyer pays on the hosted page (Bearer token as for the page itself).
async fn pay_on_page(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Response {
    let live = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| {
            state
                .world()
                .tokens
                .get(token)
                .map(|t| t.expires_at > unix_now())
        })
        .unwrap_or(false);
    if !live {
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "A live Bearer access token is required.",
        );
    }
    let charge_id = state
        .world()
        .charges
        .iter()
        .find(|c| c.trade_id == params.trade_id)
        .map(|c| c.id.clone());
    let Some(event) = charge_id.and_then(|id| state.settle_charge(&id, "charge.succeeded")) else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such trade.",
        );
    };
    let delivered = state.deliver(&event).await;
    Json(json!({"paid": true, "event_id": event.id, "webhook_status": delivered})).into_response()
}

/// An error in Qbit's shape.
fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"type": kind, "message": message.into()})),
    )
        .into_response()
}

fn invalid(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

fn random_id(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Basic auth with a known API key as user name (the password is empty).
fn authenticated(state: &State, headers: &HeaderMap) -> bool {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    let Some((key, _password)) = key.as_deref().and_then(|k| k.split_once(':')) else {
        return false;
    };
    state.world().qbit_api_keys.contains(key)
}

fn unauthenticated() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "authentication_error",
        "No valid API key provided.",
    )
}

async fn access_token(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    if !authenticated(&state, &headers) {
        return unauthenticated();
    }
    let mut world = state.world();
    let iat = unix_now();
    let exp = iat + world.qbit_token_ttl.as_secs();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims =
        URL_SAFE_NO_PAD.encode(json!({"_id": random_id(24), "iat": iat, "exp": exp}).to_string());
    let signature = URL_SAFE_NO_PAD.encode(random_id(32));
    let jwt = format!("{header}.{claims}.{signature}");
    world
        .tokens
        .insert(jwt.clone(), IssuedToken { expires_at: exp });
    Json(json!({"accessToken": jwt})).into_response()
}

async fn create_charge(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authenticated(&state, &headers) {
        return unauthenticated();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid("Request body must be JSON.");
    };
    let Some(amount) = body
        .get("amount")
        .and_then(Value::as_u64)
        .filter(|a| *a > 0)
    else {
        return invalid("amount must be a positive integer in minor units.");
    };
    let currency = body
        .get("currency")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return invalid("currency must be an ISO 4217 code.");
    }
    let Some(order) = body
        .get("externalOrderId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return invalid("externalOrderId is required.");
    };
    let trade_id = random_id(20);
    let charge = Charge {
        id: random_id(13),
        object: "charge",
        created_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        paid: false,
        status: "pending".into(),
        amount,
        currency: currency.into(),
        external_order_id: order.into(),
        payment_page_url: format!("{}/h5/payment?tradeId={trade_id}", state.public_url),
        trade_id,
    };
    state.world().charges.push(charge.clone());
    Json(charge).into_response()
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<String>,
    starting_after: Option<String>,
    ending_before: Option<String>,
}

async fn list_charges(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<ListParams>,
) -> Response {
    if !authenticated(&state, &headers) {
        return unauthenticated();
    }
    let limit = match params.limit.as_deref().map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n @ 1..=100)) => n,
        Some(_) => return invalid("limit must be an integer from 1 to 100."),
    };
    let world = state.world();
    // Newest first.
    let newest_first: Vec<&Charge> = world.charges.iter().rev().collect();
    let position = |id: &str| newest_first.iter().position(|c| c.id == id);
    let (page, has_more) = match (params.starting_after, params.ending_before) {
        (Some(_), Some(_)) => {
            return invalid("starting_after and ending_before cannot be used together.");
        }
        (Some(after), None) => {
            let Some(at) = position(&after) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    format!("No such charge: '{after}'"),
                );
            };
            let rest = &newest_first[at + 1..];
            (
                rest.iter().take(limit).collect::<Vec<_>>(),
                rest.len() > limit,
            )
        }
        (None, Some(before)) => {
            let Some(at) = position(&before) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    format!("No such charge: '{before}'"),
                );
            };
            let newer = &newest_first[..at];
            let start = newer.len().saturating_sub(limit);
            (newer[start..].iter().collect(), start > 0)
        }
        (None, None) => (
            newest_first.iter().take(limit).collect(),
            newest_first.len() > limit,
        ),
    };
    Json(json!({"object": "list", "url": "/api/v1/charges", "has_more": has_more, "data": page}))
        .into_response()
}

#[derive(Deserialize)]
struct PageParams {
    #[serde(rename = "tradeId")]
    trade_id: String,
}

/// The hosted H5 page: only with a live Bearer token Qbit issued.
async fn payment_page(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Response {
    let refused = |m: &str| error(StatusCode::UNAUTHORIZED, "authentication_error", m);
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return refused("Bearer access token required.");
    };
    let world = state.world();
    match world.tokens.get(token) {
        None => return refused("Unknown access token."),
        Some(issued) if issued.expires_at <= unix_now() => return refused("Access token expired."),
        Some(_) => {}
    }
    let Some(charge) = world.charges.iter().find(|c| c.trade_id == params.trade_id) else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such trade.",
        );
    };
    let major = charge.amount / 100;
    let minor = charge.amount % 100;
    let page = format!(
        "<!doctype html><title>Qbit Pay</title><h1>Pay {major}.{minor:02} {}</h1><p>Order {}</p>",
        charge.currency, charge.external_order_id
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}
