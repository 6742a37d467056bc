//! The real binaries, run by `cargo lambda watch` exactly as a developer
//! runs them, telling the story the local run shows (`demo`: the files in
//! `events/`, against the sandbox and moto over real HTTP), with the same
//! environment the local run gives them (`demo::function_env`).

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use bundle_tests::{Answer, World, workspace_root};
use serde_json::{Value, json};

/// Where this test writes its logs and event files: cargo's directory for
/// integration tests' files, wherever `CARGO_TARGET_DIR` puts it.
fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
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
        let port = port_no_other_test_is_handed();
        let log = scratch().join(format!("cargo-lambda-watch-{port}.log"));
        let log = std::fs::File::create(&log).unwrap();
        let env = demo::function_env(&world.local_run(port, &scratch()));
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
}

/// A free port below the kernel's ephemeral range. `cargo lambda watch`
/// binds the port itself, some time after we chose it; a port the kernel
/// handed us (`127.0.0.1:0`) and we freed could meanwhile be handed to
/// another test's sandbox, and this test would talk to that. Ports below
/// the range are never handed out that way.
fn port_no_other_test_is_handed() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let first = 20_000.min(ephemeral_low / 2);
    // Spread over the range so that concurrent test runs rarely try the
    // same ports first.
    let offset = (std::process::id() as u16) % (ephemeral_low - first);
    (0..ephemeral_low - first)
        .map(|step| first + (offset + step) % (ephemeral_low - first))
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port below the ephemeral range")
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

/// The story the local run shows (`demo`), told by the real binaries under
/// `cargo lambda watch`; then what only a test can check: every answer
/// against `openapi.yaml`, and the log operators get.
#[tokio::test(flavor = "multi_thread")]
async fn the_binaries_tell_the_story_the_local_run_shows() {
    let world = World::start().await;
    let watch = tokio::task::block_in_place(|| Watch::start(&world));
    let story = demo::run(&world.local_run(watch.port, &scratch()), &mut |_| {})
        .await
        .unwrap_or_else(|why| panic!("the story failed: {why}"));

    for invocation in &story.invocations {
        bundle_tests::contract::check(
            &invocation.method,
            &invocation.path,
            &answer_of(&invocation.response),
        );
    }

    // What operators get: JSON lines carrying the Lambda request id and, for
    // money, the serial or event and the outcome; never a secret or token.
    let log =
        std::fs::read_to_string(scratch().join(format!("cargo-lambda-watch-{}.log", watch.port)))
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
    let order = &story.order;
    let settled = find("transfer settled", "serial_id", &order["serial_id"]);
    assert_eq!(settled["fields"]["outcome"], "succeeded");
    assert_eq!(
        settled["span"]["requestId"],
        json!(story.transfer_request_id)
    );
    // Who moved money, from the identity API Gateway verified (the event files carry one).
    assert_eq!(settled["fields"]["caller_arn"], bundle_tests::CALLER_ARN);
    assert_eq!(
        settled["fields"]["caller_account"],
        bundle_tests::CALLER_ACCOUNT
    );
    let created = find("charge created", "charge_id", &json!(story.charge_id));
    assert!(created["fields"]["amount"].is_number(), "{created}");
    assert_eq!(created["fields"]["caller_arn"], bundle_tests::CALLER_ARN);
    // The sample event is about a charge this bundle never made: unmatched, counted.
    let unmatched = lines
        .iter()
        .find(|l| l["Outcome"] == "unmatched" && l["event_id"] == "evt_1")
        .expect("an unmatched metric line for the sample event");
    assert_eq!(
        unmatched["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "PaymentsBundle"
    );
    let recorded = find("webhook recorded", "event_id", &json!(story.paid_event_id));
    assert_eq!(recorded["fields"]["charge_id"], json!(story.charge_id));
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
    let secrets = [
        ("the Qbit API key", world.api_key.clone()),
        ("the DeBox API key", app.api_key),
        ("the DeBox app secret", app.app_secret),
        (
            "a DeBox transfer token",
            order["access_token"].as_str().unwrap().to_string(),
        ),
        ("a Qbit access token", story.access_token.clone()),
        ("a webhook signature", story.paid_event_signature.clone()),
    ];
    for (what, secret) in secrets {
        assert!(!secret.is_empty(), "{what} is known");
        assert!(!log.contains(&secret), "{what} reached the log");
    }
}
