//! Qbit Pay's HTTP routes, over its own [`QbitPay`] state.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};

use super::account::QbitPay;
use super::model::{Charge, IssuedToken, now_rfc3339, random_id, unix_now};

pub fn routes() -> Router<Arc<QbitPay>> {
    Router::new()
        .route("/api/v1/accessToken", get(access_token))
        .route("/api/v1/charges", post(create_charge).get(list_charges))
        .route("/h5/payment", get(payment_page))
        .route("/h5/payment/pay", post(pay_on_page))
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

/// The token after `Bearer `, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Basic auth with a known API key as user name (the password is empty).
fn authenticated(qbit: &QbitPay, headers: &HeaderMap) -> bool {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    let Some((key, _password)) = key.as_deref().and_then(|k| k.split_once(':')) else {
        return false;
    };
    qbit.lock().api_keys.contains(key)
}

fn unauthenticated() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "authentication_error",
        "No valid API key provided.",
    )
}

async fn access_token(State(qbit): State<Arc<QbitPay>>, headers: HeaderMap) -> Response {
    if !authenticated(&qbit, &headers) {
        return unauthenticated();
    }
    let mut account = qbit.lock();
    let iat = unix_now();
    let exp = iat + account.token_ttl.as_secs();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims =
        URL_SAFE_NO_PAD.encode(json!({"_id": random_id(24), "iat": iat, "exp": exp}).to_string());
    let signature = URL_SAFE_NO_PAD.encode(random_id(32));
    let jwt = format!("{header}.{claims}.{signature}");
    account
        .tokens
        .insert(jwt.clone(), IssuedToken { expires_at: exp });
    Json(json!({"accessToken": jwt})).into_response()
}

async fn create_charge(
    State(qbit): State<Arc<QbitPay>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authenticated(&qbit, &headers) {
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
        created_at: now_rfc3339(),
        paid: false,
        status: "pending".into(),
        amount,
        currency: currency.into(),
        external_order_id: order.into(),
        payment_page_url: format!("{}/h5/payment?tradeId={trade_id}", qbit.public_url),
        trade_id,
    };
    qbit.lock().charges.push(charge.clone());
    Json(charge).into_response()
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<String>,
    starting_after: Option<String>,
    ending_before: Option<String>,
}

async fn list_charges(
    State(qbit): State<Arc<QbitPay>>,
    headers: HeaderMap,
    Query(params): Query<ListParams>,
) -> Response {
    if !authenticated(&qbit, &headers) {
        return unauthenticated();
    }
    let limit = match params.limit.as_deref().map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n @ 1..=100)) => n,
        Some(_) => return invalid("limit must be an integer from 1 to 100."),
    };
    let account = qbit.lock();
    // Newest first.
    let newest_first: Vec<&Charge> = account.charges.iter().rev().collect();
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
    State(qbit): State<Arc<QbitPay>>,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Response {
    let refused = |m: &str| error(StatusCode::UNAUTHORIZED, "authentication_error", m);
    let Some(token) = bearer(&headers) else {
        return refused("Bearer access token required.");
    };
    let account = qbit.lock();
    match account.tokens.get(token) {
        None => return refused("Unknown access token."),
        Some(issued) if issued.expires_at <= unix_now() => return refused("Access token expired."),
        Some(_) => {}
    }
    let Some(charge) = account
        .charges
        .iter()
        .find(|c| c.trade_id == params.trade_id)
    else {
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

/// The buyer pays on the hosted page (Bearer token as for the page itself).
async fn pay_on_page(
    State(qbit): State<Arc<QbitPay>>,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Response {
    let live = bearer(&headers)
        .and_then(|token| {
            qbit.lock()
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
    let charge_id = qbit
        .lock()
        .charges
        .iter()
        .find(|c| c.trade_id == params.trade_id)
        .map(|c| c.id.clone());
    let Some(event) = charge_id.and_then(|id| qbit.settle_charge(&id, "charge.succeeded")) else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such trade.",
        );
    };
    let delivered = qbit.deliver(&event).await;
    Json(json!({"paid": true, "event_id": event.id, "webhook_status": delivered})).into_response()
}
