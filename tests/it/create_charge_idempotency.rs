//! `create-charge` with an `Idempotency-Key`, against the sandbox and moto:
//! Stripe's semantics, counted in calls to Qbit.

use std::time::Duration;

use bundle_tests::{Answer, Event, Function, World, call};
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
    world
        .invoke(Function::CreateCharge, event.request("req-idem"))
        .await
}

async fn create(world: &World, key: Option<&str>, body: &Value) -> Answer {
    create_raw(world, key, &body.to_string()).await
}

/// A request with `key` whose invocation ends at `deadline`, run as Lambda
/// runs it: it must answer before then.
async fn create_before(world: &World, key: &str, deadline: u64) -> Answer {
    let request = Event::new("POST", "/charges")
        .json_body(&body())
        .header("Idempotency-Key", key)
        .request_with_deadline("req-deadline", deadline);
    let (qbit, store) = (world.qbit(), world.store());
    bundle_tests::within_deadline(
        deadline,
        call(request, |r| create_charge::handle(&qbit, &store, r)),
    )
    .await
    .expect("answered before the deadline")
}

fn idempotency_key(key: &str) -> shared::charge::IdempotencyKey {
    let mut headers = lambda_http::http::HeaderMap::new();
    headers.insert("idempotency-key", key.parse().unwrap());
    shared::charge::IdempotencyKey::from_headers(&headers)
        .unwrap()
        .unwrap()
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
    assert_eq!(world.sandbox.state().charge_count(), 1);

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
    let first = world.invoke(Function::CreateCharge, request()).await;
    let second = world.invoke(Function::CreateCharge, request()).await;
    assert_eq!((first.status, second.status), (200, 200), "{}", first.text);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
}

/// A resent claim of our own (its reply lost) is still ours.
#[tokio::test]
async fn a_retried_key_claim_of_our_own_is_still_ours() {
    use shared::charge::{KeyClaim, KeyStore};
    let world = World::start().await;
    let store = world.store();
    let key = idempotency_key("key-retried");
    let caller = shared::http::Caller::new(bundle_tests::CALLER_ARN, bundle_tests::CALLER_ACCOUNT);
    let now = bundle_tests::now_ms();
    assert_eq!(
        store
            .claim_key(&key, "print", "claim-a", &caller, now + 10_000, now)
            .await
            .unwrap(),
        KeyClaim::Claimed
    );
    assert_eq!(
        store
            .claim_key(&key, "print", "claim-a", &caller, now + 10_000, now)
            .await
            .unwrap(),
        KeyClaim::Claimed
    );
    assert!(matches!(
        store
            .claim_key(&key, "print", "claim-b", &caller, now + 10_000, now)
            .await
            .unwrap(),
        KeyClaim::Taken(_)
    ));
}

/// As a new user meets it: Qbit limits the rate once; the retry with the
/// same key and body must create the charge, not replay the 429.
#[tokio::test]
async fn a_rate_limited_request_keeps_nothing_and_its_retry_creates_the_charge() {
    let world = World::start().await;
    world
        .sandbox
        .state()
        .inject(Fault::new("/api/v1/charges", FaultKind::Status { status: 429 }).times(1));
    let limited = create(&world, Some("key-429"), &body()).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(world.item("idem#create-charge#key-429").await, None);

    let retry = create(&world, Some("key-429"), &body()).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 2);
    assert_eq!(world.sandbox.state().charge_count(), 1);
}

/// Every answer that proves Qbit's charge logic never ran gives the key
/// back; every answer after which a charge may exist is kept.
#[tokio::test]
async fn only_answers_qbit_may_have_acted_on_are_kept() {
    let world = World::start().await;
    let cases = [
        (FaultKind::Status { status: 401 }, 502, false),
        (FaultKind::Status { status: 403 }, 502, false),
        (FaultKind::Status { status: 429 }, 429, false),
        // Refused at the door, whatever became of the body after the status.
        (
            FaultKind::Oversized {
                bytes: 2 << 20,
                status: Some(429),
            },
            502,
            false,
        ),
        (FaultKind::Status { status: 400 }, 400, true),
        (FaultKind::Status { status: 404 }, 404, true),
        (FaultKind::Status { status: 500 }, 502, true),
        (FaultKind::Status { status: 503 }, 502, true),
        (FaultKind::Garbage, 502, true),
        (FaultKind::DropAfter, 502, true),
        (
            FaultKind::Oversized {
                bytes: 2 << 20,
                status: None,
            },
            502,
            true,
        ),
    ];
    for (i, (fault, status, kept)) in cases.into_iter().enumerate() {
        let key = format!("key-case-{i}");
        world
            .sandbox
            .state()
            .inject(Fault::new("/api/v1/charges", fault.clone()).times(1));
        let first = create(&world, Some(&key), &body()).await;
        assert_eq!(first.status, status, "{fault:?}: {}", first.text);
        let record = world.item(&format!("idem#create-charge#{key}")).await;
        assert_eq!(record.is_some(), kept, "{fault:?}");
        let again = create(&world, Some(&key), &body()).await;
        if kept {
            assert_eq!(again.status, status, "{fault:?}: {}", again.text);
            assert_eq!(again.header("idempotent-replayed"), Some("true"));
            assert_eq!(again.text, first.text);
        } else {
            assert_eq!(again.status, 200, "{fault:?}: {}", again.text);
            assert_eq!(again.header("idempotent-replayed"), None);
        }
    }
}

