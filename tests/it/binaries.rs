//! The real binaries, run by `cargo lambda watch` exactly as a developer
//! runs them, invoked with the files in `events/`, against the sandbox and
//! moto over real HTTP.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bundle_tests::{Answer, MERCHANT, World, moto_endpoint};
use serde_json::{Value, json};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `cargo-lambda`, from `CARGO_LAMBDA` or the PATH (the test script puts
/// the project's virtual environment first on it).
fn cargo_lambda() -> Command {
    let program = std::env::var("CARGO_LAMBDA").unwrap_or_else(|_| "cargo-lambda".into());
    let mut command = Command::new(program);
    command.arg("lambda").current_dir(workspace_root());
    command
}

/// `cargo lambda watch` in its own process group, stopped (with the
/// functions it started) when dropped.
struct Watch {
    child: Child,
    port: u16,
}

impl Watch {
    fn start(world: &World) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = workspace_root().join(format!("target/cargo-lambda-watch-{port}.log"));
        let log = std::fs::File::create(&log).unwrap();
        let env = [
            format!("PAYMENTS_SECRET_ID={}", world.secret_id),
            format!("PAYMENTS_TABLE={}", world.table),
            format!("QBIT_BASE_URL={}", world.sandbox.url()),
            format!("DEBOX_OPEN_BASE_URL={}", world.sandbox.url()),
            format!("DEBOX_APP_BASE_URL={}", world.sandbox.url()),
            format!("DEBOX_MERCHANT_USER_ID={MERCHANT}"),
            format!("AWS_ENDPOINT_URL={}", moto_endpoint()),
            "AWS_ACCESS_KEY_ID=test".into(),
            "AWS_SECRET_ACCESS_KEY=test".into(),
            "AWS_REGION=us-east-1".into(),
            // As the template sets it (LoggingConfig: LogFormat: JSON).
            "AWS_LAMBDA_LOG_FORMAT=JSON".into(),
        ];
        let mut command = cargo_lambda();
        command.args([
            "watch",
            "--ignore-changes",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ]);
        for pair in &env {
            command.args(["--env-var", pair]);
        }
        use std::os::unix::process::CommandExt;
        let child = command
            .process_group(0)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cargo-lambda runs (scripts/test.sh installs it into .venv)");
        let watch = Self { child, port };
        watch.wait_until_listening(Duration::from_secs(300));
        watch
    }

    fn wait_until_listening(&self, limit: Duration) {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < limit,
                "cargo lambda watch did not listen within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `cargo lambda invoke <function> --data-file events/<file>`: the
    /// API Gateway response the function returned.
    fn invoke(&self, function: &str, event_file: &str) -> Value {
        self.invoke_path(function, &workspace_root().join("events").join(event_file))
    }

    fn invoke_path(&self, function: &str, event_file: &Path) -> Value {
        let port = self.port.to_string();
        let output = cargo_lambda()
            .args([
                "invoke",
                function,
                "-A",
                "127.0.0.1",
                "-P",
                &port,
                "--output-format",
                "json",
            ])
            .arg("--data-file")
            .arg(event_file)
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo lambda invoke runs");
        assert!(
            output.status.success(),
            "invoke {function} failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let response: Value = serde_json::from_slice(&output.stdout).unwrap();
        // The real binary's answer, too, is one openapi.yaml allows.
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(event_file).unwrap()).unwrap();
        let (method, path) = (
            event["requestContext"]["http"]["method"].as_str().unwrap(),
            event["rawPath"].as_str().unwrap(),
        );
        bundle_tests::contract::check(method, path, &answer_of(&response));
        response
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// A Lambda's API Gateway answer (`statusCode`, `headers`, `body`) read
/// as the tests read a handler's.
fn answer_of(response: &Value) -> Answer {
    let mut headers = lambda_http::http::HeaderMap::new();
    for (name, value) in response["headers"].as_object().into_iter().flatten() {
        headers.insert(
            lambda_http::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.as_str().unwrap().parse().unwrap(),
        );
    }
    Answer {
        status: response["statusCode"].as_u64().unwrap() as u16,
        headers,
        text: response["body"].as_str().unwrap_or_default().to_string(),
    }
}

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binaries_answer_the_sample_events() {
    let world = World::start().await;
    let watch = tokio::task::block_in_place(|| Watch::start(&world));
    let invoke =
        |function: &str, file: &str| tokio::task::block_in_place(|| watch.invoke(function, file));

    let created = invoke("create-charge", "create-charge.json");
    assert_eq!(created["statusCode"], 200, "{created}");
    assert_eq!(created["headers"]["content-type"], "application/json");
    let request_id = created["headers"]["x-request-id"].as_str().unwrap();
    assert!(
        !request_id.is_empty() && request_id != "unknown",
        "{created}"
    );
    let charge = body(&created)["charge"].clone();
    assert_eq!(charge["amount"], 1000);
    assert_eq!(charge["externalOrderId"], "order-42");

    let listed = invoke("list-charges", "list-charges.json");
    assert_eq!(listed["statusCode"], 200, "{listed}");
    assert_eq!(body(&listed)["data"][0]["id"], charge["id"]);

    let refused = invoke("create-charge", "create-charge-invalid.json");
    assert_eq!(refused["statusCode"], 400, "{refused}");
    assert_eq!(body(&refused)["detail"]["field"], "amount");

    assert_eq!(
        world.calls(),
        json!({"GET /api/v1/accessToken": 1, "GET /api/v1/charges": 1, "POST /api/v1/charges": 1})
    );

    // DeBox: the balance, a merchant-pays order and its transfer, once.
    let before = invoke("vbox-balance", "vbox-balance.json");
    assert_eq!(
        body(&before),
        json!({"total": "1000", "usable_balance": "1000"}),
        "{before}"
    );

    let ordered = invoke("debox-order", "debox-order.json");
    assert_eq!(ordered["statusCode"], 200, "{ordered}");
    let order = body(&ordered);
    assert_eq!(order["amount"], "10.5");

    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("events/debox-transfer.json")).unwrap(),
    )
    .unwrap();
    event["body"] = json!(json!({"access_token": order["access_token"], "serial_id": order["serial_id"], "verify_amount": "10.50"}).to_string());
    let transfer_file = workspace_root().join(format!("target/debox-transfer-{}.json", watch.port));
    std::fs::write(&transfer_file, event.to_string()).unwrap();
    let transferred =
        tokio::task::block_in_place(|| watch.invoke_path("debox-transfer", &transfer_file));
    assert_eq!(transferred["statusCode"], 200, "{transferred}");
    assert_eq!(
        body(&transferred),
        json!({"serial_id": order["serial_id"], "status": "succeeded"})
    );
    let again = tokio::task::block_in_place(|| watch.invoke_path("debox-transfer", &transfer_file));
    assert_eq!(again["statusCode"], 409, "{again}");
    assert_eq!(body(&again)["code"], "-2016");

    let after = invoke("vbox-balance", "vbox-balance.json");
    assert_eq!(
        body(&after),
        json!({"total": "989.5", "usable_balance": "989.5"}),
        "{after}"
    );

    // The sample transfer names a serial DeBox never issued: a definite -2006.
    let unknown_serial = invoke("debox-transfer", "debox-transfer.json");
    assert_eq!(unknown_serial["statusCode"], 400, "{unknown_serial}");
    assert_eq!(body(&unknown_serial)["code"], "-2006");

    let user_pays = invoke("debox-order", "debox-order-user-pays.json");
    assert_eq!(user_pays["statusCode"], 200, "{user_pays}");
    assert!(
        body(&user_pays)["authorize_url"]
            .as_str()
            .unwrap()
            .contains("redirect_uri=https%3A%2F%2Fshop.example")
    );

    assert_eq!(
        world
            .sandbox
            .state()
            .calls_to("POST /openapi/payment/transfer"),
        2
    );

    // Webhooks: the sample event (signed with the test key) is recorded;
    // paying the charge in the sandbox delivers a signed event over HTTP to
    // the function's URL, and the charge reads succeeded.
    let webhook = invoke("qbit-webhook", "qbit-webhook.json");
    assert_eq!(webhook["statusCode"], 200, "{webhook}");
    assert_eq!(
        body(&webhook),
        json!({"received": true, "duplicate": false})
    );
    let again = invoke("qbit-webhook", "qbit-webhook.json");
    assert_eq!(body(&again), json!({"received": true, "duplicate": true}));

    world.sandbox.state().set_webhook_url(format!(
        "http://127.0.0.1:{}/lambda-url/qbit-webhook",
        watch.port
    ));
    let charge_id = charge["id"].as_str().unwrap();
    let (event, status) = world.sandbox.pay(charge_id).await.unwrap();
    assert_eq!(status, 200, "the function acknowledged the delivery");
    let state = world
        .item(&format!("charge#{charge_id}"))
        .await
        .expect("charge item");
    assert_eq!(state["status"].as_s().unwrap(), "succeeded");
    assert_eq!(state["last_event_id"].as_s().unwrap(), &event.id);
    assert_eq!(world.sandbox.redeliver(&event.id).await, Some(200));

    // Idempotency-Key: the second invocation replays the first.
    let first = invoke("create-charge", "create-charge-idempotent.json");
    let replay = invoke("create-charge", "create-charge-idempotent.json");
    assert_eq!(
        (first["statusCode"].as_u64(), replay["statusCode"].as_u64()),
        (Some(200), Some(200))
    );
    assert_eq!(replay["headers"]["idempotent-replayed"], "true", "{replay}");
    assert_eq!(replay["body"], first["body"]);
    assert_eq!(world.sandbox.state().calls_to("POST /api/v1/charges"), 2);

    // What operators get: JSON lines carrying the Lambda request id and, for
    // money, the serial or event and the outcome; never a secret or token.
    let log = std::fs::read_to_string(
        workspace_root().join(format!("target/cargo-lambda-watch-{}.log", watch.port)),
    )
    .unwrap();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let find = |message: &str, key: &str, value: &Value| {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == message && l["fields"][key] == *value)
            .unwrap_or_else(|| panic!("no {message:?} line with {key} = {value}:\n{log}"))
            .clone()
    };
    let settled = find("transfer settled", "serial_id", &order["serial_id"]);
    assert_eq!(settled["fields"]["outcome"], "succeeded");
    assert_eq!(
        settled["span"]["requestId"],
        transferred["headers"]["x-request-id"]
    );
    let recorded = find("webhook recorded", "event_id", &json!(event.id));
    assert_eq!(recorded["fields"]["charge_id"], json!(charge_id));
    assert!(
        recorded["span"]["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let metric = lines
        .iter()
        .find(|l| l["serial_id"] == order["serial_id"] && l["Outcome"] == "succeeded")
        .expect("a Transfers metric line for the transfer");
    assert_eq!(
        metric["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "PaymentsBundle"
    );

    let app = sandbox::SandboxConfig::default().debox_app;
    let access_token = body(&created)["accessToken"].as_str().unwrap().to_string();
    let secrets = [
        ("the Qbit API key", world.api_key.clone()),
        ("the DeBox API key", app.api_key),
        ("the DeBox app secret", app.app_secret),
        (
            "a DeBox transfer token",
            order["access_token"].as_str().unwrap().to_string(),
        ),
        ("a Qbit access token", access_token),
        ("a webhook signature", event.signature.clone()),
    ];
    for (what, secret) in secrets {
        assert!(!log.contains(&secret), "{what} reached the log");
    }
}
