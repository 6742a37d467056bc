//! The objects Qbit Pay hands out, and how their ids and times are made.
//! Plain data: no lock, no HTTP.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Serialize;
use serde_json::json;

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
    /// The hosted page's key; Qbit never shows it in the charge object.
    #[serde(skip)]
    pub trade_id: String,
}

/// An access token the sandbox issued, and until when it is good.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub expires_at: u64,
}

/// A webhook event, ready to send: its exact body and signature. Kept
/// whole so a redelivery is byte for byte the first one.
#[derive(Debug, Clone, Serialize)]
pub struct SignedEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub body: String,
    pub signature: String,
}

/// `{"id", "object": "event", "type", "createdAt", "data": {"object": charge}}`:
/// the body Qbit signs and sends.
pub(super) fn event_body(id: &str, kind: &str, created_at: &str, charge: &Charge) -> String {
    json!({
        "id": id,
        "object": "event",
        "type": kind,
        "createdAt": created_at,
        "data": {"object": charge},
    })
    .to_string()
}

pub(super) fn random_id(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Now, as Qbit writes times: RFC 3339 with milliseconds.
pub(super) fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}
