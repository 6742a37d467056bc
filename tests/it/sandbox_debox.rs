//! The DeBox sandbox refuses what DeBox refuses: calls without the five
//! signed headers, with a wrong signature or key, or a stale timestamp.

use bundle_tests::World;
use sandbox::SandboxConfig;
use serde_json::{Value, json};
use shared::debox::sign::{signature, timestamp_ms};

async fn call(world: &World, headers: &[(&str, String)]) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!(
        "{}/openapi/payment/assert/vbox",
        world.sandbox.url()
    ));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn signed(timestamp: String, secret: &str) -> Vec<(&'static str, String)> {
    let app = SandboxConfig::default().debox_app;
    let nonce = "12345678".to_string();
    vec![
        ("app_id", app.app_id),
        ("X-API-KEY", app.api_key),
        ("signature", signature(secret, &nonce, &timestamp)),
        ("nonce", nonce),
        ("timestamp", timestamp),
    ]
}

#[tokio::test]
async fn only_correctly_signed_fresh_calls_pass() {
    let world = World::start().await;
    let secret = SandboxConfig::default().debox_app.app_secret;

    let (status, _) = call(&world, &signed(timestamp_ms(), &secret)).await;
    assert_eq!(status, 200);

    let stale = (timestamp_ms().parse::<u64>().unwrap() - 6 * 60 * 1000).to_string();
    let mut wrong_key = signed(timestamp_ms(), &secret);
    wrong_key[1].1 = "other-key".into();
    let mut short_nonce = signed(timestamp_ms(), &secret);
    short_nonce[3].1 = "1234".into();
    let cases = [
        ("no headers", vec![]),
        ("wrong secret", signed(timestamp_ms(), "other-secret")),
        ("stale timestamp", signed(stale, &secret)),
        ("wrong api key", wrong_key),
        ("short nonce", short_nonce),
    ];
    for (what, headers) in cases {
        let (status, body) = call(&world, &headers).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(body["code"], json!(-2001), "{what}");
    }
}
