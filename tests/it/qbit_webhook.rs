//! `qbit-webhook` against moto's DynamoDB, with events signed as the
//! sandbox signs them: forged events are refused, real ones recorded once,
//! applied only to a charge create-charge recorded (with its amount and
//! currency), and otherwise kept as unmatched.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bundle_tests::{Answer, CALLER_ACCOUNT, CALLER_ARN, Event, Function, World, call, secret_json};
use sandbox::webhooks::SigningKey;
use serde_json::{Value, json};
use shared::table::DynamoStore;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn deliver_with(
    world: &World,
    store: &DynamoStore,
    body: &str,
    signature: Option<&str>,
) -> Answer {
    let mut event = Event::new("POST", "/webhooks/qbit")
        .header("content-type", "application/json")
        .text_body(body);
    if let Some(signature) = signature {
        event = event.header("X-QbitPay-Signature", signature);
    }
    let secrets = world.secrets();
    call(event.request("req-hook"), |r| {
        qbit_webhook::handle(&secrets, store, r)
    })
    .await
}

async fn deliver(world: &World, body: &str, signature: Option<&str>) -> Answer {
    deliver_with(world, &world.store(), body, signature).await
}

fn text(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    name: &str,
) -> String {
    let value = &item[name];
    value
        .as_s()
        .or_else(|_| value.as_n())
        .cloned()
        .unwrap_or_else(|_| format!("{:?}", value.as_bool().unwrap()))
}

