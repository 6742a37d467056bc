//! DeBox's HTTP routes, over its own [`Debox`] state.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::books::{Books, Debox, DeboxOrder};
use super::wire::{
    MAX_CLOCK_SKEW_MS, TOKEN_LIFETIME_MS, format_points, now_ms, parse_points, random, signature,
};

pub fn routes() -> Router<Arc<Debox>> {
    Router::new()
        .route("/openapi/payment/order", post(order))
        .route("/openapi/payment/transfer", post(transfer))
        .route("/openapi/payment/assert/vbox", post(balance))
        .route("/oauth/authorize", get(authorize))
}

/// A DeBox error: HTTP 200 (401 for credentials) with a code.
fn code(code: i64, msg: &str) -> Response {
    let status = if code == -2001 {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    (
        status,
        axum::Json(json!({"code": code, "msg": msg, "source": "debox"})),
    )
        .into_response()
}

/// A success in the shape the sandbox is set to (`data` as raw JSON text,
/// so numbers are written exactly as given).
fn success(books: &Books, data: String) -> Response {
    let body = if books.wrapped {
        format!(r#"{{"code":1,"msg":"success","data":{data}}}"#)
    } else {
        data
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The five signed headers, checked; the reason when they are not right.
fn verify(books: &Books, headers: &HeaderMap) -> Result<(), &'static str> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let refuse = Err;
    let Some(app) = books.apps.get(get("app_id")) else {
        return refuse("unknown app_id");
    };
    if get("X-API-KEY") != app.api_key {
        return refuse("X-API-KEY does not match the app");
    }
    let nonce = get("nonce");
    if nonce.len() != 8 || !nonce.bytes().all(|b| b.is_ascii_digit()) {
        return refuse("nonce must be 8 digits");
    }
    let timestamp = get("timestamp");
    let Ok(sent) = timestamp.parse::<u64>() else {
        return refuse("timestamp must be Unix milliseconds");
    };
    if now_ms().abs_diff(sent) > MAX_CLOCK_SKEW_MS {
        return refuse("timestamp is more than 5 minutes off");
    }
    if get("signature") != signature(&app.app_secret, nonce, timestamp) {
        return refuse("signature does not match");
    }
    Ok(())
}

fn body_of(bytes: &Bytes) -> HashMap<String, Value> {
    serde_json::from_slice(bytes).unwrap_or_default()
}

fn text<'a>(body: &'a HashMap<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

async fn order(State(debox): State<Arc<Debox>>, headers: HeaderMap, bytes: Bytes) -> Response {
    let mut books = debox.lock();
    if let Err(why) = verify(&books, &headers) {
        return code(-2001, why);
    }
    let body = body_of(&bytes);
    let (Some(payer), Some(receiver), Some(amount)) = (
        text(&body, "payer_user_id"),
        text(&body, "receiver_user_id"),
        text(&body, "amount"),
    ) else {
        return code(
            -2004,
            "payer_user_id, receiver_user_id and amount are required",
        );
    };
    let Some(hundredths) = parse_points(amount).filter(|h| *h > 0) else {
        return code(-2004, "amount must be a number with at most two decimals");
    };
    if payer != books.merchant {
        return code(-2006, "payer_user_id must be the merchant");
    }
    let (serial, token) = (random(20), random(32));
    books.orders.insert(
        serial.clone(),
        DeboxOrder {
            payer: payer.into(),
            receiver: receiver.into(),
            hundredths,
            token: token.clone(),
            expires_at_ms: now_ms() + TOKEN_LIFETIME_MS,
            merchant_pays: true,
            transferred: false,
        },
    );
    let data =
        json!({"access_token": token, "serial_id": serial, "amount": format_points(hundredths)});
    success(&books, data.to_string())
}

async fn transfer(State(debox): State<Arc<Debox>>, headers: HeaderMap, bytes: Bytes) -> Response {
    let mut books = debox.lock();
    if let Err(why) = verify(&books, &headers) {
        return code(-2001, why);
    }
    let body = body_of(&bytes);
    let (Some(token), Some(serial)) = (text(&body, "access_token"), text(&body, "serial_id"))
    else {
        return code(-2004, "access_token and serial_id are required");
    };
    let verify_amount = text(&body, "verify_amount").map(parse_points);
    let Some(order) = books.orders.get(serial).cloned() else {
        return code(-2006, "no such serial_id");
    };
    if order.token != token {
        return code(-2015, "access token check failed");
    }
    if order.transferred {
        return code(-2016, "duplicate transfer request");
    }
    if order.expires_at_ms <= now_ms() {
        return code(-2013, "access token expired");
    }
    if order.merchant_pays && verify_amount != Some(Some(order.hundredths)) {
        return code(-2006, "verify_amount does not match the ordered amount");
    }
    let payer_balance = books.balances.get(&order.payer).copied().unwrap_or(0);
    if payer_balance < order.hundredths {
        return code(-7048, "insufficient balance");
    }
    books
        .balances
        .insert(order.payer.clone(), payer_balance - order.hundredths);
    *books.balances.entry(order.receiver.clone()).or_default() += order.hundredths;
    if let Some(o) = books.orders.get_mut(serial) {
        o.transferred = true;
    }
    (
        StatusCode::OK,
        axum::Json(json!({"code": 1, "msg": "success", "source": "debox"})),
    )
        .into_response()
}

async fn balance(State(debox): State<Arc<Debox>>, headers: HeaderMap) -> Response {
    let books = debox.lock();
    if let Err(why) = verify(&books, &headers) {
        return code(-2001, why);
    }
    let points = books.balances.get(&books.merchant).copied().unwrap_or(0);
    // `total` as a JSON number and `usable_balance` as a string: both occur.
    let data = format!(
        r#"{{"total":{},"usable_balance":"{}"}}"#,
        format_points(points),
        format_points(points)
    );
    success(&books, data)
}

#[derive(Deserialize)]
struct Authorize {
    app_id: String,
    scope: String,
    grant_type: String,
    amount: String,
    payer_user_id: String,
    receiver_user_id: String,
    pay_type: String,
    pay_info: String,
    redirect_uri: String,
}

/// The user consents at once; DeBox sends the browser to `redirect_uri`.
async fn authorize(
    State(debox): State<Arc<Debox>>,
    query: Result<Query<Authorize>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let invalid = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": -2004, "msg": why})),
        )
            .into_response()
    };
    let Ok(Query(q)) = query else {
        return invalid("every documented parameter is required");
    };
    let mut books = debox.lock();
    if !books.apps.contains_key(&q.app_id) {
        return invalid("unknown app_id");
    }
    if (q.scope.as_str(), q.grant_type.as_str(), q.pay_type.as_str())
        != ("payment", "onetime_token", "send")
    {
        return invalid("scope=payment, grant_type=onetime_token and pay_type=send are required");
    }
    if q.receiver_user_id != books.merchant
        || q.pay_info.is_empty()
        || !q.redirect_uri.starts_with("https://")
    {
        return invalid(
            "receiver_user_id must be the merchant; pay_info and an https redirect_uri are required",
        );
    }
    let Some(hundredths) = parse_points(&q.amount).filter(|h| *h > 0) else {
        return invalid("amount must have at most two decimals");
    };
    let (serial, code) = (random(20), random(32));
    books.orders.insert(
        serial.clone(),
        DeboxOrder {
            payer: q.payer_user_id,
            receiver: q.receiver_user_id,
            hundredths,
            token: code.clone(),
            expires_at_ms: now_ms() + TOKEN_LIFETIME_MS,
            merchant_pays: false,
            transferred: false,
        },
    );
    let separator = if q.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!(
        "{}{separator}code={code}&serial_id={serial}&source=debox",
        q.redirect_uri
    );
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Count every transfer request that reaches DeBox, by serial, before any
/// injected fault decides its fate: a request answered 500 by a fault was
/// still sent, and a soak asks whether any serial was ever sent twice.
pub async fn count_transfer_requests(
    State(debox): State<Arc<Debox>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.uri().path() != "/openapi/payment/transfer" {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return code(-2004, "the request body could not be read");
    };
    if let Some(serial) = text(&body_of(&bytes), "serial_id") {
        *debox
            .lock()
            .transfer_requests
            .entry(serial.to_string())
            .or_default() += 1;
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}