/// The secret is re-read between the token and the charge call, and has
/// lost the member the charge call needs: Qbit never heard of the charge,
/// so the key is given back and the retry (secret fixed) creates it.
#[tokio::test]
async fn our_own_secret_failing_at_the_charge_call_keeps_nothing() {
    let world = World::start().await;
    let secrets = std::sync::Arc::new(shared::secrets::Secrets::with_max_age(
        shared::bootstrap::secrets_client(&world.sdk),
        &world.secret_id,
        Duration::ZERO,
    ));
    let qbit = shared::qbit::QbitClient::new(
        shared::upstream::http_client(Default::default()).unwrap(),
        world.sandbox.url().parse().unwrap(),
        secrets,
    );
    // A first charge caches the access token.
    let request = |key: Option<&'static str>| {
        let mut event = Event::new("POST", "/charges").json_body(&body());
        if let Some(key) = key {
            event = event.header("Idempotency-Key", key);
        }
        event.request("req-secret")
    };
    let store = world.store();
    let warm = call(request(None), |r| create_charge::handle(&qbit, &store, r)).await;
    assert_eq!(warm.status, 200, "{}", warm.text);

    let mut broken: Value =
        serde_json::from_str(&bundle_tests::secret_json(&world.api_key)).unwrap();
    broken.as_object_mut().unwrap().remove("qbit_api_key");
    world.put_secret(broken.to_string()).await;
    let failed = call(request(Some("key-s")), |r| {
        create_charge::handle(&qbit, &store, r)
    })
    .await;
    assert_eq!(failed.status, 500, "{}", failed.text);
    assert_eq!(world.item("idem#create-charge#key-s").await, None);

    world
        .put_secret(bundle_tests::secret_json(&world.api_key))
        .await;
    let retry = call(request(Some("key-s")), |r| {
        create_charge::handle(&qbit, &store, r)
    })
    .await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 2);
}

/// A slow token call leaves too little of the invocation to create the
/// charge and keep its answer: the charge call is not made, the key is
/// free, and the answer comes before Lambda would kill the function.
#[tokio::test]
async fn too_little_time_after_the_token_is_503_with_no_charge_call() {
    let world = World::start().await;
    world
        .sandbox
        .state()
        .inject(Fault::new("/api/v1/accessToken", FaultKind::Delay { ms: 2_000 }).times(1));
    // The token call may take what is left less the record margin: 2.5 s,
    // 0.5 s more than it takes. After it, 5.5 s are left: 0.5 s short of
    // the margin plus the least a call may have.
    let deadline = bundle_tests::now_ms()
        + 2_000
        + shared::budget::RECORD_MARGIN_MS
        + shared::budget::MIN_CALL_MS / 2;
    let late = create_before(&world, "key-late", deadline).await;
    assert_eq!(late.status, 503, "{}", late.text);
    assert_eq!(late.json()["type"], "api_error");
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 0);
    assert_eq!(world.item("idem#create-charge#key-late").await, None);

    let retry = create(&world, Some("key-late"), &body()).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
}

/// Qbit hangs on the charge call: the call is cut at the budget, in time
/// for its 504 to be kept under the key before the deadline (a charge may
/// exist, so the retry replays the 504 rather than charging again).
#[tokio::test]
async fn a_hanging_charge_call_is_cut_in_time_to_keep_its_answer() {
    let world = World::start().await;
    world
        .sandbox
        .state()
        .inject(Fault::new("/api/v1/charges", FaultKind::Hang).times(1));
    // About 3 s for the call, then the margins to record it and keep its answer.
    let deadline = bundle_tests::now_ms()
        + shared::budget::RECORD_MARGIN_MS
        + shared::budget::ONE_WRITE_MS
        + 3_000;
    let cut = create_before(&world, "key-hang", deadline).await;
    assert_eq!(cut.status, 504, "{}", cut.text);

    let replay = create(&world, Some("key-hang"), &body()).await;
    assert_eq!(replay.status, 504, "{}", replay.text);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
}