/// An item as JSON: strings and numbers as their text, booleans as such,
/// for exact comparisons.
fn flat(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Value {
    item.iter()
        .map(|(name, value)| {
            let value = match value.as_bool() {
                Ok(b) => json!(b),
                Err(_) => json!(text(item, name)),
            };
            (name.clone(), value)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// A charge created through create-charge, paid at Qbit: its id and the
/// signed `charge.succeeded` event.
async fn paid_charge(world: &World, amount: u64, order: &str) -> (String, sandbox::SignedEvent) {
    let charge = world.create_charge(amount, "USD", order).await;
    let event = world
        .sandbox
        .state()
        .settle_charge(&charge, "charge.succeeded")
        .unwrap();
    (charge, event)
}

/// The `event#` item of an event about one of our charges, as recorded,
/// that did not move it (older than what the charge shows): `applied`
/// false, the 90-day TTL, and none of an unmatched event's attributes
/// (`unmatched`, its detail, amount, currency, body).
fn not_applied_item(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    body: &str,
) -> Value {
    let sent: Value = serde_json::from_str(body).unwrap();
    let received_at: u64 = text(item, "received_at").parse().unwrap();
    assert!(received_at.abs_diff(bundle_tests::now_ms()) < 60_000);
    json!({
        "pk": format!("event#{}", sent["id"].as_str().unwrap()), "kind": "event",
        "event_id": sent["id"], "event_type": sent["type"], "created_at": sent["createdAt"],
        "created_at_ms": text(item, "created_at_ms"), "received_at": received_at.to_string(),
        "charge_id": sent["data"]["object"]["id"], "applied": false,
        "expires_at": (received_at / 1000 + 90 * 24 * 3600).to_string(),
    })
}

fn ok(answer: &Answer, duplicate: bool) {
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!({"received": true, "duplicate": duplicate})
    );
}

#[tokio::test]
async fn a_valid_event_is_recorded_and_moves_the_charge() {
    let world = World::start().await;
    let (charge, event) = paid_charge(&world, 1000, "order-42").await;

    let answer = deliver(&world, &event.body, Some(&event.signature)).await;
    ok(&answer, false);
    assert_eq!(answer.header("x-request-id"), Some("req-hook"));

    let recorded = world
        .item(&format!("event#{}", event.id))
        .await
        .expect("event item");
    assert_eq!(text(&recorded, "event_type"), "charge.succeeded");
    assert_eq!(text(&recorded, "charge_id"), charge);
    assert_eq!(text(&recorded, "applied"), "true");
    assert!(recorded.contains_key("expires_at"));

    let state = flat(
        &world
            .item(&format!("charge#{charge}"))
            .await
            .expect("charge item"),
    );
    let sent: Value = serde_json::from_str(&event.body).unwrap();
    let created_at: u64 = state["created_at"].as_str().unwrap().parse().unwrap();
    let updated_at: u64 = state["updated_at"].as_str().unwrap().parse().unwrap();
    assert!(updated_at >= created_at, "{state}");
    // As create-charge recorded it, moved by the event: status, paid, the
    // event, its rank.
    assert_eq!(
        state,
        json!({
            "pk": format!("charge#{charge}"), "kind": "charge", "charge_id": charge,
            "status": "succeeded", "paid": true, "amount": "1000", "currency": "USD",
            "external_order_id": "order-42", "created_at": created_at.to_string(),
            "request_id": "req-create-charge", "caller_arn": CALLER_ARN,
            "caller_account": CALLER_ACCOUNT, "status_rank": "2",
            "updated_at": updated_at.to_string(), "last_event_id": event.id,
            "last_event_at": sent["createdAt"], "last_event_at_ms": text(&recorded, "created_at_ms"),
        })
    );
    assert_eq!(world.item_count().await, 2);
}

#[tokio::test]
async fn a_duplicate_delivery_is_acknowledged_and_changes_nothing() {
    let world = World::start().await;
    let (charge, event) = paid_charge(&world, 500, "o").await;
    ok(
        &deliver(&world, &event.body, Some(&event.signature)).await,
        false,
    );
    let before = (
        world.item(&format!("event#{}", event.id)).await,
        world.item(&format!("charge#{charge}")).await,
    );

    ok(
        &deliver(&world, &event.body, Some(&event.signature)).await,
        true,
    );
    let after = (
        world.item(&format!("event#{}", event.id)).await,
        world.item(&format!("charge#{charge}")).await,
    );
    assert_eq!(before, after);
    assert_eq!(world.item_count().await, 2);
}

#[tokio::test]
async fn forged_or_unsigned_events_are_401_and_nothing_is_written() {
    let world = World::start().await;
    let (charge, event) = paid_charge(&world, 500, "o").await;
    let tampered = event.body.replace("\"amount\":500", "\"amount\":5");
    assert_ne!(tampered, event.body);
    let other_key = SigningKey::new(None).unwrap().sign(event.body.as_bytes());
    // The same JSON re-serialised: other bytes, so not what was signed.
    let reserialised =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(&event.body).unwrap()).unwrap();

    let cases = [
        (
            "tampered body",
            tampered.as_str(),
            Some(event.signature.as_str()),
        ),
        (
            "re-serialised body",
            reserialised.as_str(),
            Some(event.signature.as_str()),
        ),
        ("another key", event.body.as_str(), Some(other_key.as_str())),
        ("missing header", event.body.as_str(), None),
        (
            "garbled header",
            event.body.as_str(),
            Some("!!not base64!!"),
        ),
        ("empty header", event.body.as_str(), Some("")),
    ];
    for (what, body, signature) in cases {
        let answer = deliver(&world, body, signature).await;
        assert_eq!(answer.status, 401, "{what}: {}", answer.text);
        assert_eq!(answer.json()["type"], "authentication_error", "{what}");
    }
    assert_eq!(world.item_count().await, 1, "nothing but the charge");
    assert_eq!(
        text(
            &world.item(&format!("charge#{charge}")).await.unwrap(),
            "status"
        ),
        "pending"
    );
}

#[tokio::test]
async fn a_base64_encoded_body_is_verified_after_decoding() {
    let world = World::start().await;
    let (charge, event) = paid_charge(&world, 700, "o").await;
    let mut raw: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/qbit-webhook.json"
        ))
        .unwrap(),
    )
    .unwrap();
    raw["body"] = json!(STANDARD.encode(&event.body));
    raw["isBase64Encoded"] = json!(true);
    raw["headers"]["x-qbitpay-signature"] = json!(event.signature);
    let request = lambda_http::request::from_str(&raw.to_string()).unwrap();
    let answer = world.invoke(Function::QbitWebhook, request).await;
    ok(&answer, false);
    assert_eq!(
        text(
            &world.item(&format!("charge#{charge}")).await.unwrap(),
            "amount"
        ),
        "700"
    );
}

