//! Raising the log level never prints an event body, a header, a token or a
//! secret: the real `create-charge` binary, run as Lambda runs it (against
//! the Runtime API stand-in, `sandbox::lambda`), with every level raised
//! (`AWS_LAMBDA_LOG_LEVEL=TRACE`, `RUST_LOG=trace`), against the sandbox and
//! moto. It answers two requests (the second a replay of the first's
//! Idempotency-Key), so it reads the secret, calls Qbit with the API key,
//! and writes and reads the table; then everything it printed is searched
//! for markers put in the request's body and headers, the secret, the AWS
//! credentials and the answer's access token.
//!
//! Without the caps (`shared::bootstrap::log_filter`) the runtime prints
//! each raw event at TRACE (body, signature, session token), and the AWS SDK
//! the table's answers (the stored charge answer, access token included).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bundle_tests::{Running, World, now_ms, unique, workspace_root};
use sandbox::lambda::{Outcome, RuntimeApi};
use serde_json::{Value, json};

/// A `POST /charges` event as API Gateway sends it for a SigV4-signed
/// request: the signature and the session token are headers.
fn charge_event(body: &Value, key: &str, signature: &str, session_token: &str) -> String {
    let file = workspace_root().join("events/create-charge.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    event["headers"]["authorization"] = json!(format!(
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261121/us-east-1/execute-api/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature={signature}"
    ));
    event["headers"]["x-amz-security-token"] = json!(session_token);
    event["headers"]["idempotency-key"] = json!(key);
    event["body"] = json!(body.to_string());
    event["isBase64Encoded"] = json!(false);
    event.to_string()
}

/// API Gateway's answer a function posted back.
fn answer(outcome: Outcome, printed: impl Fn() -> String) -> Value {
    match outcome {
        Outcome::Response(body) => serde_json::from_slice(&body).unwrap(),
        Outcome::Error(body) => panic!(
            "the function failed: {}\n{}",
            String::from_utf8_lossy(&body),
            printed()
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn raising_the_log_level_never_prints_a_body_a_header_or_a_secret() {
    let binary = tokio::task::block_in_place(|| bundle_tests::built_binary("create-charge"));
    let world = World::start().await;
    let api = RuntimeApi::start("create-charge").await.unwrap();

    let order = unique("BODY-MARKER");
    let signature = unique("SIGNATURE-MARKER");
    let session_token = unique("SESSION-TOKEN-MARKER");
    let aws_secret = unique("AWS-SECRET-MARKER");
    let body = json!({"amount": 1000, "currency": "USD", "externalOrderId": order});
    let event = charge_event(&body, &unique("key"), &signature, &session_token);

    // The local run's environment, then Lambda's, then every level raised.
    let setup = world.local_run(0, &PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let log_path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.log", unique("log-levels")));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut command = Command::new(&binary);
    command.env_clear();
    for pair in demo::function_env(&setup) {
        let (name, value) = pair.split_once('=').unwrap();
        command.env(name, value);
    }
    let function = Running(
        command
            .envs(api.lambda_env("create-charge"))
            .envs([
                ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
                ("RUST_LOG", "trace"),
                ("AWS_SECRET_ACCESS_KEY", aws_secret.as_str()),
                ("AWS_SESSION_TOKEN", session_token.as_str()),
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let printed = || std::fs::read_to_string(&log_path).unwrap();
    let invoke = async |event: &str| {
        let invoked = api.invoke(event.to_string(), now_ms() + 15_000);
        match tokio::time::timeout(Duration::from_secs(60), invoked).await {
            Ok(Ok(outcome)) => answer(outcome, printed),
            _ => panic!("no answer within a minute\n{}", printed()),
        }
    };

    // It worked: a charge, then the replay of its answer.
    let first = invoke(&event).await;
    let second = invoke(&event).await;
    assert_eq!(first["statusCode"], 200, "{first}");
    assert_eq!(second["statusCode"], 200, "{second}");
    assert_eq!(second["headers"]["idempotent-replayed"], "true", "{second}");
    let created: Value = serde_json::from_str(first["body"].as_str().unwrap()).unwrap();
    let access_token = created["accessToken"].as_str().unwrap().to_string();
    drop(function);
    let printed = printed();

    // Our own code followed the raised level (its DEBUG line is there), and
    // the runtime's span still puts the request id on our lines.
    let lines: Vec<Value> = printed
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("log levels:"))),
        "no DEBUG line from our code at TRACE:\n{printed}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "idempotent replay"
                && l["span"]["requestId"] == "standin-00000002"),
        "no replay line carrying the request id:\n{printed}"
    );

    for (what, marker) in [
        ("the request body", order.as_str()),
        ("the request's SigV4 signature header", signature.as_str()),
        (
            "the request's session token header (and AWS_SESSION_TOKEN)",
            session_token.as_str(),
        ),
        ("the Qbit API key from the secret", world.api_key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", aws_secret.as_str()),
        ("the answer's access token", access_token.as_str()),
    ] {
        let leaks: Vec<&str> = printed.lines().filter(|l| l.contains(marker)).collect();
        assert!(
            leaks.is_empty(),
            "{what} was printed at TRACE:\n{}",
            leaks[..leaks.len().min(3)].join("\n")
        );
    }
}
