//! `create-charge` with an `Idempotency-Key`, against the sandbox and moto:
//! Stripe's semantics, counted in calls to Qbit.

use std::time::Duration;

use bundle_tests::{Answer, Event, World};
use sandbox::{Fault, FaultKind};
use serde_json::{Value, json};

const CHARGES: &str = "POST /api/v1/charges";

fn body() -> Value {
    json!({"amount": 1000, "currency": "USD", "externalOrderId": "order-42"})
}

async fn create_raw(world: &World, key: Option<&str>, raw_body: &str) -> Answer {
    let mut event = Event::new("POST", "/charges")
        .header("content-type", "application/json")
        .text_body(raw_body);
    if let Some(key) = key {
        event = event.header("Idempotency-Key", key);
    }
    Answer::of(
        create_charge::handle(&world.qbit(), &world.store(), event.request("req-idem")).await,
    )
}

async fn create(world: &World, key: Option<&str>, body: &Value) -> Answer {
    create_raw(world, key, &body.to_string()).await
}

#[tokio::test]
async fn the_same_key_and_body_replays_the_first_answer_without_calling_qbit() {
    let world = World::start().await;
    let first = create(&world, Some("key-1"), &body()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);

    // The same parameters, spaced and ordered differently.
    let respaced = r#"{ "externalOrderId": "order-42", "currency": "USD", "amount": 1000 }"#;
    for raw in [body().to_string(), respaced.to_string()] {
        let again = create_raw(&world, Some("key-1"), &raw).await;
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.text, first.text, "the first answer, byte for byte");
        assert_eq!(again.header("x-request-id"), Some("req-idem"));
    }
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
    assert_eq!(world.sandbox.state().world().charges.len(), 1);

    let record = world.item("idem#create-charge#key-1").await.unwrap();
    let expires: u64 = record["expires_at"].as_n().unwrap().parse().unwrap();
    let in_a_day = bundle_tests::now_ms() / 1000 + 24 * 3600;
    assert!(expires <= in_a_day && expires + 60 > in_a_day, "{expires}");
}

#[tokio::test]
async fn the_same_key_with_another_body_is_409() {
    let world = World::start().await;
    assert_eq!(create(&world, Some("key-2"), &body()).await.status, 200);
    let mut other = body();
    other["amount"] = json!(2000);
    let refused = create(&world, Some("key-2"), &other).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json()["type"], "invalid_request_error");
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("different request body")
    );
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
}

#[tokio::test]
async fn a_request_while_the_first_is_running_is_409() {
    let world = std::sync::Arc::new(World::start().await);
    world
        .sandbox
        .state()
        .inject(Fault::new("/api/v1/charges", FaultKind::Delay { ms: 1_500 }).times(1));
    let first = {
        let world = world.clone();
        tokio::spawn(async move { create(&world, Some("key-3"), &body()).await })
    };
    while world.sandbox.state().calls_to(CHARGES) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = create(&world, Some("key-3"), &body()).await;
    assert_eq!(second.status, 409, "{}", second.text);
    assert!(
        second.json()["message"]
            .as_str()
            .unwrap()
            .contains("still being processed")
    );

    let first = first.await.unwrap();
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
    // Once it is done, the key replays it.
    assert_eq!(
        create(&world, Some("key-3"), &body())
            .await
            .header("idempotent-replayed"),
        Some("true")
    );
}

#[tokio::test]
async fn a_request_refused_before_qbit_keeps_nothing_under_its_key() {
    let world = World::start().await;
    let mut bad = body();
    bad["amount"] = json!(0);
    assert_eq!(create(&world, Some("key-4"), &bad).await.status, 400);
    assert_eq!(world.item("idem#create-charge#key-4").await, None);

    // No token (our key refused): the charge call was never made, so the key stays free.
    world.sandbox.state().revoke_qbit_key(&world.api_key);
    assert_eq!(create(&world, Some("key-4"), &body()).await.status, 502);
    assert_eq!(world.item("idem#create-charge#key-4").await, None);

    world.sandbox.state().add_qbit_key(&world.api_key);
    let answer = create(&world, Some("key-4"), &body()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("idempotent-replayed"), None);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
}

#[tokio::test]
async fn an_answer_from_qbits_charge_call_is_kept_even_when_it_is_an_error() {
    let world = World::start().await;
    world
        .sandbox
        .state()
        .inject(Fault::new("/api/v1/charges", FaultKind::Status { status: 402 }).times(1));
    let declined = create(&world, Some("key-5"), &body()).await;
    assert_eq!(declined.status, 402, "{}", declined.text);
    let replay = create(&world, Some("key-5"), &body()).await;
    assert_eq!(replay.status, 402);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.text, declined.text);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
}

#[tokio::test]
async fn malformed_keys_are_400_before_any_call() {
    let world = World::start().await;
    let long = "k".repeat(256);
    for key in ["", long.as_str(), "clé"] {
        let answer = create(&world, Some(key), &body()).await;
        assert_eq!(answer.status, 400, "{key:?}: {}", answer.text);
        assert_eq!(answer.json()["detail"]["field"], "Idempotency-Key");
    }
    assert_eq!(world.calls(), json!({}));
    assert_eq!(world.item_count().await, 0);
}

#[tokio::test]
async fn the_sample_event_with_a_key_replays() {
    let world = World::start().await;
    let request = || Event::file("create-charge-idempotent.json").request("r");
    let first = Answer::of(create_charge::handle(&world.qbit(), &world.store(), request()).await);
    let second = Answer::of(create_charge::handle(&world.qbit(), &world.store(), request()).await);
    assert_eq!((first.status, second.status), (200, 200), "{}", first.text);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
}

/// A resent claim of our own (its reply lost) is still ours.
#[tokio::test]
async fn a_retried_key_claim_of_our_own_is_still_ours() {
    use shared::store::KeyClaim;
    let world = World::start().await;
    let store = world.store();
    let headers = {
        let mut h = lambda_http::http::HeaderMap::new();
        h.insert("idempotency-key", "key-retried".parse().unwrap());
        h
    };
    let key = shared::http::IdempotencyKey::from_headers(&headers)
        .unwrap()
        .unwrap();
    let now = bundle_tests::now_ms();
    assert_eq!(
        store
            .claim_key(&key, "print", "claim-a", now + 10_000, now)
            .await
            .unwrap(),
        KeyClaim::Claimed
    );
    assert_eq!(
        store
            .claim_key(&key, "print", "claim-a", now + 10_000, now)
            .await
            .unwrap(),
        KeyClaim::Claimed
    );
    assert!(matches!(
        store
            .claim_key(&key, "print", "claim-b", now + 10_000, now)
            .await
            .unwrap(),
        KeyClaim::Taken(_)
    ));
}
