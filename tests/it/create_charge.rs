//! `create-charge` against the sandbox and moto, over real HTTP.

use aws_sdk_dynamodb::types::AttributeValue;
use bundle_tests::{Answer, Event, Function, World, call};
use serde_json::{Value, json};

async fn create(world: &World, qbit: &shared::qbit::QbitClient, body: Value) -> Answer {
    let request = Event::new("POST", "/charges")
        .json_body(&body)
        .request("req-create");
    let store = world.store();
    call(request, |r| create_charge::handle(qbit, &store, r)).await
}

#[tokio::test]
async fn two_charges_cost_one_token_call_and_return_qbits_charge() {
    let world = World::start().await;
    let qbit = world.qbit();

    let first = create(
        &world,
        &qbit,
        json!({"amount": 1000, "currency": "USD", "externalOrderId": "order-42"}),
    )
    .await;
    let second = create(
        &world,
        &qbit,
        json!({"amount": 950, "currency": "EUR", "externalOrderId": "order-43"}),
    )
    .await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(first.header("x-request-id"), Some("req-create"));
    assert_eq!(first.header("content-type"), Some("application/json"));

    let body = first.json();
    let charge = &body["charge"];
    assert_eq!(charge["object"], "charge");
    assert_eq!(charge["amount"], 1000);
    assert_eq!(charge["currency"], "USD");
    assert_eq!(charge["externalOrderId"], "order-42");
    assert_eq!(charge["paid"], false);
    assert_eq!(charge["status"], "pending");
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only charge and accessToken: {body}"
    );

    // The charge is Qbit's object as Qbit stored it.
    let stored = world.sandbox.state().charges();
    assert_eq!(stored.len(), 2);
    assert_eq!(charge["id"], stored[0].id);
    assert_eq!(charge["paymentPageUrl"], stored[0].payment_page_url);
    assert_eq!(second.json()["charge"]["id"], stored[1].id);

    // One token serves both, and it opens the hosted page.
    let token = body["accessToken"].as_str().unwrap();
    assert_eq!(second.json()["accessToken"], token);
    assert_eq!(
        world.calls(),
        json!({"GET /api/v1/accessToken": 1, "POST /api/v1/charges": 2})
    );
    let page = reqwest::Client::new()
        .get(charge["paymentPageUrl"].as_str().unwrap())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Pay 10.00 USD"));
}