#[tokio::test]
async fn an_older_event_arriving_late_does_not_roll_the_charge_back() {
    let world = World::start().await;
    let charge = world.create_charge(900, "USD", "o").await;
    let succeeded = world
        .sandbox
        .state()
        .settle_charge(&charge, "charge.succeeded")
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let closed = world
        .sandbox
        .state()
        .settle_charge(&charge, "charge.closed")
        .unwrap();

    ok(
        &deliver(&world, &closed.body, Some(&closed.signature)).await,
        false,
    );
    let state = world.item(&format!("charge#{charge}")).await.unwrap();
    assert_eq!(text(&state, "status"), "closed");
    assert_eq!(text(&state, "last_event_id"), closed.id);
    let count = world.item_count().await;

    ok(
        &deliver(&world, &succeeded.body, Some(&succeeded.signature)).await,
        false,
    );

    // The charge exactly as the newer event left it.
    assert_eq!(
        world.item(&format!("charge#{charge}")).await.as_ref(),
        Some(&state)
    );
    // Recorded as ours and older (TTL, no `unmatched`), not kept as unmatched.
    let late = world
        .item(&format!("event#{}", succeeded.id))
        .await
        .expect("the late event is recorded");
    assert_eq!(flat(&late), not_applied_item(&late, &succeeded.body));
    assert_eq!(world.item_count().await, count + 1);
}

#[tokio::test]
async fn unknown_event_types_are_recorded_and_acknowledged() {
    let world = World::start().await;
    let body = json!({"id": "evt_payout_1", "object": "event", "type": "payout.paid",
                      "createdAt": "2026-11-21T10:00:00.000Z", "data": {"object": {"id": "po_1"}}})
    .to_string();
    let signature = world.sandbox.state().webhook_key.sign(body.as_bytes());
    ok(&deliver(&world, &body, Some(&signature)).await, false);
    let recorded = world.item("event#evt_payout_1").await.unwrap();
    assert_eq!(text(&recorded, "event_type"), "payout.paid");
    assert_eq!(world.item_count().await, 1, "no charge item");
}

#[tokio::test]
async fn a_store_failure_is_503_and_the_retry_is_processed_not_a_duplicate() {
    let world = World::start().await;
    let (charge, event) = paid_charge(&world, 1000, "o").await;

    let down = bundle_tests::unreachable_store(&world.table).await;
    let failed = deliver_with(&world, &down, &event.body, Some(&event.signature)).await;
    assert_eq!(failed.status, 503, "{}", failed.text);
    assert_eq!(failed.json()["type"], "api_error");
    assert_eq!(world.item_count().await, 1, "the charge alone");
    assert_eq!(world.item(&format!("event#{}", event.id)).await, None);

    // Qbit delivers again once the store is back.
    ok(
        &deliver(&world, &event.body, Some(&event.signature)).await,
        false,
    );
    assert_eq!(
        text(
            &world.item(&format!("charge#{charge}")).await.unwrap(),
            "status"
        ),
        "succeeded"
    );
}

