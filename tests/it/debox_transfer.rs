//! `debox-transfer` against the sandbox and moto's DynamoDB, over real HTTP:
//! a transfer is sent to DeBox at most once, whatever happens.

use std::time::Duration;

use bundle_tests::{Answer, Event, Function, MERCHANT, World, call, now_ms};
use sandbox::{Fault, FaultKind};
use serde_json::{Value, json};
use shared::debox::SerialId;
use shared::transfer::{TransferStatus, TransferStore};
use shared::upstream::Timeouts;

const TRANSFER: &str = "POST /openapi/payment/transfer";
const TRANSFER_PATH: &str = "/openapi/payment/transfer";

/// A merchant-pays order for 10.50 points to u1, made through `debox-order`.
async fn order(world: &World) -> Value {
    let body = json!({"receiver_user_id": "u1", "amount": "10.50"});
    let request = Event::new("POST", "/debox/orders")
        .json_body(&body)
        .request("req-order");
    let answer = world.invoke(Function::DeboxOrder, request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

fn transfer_body(order: &Value) -> Value {
    json!({"access_token": order["access_token"], "serial_id": order["serial_id"], "verify_amount": "10.50"})
}

async fn transfer_with(
    world: &World,
    debox: &shared::bootstrap::Debox,
    body: &Value,
    deadline_ms: u64,
) -> Answer {
    let request = Event::new("POST", "/debox/transfers")
        .json_body(body)
        .request_with_deadline("req-transfer", deadline_ms);
    let store = world.store();
    call(request, |r| {
        debox_transfer::handle(&store, &debox.client, r)
    })
    .await
}

async fn transfer(world: &World, body: &Value) -> Answer {
    transfer_with(world, &world.debox(), body, now_ms() + 15_000).await
}

async fn record(world: &World, serial: &Value) -> Option<shared::transfer::TransferRecord> {
    let serial = SerialId::parse(serial.as_str().unwrap()).unwrap();
    world.store().get(&serial).await.unwrap()
}

fn assert_conflict(answer: &Answer, serial: &Value, status: &str) {
    assert_eq!(answer.status, 409, "{}", answer.text);
    let error = answer.json();
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "-2016");
    assert_eq!(
        error["detail"],
        json!({"serial_id": serial, "status": status})
    );
}

#[tokio::test]
async fn a_transfer_moves_the_points_once_and_a_duplicate_is_409() {
    let world = World::start().await;
    let order = order(&world).await;
    let merchant_before = world.sandbox.state().balance(MERCHANT);

    let answer = transfer(&world, &transfer_body(&order)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("x-request-id"), Some("req-transfer"));
    assert_eq!(
        answer.json(),
        json!({"serial_id": order["serial_id"], "status": "succeeded"})
    );

    let stored = record(&world, &order["serial_id"]).await.unwrap();
    assert_eq!(stored.status, TransferStatus::Succeeded);
    assert_eq!(stored.verify_amount.as_deref(), Some("10.5"));
    assert_eq!(stored.request_id, "req-transfer");
    assert_eq!(
        world.sandbox.state().balance(MERCHANT),
        merchant_before - 1050
    );
    assert_eq!(world.sandbox.state().balance("u1"), 1050);

    let duplicate = transfer(&world, &transfer_body(&order)).await;
    assert_conflict(&duplicate, &order["serial_id"], "succeeded");
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 1);
    assert_eq!(world.sandbox.state().balance("u1"), 1050);
}

#[tokio::test]
async fn the_record_carries_a_ttl_and_the_lease() {
    let world = World::start().await;
    let order = order(&world).await;
    let deadline = now_ms() + 9_000;
    assert_eq!(
        transfer_with(&world, &world.debox(), &transfer_body(&order), deadline)
            .await
            .status,
        200
    );
    let item = world
        .dynamo
        .get_item()
        .table_name(&world.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "transfer#{}",
                order["serial_id"].as_str().unwrap()
            )),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let number = |name: &str| item[name].as_n().unwrap().parse::<u64>().unwrap();
    assert_eq!(
        number("lease_expires_at"),
        deadline,
        "the lease ends with the invocation"
    );
    let ttl = number("expires_at");
    assert!(ttl > now_ms() / 1000 + 80 * 24 * 3600, "{ttl}");
    assert_eq!(item["status"].as_s().unwrap(), "succeeded");
}

