//! `vbox-balance` against the sandbox and moto, over real HTTP.

use bundle_tests::{Answer, Event, Function, MERCHANT, World};
use serde_json::json;

async fn balance(world: &World, query: &str) -> Answer {
    let request = Event::new("GET", "/vbox/balance")
        .query(query)
        .request("req-balance");
    world.invoke(Function::VboxBalance, request).await
}

#[tokio::test]
async fn balances_come_out_as_exact_decimal_strings_in_both_shapes() {
    let world = World::start().await;
    // More digits than a binary float holds: 12345678901234567.89.
    world
        .sandbox
        .state()
        .set_balance(MERCHANT, 1_234_567_890_123_456_789);
    for wrapped in [false, true] {
        world.sandbox.state().set_debox_wrapped(wrapped);
        let answer = balance(&world, "").await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.header("x-request-id"), Some("req-balance"));
        assert_eq!(
            answer.json(),
            json!({"total": "12345678901234567.89", "usable_balance": "12345678901234567.89"})
        );
    }
    assert_eq!(
        world.calls(),
        json!({"POST /openapi/payment/assert/vbox": 2})
    );
}

#[tokio::test]
async fn the_sample_event_reads_the_balance() {
    let world = World::start().await;
    world.sandbox.state().set_balance(MERCHANT, 105);
    let answer = world
        .invoke(
            Function::VboxBalance,
            Event::file("vbox-balance.json").request("r"),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!({"total": "1.05", "usable_balance": "1.05"})
    );
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_without_a_call() {
    let world = World::start().await;
    let answer = balance(&world, "user=u1").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["detail"]["field"], "user");
    assert_eq!(world.calls(), json!({}));
}

#[tokio::test]
async fn a_provider_failure_is_502() {
    let world = World::start().await;
    world.sandbox.state().inject(
        sandbox::Fault::new("/openapi/payment/assert/vbox", sandbox::FaultKind::Garbage).times(1),
    );
    let answer = balance(&world, "").await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert_eq!(answer.json()["type"], "api_error");
}