#[tokio::test]
async fn a_secret_without_the_public_key_is_500_and_nothing_is_written() {
    let world = World::start().await;
    let mut secret: Value = serde_json::from_str(&secret_json(&world.api_key)).unwrap();
    secret
        .as_object_mut()
        .unwrap()
        .remove("qbit_webhook_public_key");
    world.put_secret(secret.to_string()).await;
    let (charge, event) = paid_charge(&world, 1, "o").await;
    let answer = deliver(&world, &event.body, Some(&event.signature)).await;
    assert_eq!(answer.status, 500, "{}", answer.text);
    assert_eq!(
        answer.json()["message"],
        "the payments secret has no qbit_webhook_public_key"
    );
    assert_eq!(world.item_count().await, 1, "the charge alone");
    assert_eq!(
        text(
            &world.item(&format!("charge#{charge}")).await.unwrap(),
            "status"
        ),
        "pending"
    );
}

/// `events/qbit-webhook.json` was signed by `openssl dgst -sha256 -sign`
/// with the test key: an independent implementation agrees with ours.
#[tokio::test]
async fn the_sample_event_signed_by_openssl_verifies() {
    let world = World::start().await;
    // The sample is about ch_1, 1000 USD: recorded as create-charge would.
    world.record_charge("ch_1", 1000, "USD", "order-42").await;
    let request = Event::file("qbit-webhook.json").request("r");
    let answer = world.invoke(Function::QbitWebhook, request).await;
    ok(&answer, false);
    assert_eq!(
        text(&world.item("charge#ch_1").await.unwrap(), "status"),
        "closed"
    );
}

/// A hand-built, signed event about charge `charge` created at `created_at`.
fn signed_event(
    world: &World,
    id: &str,
    kind: &str,
    created_at: &str,
    charge: &str,
) -> (String, String) {
    let body = json!({"id": id, "object": "event", "type": kind, "createdAt": created_at,
                      "data": {"object": {"id": charge, "object": "charge", "status": "succeeded", "paid": true,
                                          "amount": 1000, "currency": "USD", "externalOrderId": "o-1"}}})
    .to_string();
    let signature = world.sandbox.state().webhook_key.sign(body.as_bytes());
    (body, signature)
}

#[tokio::test]
async fn an_event_time_with_a_utc_offset_is_read() {
    let world = World::start().await;
    world.record_charge("ch_offset", 1000, "USD", "o-1").await;
    let (body, signature) = signed_event(
        &world,
        "evt_offset",
        "charge.succeeded",
        "2026-11-21T18:00:00+08:00",
        "ch_offset",
    );
    ok(&deliver(&world, &body, Some(&signature)).await, false);
    let state = world.item("charge#ch_offset").await.expect("charge item");
    assert_eq!(text(&state, "status"), "succeeded");
    assert_eq!(text(&state, "last_event_at_ms"), "1795255200000");
}

#[tokio::test]
async fn the_offset_decides_which_event_is_newer() {
    let world = World::start().await;
    world.record_charge("ch_1", 1000, "USD", "o-1").await;
    let deliver_event = |id: &'static str, at: &'static str| {
        let world = &world;
        async move {
            let (body, signature) = signed_event(world, id, "charge.succeeded", at, "ch_1");
            ok(&deliver(world, &body, Some(&signature)).await, false);
            text(&world.item("charge#ch_1").await.unwrap(), "last_event_id")
        }
    };
    assert_eq!(
        deliver_event("evt_a", "2026-11-21T10:00:00.000Z").await,
        "evt_a"
    );
    // 09:59:59Z: older, so it is recorded as ours but does not replace
    // evt_a: the charge stays exactly as evt_a left it.
    let before = world.item("charge#ch_1").await.unwrap();
    let (body_b, signature_b) = signed_event(
        &world,
        "evt_b",
        "charge.succeeded",
        "2026-11-21T17:59:59.000+08:00",
        "ch_1",
    );
    ok(&deliver(&world, &body_b, Some(&signature_b)).await, false);
    assert_eq!(world.item("charge#ch_1").await.as_ref(), Some(&before));
    let b = world.item("event#evt_b").await.unwrap();
    assert_eq!(flat(&b), not_applied_item(&b, &body_b));
    assert_eq!(text(&b, "created_at_ms"), "1795255199000");
    // 10:00:01Z: newer.
    assert_eq!(
        deliver_event("evt_c", "2026-11-21T18:00:01+08:00").await,
        "evt_c"
    );
}