/// Eight identical requests at once, each a separate container (its own
/// store and DeBox clients) sharing the table: exactly one reaches DeBox.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_transfers_reach_debox_once() {
    let world = std::sync::Arc::new(World::start().await);
    let order = order(&world).await;
    let body = transfer_body(&order);
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let (world, body) = (world.clone(), body.clone());
            tokio::spawn(async move {
                let debox = world.debox();
                transfer_with(&world, &debox, &body, now_ms() + 15_000).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        let answer = attempt.await.unwrap();
        if answer.status == 409 {
            let state = answer.json()["detail"]["status"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(state == "in_progress" || state == "succeeded", "{state}");
        }
        statuses.push(answer.status);
    }
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 1);
    assert_eq!(world.sandbox.state().balance("u1"), 1050);
}

/// The function dies while DeBox is slow to answer; its lease runs out. A
/// retry must not send the transfer again: the outcome is unknown.
#[tokio::test]
async fn a_crash_mid_call_leaves_an_unknown_transfer_that_is_never_resent() {
    let world = World::start().await;
    let order = order(&world).await;
    world
        .sandbox
        .state()
        .inject(Fault::new(TRANSFER_PATH, FaultKind::Delay { ms: 8_000 }).times(1));

    // Long enough to be allowed to call: 2 s past the record margin.
    let deadline = now_ms() + shared::budget::RECORD_MARGIN_MS + 2_000;
    let (world_ref, body) = (&world, transfer_body(&order));
    let doomed = async move { transfer_with(world_ref, &world_ref.debox(), &body, deadline).await };
    // The invocation is cut off (as Lambda does at the deadline) once DeBox has the call.
    tokio::select! {
        _ = doomed => panic!("the transfer should still be waiting on DeBox"),
        _ = async {
            while world.sandbox.state().calls_to(TRANSFER) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        } => {}
    }
    let stored = record(&world, &order["serial_id"]).await.unwrap();
    assert_eq!(stored.status, TransferStatus::InProgress);

    // While the lease lasts, a retry is told the transfer is in progress.
    if now_ms() < deadline {
        assert_conflict(
            &transfer(&world, &transfer_body(&order)).await,
            &order["serial_id"],
            "in_progress",
        );
    }
    // Once it is over (past the grace left for other containers' clocks),
    // the transfer is unknown, recorded so, and not re-sent.
    let over = deadline + shared::table::LEASE_GRACE_MS;
    tokio::time::sleep(Duration::from_millis(over.saturating_sub(now_ms()) + 50)).await;
    let retry = transfer(&world, &transfer_body(&order)).await;
    assert_conflict(&retry, &order["serial_id"], "unknown");
    assert_eq!(
        record(&world, &order["serial_id"]).await.unwrap().status,
        TransferStatus::Unknown
    );
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 1);
}