/// A key claimed by another container whose clock runs behind ours: by our
/// clock its lease ended a second ago, but the request is live. The key is
/// not handed to a second request (which would charge again): 409.
#[tokio::test]
async fn a_key_lease_just_over_by_our_clock_is_still_in_progress() {
    let world = World::start().await;
    let key = idempotency_key("key-skew");
    use shared::charge::{KeyStore, body_fingerprint};
    let charge: shared::qbit::NewCharge = serde_json::from_value(body()).unwrap();
    let now = bundle_tests::now_ms();
    world
        .store()
        .claim_key(
            &key,
            &body_fingerprint(&charge).unwrap(),
            "other-container",
            &shared::http::Caller::new(bundle_tests::CALLER_ARN, bundle_tests::CALLER_ACCOUNT),
            now - 1_000,
            now - 10_000,
        )
        .await
        .unwrap();
    let second = create(&world, Some("key-skew"), &body()).await;
    assert_eq!(second.status, 409, "{}", second.text);
    assert!(
        second.json()["message"]
            .as_str()
            .unwrap()
            .contains("still being processed"),
        "{}",
        second.text
    );
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 0);
}

/// Qbit's charge comes back far larger than an item can hold (read, since
/// it is under the 1 MiB cap): the first caller gets it, the key keeps a
/// 502 saying so, and is not left `in_progress` for a second request to
/// take once its lease is over.
#[tokio::test]
async fn an_answer_too_large_to_keep_is_replayed_as_a_502_that_says_so() {
    let world = World::start().await;
    world.sandbox.state().inject(
        Fault::new(
            "/api/v1/charges",
            FaultKind::Oversized {
                bytes: 500_000,
                status: None,
            },
        )
        .times(1),
    );
    let first = create(&world, Some("key-big"), &body()).await;
    assert_eq!(first.status, 200, "{}", &first.text[..200]);
    assert!(first.text.len() > 500_000);

    let replay = create(&world, Some("key-big"), &body()).await;
    assert_eq!(replay.status, 502, "{}", replay.text);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        replay.json()["message"],
        "the first answer to this Idempotency-Key (HTTP 200) was too large to keep; a charge may exist at Qbit but was not recorded here: do not hand it out, create a new charge with a new key"
    );
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
}

/// The key records who claimed it, beside the charge it made.
#[tokio::test]
async fn the_key_records_who_claimed_it() {
    let world = World::start().await;
    let (arn, account) = ("arn:aws:iam::210987654321:user/shop", "210987654321");
    let request = Event::new("POST", "/charges")
        .json_body(&body())
        .header("Idempotency-Key", "key-who")
        .caller(arn, account)
        .request("req-who");
    let answer = world.invoke(Function::CreateCharge, request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let record = world.item("idem#create-charge#key-who").await.unwrap();
    assert_eq!(record["caller_arn"].as_s().unwrap(), arn);
    assert_eq!(record["caller_account"].as_s().unwrap(), account);
    assert_eq!(record["status"].as_s().unwrap(), "completed");
    let id = answer.json()["charge"]["id"].as_str().unwrap().to_string();
    let charge = world.item(&format!("charge#{id}")).await.unwrap();
    assert_eq!(charge["caller_arn"].as_s().unwrap(), arn);
    assert_eq!(charge["request_id"].as_s().unwrap(), "req-who");
    assert_eq!(world.item_count().await, 2);
}

/// The table as create-charge sees it, with the charge records written
/// elsewhere (through an address where nothing listens): keys work,
/// recording a charge fails.
struct ChargesDown {
    keys: shared::table::DynamoStore,
    charges: shared::table::DynamoStore,
}

impl shared::charge::KeyStore for ChargesDown {
    async fn claim_key(
        &self,
        key: &shared::charge::IdempotencyKey,
        fingerprint: &str,
        claim_id: &str,
        caller: &shared::http::Caller,
        lease_ends: u64,
        now_ms: u64,
    ) -> Result<shared::charge::KeyClaim, shared::table::StoreUnavailable> {
        self.keys
            .claim_key(key, fingerprint, claim_id, caller, lease_ends, now_ms)
            .await
    }

    async fn complete_key(
        &self,
        key: &shared::charge::IdempotencyKey,
        claim_id: &str,
        status: u16,
        body: &str,
    ) -> Result<(), shared::table::StoreUnavailable> {
        self.keys.complete_key(key, claim_id, status, body).await
    }

    async fn release_key(
        &self,
        key: &shared::charge::IdempotencyKey,
        claim_id: &str,
    ) -> Result<(), shared::table::StoreUnavailable> {
        self.keys.release_key(key, claim_id).await
    }
}

impl shared::charge::ChargeStore for ChargesDown {
    async fn record_charge(
        &self,
        charge: &shared::charge::ChargeRecord,
    ) -> Result<(), shared::table::StoreUnavailable> {
        self.charges.record_charge(charge).await
    }
}

/// Qbit created the charge and its record cannot be written: the buyer is
/// not handed a charge the webhook could never match. 503, the key given
/// back, and the retry with the same key creates a new charge, recorded.
#[tokio::test]
async fn a_charge_that_cannot_be_recorded_is_503_and_its_key_is_given_back() {
    let world = World::start().await;
    let store = ChargesDown {
        keys: world.store(),
        charges: bundle_tests::unreachable_store(&world.table).await,
    };
    let qbit = world.qbit();
    let request = Event::new("POST", "/charges")
        .json_body(&body())
        .header("Idempotency-Key", "key-unrecorded")
        .request("req-unrecorded");
    let failed = call(request, |r| create_charge::handle(&qbit, &store, r)).await;
    assert_eq!(failed.status, 503, "{}", failed.text);
    assert_eq!(
        failed.json(),
        json!({"type": "api_error", "message": "Qbit Pay created the charge, but it could not be recorded, \
            so it was not handed out and cannot be paid; retry: a new charge will be created and recorded \
            (with the same Idempotency-Key, if you sent one)"})
    );
    assert_eq!(
        world.calls(),
        json!({"GET /api/v1/accessToken": 1, "POST /api/v1/charges": 1})
    );
    let orphan = world.sandbox.state().charges()[0].id.clone();
    assert!(
        !failed.text.contains(&orphan),
        "the orphan is not handed out"
    );
    assert_eq!(world.item("idem#create-charge#key-unrecorded").await, None);
    assert_eq!(world.item_count().await, 0);

    // The table is back: the same key creates a new charge and records it.
    let retry = create(&world, Some("key-unrecorded"), &body()).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), None);
    let id = retry.json()["charge"]["id"].as_str().unwrap().to_string();
    assert_ne!(id, orphan);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 2);
    assert_eq!(world.sandbox.state().charge_count(), 2);
    let recorded = world.item(&format!("charge#{id}")).await.unwrap();
    assert_eq!(recorded["status"].as_s().unwrap(), "pending");
    assert_eq!(world.item(&format!("charge#{orphan}")).await, None);
    assert_eq!(
        world
            .item("idem#create-charge#key-unrecorded")
            .await
            .unwrap()["status"]
            .as_s()
            .unwrap(),
        "completed"
    );
    assert_eq!(world.item_count().await, 2);
}