/// The kept item of an unreadable body, by the body's digest.
async fn unreadable_item(
    world: &World,
    body: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let key = format!("unreadable_event#{}", shared::sha256_hex(body.as_bytes()));
    world.item(&key).await
}

#[tokio::test]
async fn a_signed_body_that_is_not_an_event_is_kept_and_acknowledged() {
    let world = World::start().await;
    let body = r#"{"hello": "world"}"#;
    let signature = world.sandbox.state().webhook_key.sign(body.as_bytes());

    ok(&deliver(&world, body, Some(&signature)).await, false);
    let kept = unreadable_item(&world, body)
        .await
        .expect("the body is kept");
    assert_eq!(text(&kept, "kind"), "unreadable_event");
    assert_eq!(kept["body"].as_b().unwrap().as_ref(), body.as_bytes());
    assert_eq!(text(&kept, "signature"), signature, "kept for a replay");
    assert_eq!(text(&kept, "deliveries"), "1");
    let reason = text(&kept, "reason");
    assert_eq!(reason, "the event has no `id` (line 1, column 18)");
    assert!(kept.contains_key("expires_at"));
    assert_eq!(world.item_count().await, 1);

    // Delivered again: the same item, counted.
    ok(&deliver(&world, body, Some(&signature)).await, true);
    let again = unreadable_item(&world, body).await.unwrap();
    assert_eq!(text(&again, "deliveries"), "2");
    assert_eq!(again["body"], kept["body"]);
    assert_eq!(again["first_received_at"], kept["first_received_at"]);
    assert_eq!(world.item_count().await, 1);
}

#[tokio::test]
async fn an_event_with_an_unreadable_time_is_kept_not_dropped() {
    let world = World::start().await;
    let (body, signature) =
        signed_event(&world, "evt_when", "charge.succeeded", "yesterday", "ch_1");
    ok(&deliver(&world, &body, Some(&signature)).await, false);
    let kept = unreadable_item(&world, &body)
        .await
        .expect("the body is kept");
    assert_eq!(kept["body"].as_b().unwrap().as_ref(), body.as_bytes());
    assert_eq!(text(&kept, "deliveries"), "1");
    let reason = text(&kept, "reason");
    assert!(reason.contains("createdAt"), "{reason}");
    assert!(!reason.contains("yesterday"), "{reason}");
    assert_eq!(world.item_count().await, 1, "no event, no charge");
}

#[tokio::test]
async fn an_unreadable_event_that_cannot_be_kept_is_503() {
    let world = World::start().await;
    let body = r#"{"hello": "world"}"#;
    let signature = world.sandbox.state().webhook_key.sign(body.as_bytes());
    let down = bundle_tests::unreachable_store(&world.table).await;
    let answer = deliver_with(&world, &down, body, Some(&signature)).await;
    // Not acknowledged: Qbit still holds the event and delivers it again.
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(answer.text.contains("it was not kept"), "{}", answer.text);
    assert_eq!(world.item_count().await, 0);
}