#[tokio::test]
async fn a_5xx_or_a_dropped_connection_is_unknown_and_never_resent() {
    for (kind, status) in [
        (FaultKind::Status { status: 500 }, 502),
        (FaultKind::DropAfter, 502),
    ] {
        let world = World::start().await;
        let order = order(&world).await;
        world
            .sandbox
            .state()
            .inject(Fault::new(TRANSFER_PATH, kind.clone()).times(1));

        let first = transfer(&world, &transfer_body(&order)).await;
        assert_eq!(first.status, status, "{kind:?}: {}", first.text);
        let error = first.json();
        assert_eq!(error["type"], "api_error");
        assert_eq!(error["detail"]["status"], "unknown", "{kind:?}");
        assert_eq!(error["detail"]["serial_id"], order["serial_id"]);
        assert_eq!(
            record(&world, &order["serial_id"]).await.unwrap().status,
            TransferStatus::Unknown
        );

        let retry = transfer(&world, &transfer_body(&order)).await;
        assert_conflict(&retry, &order["serial_id"], "unknown");
        assert_eq!(world.sandbox.state().calls_to(TRANSFER), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn a_dropped_connection_after_the_move_moves_the_points_only_once() {
    let world = World::start().await;
    let order = order(&world).await;
    world
        .sandbox
        .state()
        .inject(Fault::new(TRANSFER_PATH, FaultKind::DropAfter).times(1));
    assert_eq!(transfer(&world, &transfer_body(&order)).await.status, 502);
    assert_eq!(transfer(&world, &transfer_body(&order)).await.status, 409);
    assert_eq!(
        world.sandbox.state().balance("u1"),
        1050,
        "moved once, by the first call"
    );
}

#[tokio::test]
async fn a_timeout_is_504_and_unknown() {
    let world = World::start().await;
    let order = order(&world).await;
    world
        .sandbox
        .state()
        .inject(Fault::new(TRANSFER_PATH, FaultKind::Hang).times(1));
    let short = world.debox_with(Timeouts {
        connect: Duration::from_secs(1),
        total: Duration::from_millis(300),
    });
    let answer = transfer_with(&world, &short, &transfer_body(&order), now_ms() + 15_000).await;
    assert_eq!(answer.status, 504, "{}", answer.text);
    assert_eq!(answer.json()["detail"]["status"], "unknown");
    assert_conflict(
        &transfer(&world, &transfer_body(&order)).await,
        &order["serial_id"],
        "unknown",
    );
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 1);
}

#[tokio::test]
async fn insufficient_balance_fails_and_a_retry_after_funding_succeeds() {
    let world = World::start().await;
    let order = order(&world).await;
    world.sandbox.state().set_balance(MERCHANT, 1049);

    let short = transfer(&world, &transfer_body(&order)).await;
    assert_eq!(short.status, 402, "{}", short.text);
    let error = short.json();
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str()),
        (Some("invalid_request_error"), Some("-7048"))
    );
    assert_eq!(error["detail"]["status"], "failed");
    let failed = record(&world, &order["serial_id"]).await.unwrap();
    assert_eq!(
        (failed.status, failed.outcome_code.as_deref()),
        (TransferStatus::Failed, Some("-7048"))
    );

    world.sandbox.state().set_balance(MERCHANT, 1050);
    let retry = transfer(&world, &transfer_body(&order)).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(
        record(&world, &order["serial_id"]).await.unwrap().status,
        TransferStatus::Succeeded
    );
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 2);
    assert_eq!(world.sandbox.state().balance(MERCHANT), 0);
}

#[tokio::test]
async fn an_expired_token_is_402_and_failed() {
    let world = World::start().await;
    let order = order(&world).await;
    assert!(
        world
            .sandbox
            .state()
            .expire_order(order["serial_id"].as_str().unwrap())
    );
    let answer = transfer(&world, &transfer_body(&order)).await;
    assert_eq!(answer.status, 402, "{}", answer.text);
    assert_eq!(answer.json()["code"], "-2013");
    assert_eq!(
        record(&world, &order["serial_id"]).await.unwrap().status,
        TransferStatus::Failed
    );
}

#[tokio::test]
async fn verify_amount_is_compared_exactly_and_a_wrong_one_can_be_corrected() {
    let world = World::start().await;
    let order = order(&world).await;
    let mut wrong = transfer_body(&order);
    wrong["verify_amount"] = json!("10.51");
    let refused = transfer(&world, &wrong).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json()["code"], "-2006");
    assert_eq!(refused.json()["detail"]["status"], "failed");

    // "10.5" is the ordered "10.50".
    let mut same = transfer_body(&order);
    same["verify_amount"] = json!("10.5");
    assert_eq!(transfer(&world, &same).await.status, 200);
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 2);
}

#[tokio::test]
async fn user_pays_transfers_without_verify_amount() {
    let world = World::start().await;
    world.sandbox.state().set_balance("u2", 500);
    let body = json!({"flow": "user_pays", "payer_user_id": "u2", "amount": "2.5", "pay_info": "tea",
                      "redirect_uri": "https://shop.example/back"});
    let request = Event::new("POST", "/debox/orders")
        .json_body(&body)
        .request("r");
    let url = world.invoke(Function::DeboxOrder, request).await.json()["authorize_url"]
        .as_str()
        .unwrap()
        .to_string();
    let consent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .to_string()
    };

    let answer = transfer(
        &world,
        &json!({"access_token": param("code"), "serial_id": param("serial_id")}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(world.sandbox.state().balance("u2"), 250);
}

#[tokio::test]
async fn an_unreachable_table_is_503_and_debox_is_never_called() {
    let world = World::start().await;
    let order = order(&world).await;
    let down = bundle_tests::unreachable_store(&world.table).await;
    let request = Event::new("POST", "/debox/transfers")
        .json_body(&transfer_body(&order))
        .request("req-down");
    let debox = world.debox();
    let answer = call(request, |r| debox_transfer::handle(&down, &debox.client, r)).await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.json()["type"], "api_error");
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 0);
    assert_eq!(record(&world, &order["serial_id"]).await, None);
}