#[tokio::test]
async fn a_token_near_its_expiry_is_not_reused() {
    let world = World::start().await;
    // Tokens that live less than the refresh margin are used once each.
    world
        .sandbox
        .state()
        .set_qbit_token_ttl(std::time::Duration::from_secs(120));
    let qbit = world.qbit();
    for order in ["a", "b"] {
        let answer = create(
            &world,
            &qbit,
            json!({"amount": 1, "currency": "USD", "externalOrderId": order}),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    assert_eq!(
        world.calls(),
        json!({"GET /api/v1/accessToken": 2, "POST /api/v1/charges": 2})
    );
}

#[tokio::test]
async fn the_sample_event_creates_a_charge() {
    let world = World::start().await;
    let answer = world
        .invoke(
            Function::CreateCharge,
            Event::file("create-charge.json").request("r"),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["charge"]["externalOrderId"], "order-42");
}

/// Every bad input: 400/413/415 in the contract's shape, naming the field,
/// and not a single call to Qbit.
#[tokio::test]
async fn bad_input_is_refused_before_any_call_to_qbit() {
    let world = World::start().await;
    let store = world.store();
    let qbit = world.qbit();
    let ok = |amount: Value| json!({"amount": amount, "currency": "USD", "externalOrderId": "o"});
    let json_cases: Vec<(Value, &str)> = vec![
        (ok(json!(0)), "amount"),
        (ok(json!(-1)), "amount"),
        (ok(json!(10.5)), "amount"),
        (ok(json!(1e3)), "amount"),
        (ok(json!("1000")), "amount"),
        (ok(json!(1_000_000_000_001u64)), "amount"),
        (
            json!({"amount": 1, "currency": "usd", "externalOrderId": "o"}),
            "currency",
        ),
        (
            json!({"amount": 1, "currency": "USDT", "externalOrderId": "o"}),
            "currency",
        ),
        (
            json!({"amount": 1, "currency": "USD", "externalOrderId": ""}),
            "externalOrderId",
        ),
        (
            json!({"amount": 1, "currency": "USD", "externalOrderId": "x".repeat(129)}),
            "externalOrderId",
        ),
        (
            json!({"amount": 1, "currency": "USD", "externalOrderId": 42}),
            "externalOrderId",
        ),
        (json!({"amount": 1, "currency": "USD"}), "externalOrderId"),
        (json!({"currency": "USD", "externalOrderId": "o"}), "amount"),
        (
            json!({"amount": 1, "currency": "USD", "externalOrderId": "o", "metadata": {}}),
            "metadata",
        ),
    ];
    for (body, field) in json_cases {
        let answer = create(&world, &qbit, body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        let error = answer.json();
        assert_eq!(error["type"], "invalid_request_error", "{body}");
        assert_eq!(error["detail"]["field"], field, "{body}: {error}");
        assert!(
            error["message"].as_str().unwrap().starts_with(field),
            "{error}"
        );
        assert_eq!(answer.header("x-request-id"), Some("req-create"));
    }

    let raw = |content_type: Option<&str>, body: &str| {
        let mut event = Event::new("POST", "/charges").text_body(body);
        if let Some(ct) = content_type {
            event = event.header("content-type", ct);
        }
        event.request("req-raw")
    };
    let big = format!(
        r#"{{"amount":1,"currency":"USD","externalOrderId":"{}"}}"#,
        "x".repeat(70_000)
    );
    let cases = [
        (Some("application/json"), "{not json", 400),
        (Some("application/json"), "", 400),
        (Some("application/json"), "[1000, \"USD\", \"o\"]", 400),
        (
            Some("text/plain"),
            r#"{"amount":1,"currency":"USD","externalOrderId":"o"}"#,
            415,
        ),
        (
            None,
            r#"{"amount":1,"currency":"USD","externalOrderId":"o"}"#,
            415,
        ),
        (Some("application/json"), big.as_str(), 413),
    ];
    for (content_type, body, status) in cases {
        let answer = call(raw(content_type, body), |r| {
            create_charge::handle(&qbit, &store, r)
        })
        .await;
        assert_eq!(
            answer.status,
            status,
            "{content_type:?} {}",
            &body[..body.len().min(40)]
        );
        assert_eq!(answer.json()["type"], "invalid_request_error");
    }

    assert_eq!(world.calls(), json!({}), "no call reached Qbit");
}

#[tokio::test]
async fn a_base64_encoded_body_is_decoded_first() {
    use base64::Engine;
    let world = World::start().await;
    let body = r#"{"amount":500,"currency":"JPY","externalOrderId":"b64"}"#;
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/create-charge.json"
        ))
        .unwrap(),
    )
    .unwrap();
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = json!(true);
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let answer = world.invoke(Function::CreateCharge, request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["charge"]["amount"], 500);
    assert_eq!(
        answer.header("x-request-id"),
        Some("unknown"),
        "no Lambda context in this request"
    );
}