/// A stand-in for Secrets Manager that fails every call: it answers 500 and
/// counts the connections it accepted. A plain thread, one connection at a
/// time (the SDK sends one request at a time).
fn failing_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = socket.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            // Read the whole request (headers, then Content-Length bytes)
            // before answering, so closing never resets the connection.
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(read @ 1..) = socket.read(&mut chunk) {
                request.extend_from_slice(&chunk[..read]);
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                let Some(end) = text.find("\r\n\r\n") else {
                    continue;
                };
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
            let body = r#"{"__type":"InternalServiceError","message":"down"}"#;
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/x-amz-json-1.1\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes());
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_missing_or_garbled_signature_is_401_before_the_secret_is_read() {
    let world = World::start().await;
    let (endpoint, calls) = failing_endpoint();
    let secrets = bundle_tests::secrets_at(&endpoint).await;
    let store = world.store();
    let (body, _) = signed_event(
        &world,
        "evt_1",
        "charge.succeeded",
        "2026-11-21T10:00:00Z",
        "ch_1",
    );
    for signature in [None, Some("!!not base64!!"), Some("")] {
        let mut event = Event::new("POST", "/webhooks/qbit")
            .header("content-type", "application/json")
            .text_body(&body);
        if let Some(signature) = signature {
            event = event.header("X-QbitPay-Signature", signature);
        }
        let answer = call(event.request("r"), |r| {
            qbit_webhook::handle(&secrets, &store, r)
        })
        .await;
        assert_eq!(answer.status, 401, "{signature:?}: {}", answer.text);
        assert_eq!(answer.json()["type"], "authentication_error");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "Secrets Manager was called"
    );
    assert_eq!(world.item_count().await, 0);
}

#[tokio::test]
async fn a_failed_secret_read_is_not_retried_on_every_request() {
    let world = World::start().await;
    let (endpoint, calls) = failing_endpoint();
    let secrets = bundle_tests::secrets_at(&endpoint).await;
    let (body, signature) = signed_event(
        &world,
        "evt_1",
        "charge.succeeded",
        "2026-11-21T10:00:00Z",
        "ch_1",
    );
    let request = || {
        Event::new("POST", "/webhooks/qbit")
            .header("content-type", "application/json")
            .header("X-QbitPay-Signature", &signature)
            .text_body(&body)
            .request("r")
    };

    let store = world.store();
    let first = call(request(), |r| qbit_webhook::handle(&secrets, &store, r)).await;
    assert_eq!(first.status, 503, "{}", first.text);
    let after_first = calls.load(Ordering::SeqCst);
    assert!(after_first >= 1);

    let second = call(request(), |r| qbit_webhook::handle(&secrets, &store, r)).await;
    assert_eq!(second.status, 503, "{}", second.text);
    assert_eq!(second.text, first.text);
    assert_eq!(calls.load(Ordering::SeqCst), after_first, "called again");

    // A rejected credential elsewhere drops the pause with the cache.
    secrets.invalidate().await;
    let third = call(request(), |r| qbit_webhook::handle(&secrets, &store, r)).await;
    assert_eq!(third.status, 503, "{}", third.text);
    assert!(
        calls.load(Ordering::SeqCst) > after_first,
        "invalidate() reads again"
    );
    assert_eq!(world.item_count().await, 0);
}

/// A hand-built, signed `charge.succeeded` about `charge` for `amount`
/// `currency`.
fn signed_event_for(
    world: &World,
    id: &str,
    charge: &str,
    amount: u64,
    currency: &str,
) -> (String, String) {
    let body = json!({"id": id, "object": "event", "type": "charge.succeeded",
                      "createdAt": "2026-11-21T10:00:00.000Z",
                      "data": {"object": {"id": charge, "object": "charge", "status": "succeeded", "paid": true,
                                          "amount": amount, "currency": currency, "externalOrderId": "o-1"}}})
    .to_string();
    let signature = world.sandbox.state().webhook_key.sign(body.as_bytes());
    (body, signature)
}

/// The `event#` item of an unmatched event, as it must be: no TTL, the
/// body exactly as received.
fn unmatched_item(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    body: &str,
    reason: &str,
    detail: &str,
) -> Value {
    let sent: Value = serde_json::from_str(body).unwrap();
    let charge = &sent["data"]["object"];
    let received_at: u64 = text(item, "received_at").parse().unwrap();
    assert!(received_at.abs_diff(bundle_tests::now_ms()) < 60_000);
    json!({
        "pk": format!("event#{}", sent["id"].as_str().unwrap()), "kind": "event",
        "event_id": sent["id"], "event_type": sent["type"], "created_at": sent["createdAt"],
        "created_at_ms": text(item, "created_at_ms"), "received_at": received_at.to_string(),
        "applied": false, "charge_id": charge["id"], "unmatched": reason,
        "unmatched_detail": detail, "event_amount": charge["amount"].to_string(),
        "event_currency": charge["currency"], "body": body,
    })
}