#[tokio::test]
async fn bad_input_is_refused_with_no_call_and_no_record() {
    let world = World::start().await;
    let good = json!({"access_token": "t", "serial_id": "s1", "verify_amount": "10.50"});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("verify_amount", json!("0")), "verify_amount"),
        (with("verify_amount", json!("-1")), "verify_amount"),
        (with("verify_amount", json!("1.001")), "verify_amount"),
        (with("verify_amount", json!("1e3")), "verify_amount"),
        (with("verify_amount", json!(" 1")), "verify_amount"),
        (with("verify_amount", json!("1,00")), "verify_amount"),
        (with("verify_amount", json!("NaN")), "verify_amount"),
        (with("verify_amount", json!("١٠")), "verify_amount"),
        (with("verify_amount", json!("1000000001")), "verify_amount"),
        (with("verify_amount", json!(10.5)), "verify_amount"),
        (with("serial_id", json!(42)), "serial_id"),
        (with("serial_id", json!("")), "serial_id"),
        (with("serial_id", json!("has space")), "serial_id"),
        (with("access_token", json!(null)), "access_token"),
        (with("access_token", json!("")), "access_token"),
        (without("serial_id"), "serial_id"),
        (without("access_token"), "access_token"),
        (with("amount", json!("10")), "amount"),
    ];
    for (body, field) in cases {
        let answer = transfer(&world, &body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert_eq!(answer.json()["detail"]["field"], field, "{body}");
    }
    assert_eq!(world.calls(), json!({}));
    assert_eq!(record(&world, &json!("s1")).await, None);
}

/// The SDK may resend a conditional write whose reply was lost; the resend
/// then meets our own record. It is still our claim (DeBox has not been
/// called yet), not someone else's: otherwise the first request would get a
/// 409 for a transfer never sent, and the serial would end `unknown`.
#[tokio::test]
async fn a_retried_claim_of_our_own_is_still_ours() {
    use shared::transfer::{Claim, ClaimOutcome};
    let world = World::start().await;
    let store = world.store();
    let claim = Claim {
        serial_id: SerialId::parse("s-retried").unwrap(),
        claim_id: "claim-a".into(),
        lease_expires_at: now_ms() + 10_000,
        verify_amount: None,
        request_id: "r".into(),
        caller: shared::http::Caller::unauthenticated(),
        now_ms: now_ms(),
    };
    assert_eq!(store.claim(&claim).await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(
        store.claim(&claim).await.unwrap(),
        ClaimOutcome::Claimed,
        "our own write, resent"
    );
    let other = Claim {
        claim_id: "claim-b".into(),
        ..claim.clone()
    };
    assert!(
        matches!(store.claim(&other).await.unwrap(), ClaimOutcome::Taken(r) if r.claim_id == "claim-a")
    );

    // Once settled, even the same claim id is refused: nothing is sent twice.
    let done = shared::transfer::Settlement {
        status: TransferStatus::Succeeded,
        code: None,
        message: None,
    };
    assert!(
        store
            .settle(&claim.serial_id, "claim-a", &done, now_ms())
            .await
            .unwrap()
    );
    assert!(
        store
            .settle(&claim.serial_id, "claim-a", &done, now_ms())
            .await
            .unwrap(),
        "a resent settle is ours too"
    );
    assert!(matches!(
        store.claim(&claim).await.unwrap(),
        ClaimOutcome::Taken(_)
    ));
}

/// The transfer's request cannot be prepared (a secret member missing, a
/// value that cannot be sent in a header, Secrets Manager stalled): that
/// fails before the claim, so nothing is claimed, nothing reaches DeBox,
/// and no person has an `unknown` transfer to clear. Once fixed, the same
/// transfer goes through: it was never claimed.
async fn assert_refused_unclaimed_then_sent(
    world: &World,
    order: &Value,
    answer: Answer,
    status: u16,
    message: &str,
) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.json()["message"], message);
    assert_eq!(record(world, &order["serial_id"]).await, None);
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 0);

    world
        .put_secret(bundle_tests::secret_json(&world.api_key))
        .await;
    let answer = transfer(world, &transfer_body(order)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 1);
}

async fn secret_with(world: &World, change: impl FnOnce(&mut Value)) {
    let mut secret: Value =
        serde_json::from_str(&bundle_tests::secret_json(&world.api_key)).unwrap();
    change(&mut secret);
    world.put_secret(secret.to_string()).await;
}

