//! How Qbit Pay's failures and our secret's life reach the caller: each
//! through `create-charge` against the sandbox (faults injected) and moto.

use std::time::Duration;

use bundle_tests::{Answer, Event, Function, World, call, secret_json, unique};
use sandbox::{Fault, FaultKind};
use serde_json::{Value, json};
use shared::qbit::QbitClient;
use shared::upstream::Timeouts;

const CHARGES: &str = "/api/v1/charges";

async fn create(qbit: &QbitClient) -> Answer {
    let body = json!({"amount": 1000, "currency": "USD", "externalOrderId": "order-1"});
    let request = Event::new("POST", "/charges")
        .json_body(&body)
        .request("req-up");
    // No Idempotency-Key, but a charge Qbit creates is recorded.
    let store = bundle_tests::fresh_store().await;
    call(request, |r| create_charge::handle(qbit, &store, r)).await
}

fn assert_error(answer: &Answer, status: u16, kind: &str) -> Value {
    assert_eq!(answer.status, status, "{}", answer.text);
    let error = answer.json();
    assert_eq!(error["type"], kind, "{error}");
    assert_eq!(answer.header("x-request-id"), Some("req-up"));
    error
}

#[tokio::test]
async fn provider_statuses_map_to_the_contract() {
    let cases = [
        (500, 502, "api_error"),
        (503, 502, "api_error"),
        (402, 402, "invalid_request_error"),
        (429, 429, "rate_limit_error"),
        (403, 502, "api_error"),
        (400, 400, "invalid_request_error"),
    ];
    for (injected, status, kind) in cases {
        let world = World::start().await;
        world
            .sandbox
            .state()
            .inject(Fault::new(CHARGES, FaultKind::Status { status: injected }).times(1));
        let error = assert_error(&create(&world.qbit()).await, status, kind);
        assert_eq!(error["detail"]["upstream"]["status"], injected, "{error}");
        assert_eq!(
            world.calls(),
            json!({"GET /api/v1/accessToken": 1, "POST /api/v1/charges": 1})
        );
        assert_eq!(world.sandbox.state().charge_count(), 0);
    }
}

#[tokio::test]
async fn an_unreadable_answer_is_502() {
    let world = World::start().await;
    world
        .sandbox
        .state()
        .inject(Fault::new(CHARGES, FaultKind::Garbage).times(1));
    let error = assert_error(&create(&world.qbit()).await, 502, "api_error");
    assert_eq!(
        error["message"],
        "Qbit Pay sent an answer we could not read (charge is not JSON)"
    );
}

#[tokio::test]
async fn a_dropped_connection_is_502() {
    let world = World::start().await;
    world
        .sandbox
        .state()
        .inject(Fault::new(CHARGES, FaultKind::DropAfter).times(1));
    let error = assert_error(&create(&world.qbit()).await, 502, "api_error");
    assert_eq!(
        error["message"],
        "Qbit Pay could not be reached or dropped the connection"
    );
    // The charge was made before the connection dropped: the caller learns
    // of it by listing, as with any lost answer.
    assert_eq!(world.sandbox.state().charge_count(), 1);
}