/// The `charge#` item, as JSON: strings and numbers as their text.
async fn charge_item(world: &World, id: &str) -> Value {
    let item = world
        .item(&format!("charge#{id}"))
        .await
        .unwrap_or_else(|| panic!("no charge#{id}"));
    item.iter()
        .map(|(name, value)| {
            let value = match (value.as_s(), value.as_n(), value.as_bool()) {
                (Ok(s), _, _) | (_, Ok(s), _) => json!(s),
                (_, _, Ok(b)) => json!(b),
                _ => panic!("{name}: {value:?}"),
            };
            (name.clone(), value)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Once Qbit answers with the charge, it is recorded, `pending`, as asked,
/// by whom and in which request: the ledger the webhook matches against.
#[tokio::test]
async fn the_charge_is_recorded_as_asked_with_who_asked() {
    let world = World::start().await;
    let (arn, account) = (
        "arn:aws:sts::210987654321:assumed-role/shop/backend",
        "210987654321",
    );
    let before = bundle_tests::now_ms();
    let request = Event::new("POST", "/charges")
        .json_body(&json!({"amount": 1250, "currency": "EUR", "externalOrderId": "order-9"}))
        .caller(arn, account)
        .request("req-recorded");
    let answer = world.invoke(Function::CreateCharge, request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let id = answer.json()["charge"]["id"].as_str().unwrap().to_string();

    let item = charge_item(&world, &id).await;
    let created_at: u64 = item["created_at"].as_str().unwrap().parse().unwrap();
    assert!((before..=bundle_tests::now_ms()).contains(&created_at));
    assert_eq!(
        item,
        json!({
            "pk": format!("charge#{id}"), "kind": "charge", "charge_id": id,
            "status": "pending", "paid": false, "amount": "1250", "currency": "EUR",
            "external_order_id": "order-9", "created_at": created_at.to_string(),
            "request_id": "req-recorded", "caller_arn": arn, "caller_account": account,
            "status_rank": "0", "updated_at": created_at.to_string(),
        })
    );
    assert_eq!(world.item_count().await, 1, "no key sent: the charge alone");

    // A request with no IAM identity (a local run) says so.
    let local = Event::new("POST", "/charges")
        .json_body(&json!({"amount": 1, "currency": "USD", "externalOrderId": "o"}))
        .without_caller()
        .request("req-local");
    let answer = world.invoke(Function::CreateCharge, local).await;
    let id = answer.json()["charge"]["id"].as_str().unwrap().to_string();
    let item = charge_item(&world, &id).await;
    assert_eq!(item["caller_arn"], "unauthenticated");
    assert_eq!(item["caller_account"], "unauthenticated");
}

/// Qbit refuses or fails: no charge, nothing recorded.
#[tokio::test]
async fn a_charge_qbit_did_not_create_is_not_recorded() {
    let world = World::start().await;
    world.sandbox.state().inject(
        sandbox::Fault::new(
            "/api/v1/charges",
            sandbox::FaultKind::Status { status: 402 },
        )
        .times(1),
    );
    let qbit = world.qbit();
    let answer = create(
        &world,
        &qbit,
        json!({"amount": 1, "currency": "USD", "externalOrderId": "o"}),
    )
    .await;
    assert_eq!(answer.status, 402, "{}", answer.text);
    assert_eq!(world.item_count().await, 0);
}

/// A `charge#` item create-charge did not write (an older version's
/// webhook made it from an event) is never taken for this charge's record:
/// the webhook would apply no event to it, so the charge is not handed out.
#[tokio::test]
async fn a_charge_item_made_by_an_older_webhook_is_not_a_record() {
    use shared::charge::{ChargeRecord, ChargeStore};
    let world = World::start().await;
    world
        .dynamo
        .put_item()
        .table_name(&world.table)
        .item("pk", AttributeValue::S("charge#ch_old".into()))
        .item("kind", AttributeValue::S("charge".into()))
        .item("charge_id", AttributeValue::S("ch_old".into()))
        .item("status", AttributeValue::S("pending".into()))
        .send()
        .await
        .unwrap();
    let before = world.item("charge#ch_old").await;
    let record = |request_id: &str| ChargeRecord {
        charge_id: "ch_old".into(),
        amount: 1000,
        currency: "USD".into(),
        external_order_id: "o-1".into(),
        created_at: bundle_tests::now_ms(),
        request_id: request_id.into(),
        caller: shared::http::Caller::new(bundle_tests::CALLER_ARN, bundle_tests::CALLER_ACCOUNT),
    };
    let refused = world.store().record_charge(&record("req-1")).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.0.contains("without create-charge's record")),
        "{refused:?}"
    );
    assert_eq!(world.item("charge#ch_old").await, before, "left as it was");

    // Our own write, resent after a lost reply, is still ours.
    let fresh = ChargeRecord {
        charge_id: "ch_new".into(),
        ..record("req-3")
    };
    world.store().record_charge(&fresh).await.unwrap();
    world.store().record_charge(&fresh).await.unwrap();
}