#[tokio::test]
async fn a_secret_without_a_member_claims_nothing_and_sends_nothing() {
    let world = World::start().await;
    let order = order(&world).await;
    secret_with(&world, |s| {
        s.as_object_mut().unwrap().remove("debox_app_secret");
    })
    .await;
    let answer = transfer(&world, &transfer_body(&order)).await;
    let message = "the payments secret has no debox_app_secret";
    assert_refused_unclaimed_then_sent(&world, &order, answer, 500, message).await;
}

#[tokio::test]
async fn a_key_that_cannot_be_a_header_claims_nothing_and_sends_nothing() {
    let world = World::start().await;
    let order = order(&world).await;
    secret_with(&world, |s| {
        let key = s["debox_api_key"].as_str().unwrap().to_string();
        s["debox_api_key"] = json!(format!("{key}\n"));
    })
    .await;
    let answer = transfer(&world, &transfer_body(&order)).await;
    let message = "debox_api_key in the payments secret cannot be sent in an HTTP header (a control character or line break?)";
    assert_refused_unclaimed_then_sent(&world, &order, answer, 500, message).await;
}

#[tokio::test]
async fn a_stalled_secrets_manager_claims_nothing_and_sends_nothing() {
    let world = World::start().await;
    let order = order(&world).await;
    // Secrets Manager accepts the connection and never answers.
    let stalled = shared::debox::DeboxClient::new(
        shared::upstream::http_client(Timeouts::default()).unwrap(),
        world.sandbox.url().parse().unwrap(),
        bundle_tests::stalled_secrets().await,
    );
    let deadline = now_ms() + 15_000;
    let request = Event::new("POST", "/debox/transfers")
        .json_body(&transfer_body(&order))
        .request_with_deadline("req-stalled", deadline);
    let store = world.store();
    let answer = bundle_tests::within_deadline(
        deadline,
        call(request, |r| debox_transfer::handle(&store, &stalled, r)),
    )
    .await
    .expect("answered before the deadline");
    let message = "the payments secret could not be read; try again shortly";
    assert_refused_unclaimed_then_sent(&world, &order, answer, 503, message).await;
}

/// An answer over the 1 MiB cap is unreadable: the points may have moved
/// (here they did), so the transfer is `unknown` and never sent again.
#[tokio::test]
async fn an_oversized_answer_is_unknown_and_never_resent() {
    let world = World::start().await;
    let order = order(&world).await;
    world.sandbox.state().inject(
        Fault::new(
            TRANSFER_PATH,
            FaultKind::Oversized {
                bytes: 2 << 20,
                status: None,
            },
        )
        .times(1),
    );
    let first = transfer(&world, &transfer_body(&order)).await;
    assert_eq!(first.status, 502, "{}", first.text);
    assert_eq!(
        first.json()["message"],
        "DeBox sent an answer we could not read (the answer is larger than 1 MiB)"
    );
    assert_eq!(first.json()["detail"]["status"], "unknown");
    assert_eq!(
        record(&world, &order["serial_id"]).await.unwrap().status,
        TransferStatus::Unknown
    );
    assert_conflict(
        &transfer(&world, &transfer_body(&order)).await,
        &order["serial_id"],
        "unknown",
    );
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 1);
    assert_eq!(world.sandbox.state().balance("u1"), 1050);
}

/// A claim made by another container whose clock runs behind ours: by our
/// clock its lease ended a second ago, but it is live. It must read as
/// `in_progress`, not be marked `unknown`.
#[tokio::test]
async fn a_lease_just_over_by_our_clock_is_still_in_progress() {
    use shared::transfer::{Claim, ClaimOutcome};
    let world = World::start().await;
    let order = order(&world).await;
    let serial = SerialId::parse(order["serial_id"].as_str().unwrap()).unwrap();
    let live = Claim {
        serial_id: serial.clone(),
        claim_id: "other-container".into(),
        lease_expires_at: now_ms() - 1_000,
        verify_amount: None,
        request_id: "req-other".into(),
        caller: shared::http::Caller::unauthenticated(),
        now_ms: now_ms() - 10_000,
    };
    assert_eq!(
        world.store().claim(&live).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_conflict(
        &transfer(&world, &transfer_body(&order)).await,
        &order["serial_id"],
        "in_progress",
    );
    assert_eq!(
        world.store().get(&serial).await.unwrap().unwrap().status,
        TransferStatus::InProgress
    );
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 0);
}