#[tokio::test]
async fn a_slow_or_hung_provider_is_504() {
    let short = Timeouts {
        connect: Duration::from_secs(1),
        total: Duration::from_millis(300),
    };
    for kind in [FaultKind::Delay { ms: 2_000 }, FaultKind::Hang] {
        let world = World::start().await;
        world
            .sandbox
            .state()
            .inject(Fault::new(CHARGES, kind.clone()).times(1));
        let error = assert_error(&create(&world.qbit_with(short)).await, 504, "api_error");
        assert_eq!(
            error["message"], "Qbit Pay did not answer in time",
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_provider_is_502() {
    let world = World::start().await;
    // A port that was free a moment ago: nothing listens there.
    let closed = bundle_tests::closed_address();
    let qbit = QbitClient::new(
        shared::upstream::http_client(Timeouts::default()).unwrap(),
        closed.parse().unwrap(),
        world.secrets(),
    );
    assert_error(&create(&qbit).await, 502, "api_error");
}

/// The secret is fetched once and cached; a rejected key makes the next call
/// fetch it again, so a rotation is picked up without a restart.
#[tokio::test]
async fn the_secret_is_cached_and_refetched_when_our_key_is_refused() {
    let world = World::start().await;
    let qbit = world.qbit();
    assert_eq!(create(&qbit).await.status, 200);

    // Rotate the secret to a key Qbit does not know yet. A fresh fetch would
    // fail, so a 200 here proves the cached value was used.
    let new_key = unique("sk_rotated");
    world.put_secret(secret_json(&new_key)).await;
    assert_eq!(create(&qbit).await.status, 200);

    // Qbit now revokes the old key and accepts the new one.
    world.sandbox.state().revoke_qbit_key(&world.api_key);
    world.sandbox.state().add_qbit_key(&new_key);
    let error = assert_error(&create(&qbit).await, 502, "api_error");
    assert_eq!(
        error["message"],
        "Qbit Pay rejected our credentials; check qbit_api_key in the payments secret"
    );
    assert!(
        !error.to_string().contains(&world.api_key),
        "never echo the key"
    );

    // The refusal dropped the cached secret and token: the next call works.
    let answer = create(&qbit).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // Four charge calls (the third refused); the refusal cost the cached
    // token, so the fourth needed a second one.
    assert_eq!(
        world.calls(),
        json!({"GET /api/v1/accessToken": 2, "POST /api/v1/charges": 4})
    );
}

#[tokio::test]
async fn a_token_refused_for_our_key_leaves_no_charge() {
    let world = World::start().await;
    world.sandbox.state().revoke_qbit_key(&world.api_key);
    assert_error(&create(&world.qbit()).await, 502, "api_error");
    assert_eq!(world.calls(), json!({"GET /api/v1/accessToken": 1}));
}

#[tokio::test]
async fn secrets_that_cannot_be_read_are_503_and_qbit_is_not_called() {
    let world = World::start().await;
    let missing =
        shared::secrets::Secrets::new(world.secrets_client.clone(), unique("no-such-secret"));
    let qbit = QbitClient::new(
        shared::upstream::http_client(Timeouts::default()).unwrap(),
        world.sandbox.url().parse().unwrap(),
        std::sync::Arc::new(missing),
    );
    let error = assert_error(&create(&qbit).await, 503, "api_error");
    assert_eq!(
        error["message"],
        "the payments secret could not be read; try again shortly"
    );
    assert_eq!(world.calls(), json!({}));
}

#[tokio::test]
async fn a_secret_without_the_qbit_key_is_500_naming_the_member() {
    let world = World::start().await;
    world
        .put_secret(json!({"debox_app_id": "app"}).to_string())
        .await;
    let error = assert_error(&create(&world.qbit()).await, 500, "api_error");
    assert_eq!(error["message"], "the payments secret has no qbit_api_key");
    assert_eq!(world.calls(), json!({}));
}

/// Past its age limit the cached secret is fetched again (the limit is 5
/// minutes in a container; zero here, so the test does not wait).
#[tokio::test]
async fn a_secret_past_its_age_limit_is_fetched_again() {
    let world = World::start().await;
    let secrets = shared::secrets::Secrets::with_max_age(
        world.secrets_client.clone(),
        &world.secret_id,
        Duration::ZERO,
    );
    let qbit = QbitClient::new(
        shared::upstream::http_client(Timeouts::default()).unwrap(),
        world.sandbox.url().parse().unwrap(),
        std::sync::Arc::new(secrets),
    );
    assert_eq!(create(&qbit).await.status, 200);

    // Rotated to a key Qbit does not know: the very next call must use it.
    world.put_secret(secret_json("sk_unknown_to_qbit")).await;
    assert_error(&create(&qbit).await, 502, "api_error");
    assert_eq!(
        world.calls(),
        json!({"GET /api/v1/accessToken": 1, "POST /api/v1/charges": 2})
    );
}

/// Whether a failed charge call may have reached Qbit's charge logic,
/// case by case, straight from the client.
#[tokio::test]
async fn a_failed_charge_call_says_whether_qbit_may_have_acted() {
    use shared::qbit::{CallError, NewCharge};
    let world = World::start().await;
    let charge: NewCharge = serde_json::from_value(
        serde_json::json!({"amount": 1000, "currency": "USD", "externalOrderId": "o-1"}),
    )
    .unwrap();
    // Long enough to read past the 1 MiB cap on a loaded machine; the
    // hanging case waits it out.
    let quick = shared::upstream::Timeouts {
        connect: Duration::from_secs(1),
        total: Duration::from_secs(2),
    };
    let cases = [
        (Some(FaultKind::Status { status: 429 }), 429, false),
        (Some(FaultKind::Status { status: 401 }), 502, false),
        (Some(FaultKind::Status { status: 402 }), 402, true),
        (Some(FaultKind::Status { status: 500 }), 502, true),
        (Some(FaultKind::Garbage), 502, true),
        (Some(FaultKind::DropAfter), 502, true),
        (Some(FaultKind::Hang), 504, true),
        (
            Some(FaultKind::Oversized {
                bytes: 2 << 20,
                status: None,
            }),
            502,
            true,
        ),
    ];
    for (fault, status, may_have_acted) in cases {
        if let Some(fault) = &fault {
            world
                .sandbox
                .state()
                .inject(Fault::new("/api/v1/charges", fault.clone()).times(1));
        }
        let error = world
            .qbit_with(quick)
            .create_charge(&charge)
            .await
            .unwrap_err();
        assert_eq!(error.error().status().as_u16(), status, "{fault:?}");
        assert_eq!(
            matches!(error, CallError::MayHaveActed(_)),
            may_have_acted,
            "{fault:?}"
        );
    }

    // Nothing listens: no connection, so nothing reached Qbit.
    let closed = QbitClient::new(
        shared::upstream::http_client(quick).unwrap(),
        bundle_tests::closed_address().parse().unwrap(),
        world.secrets(),
    );
    let error = closed.create_charge(&charge).await.unwrap_err();
    assert!(matches!(error, CallError::NotReached(_)), "{error:?}");
    assert_eq!(error.error().status().as_u16(), 502);
}

/// A list over the 1 MiB cap is not read to its end: 502.
#[tokio::test]
async fn an_oversized_list_is_502() {
    let world = World::start().await;
    world.charge_at_qbit(100, "o-1").await;
    world.sandbox.state().inject(
        Fault::new(
            "/api/v1/charges",
            FaultKind::Oversized {
                bytes: 2 << 20,
                status: None,
            },
        )
        .times(1),
    );
    let request = Event::new("GET", "/charges").request("req-big");
    let answer = world.invoke(Function::ListCharges, request).await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert_eq!(
        answer.json()["message"],
        "Qbit Pay sent an answer we could not read (the answer is larger than 1 MiB)"
    );
}
