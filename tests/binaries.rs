//! The real binaries, run by `cargo lambda watch` exactly as a developer
//! runs them, invoked with the files in `events/`, against the sandbox and
//! moto over real HTTP.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bundle_tests::{World, moto_endpoint};
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
            format!("QBIT_BASE_URL={}", world.sandbox.url()),
            format!("AWS_ENDPOINT_URL={}", moto_endpoint()),
            "AWS_ACCESS_KEY_ID=test".into(),
            "AWS_SECRET_ACCESS_KEY=test".into(),
            "AWS_REGION=us-east-1".into(),
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
        let output = cargo_lambda()
            .args([
                "invoke",
                function,
                "-A",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
            ])
            .args([
                "--data-file",
                &format!("events/{event_file}"),
                "--output-format",
                "json",
            ])
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo lambda invoke runs");
        assert!(
            output.status.success(),
            "invoke {function} failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
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

    // The functions whose issues have not landed answer 501 in the contract's shape.
    for (function, file) in [
        ("debox-order", "debox-order.json"),
        ("debox-transfer", "debox-transfer.json"),
        ("vbox-balance", "vbox-balance.json"),
        ("qbit-webhook", "qbit-webhook.json"),
    ] {
        let answer = invoke(function, file);
        assert_eq!(answer["statusCode"], 501, "{function}: {answer}");
        assert_eq!(body(&answer)["type"], "api_error");
    }
}