/// Marking a dead claim `unknown` is reported by the request whose write
/// made the change. The SDK may resend that write after a lost reply: the
/// resend meets its own change and must still count as it, or the
/// `unknown` is never reported (later requests find it already marked).
#[tokio::test]
async fn a_resent_mark_of_a_dead_claim_is_still_ours() {
    use shared::transfer::{Claim, ClaimOutcome};
    let world = World::start().await;
    let store = world.store();
    let serial = SerialId::parse("s-dead").unwrap();
    let dead = Claim {
        serial_id: serial.clone(),
        claim_id: "dead".into(),
        lease_expires_at: now_ms() - 60_000,
        verify_amount: None,
        request_id: "r".into(),
        caller: shared::http::Caller::unauthenticated(),
        now_ms: now_ms() - 70_000,
    };
    assert_eq!(store.claim(&dead).await.unwrap(), ClaimOutcome::Claimed);
    let record = store.get(&serial).await.unwrap().unwrap();
    let now = now_ms();
    assert!(store.mark_abandoned(&record, now).await.unwrap());
    assert!(
        store.mark_abandoned(&record, now).await.unwrap(),
        "the same write, resent"
    );
    assert!(
        !store.mark_abandoned(&record, now + 1).await.unwrap(),
        "another request's write, later"
    );
    assert_eq!(
        store.get(&serial).await.unwrap().unwrap().status,
        TransferStatus::Unknown
    );
}

/// Who moved points: the record a real transfer writes names the amount
/// and the IAM caller API Gateway verified, attribute for attribute.
#[tokio::test]
async fn the_record_names_the_amount_and_who_asked() {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let world = World::start().await;
    let order = order(&world).await;
    let serial = order["serial_id"].as_str().unwrap();
    let before = now_ms();
    let request = Event::new("POST", "/debox/transfers")
        .caller("arn:aws:iam::210987654321:role/payouts", "210987654321")
        .json_body(&transfer_body(&order))
        .request("req-who");
    let answer = world.invoke(Function::DeboxTransfer, request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let after = now_ms();

    let item = world.item(&format!("transfer#{serial}")).await.unwrap();
    let number = |name: &str| item[name].as_n().unwrap().parse::<u64>().unwrap();
    let claim_id = item["claim_id"].as_s().unwrap().clone();
    assert!(
        claim_id.len() == 32 && claim_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{claim_id}"
    );
    let (created, updated, lease) = (
        number("created_at"),
        number("updated_at"),
        number("lease_expires_at"),
    );
    assert!(before <= created && created <= updated && updated <= after);
    assert!(
        before + 15_000 <= lease && lease <= after + 15_000,
        "{lease}"
    );
    let expected: std::collections::HashMap<String, _> = [
        ("pk", S(format!("transfer#{serial}"))),
        ("kind", S("transfer".into())),
        ("serial_id", S(serial.into())),
        ("status", S("succeeded".into())),
        ("claim_id", S(claim_id)),
        ("lease_expires_at", N(lease.to_string())),
        ("verify_amount", S("10.5".into())),
        ("amount", S("10.5".into())),
        ("request_id", S("req-who".into())),
        (
            "caller_arn",
            S("arn:aws:iam::210987654321:role/payouts".into()),
        ),
        ("caller_account", S("210987654321".into())),
        ("created_at", N(created.to_string())),
        ("updated_at", N(updated.to_string())),
        (
            "expires_at",
            N((created / 1000 + 90 * 24 * 3600).to_string()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(item, expected);

    let stored = record(&world, &order["serial_id"]).await.unwrap();
    assert_eq!(
        stored.caller,
        Some(shared::http::Caller::new(
            "arn:aws:iam::210987654321:role/payouts",
            "210987654321"
        ))
    );
    assert_eq!(stored.amount.as_deref(), Some("10.5"));
}

/// A request without an IAM identity (only a local run can send one) is
/// recorded as `unauthenticated`, never as nobody.
#[tokio::test]
async fn a_request_with_no_identity_is_recorded_unauthenticated() {
    let world = World::start().await;
    let order = order(&world).await;
    let request = Event::new("POST", "/debox/transfers")
        .without_caller()
        .json_body(&transfer_body(&order))
        .request("req-anon");
    let answer = world.invoke(Function::DeboxTransfer, request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let item = world
        .item(&format!(
            "transfer#{}",
            order["serial_id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    assert_eq!(item["caller_arn"].as_s().unwrap(), "unauthenticated");
    assert_eq!(item["caller_account"].as_s().unwrap(), "unauthenticated");
}
