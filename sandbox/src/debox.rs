//! DeBox as its documentation describes it (seed 004), plus what
//! `shared/spec/providers.md` assumes.
//!
//! - Every `/openapi` call must carry `app_id`, `X-API-KEY`, `nonce` (8
//!   digits), `timestamp` (Unix ms, at most 5 minutes off) and `signature` =
//!   lowercase hex SHA-1 of `app_secret + nonce + timestamp`; otherwise HTTP
//!   401 with code -2001.
//! - `/openapi/payment/order`: a merchant-pays order, token valid 5 minutes.
//! - `/openapi/payment/transfer`: -2006 unknown serial or wrong
//!   `verify_amount`, -2015 wrong token, -2016 already transferred, -2013
//!   token expired, -7048 balance short; else the points move, code 1.
//! - `/openapi/payment/assert/vbox`: the merchant's balance, `total` as a
//!   JSON number and `usable_balance` as a string (both shapes occur).
//! - `GET /oauth/authorize`: stands in for the user's consent on the
//!   authorize page: a user-pays order, and a redirect to `redirect_uri`
//!   with `code`, `serial_id` and `source`.
//!
//! Answers are flat, or wrapped as `{"code", "msg", "data"}` when the
//! sandbox is told to (`PUT /_sandbox/debox/shape`).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::state::{State, World};

/// Tokens and codes live 5 minutes.
pub const TOKEN_LIFETIME_MS: u64 = 5 * 60 * 1000;
/// The largest clock difference a signed call may have.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// The app's credentials, as the open platform issued them.
#[derive(Debug, Clone)]
pub struct DeboxApp {
    pub app_id: String,
    pub api_key: String,
    pub app_secret: String,
}

#[derive(Debug, Clone)]
pub struct DeboxOrder {
    pub payer: String,
    pub receiver: String,
    pub hundredths: u64,
    pub token: String,
    pub expires_at_ms: u64,
    pub merchant_pays: bool,
    pub transferred: bool,
}

pub fn routes() -> Router<Arc<State>> {
    Router::new()
        .route("/openapi/payment/order", post(order))
        .route("/openapi/payment/transfer", post(transfer))
        .route("/openapi/payment/assert/vbox", post(balance))
        .route("/oauth/authorize", get(authorize))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn random(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `SHA1(app_secret + nonce + timestamp)`, lowercase hex.
pub fn signature(app_secret: &str, nonce: &str, timestamp: &str) -> String {
    let digest = Sha1::digest(format!("{app_secret}{nonce}{timestamp}").as_bytes());
    digest.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Points with at most two decimals, as hundredths.
pub fn parse_points(s: &str) -> Option<u64> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 12
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
        || s.ends_with('.')
    {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<u64>().ok()?;
    Some(whole.parse::<u64>().ok()? * 100 + cents)
}

pub fn format_points(hundredths: u64) -> String {
    match hundredths % 100 {
        0 => format!("{}", hundredths / 100),
        c if c % 10 == 0 => format!("{}.{}", hundredths / 100, c / 10),
        c => format!("{}.{c:02}", hundredths / 100),
    }
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
fn success(world: &World, data: String) -> Response {
    let body = if world.debox_wrapped {
        format!(r#"{{"code":1,"msg":"success","data":{data}}}"#)
    } else {
        data
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The five signed headers, checked; the reason when they are not right.
fn verify(world: &World, headers: &HeaderMap) -> Result<(), &'static str> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let refuse = Err;
    let Some(app) = world.debox_apps.get(get("app_id")) else {
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

async fn order(Extract(state): Extract<Arc<State>>, headers: HeaderMap, bytes: Bytes) -> Response {
    let mut world = state.world();
    if let Err(why) = verify(&world, &headers) {
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
    if payer != world.debox_merchant {
        return code(-2006, "payer_user_id must be the merchant");
    }
    let (serial, token) = (random(20), random(32));
    world.debox_orders.insert(
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
    success(&world, data.to_string())
}

async fn transfer(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let mut world = state.world();
    if let Err(why) = verify(&world, &headers) {
        return code(-2001, why);
    }
    let body = body_of(&bytes);
    let (Some(token), Some(serial)) = (text(&body, "access_token"), text(&body, "serial_id"))
    else {
        return code(-2004, "access_token and serial_id are required");
    };
    let verify_amount = text(&body, "verify_amount").map(parse_points);
    let Some(order) = world.debox_orders.get(serial).cloned() else {
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
    let payer_balance = world.balances.get(&order.payer).copied().unwrap_or(0);
    if payer_balance < order.hundredths {
        return code(-7048, "insufficient balance");
    }
    world
        .balances
        .insert(order.payer.clone(), payer_balance - order.hundredths);
    *world.balances.entry(order.receiver.clone()).or_default() += order.hundredths;
    if let Some(o) = world.debox_orders.get_mut(serial) {
        o.transferred = true;
    }
    (
        StatusCode::OK,
        axum::Json(json!({"code": 1, "msg": "success", "source": "debox"})),
    )
        .into_response()
}

async fn balance(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    let world = state.world();
    if let Err(why) = verify(&world, &headers) {
        return code(-2001, why);
    }
    let points = world
        .balances
        .get(&world.debox_merchant)
        .copied()
        .unwrap_or(0);
    // `total` as a JSON number and `usable_balance` as a string: both occur.
    let data = format!(
        r#"{{"total":{},"usable_balance":"{}"}}"#,
        format_points(points),
        format_points(points)
    );
    success(&world, data)
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
    Extract(state): Extract<Arc<State>>,
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
    let mut world = state.world();
    if !world.debox_apps.contains_key(&q.app_id) {
        return invalid("unknown app_id");
    }
    if (q.scope.as_str(), q.grant_type.as_str(), q.pay_type.as_str())
        != ("payment", "onetime_token", "send")
    {
        return invalid("scope=payment, grant_type=onetime_token and pay_type=send are required");
    }
    if q.receiver_user_id != world.debox_merchant
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
    world.debox_orders.insert(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_and_print() {
        assert_eq!(parse_points("10.5"), Some(1050));
        assert_eq!(parse_points("0.01"), Some(1));
        assert_eq!(parse_points("7"), Some(700));
        for bad in ["1.001", "-1", "1e3", ".5", "5.", "", "1,0"] {
            assert_eq!(parse_points(bad), None, "{bad}");
        }
        assert_eq!(format_points(1050), "10.5");
        assert_eq!(format_points(700), "7");
        assert_eq!(format_points(1), "0.01");
    }
}
