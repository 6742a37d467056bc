//! `debox-order` against the sandbox and moto, over real HTTP.

use bundle_tests::{Answer, Event, Function, MERCHANT, World, call, secret_json};
use serde_json::{Value, json};

async fn order(world: &World, body: Value) -> Answer {
    let request = Event::new("POST", "/debox/orders")
        .json_body(&body)
        .request("req-order");
    world.invoke(Function::DeboxOrder, request).await
}

#[tokio::test]
async fn merchant_pays_creates_a_signed_order() {
    let world = World::start().await;
    let answer = order(&world, json!({"receiver_user_id": "u1", "amount": "10.50"})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("x-request-id"), Some("req-order"));
    let body = answer.json();
    assert_eq!(body["amount"], "10.5");
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");

    let serial = body["serial_id"].as_str().unwrap();
    let stored = world.sandbox.state().debox_order(serial).unwrap();
    assert_eq!(stored.payer, MERCHANT);
    assert_eq!(stored.receiver, "u1");
    assert_eq!(stored.hundredths, 1050);
    assert!(stored.merchant_pays);
    assert_eq!(body["access_token"], stored.token);
    assert_eq!(world.calls(), json!({"POST /openapi/payment/order": 1}));
}

#[tokio::test]
async fn the_wrapped_answer_shape_reads_the_same() {
    let world = World::start().await;
    world.sandbox.state().set_debox_wrapped(true);
    let answer = order(
        &world,
        json!({"flow": "merchant_pays", "receiver_user_id": "u1", "amount": "7"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["amount"], "7");
    assert!(answer.json()["serial_id"].is_string());
}

#[tokio::test]
async fn the_sample_event_creates_an_order() {
    let world = World::start().await;
    let answer = world
        .invoke(
            Function::DeboxOrder,
            Event::file("debox-order.json").request("r"),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["amount"], "10.5");
}

#[tokio::test]
async fn user_pays_builds_the_authorize_url_without_calling_debox() {
    let world = World::start().await;
    let redirect = "https://shop.example/debox/return?order=42&lang=zh";
    let answer = order(
        &world,
        json!({"flow": "user_pays", "payer_user_id": "u2", "amount": "0.01",
               "pay_info": "Order #42 & tea", "redirect_uri": redirect}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let url = answer.json()["authorize_url"].as_str().unwrap().to_string();
    assert_eq!(world.calls(), json!({}), "no upstream call");

    // Parameter by parameter, in the documented order, encoding included.
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(base, format!("{}/oauth/authorize", world.sandbox.url()));
    let pairs: Vec<&str> = query.split('&').collect();
    assert_eq!(
        pairs,
        [
            "app_id=app_sandbox",
            "scope=payment",
            "grant_type=onetime_token",
            "amount=0.01",
            "payer_user_id=u2",
            &format!("receiver_user_id={MERCHANT}"),
            "pay_type=send",
            "pay_info=Order%20%2342%20%26%20tea",
            "redirect_uri=https%3A%2F%2Fshop.example%2Fdebox%2Freturn%3Forder%3D42%26lang%3Dzh",
        ]
    );

    // The URL works on DeBox's page: consent sends the browser back with a
    // code and a serial for the transfer.
    let consent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 302);
    let location = consent.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{redirect}&code=")),
        "{location}"
    );
    assert!(location.ends_with("&source=debox"), "{location}");
}

/// Every bad input: 400 in the contract's shape, naming the field, and no
/// call to DeBox.
#[tokio::test]
async fn bad_input_is_refused_before_any_call_to_debox() {
    let world = World::start().await;
    let mp = |amount: Value| json!({"receiver_user_id": "u1", "amount": amount});
    let up = |redirect: &str| json!({"flow": "user_pays", "payer_user_id": "u2", "amount": "1", "pay_info": "x", "redirect_uri": redirect});
    let cases: Vec<(Value, &str)> = vec![
        (mp(json!("0")), "amount"),
        (mp(json!("-1")), "amount"),
        (mp(json!("1.001")), "amount"),
        (mp(json!("1e3")), "amount"),
        (mp(json!(" 1")), "amount"),
        (mp(json!("1,00")), "amount"),
        (mp(json!("NaN")), "amount"),
        (mp(json!("١٠")), "amount"),
        (mp(json!("１０")), "amount"),
        (mp(json!("1000000000.01")), "amount"),
        (mp(json!("99999999999999999999999")), "amount"),
        (mp(json!(10.5)), "amount"),
        (mp(json!(10)), "amount"),
        (mp(json!(null)), "amount"),
        (json!({"receiver_user_id": "u1"}), "amount"),
        (json!({"amount": "1"}), "receiver_user_id"),
        (
            json!({"receiver_user_id": 7, "amount": "1"}),
            "receiver_user_id",
        ),
        (
            json!({"receiver_user_id": "a b", "amount": "1"}),
            "receiver_user_id",
        ),
        (
            json!({"receiver_user_id": MERCHANT, "amount": "1"}),
            "receiver_user_id",
        ),
        (
            json!({"receiver_user_id": "u1", "amount": "1", "memo": "x"}),
            "memo",
        ),
        (
            json!({"flow": "pay_later", "receiver_user_id": "u1", "amount": "1"}),
            "flow",
        ),
        (
            json!({"flow": 1, "receiver_user_id": "u1", "amount": "1"}),
            "flow",
        ),
        (up("http://shop.example/cb"), "redirect_uri"),
        (up("/relative/cb"), "redirect_uri"),
        (up("javascript:alert(1)"), "redirect_uri"),
        (
            json!({"flow": "user_pays", "payer_user_id": "u2", "amount": "1", "pay_info": "x"}),
            "redirect_uri",
        ),
        (
            json!({"flow": "user_pays", "payer_user_id": "u2", "amount": "1", "pay_info": "",
                "redirect_uri": "https://shop.example"}),
            "pay_info",
        ),
        (
            json!({"flow": "user_pays", "payer_user_id": MERCHANT, "amount": "1", "pay_info": "x",
                "redirect_uri": "https://shop.example"}),
            "payer_user_id",
        ),
        (
            json!({"flow": "user_pays", "receiver_user_id": "u1", "payer_user_id": "u2", "amount": "1",
                "pay_info": "x", "redirect_uri": "https://shop.example"}),
            "receiver_user_id",
        ),
    ];
    for (body, field) in cases {
        let answer = order(&world, body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        let error = answer.json();
        assert_eq!(error["type"], "invalid_request_error", "{body}");
        assert_eq!(error["detail"]["field"], field, "{body}: {error}");
    }
    assert_eq!(world.calls(), json!({}));
    assert_eq!(world.sandbox.state().debox_order_count(), 0);
}

#[tokio::test]
async fn refused_credentials_are_502_and_the_secret_is_fetched_again() {
    let world = World::start().await;
    let debox = world.debox();
    let good = secret_json(&world.api_key);
    let mut wrong: Value = serde_json::from_str(&good).unwrap();
    wrong["debox_app_secret"] = json!("not-the-secret");
    world.put_secret(wrong.to_string()).await;

    let request = |id: &str| {
        Event::new("POST", "/debox/orders")
            .json_body(&json!({"receiver_user_id": "u1", "amount": "1"}))
            .request(id)
    };
    let refused = call(request("a"), |r| debox_order::handle(&debox, r)).await;
    assert_eq!(refused.status, 502, "{}", refused.text);
    let error = refused.json();
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str()),
        (Some("api_error"), Some("-2001"))
    );
    assert!(!refused.text.contains("not-the-secret"));

    world.put_secret(good).await;
    let fixed = call(request("b"), |r| debox_order::handle(&debox, r)).await;
    assert_eq!(fixed.status, 200, "{}", fixed.text);
    assert_eq!(world.calls(), json!({"POST /openapi/payment/order": 2}));
}