/// Without a key, the same: 503, and nothing handed out.
#[tokio::test]
async fn a_charge_that_cannot_be_recorded_is_503_without_a_key_too() {
    let world = World::start().await;
    let store = ChargesDown {
        keys: bundle_tests::keyless_store().await,
        charges: bundle_tests::unreachable_store(&world.table).await,
    };
    let qbit = world.qbit();
    let request = Event::new("POST", "/charges")
        .json_body(&body())
        .request("req-unrecorded");
    let failed = call(request, |r| create_charge::handle(&qbit, &store, r)).await;
    assert_eq!(failed.status, 503, "{}", failed.text);
    assert!(!failed.text.contains("accessToken"), "{}", failed.text);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
    let orphan = world.sandbox.state().charges()[0].id.clone();
    assert!(
        !failed.text.contains(&orphan),
        "the orphan is not handed out: {}",
        failed.text
    );
    assert_eq!(world.item_count().await, 0);
}

#[tokio::test]
async fn another_accounts_request_is_never_answered_from_a_key() {
    let world = World::start().await;
    let first = create(&world, Some("key-shared"), &body()).await;
    assert_eq!(first.status, 200, "{}", first.text);

    // Same key, same body, signed by another AWS account: not the first
    // caller's charge and access token.
    let request = Event::new("POST", "/charges")
        .json_body(&body())
        .header("Idempotency-Key", "key-shared")
        .caller(
            "arn:aws:iam::210987654321:user/someone-else",
            "210987654321",
        )
        .request("req-other");
    let other = world.invoke(Function::CreateCharge, request).await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(
        other.json(),
        json!({"type": "invalid_request_error",
               "message": "this Idempotency-Key was already used by another caller; use a new key for a new charge"})
    );
    assert_eq!(other.header("idempotent-replayed"), None);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);

    // Another identity of the same account is the same merchant: replayed.
    let request = Event::new("POST", "/charges")
        .json_body(&body())
        .header("Idempotency-Key", "key-shared")
        .caller("arn:aws:iam::123456789012:role/batch", "123456789012")
        .request("req-same-account");
    let same = world.invoke(Function::CreateCharge, request).await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(same.text, first.text);
    assert_eq!(world.sandbox.state().calls_to(CHARGES), 1);
}