/// Another merchant's charge at Qbit (made straight at Qbit, never through
/// create-charge), paid: its genuine signed event marks nothing paid here.
#[tokio::test]
async fn a_signed_event_for_a_charge_never_created_here_is_kept_unmatched() {
    let world = World::start().await;
    let charge = world.charge_at_qbit(500, "their-order").await;
    let event = world
        .sandbox
        .state()
        .settle_charge(&charge, "charge.succeeded")
        .unwrap();

    ok(
        &deliver(&world, &event.body, Some(&event.signature)).await,
        false,
    );
    assert_eq!(world.item(&format!("charge#{charge}")).await, None);
    let kept = world
        .item(&format!("event#{}", event.id))
        .await
        .expect("the event is kept");
    let detail = format!("no charge {charge} was recorded by create-charge");
    assert_eq!(
        flat(&kept),
        unmatched_item(&kept, &event.body, "unknown_charge", &detail)
    );
    assert_eq!(world.item_count().await, 1);

    // Qbit delivers it again: a duplicate, nothing changes.
    ok(
        &deliver(&world, &event.body, Some(&event.signature)).await,
        true,
    );
    assert_eq!(
        world.item(&format!("event#{}", event.id)).await.as_ref(),
        Some(&kept)
    );
    assert_eq!(world.item_count().await, 1);
}

#[tokio::test]
async fn an_event_with_another_amount_or_currency_changes_nothing_and_is_kept_unmatched() {
    let world = World::start().await;
    let charge = world.create_charge(1000, "USD", "order-42").await;
    let recorded = world.item(&format!("charge#{charge}")).await.unwrap();
    let cases = [
        (
            "evt_amount",
            999,
            "USD",
            "amount_mismatch",
            "event says 999 USD, charge recorded 1000 USD",
        ),
        (
            "evt_currency",
            1000,
            "EUR",
            "currency_mismatch",
            "event says 1000 EUR, charge recorded 1000 USD",
        ),
    ];
    for (id, amount, currency, reason, detail) in cases {
        let (body, signature) = signed_event_for(&world, id, &charge, amount, currency);
        ok(&deliver(&world, &body, Some(&signature)).await, false);
        let kept = world.item(&format!("event#{id}")).await.expect("kept");
        assert_eq!(flat(&kept), unmatched_item(&kept, &body, reason, detail));
        ok(&deliver(&world, &body, Some(&signature)).await, true);
    }
    assert_eq!(
        world.item(&format!("charge#{charge}")).await.as_ref(),
        Some(&recorded),
        "the charge is as create-charge recorded it"
    );
    assert_eq!(world.item_count().await, 3);

    // The event Qbit really sends for it still applies.
    let paid = world
        .sandbox
        .state()
        .settle_charge(&charge, "charge.succeeded")
        .unwrap();
    ok(
        &deliver(&world, &paid.body, Some(&paid.signature)).await,
        false,
    );
    let state = world.item(&format!("charge#{charge}")).await.unwrap();
    assert_eq!(text(&state, "status"), "succeeded");
    assert_eq!(text(&state, "last_event_id"), paid.id);
}

