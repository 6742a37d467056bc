//! Hostile API Gateway (HTTP API, v2) events through all six functions'
//! own handlers, with clients that reach nothing (`payments_fuzz::offline`):
//! whatever the event, each answers a 4xx in the contract's shape, or, for
//! a request its edge accepted, the 503 of a secret or table it cannot
//! read. Never a panic, a 2xx, a 500 or a provider's 5xx (no provider is
//! ever called).
//!
//! The event becomes a request as in production (`shared::http::request_from`,
//! what `shared::http::run` hands the functions, or refuses).
//!
//! Input: the first byte's low bit chooses the shape. Set: the rest is a
//! whole event as JSON (the seeds are the repository's `events/*.json`),
//! whose parts API Gateway itself writes (the `host` header, the path, the
//! stage, the domain, `x-forwarded-proto`) are set as API Gateway would.
//! Clear: the rest is split at 0xFF bytes into the body, the raw query
//! string, `Content-Type`, `Idempotency-Key`, `X-QbitPay-Signature` and the
//! method of a fixed, well-formed event; the first byte's other bits say
//! whether the body is base64-encoded and whether headers and the IAM
//! identity are present.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, Response};
use libfuzzer_sys::fuzz_target;
use payments_fuzz::offline::clients;
use payments_fuzz::{assert_contract_error, block_on};
use serde_json::{Map, Value, json};
use shared::http::{json_body, request_from};
use shared::qbit::NewCharge;

/// Each function, and the method its route is served with.
const ROUTES: [(&str, &str); 6] = [
    ("create-charge", "POST"),
    ("list-charges", "GET"),
    ("qbit-webhook", "POST"),
    ("debox-order", "POST"),
    ("debox-transfer", "POST"),
    ("vbox-balance", "GET"),
];

fn run(route: &str, req: Request) -> Response<Body> {
    let c = clients();
    block_on(async {
        match route {
            "create-charge" => create_charge::handle(&c.qbit, &c.store, req).await,
            "list-charges" => list_charges::handle(&c.qbit, req).await,
            "qbit-webhook" => qbit_webhook::handle(&c.secrets, &c.events, req).await,
            "debox-order" => debox_order::handle(&c.debox, req).await,
            "debox-transfer" => debox_transfer::handle(&c.store, &c.debox.client, req).await,
            _ => vbox_balance::handle(&c.debox, req).await,
        }
    })
}

fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

/// The event the fixed shape fills in; the method is the route's unless
/// the input gives one.
fn fixed_event(flags: u8, parts: &[&[u8]], route_method: &str) -> Value {
    let part = |i: usize| parts.get(i).copied();
    let text = |i: usize| part(i).map(|p| String::from_utf8_lossy(p).into_owned());
    let base64_body = flags & 2 != 0;
    let mut headers = Map::new();
    headers.insert("host".into(), json!("api.example.com"));
    if flags & 4 == 0 {
        let content_type = text(2).unwrap_or_else(|| "application/json".into());
        headers.insert("content-type".into(), json!(content_type));
    }
    if let Some(key) = text(3) {
        headers.insert("idempotency-key".into(), json!(key));
    }
    if let Some(signature) = text(4) {
        headers.insert("x-qbitpay-signature".into(), json!(signature));
    }
    let raw_query = text(1).unwrap_or_default();
    // API Gateway's map: each name once, repeated values joined by commas.
    let mut query = Map::new();
    for (name, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(name.as_ref()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                query.insert(name.into_owned(), json!(value));
            }
        }
    }
    let method = text(5).unwrap_or_else(|| route_method.into());
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/fuzz",
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "http": {"method": method, "path": "/fuzz", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "fuzz"},
            "requestId": "fuzz", "routeKey": "$default", "stage": "$default",
            "time": "21/Nov/2026:10:00:00 +0000", "timeEpoch": 0
        },
        "isBase64Encoded": base64_body,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if flags & 8 == 0 {
        event["requestContext"]["authorizer"] = json!({"iam": {
            "accessKey": "AKIA", "accountId": "123456789012", "callerId": "AIDA",
            "userArn": "arn:aws:iam::123456789012:user/merchant-backend", "userId": "AIDA"}});
    }
    if let Some(body) = part(0) {
        event["body"] = if base64_body {
            json!(STANDARD.encode(body))
        } else {
            json!(String::from_utf8_lossy(body))
        };
    }
    event
}

/// What API Gateway writes itself, whatever the client sent.
fn as_api_gateway_sends(mut event: Value) -> Value {
    if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
        headers.insert("host".into(), json!("api.example.com"));
        headers.remove("x-forwarded-proto");
    }
    event["rawPath"] = json!("/fuzz");
    if let Some(context) = event
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        context.insert("stage".into(), json!("$default"));
        context.insert("domainName".into(), json!("api.example.com"));
    }
    event
}

fn check(route: &str, event: &Value) {
    let Ok(payload) = serde_json::from_value::<LambdaRequest>(event.clone()) else {
        return;
    };
    // A body marked base64 that is not is answered before any handler:
    // the contract's 400, whatever the route.
    let req = match request_from(payload) {
        Ok(req) => req,
        Err(refusal) => {
            assert_eq!(refusal.status(), 400, "{route}: {refusal:?}");
            return;
        }
    };
    // A POST to create-charge reads its body first: its refusal is the
    // function's.
    let edge = (route == "create-charge" && req.method() == http::Method::POST)
        .then(|| json_body::<NewCharge>(&req).err());
    let response = run(route, req);
    let status = response.status().as_u16();
    let body = body_text(&response);
    assert!(
        (400..500).contains(&status) || status == 503,
        "{route} answered {status}: {body}"
    );
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..]),
        "{route}"
    );
    let answer = assert_contract_error(status, &body);
    if status == 503 {
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("secret") || message.contains("store") || message.contains("table"),
            "{route}: a 503 that is not our own dependency: {body}"
        );
    }
    if let Some(Some(refused)) = edge {
        assert_eq!(status, refused.status().as_u16(), "{route}: {body}");
        assert_eq!(body, refused.to_json(), "{route}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let whole = if flags & 1 == 1 {
        match serde_json::from_slice::<Value>(rest) {
            Ok(event) if event.is_object() => Some(as_api_gateway_sends(event)),
            _ => return,
        }
    } else {
        None
    };
    let parts: Vec<&[u8]> = rest.split(|&b| b == 0xFF).collect();
    for (route, method) in ROUTES {
        match &whole {
            Some(event) => check(route, event),
            None => check(route, &fixed_event(flags, &parts, method)),
        }
    }
});