/// A `charge#` item the webhook wrote before create-charge recorded charges
/// (made by an event, with no request id): not a charge this bundle
/// created, so events about it apply to nothing.
#[tokio::test]
async fn a_charge_item_made_by_an_event_is_not_ours() {
    use aws_sdk_dynamodb::types::AttributeValue::{Bool, N, S};
    let world = World::start().await;
    world
        .dynamo
        .put_item()
        .table_name(&world.table)
        .item("pk", S("charge#ch_old".into()))
        .item("kind", S("charge".into()))
        .item("charge_id", S("ch_old".into()))
        .item("status", S("pending".into()))
        .item("paid", Bool(false))
        .item("amount", N("1000".into()))
        .item("currency", S("USD".into()))
        .item("external_order_id", S("o-1".into()))
        .item("status_rank", N("0".into()))
        .item("last_event_at_ms", N("0".into()))
        .send()
        .await
        .unwrap();
    let before = world.item("charge#ch_old").await;
    let (body, signature) = signed_event_for(&world, "evt_old", "ch_old", 1000, "USD");
    ok(&deliver(&world, &body, Some(&signature)).await, false);
    assert_eq!(world.item("charge#ch_old").await, before);
    let kept = world.item("event#evt_old").await.unwrap();
    assert_eq!(text(&kept, "unmatched"), "unknown_charge");
}

/// A charge just recorded has had no event: Qbit's `charge.pending`, the
/// rank it was recorded with, applies to it.
#[tokio::test]
async fn a_pending_event_applies_to_a_charge_just_created() {
    let world = World::start().await;
    let charge = world.create_charge(300, "USD", "o").await;
    let pending = world
        .sandbox
        .state()
        .settle_charge(&charge, "charge.pending")
        .unwrap();
    ok(
        &deliver(&world, &pending.body, Some(&pending.signature)).await,
        false,
    );
    let state = world.item(&format!("charge#{charge}")).await.unwrap();
    assert_eq!(text(&state, "status"), "pending");
    assert_eq!(text(&state, "last_event_id"), pending.id);
    assert_eq!(
        text(
            &world.item(&format!("event#{}", pending.id)).await.unwrap(),
            "applied"
        ),
        "true"
    );
}

/// A signed event about money whose type this bundle does not apply (a
/// refund of one of our charges): the charge is left as it was, and the
/// event is kept for a person (unmatched, no TTL, counted), not left to
/// expire unseen like other unknown types.
#[tokio::test]
async fn a_money_event_of_a_type_we_do_not_apply_is_kept_for_a_person() {
    let world = World::start().await;
    let charge = world.create_charge(1000, "USD", "order-42").await;
    let recorded = world.item(&format!("charge#{charge}")).await.unwrap();
    let body = json!({"id": "evt_refund", "object": "event", "type": "charge.refunded",
                      "createdAt": "2026-11-21T10:00:00.000Z",
                      "data": {"object": {"id": charge, "object": "charge", "status": "refunded",
                                          "paid": true, "amount": 1000, "currency": "USD"}}})
    .to_string();
    let signature = world.sandbox.state().webhook_key.sign(body.as_bytes());
    ok(&deliver(&world, &body, Some(&signature)).await, false);

    assert_eq!(
        world.item(&format!("charge#{charge}")).await.as_ref(),
        Some(&recorded)
    );
    let kept = world.item("event#evt_refund").await.unwrap();
    let received_at = text(&kept, "received_at");
    assert_eq!(
        flat(&kept),
        json!({
            "pk": "event#evt_refund", "kind": "event", "event_id": "evt_refund",
            "event_type": "charge.refunded", "created_at": "2026-11-21T10:00:00.000Z",
            "created_at_ms": text(&kept, "created_at_ms"), "received_at": received_at,
            "applied": false, "unmatched": "unhandled_type",
            "unmatched_detail": "event type charge.refunded is not applied by this bundle; \
                                 check the charge at Qbit and the merchant's ledger",
            "body": body,
        })
    );
    // Delivered again: a duplicate.
    ok(&deliver(&world, &body, Some(&signature)).await, true);
    assert_eq!(world.item("event#evt_refund").await.as_ref(), Some(&kept));
}
