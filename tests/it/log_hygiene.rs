//! Nothing secret or private reaches the log, on any path: each of the six
//! real function binaries (the debug builds), run as Lambda runs them
//! (under the Runtime API stand-in, `sandbox::lambda`) at the most verbose
//! settings (`AWS_LAMBDA_LOG_LEVEL=TRACE`, `RUST_LOG=trace`), is driven
//! through its success path and its error paths: bad input, a provider's
//! refusal, 5xx, garbage, a cut connection and a timeout (the sandbox's
//! fault injection), its table or its secret unreachable (a second process
//! whose `AWS_ENDPOINT_URL_DYNAMODB` or `AWS_ENDPOINT_URL_SECRETS_MANAGER`
//! points where nothing listens), and for the webhook a forged, garbled or
//! missing signature, a signed body it cannot read, and a redelivery.
//!
//! Everything each process printed, stdout and stderr, is then searched for
//! values planted so that a search is exact: every secret (the Qbit API key
//! and its Basic-auth form, the DeBox API key and app secret, the webhook
//! key material, the AWS secret key and session token), every token (Qbit
//! access tokens, by their JWT header; DeBox transfer tokens, sent or
//! answered; the Idempotency-Key, because a replay with it and the same
//! body hands back the charge's access token), every signature (the SigV4
//! header, the webhook's, DeBox's by its shape), request bodies (a marker in
//! each) and answer bodies (ours, and the provider's words). The lines operators need
//! (the money lines, the refusals) must be there, so the search cannot pass
//! on an empty log.
//!
//! The binaries are built by `cargo build` (a no-op when `scripts/test.sh`
//! has built them).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bundle_tests::{
    CALLER_ACCOUNT, CALLER_ARN, MERCHANT, Running, WEBHOOK_PRIVATE_KEY, WEBHOOK_PUBLIC_KEY, World,
    aws_config, closed_address, create_table, moto_endpoint, now_ms, unique, workspace_root,
};
use sandbox::lambda::{Outcome, RuntimeApi};
use sandbox::{DeboxApp, Fault, FaultKind, Sandbox, SandboxConfig, SigningKey};
use serde_json::{Value, json};

const FUNCTIONS: [&str; 6] = [
    "create-charge",
    "list-charges",
    "qbit-webhook",
    "debox-order",
    "debox-transfer",
    "vbox-balance",
];

/// The header of every JWT the Qbit sandbox issues (`{"alg":"HS256","typ":"JWT"}`):
/// any Qbit access token in a log contains it.
const QBIT_JWT_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// The body of every injected refusal, and of injected garbage: a provider's
/// words, which must not reach the log.
const PROVIDER_REFUSAL_TEXT: &str = "injected fault";
const PROVIDER_GARBAGE_TEXT: &str = "upstream hiccup";

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The six binaries as the code stands: one `cargo build` for all (a no-op
/// when up to date), once per test run.
fn binaries() -> &'static HashMap<String, PathBuf> {
    static BUILT: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    BUILT.get_or_init(|| bundle_tests::built_binaries(&FUNCTIONS))
}

/// A value that must never be printed, and what it is.
struct Marker {
    what: String,
    value: String,
}

fn marker(what: &str, value: impl Into<String>) -> Marker {
    Marker {
        what: what.to_string(),
        value: value.into(),
    }
}

/// One function's world: a sandbox, table and secret of its own (so faults
/// injected for one function never meet another), whose every secret is a
/// marker, and the markers of its requests and answers as they are made.
struct Scene {
    world: World,
    /// The AWS credentials the processes run with (moto accepts any).
    aws_secret_key: String,
    aws_session_token: String,
    /// The SigV4 `Signature=` and `x-amz-security-token` API Gateway passes on.
    sigv4_signature: String,
    header_session_token: String,
    markers: Vec<Marker>,
    logs: Vec<PathBuf>,
    /// Each path driven, and the status it answered.
    paths: Vec<(String, u16)>,
}

impl Scene {
    async fn new() -> Self {
        let api_key = unique("QBITAPIKEYMARKER");
        let app = DeboxApp {
            app_id: unique("app"),
            api_key: unique("DEBOXAPIKEYMARKER"),
            app_secret: unique("DEBOXAPPSECRETMARKER"),
        };
        let config = SandboxConfig {
            qbit_api_keys: vec![api_key.clone()],
            qbit_webhook_key_pem: Some(WEBHOOK_PRIVATE_KEY.to_string()),
            debox_app: app.clone(),
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let sdk = aws_config(&moto_endpoint()).await;
        let secrets_client = aws_sdk_secretsmanager::Client::new(&sdk);
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let table = unique("payments");
        create_table(&dynamo, &table).await;
        let secret_id = unique("payments");
        let secret = json!({
            "qbit_api_key": api_key,
            "qbit_webhook_public_key": WEBHOOK_PUBLIC_KEY,
            "debox_app_id": app.app_id,
            "debox_api_key": app.api_key,
            "debox_app_secret": app.app_secret,
        });
        secrets_client
            .create_secret()
            .name(&secret_id)
            .secret_string(secret.to_string())
            .send()
            .await
            .expect("moto creates the secret");
        let world = World {
            sandbox,
            sdk,
            secrets_client,
            secret_id,
            api_key: api_key.clone(),
            dynamo,
            table,
        };
        let mut scene = Self {
            world,
            aws_secret_key: unique("AWSSECRETKEYMARKER"),
            aws_session_token: unique("AWSSESSIONTOKENMARKER"),
            sigv4_signature: unique("SIGVFOURSIGNATUREMARKER"),
            header_session_token: unique("HEADERSESSIONTOKENMARKER"),
            markers: Vec::new(),
            logs: Vec::new(),
            paths: Vec::new(),
        };
        let basic = STANDARD.encode(format!("{api_key}:"));
        let mut secrets = vec![
            marker("the Qbit API key", api_key),
            marker("the Qbit API key as Basic auth", basic),
            marker("the DeBox API key", app.api_key),
            marker("the DeBox app secret", app.app_secret),
            marker("the secret's JSON", "\"qbit_api_key\""),
            marker("a Qbit access token (its JWT header)", QBIT_JWT_HEADER),
            marker("a provider's refusal text", PROVIDER_REFUSAL_TEXT),
            marker("a provider's garbage answer", PROVIDER_GARBAGE_TEXT),
            marker("AWS_SECRET_ACCESS_KEY", scene.aws_secret_key.clone()),
            marker("AWS_SESSION_TOKEN", scene.aws_session_token.clone()),
            marker(
                "the request's SigV4 signature",
                scene.sigv4_signature.clone(),
            ),
            marker(
                "the request's x-amz-security-token",
                scene.header_session_token.clone(),
            ),
        ];
        // The webhook keys' material: a line from the middle of each PEM.
        for (what, pem) in [
            ("the webhook public key", WEBHOOK_PUBLIC_KEY),
            ("the webhook signing key", WEBHOOK_PRIVATE_KEY),
        ] {
            let lines: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            secrets.push(marker(what, lines[lines.len() / 2]));
        }
        scene.markers = secrets;
        scene
    }

    /// Plant a value in a request, or note one an answer carried.
    fn never(&mut self, what: &str, value: &str) -> String {
        assert!(!value.is_empty(), "{what} is known");
        self.markers.push(marker(what, value));
        value.to_string()
    }

    /// A unique marker to plant in a request.
    fn plant(&mut self, what: &str, prefix: &str) -> String {
        let value = unique(prefix);
        self.never(what, &value)
    }

    fn setup(&self) -> demo::Setup {
        demo::Setup {
            lambda_port: 0,
            sandbox_url: self.world.sandbox.url(),
            moto_endpoint: moto_endpoint(),
            table: self.world.table.clone(),
            secret_id: self.world.secret_id.clone(),
            merchant: MERCHANT.into(),
            events: workspace_root().join("events"),
            scratch: scratch(),
        }
    }

    /// Start `function` as Lambda would, with every level raised, with
    /// `outage` (nothing listens where its table or secret is).
    async fn start(&mut self, function: &'static str, outage: Outage) -> Lambda {
        let binary = &binaries()[function];
        let api = RuntimeApi::start(function).await.unwrap();
        let log_path = scratch().join(format!("{}.log", unique(&format!("hygiene-{function}"))));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(binary);
        command.env_clear();
        for pair in demo::function_env(&self.setup()) {
            let (name, value) = pair.split_once('=').unwrap();
            command.env(name, value);
        }
        command.envs(api.lambda_env(function)).envs([
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("RUST_LOG", "trace"),
            ("AWS_SECRET_ACCESS_KEY", self.aws_secret_key.as_str()),
            ("AWS_SESSION_TOKEN", self.aws_session_token.as_str()),
        ]);
        match outage {
            Outage::None => {}
            Outage::Table => {
                command.env("AWS_ENDPOINT_URL_DYNAMODB", closed_address());
            }
            Outage::Secret => {
                command.env("AWS_ENDPOINT_URL_SECRETS_MANAGER", closed_address());
            }
        }
        let process = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.logs.push(log_path.clone());
        Lambda {
            api,
            process: Running(process),
            log: log_path,
            outage,
        }
    }

    /// Invoke, check the status, note the path.
    async fn expect(&mut self, lambda: &Lambda, path: &str, event: &Value, status: u16) -> Value {
        self.expect_by(lambda, path, event, status, now_ms() + 15_000)
            .await
    }

    async fn expect_by(
        &mut self,
        lambda: &Lambda,
        path: &str,
        event: &Value,
        status: u16,
        deadline_ms: u64,
    ) -> Value {
        let answer = lambda.invoke(event, deadline_ms).await;
        let path = match lambda.outage {
            Outage::None => path.to_string(),
            Outage::Table => format!("{path} (table unreachable)"),
            Outage::Secret => format!("{path} (secret unreachable)"),
        };
        assert_eq!(
            answer["statusCode"],
            status,
            "{path}: {answer}\n{}",
            lambda.printed()
        );
        self.paths.push((path, status));
        answer
    }

    fn fault(&self, path: &str, method: Option<&str>, kind: FaultKind) {
        let mut fault = Fault::new(path, kind).times(1);
        fault.method = method.map(str::to_string);
        self.world.sandbox.state().inject(fault);
    }

    /// An event as API Gateway sends a SigV4-signed request: the signature
    /// and session token as headers, the verified identity in the context.
    fn signed_event(&self, method: &str, path: &str) -> Value {
        let mut event = unsigned_event(method, path);
        event["headers"]["authorization"] = json!(format!(
            "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261121/us-east-1/execute-api/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature={}",
            self.sigv4_signature
        ));
        event["headers"]["x-amz-security-token"] = json!(self.header_session_token);
        event["headers"]["x-amz-date"] = json!("20261121T100000Z");
        event["requestContext"]["authorizer"] = json!({"iam": {
            "accessKey": "AKIAEXAMPLE", "accountId": CALLER_ACCOUNT, "callerId": "AIDAEXAMPLE",
            "principalOrgId": null, "userArn": CALLER_ARN, "userId": "AIDAEXAMPLE"}});
        event
    }

    /// Everything the scene's processes printed, searched: no marker, no
    /// DeBox signature, no panic; the paths driven printed for the report.
    fn check(&self, function: &str) -> Vec<Value> {
        let mut printed = String::new();
        for log in &self.logs {
            printed.push_str(&std::fs::read_to_string(log).unwrap());
        }
        let mut leaks = Vec::new();
        for Marker { what, value } in &self.markers {
            if let Some(line) = printed.lines().find(|l| l.contains(value.as_str())) {
                leaks.push(format!("{what} ({value}):\n    {line}"));
            }
        }
        if let Some(line) = printed.lines().find(|l| has_sha1_hex(l)) {
            leaks.push(format!(
                "a DeBox request signature (40 hex digits):\n    {line}"
            ));
        }
        if let Some(line) = printed.lines().find(|l| l.contains("panicked")) {
            leaks.push(format!("a panic:\n    {line}"));
        }
        assert!(
            leaks.is_empty(),
            "{function} printed at TRACE what it must never print:\n{}\n(logs: {:?})",
            leaks.join("\n"),
            self.logs
        );
        let lines: Vec<Value> = printed
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert!(
            lines.iter().any(|l| l["level"] == "DEBUG"
                && l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("log levels:"))),
            "{function}: no DEBUG line from our code: the log was not captured at TRACE\n{printed}"
        );
        eprintln!(
            "log hygiene, {function}: {} paths, {} markers, {} lines, clean:",
            self.paths.len(),
            self.markers.len() + 1,
            printed.lines().count()
        );
        for (path, status) in &self.paths {
            eprintln!("  {status} {path}");
        }
        lines
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outage {
    None,
    Table,
    Secret,
}

struct Lambda {
    api: RuntimeApi,
    process: Running,
    log: PathBuf,
    outage: Outage,
}

impl Lambda {
    fn printed(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// API Gateway's answer (`statusCode`, `headers`, `body`).
    async fn invoke(&self, event: &Value, deadline_ms: u64) -> Value {
        let invoked = self.api.invoke(event.to_string(), deadline_ms);
        match tokio::time::timeout(Duration::from_secs(60), invoked).await {
            Ok(Ok(Outcome::Response(body))) => serde_json::from_slice(&body).unwrap(),
            Ok(Ok(Outcome::Error(body))) => panic!(
                "the function failed: {}\n{}",
                String::from_utf8_lossy(&body),
                self.printed()
            ),
            _ => panic!("no answer within a minute\n{}", self.printed()),
        }
    }

    fn stop(self) {
        drop(self.process);
    }
}

/// An API Gateway HTTP API (v2) event without an IAM identity (the webhook's route).
fn unsigned_event(method: &str, path: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.test", "user-agent": "tests"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.test",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "tests"},
            "requestId": "apigw-request", "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "21/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1_795_255_200_000u64
        },
        "isBase64Encoded": false
    })
}

fn with_body(mut event: Value, content_type: &str, body: &str) -> Value {
    event["headers"]["content-type"] = json!(content_type);
    event["body"] = json!(body);
    event
}

fn with_json(event: Value, body: &Value) -> Value {
    with_body(event, "application/json", &body.to_string())
}

fn with_query(mut event: Value, raw: &str) -> Value {
    event["rawQueryString"] = json!(raw);
    event
}

/// The answer's body, as JSON.
fn body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

/// A run of exactly 40 lowercase hex digits: the shape of DeBox's request
/// signature (SHA-1 of the app secret, nonce and timestamp), whose value the
/// test cannot know. (Claim ids are 32 digits, item keys 64.)
fn has_sha1_hex(line: &str) -> bool {
    line.split(|c: char| !matches!(c, '0'..='9' | 'a'..='f'))
        .any(|run| run.len() == 40)
}

/// A line with this message and these fields.
fn find<'a>(lines: &'a [Value], message: &str, fields: &[(&str, Value)]) -> &'a Value {
    lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == message && fields.iter().all(|(k, v)| l["fields"][*k] == *v)
        })
        .unwrap_or_else(|| {
            panic!(
                "no {message:?} line with {fields:?} in:\n{}",
                lines
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}

/// An EMF metric line with this `Outcome`.
fn metric<'a>(lines: &'a [Value], name: &str, outcome: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| {
            l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == name
                && l["Outcome"] == outcome
        })
        .unwrap_or_else(|| panic!("no {name} metric line with Outcome {outcome}"))
}

/// Refused (4xx) and failed (5xx) requests are logged by status.
fn refused_and_failed(lines: &[Value], refused: &[u16], failed: &[u16]) {
    for status in refused {
        find(lines, "request refused", &[("status", json!(status))]);
    }
    for status in failed {
        find(lines, "request failed", &[("status", json!(status))]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn create_charge_never_logs_a_secret_token_signature_or_body() {
    tokio::task::block_in_place(binaries);
    let mut scene = Scene::new().await;
    let lambda = scene.start("create-charge", Outage::None).await;
    let charges = "/api/v1/charges";

    // Success, then its replay (the duplicate), then the key reused with another body.
    let order = scene.plant("the request body (externalOrderId)", "ORDERMARKER");
    let key = scene.plant("the Idempotency-Key", "IDEMPOTENCYKEYMARKER");
    let charge = json!({"amount": 1000, "currency": "USD", "externalOrderId": order});
    let mut keyed = with_json(scene.signed_event("POST", "/charges"), &charge);
    keyed["headers"]["idempotency-key"] = json!(key);
    let created = scene.expect(&lambda, "success", &keyed, 200).await;
    let created = body(&created);
    let token = created["accessToken"].as_str().unwrap().to_string();
    scene.never("the answer's access token", &token);
    let page = created["charge"]["paymentPageUrl"].as_str().unwrap();
    let trade = page.split_once("tradeId=").unwrap().1.to_string();
    scene.never("the answer's payment page (tradeId)", &trade);
    let replayed = scene
        .expect(&lambda, "duplicate (replay)", &keyed, 200)
        .await;
    assert_eq!(replayed["headers"]["idempotent-replayed"], "true");
    let other = scene.plant("the request body (externalOrderId)", "ORDERMARKER");
    let mut reused = with_json(
        scene.signed_event("POST", "/charges"),
        &json!({"amount": 1000, "currency": "USD", "externalOrderId": other}),
    );
    reused["headers"]["idempotency-key"] = json!(key);
    scene
        .expect(&lambda, "key reused, other body", &reused, 409)
        .await;

    // Bad input, each with its body marked.
    for (what, text) in [
        (
            "bad input: amount 0",
            r#"{"amount": 0, "currency": "USD", "externalOrderId": "%M"}"#,
        ),
        (
            "bad input: amount a string",
            r#"{"amount": "%M", "currency": "USD", "externalOrderId": "o"}"#,
        ),
        (
            "bad input: currency",
            r#"{"amount": 1, "currency": "%M", "externalOrderId": "o"}"#,
        ),
        (
            "bad input: unknown field",
            r#"{"amount": 1, "currency": "USD", "externalOrderId": "o", "note": "%M"}"#,
        ),
        (
            "bad input: truncated JSON",
            r#"{"amount": 1, "currency": "USD", "externalOrderId": "%M"#,
        ),
    ] {
        let mark = scene.plant("the request body", "BODYMARKER");
        let event = with_body(
            scene.signed_event("POST", "/charges"),
            "application/json",
            &text.replace("%M", &mark),
        );
        scene.expect(&lambda, what, &event, 400).await;
    }
    let mark = scene.plant("the request body", "BODYMARKER");
    let event = with_body(scene.signed_event("POST", "/charges"), "text/plain", &mark);
    scene
        .expect(&lambda, "bad input: not JSON", &event, 415)
        .await;

    // Qbit refuses, fails, answers garbage, cuts the connection, stalls.
    let plain = |scene: &mut Scene| {
        let order = scene.plant("the request body (externalOrderId)", "ORDERMARKER");
        with_json(
            scene.signed_event("POST", "/charges"),
            &json!({"amount": 1000, "currency": "USD", "externalOrderId": order}),
        )
    };
    for (what, kind, status) in [
        (
            "provider refusal (400)",
            FaultKind::Status { status: 400 },
            400,
        ),
        (
            "provider refusal (402)",
            FaultKind::Status { status: 402 },
            402,
        ),
        (
            "provider refusal (403)",
            FaultKind::Status { status: 403 },
            502,
        ),
        ("provider 5xx", FaultKind::Status { status: 500 }, 502),
        ("provider garbage", FaultKind::Garbage, 502),
        ("provider cut the connection", FaultKind::DropAfter, 502),
    ] {
        scene.fault(charges, Some("POST"), kind);
        let event = plain(&mut scene);
        scene.expect(&lambda, what, &event, status).await;
    }
    scene.fault(charges, Some("POST"), FaultKind::Hang);
    let event = plain(&mut scene);
    // The charge call gets what is left after the record margin and one write: 2 s.
    scene
        .expect_by(&lambda, "provider timeout", &event, 504, now_ms() + 11_000)
        .await;
    lambda.stop();

    let table_down = scene.start("create-charge", Outage::Table).await;
    let mut keyed = plain(&mut scene);
    let key = scene.plant("the Idempotency-Key", "IDEMPOTENCYKEYMARKER");
    keyed["headers"]["idempotency-key"] = json!(key);
    scene.expect(&table_down, "with a key", &keyed, 503).await;
    let event = plain(&mut scene);
    scene
        .expect(&table_down, "without a key", &event, 503)
        .await;
    table_down.stop();
    let secret_down = scene.start("create-charge", Outage::Secret).await;
    let event = plain(&mut scene);
    scene
        .expect(&secret_down, "success path", &event, 503)
        .await;
    secret_down.stop();

    let lines = scene.check("create-charge");
    let charge_id = json!(created["charge"]["id"]);
    let made = find(&lines, "charge created", &[("charge_id", charge_id)]);
    assert_eq!(made["fields"]["amount"], 1000, "{made}");
    assert_eq!(made["fields"]["caller_arn"], CALLER_ARN, "{made}");
    find(&lines, "idempotent replay", &[]);
    find(
        &lines,
        "provider refused the call",
        &[("status", json!(402))],
    );
    find(&lines, "provider call failed", &[("timeout", json!(false))]);
    refused_and_failed(&lines, &[400, 402, 409, 415], &[502, 503, 504]);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_charges_never_logs_a_secret_token_signature_or_body() {
    tokio::task::block_in_place(binaries);
    let mut scene = Scene::new().await;
    let order = scene.plant(
        "an answer's body (a charge's externalOrderId)",
        "ORDERMARKER",
    );
    scene.world.charge_at_qbit(1000, &order).await;
    let lambda = scene.start("list-charges", Outage::None).await;
    let list =
        |scene: &Scene, query: &str| with_query(scene.signed_event("GET", "/charges"), query);

    let listed = scene
        .expect(&lambda, "success", &list(&scene, "limit=5"), 200)
        .await;
    assert_eq!(body(&listed)["data"][0]["externalOrderId"], json!(order));
    let limit = scene.plant("the request's query", "LIMITMARKER");
    let event = list(&scene, &format!("limit={limit}"));
    scene.expect(&lambda, "bad input: limit", &event, 400).await;
    let cursor = scene.plant(
        "the provider's refusal text (Qbit quotes the cursor)",
        "CURSORMARKER",
    );
    let event = list(&scene, &format!("starting_after={cursor}"));
    scene
        .expect(&lambda, "provider refusal (404)", &event, 404)
        .await;
    for (what, kind, status) in [
        (
            "provider refusal (403)",
            FaultKind::Status { status: 403 },
            502,
        ),
        ("provider 5xx", FaultKind::Status { status: 500 }, 502),
        ("provider garbage", FaultKind::Garbage, 502),
        ("provider cut the connection", FaultKind::DropAfter, 502),
        // The client's own timeout: 10 s.
        ("provider timeout", FaultKind::Hang, 504),
    ] {
        scene.fault("/api/v1/charges", Some("GET"), kind);
        scene
            .expect(&lambda, what, &list(&scene, "limit=5"), status)
            .await;
    }
    lambda.stop();
    let secret_down = scene.start("list-charges", Outage::Secret).await;
    scene
        .expect(&secret_down, "success path", &list(&scene, "limit=5"), 503)
        .await;
    secret_down.stop();

    let lines = scene.check("list-charges");
    find(&lines, "charges listed", &[("count", json!(1))]);
    find(
        &lines,
        "provider refused the call",
        &[("status", json!(404))],
    );
    find(&lines, "provider call failed", &[("timeout", json!(true))]);
    refused_and_failed(&lines, &[400, 404], &[502, 503, 504]);
}

#[tokio::test(flavor = "multi_thread")]
async fn qbit_webhook_never_logs_a_secret_signature_or_body() {
    tokio::task::block_in_place(binaries);
    let mut scene = Scene::new().await;
    let hook = |body: &str, signature: Option<&str>| {
        let mut event = with_body(
            unsigned_event("POST", "/webhooks/qbit"),
            "application/json",
            body,
        );
        if let Some(signature) = signature {
            event["headers"]["x-qbitpay-signature"] = json!(signature);
        }
        event
    };
    // A charge of ours (recorded by create-charge), paid; one Qbit holds
    // that we never made; each event's body carries a marked order id.
    let order = scene.plant("the event body (externalOrderId)", "ORDERMARKER");
    let ours = scene.world.create_charge(1000, "USD", &order).await;
    let foreign_order = scene.plant("the event body (externalOrderId)", "ORDERMARKER");
    let foreign = scene.world.charge_at_qbit(700, &foreign_order).await;
    let settle = |charge: &str, kind: &str| {
        scene
            .world
            .sandbox
            .state()
            .settle_charge(charge, kind)
            .unwrap()
    };
    let paid = settle(&ours, "charge.succeeded");
    let closed = settle(&ours, "charge.closed");
    let failed = settle(&ours, "charge.failed");
    let unmatched = settle(&foreign, "charge.succeeded");
    for event in [&paid, &closed, &failed, &unmatched] {
        scene.never("the webhook signature", &event.signature);
    }
    let signer = SigningKey::new(Some(WEBHOOK_PRIVATE_KEY)).unwrap();
    let unreadable = format!(
        r#"{{"object": "event", "note": "{}"}}"#,
        scene.plant("an unreadable signed body", "UNREADABLEMARKER")
    );
    let unreadable_signature = signer.sign(unreadable.as_bytes());
    scene.never("the webhook signature", &unreadable_signature);
    let lambda = scene.start("qbit-webhook", Outage::None).await;

    let event = hook(&paid.body, Some(&paid.signature));
    let first = scene.expect(&lambda, "success", &event, 200).await;
    assert_eq!(body(&first)["duplicate"], false);
    let again = scene
        .expect(&lambda, "duplicate (redelivery)", &event, 200)
        .await;
    assert_eq!(body(&again)["duplicate"], true);
    let event = hook(&unmatched.body, Some(&unmatched.signature));
    scene
        .expect(&lambda, "a charge not ours (unmatched)", &event, 200)
        .await;
    let event = hook(&unreadable, Some(&unreadable_signature));
    scene
        .expect(&lambda, "unreadable signed body", &event, 200)
        .await;
    let forged = STANDARD.encode(unique("FORGEDSIGNATURE").repeat(8));
    scene.never("a forged webhook signature", &forged);
    let event = hook(&closed.body, Some(&forged));
    scene.expect(&lambda, "bad signature", &event, 401).await;
    let garbled = scene.plant("a garbled webhook signature", "GARBLED-SIGNATURE");
    let event = hook(&closed.body, Some(&garbled));
    scene
        .expect(&lambda, "garbled signature", &event, 401)
        .await;
    let event = hook(&closed.body, None);
    scene.expect(&lambda, "no signature", &event, 401).await;
    let mark = scene.plant("the request body", "BODYMARKER");
    let event = with_body(
        unsigned_event("POST", "/webhooks/qbit"),
        "text/plain",
        &mark,
    );
    scene
        .expect(&lambda, "bad input: not JSON", &event, 415)
        .await;
    let event = hook("  ", Some(&closed.signature));
    scene
        .expect(&lambda, "bad input: empty body", &event, 400)
        .await;
    lambda.stop();

    let table_down = scene.start("qbit-webhook", Outage::Table).await;
    let event = hook(&closed.body, Some(&closed.signature));
    scene.expect(&table_down, "success path", &event, 503).await;
    let event = hook(&unreadable, Some(&unreadable_signature));
    scene
        .expect(&table_down, "unreadable signed body", &event, 503)
        .await;
    table_down.stop();
    let secret_down = scene.start("qbit-webhook", Outage::Secret).await;
    let event = hook(&failed.body, Some(&failed.signature));
    scene
        .expect(&secret_down, "success path", &event, 503)
        .await;
    secret_down.stop();

    let lines = scene.check("qbit-webhook");
    let event_id = json!(paid.id);
    let recorded = find(
        &lines,
        "webhook recorded",
        &[("event_id", event_id.clone()), ("duplicate", json!(false))],
    );
    assert_eq!(recorded["fields"]["applied"], true, "{recorded}");
    assert_eq!(recorded["fields"]["charge_id"], json!(ours), "{recorded}");
    find(
        &lines,
        "webhook recorded",
        &[("event_id", event_id), ("duplicate", json!(true))],
    );
    find(
        &lines,
        "webhook event unmatched: kept for an operator, no charge changed",
        &[("event_id", json!(unmatched.id))],
    );
    find(&lines, "unreadable webhook event kept for an operator", &[]);
    find(
        &lines,
        "unreadable webhook event could not be kept: store unavailable",
        &[],
    );
    find(&lines, "webhook refused", &[]);
    metric(&lines, "WebhookEvents", "unmatched");
    metric(&lines, "WebhookEvents", "unreadable");
    refused_and_failed(&lines, &[400, 401, 415], &[503]);
}

#[tokio::test(flavor = "multi_thread")]
async fn debox_order_never_logs_a_secret_token_or_body() {
    tokio::task::block_in_place(binaries);
    let mut scene = Scene::new().await;
    let lambda = scene.start("debox-order", Outage::None).await;
    let order =
        |scene: &Scene, body: &Value| with_json(scene.signed_event("POST", "/debox/orders"), body);
    let merchant_pays = json!({"receiver_user_id": "u1", "amount": "10.50"});

    let made = scene
        .expect(
            &lambda,
            "success (merchant pays)",
            &order(&scene, &merchant_pays),
            200,
        )
        .await;
    let made = body(&made);
    scene.never(
        "the answer's transfer token",
        made["access_token"].as_str().unwrap(),
    );
    let pay_info = scene.plant("the request body (pay_info)", "PAYINFOMARKER");
    let state = scene.plant("the request body (redirect_uri)", "REDIRECTMARKER");
    let user_pays = json!({"flow": "user_pays", "payer_user_id": "u2", "amount": "5",
        "pay_info": pay_info, "redirect_uri": format!("https://merchant.example/back?state={state}")});
    let authorize = scene
        .expect(
            &lambda,
            "success (user pays)",
            &order(&scene, &user_pays),
            200,
        )
        .await;
    assert!(
        body(&authorize)["authorize_url"]
            .as_str()
            .unwrap()
            .contains(&pay_info)
    );

    for (what, text) in [
        (
            "bad input: amount",
            r#"{"receiver_user_id": "u1", "amount": "%M"}"#,
        ),
        (
            "bad input: amount a number",
            r#"{"receiver_user_id": "u1", "amount": 10.5, "note": "%M"}"#,
        ),
        (
            "bad input: receiver",
            r#"{"receiver_user_id": "has space %M", "amount": "1"}"#,
        ),
        (
            "bad input: flow",
            r#"{"flow": "%M", "receiver_user_id": "u1", "amount": "1"}"#,
        ),
        (
            "bad input: redirect_uri",
            r#"{"flow": "user_pays", "payer_user_id": "u2", "amount": "5", "pay_info": "p", "redirect_uri": "http://%M"}"#,
        ),
        ("bad input: truncated JSON", r#"{"receiver_user_id": "%M"#),
    ] {
        let mark = scene.plant("the request body", "BODYMARKER");
        let event = with_body(
            scene.signed_event("POST", "/debox/orders"),
            "application/json",
            &text.replace("%M", &mark),
        );
        scene.expect(&lambda, what, &event, 400).await;
    }
    for (what, kind, status) in [
        (
            "provider refusal (401: our credentials)",
            FaultKind::Status { status: 401 },
            502,
        ),
        ("provider 5xx", FaultKind::Status { status: 500 }, 502),
        ("provider garbage", FaultKind::Garbage, 502),
        ("provider cut the connection", FaultKind::DropAfter, 502),
        ("provider timeout", FaultKind::Hang, 504),
    ] {
        scene.fault("/openapi/payment/order", None, kind);
        scene
            .expect(&lambda, what, &order(&scene, &merchant_pays), status)
            .await;
    }
    lambda.stop();
    let secret_down = scene.start("debox-order", Outage::Secret).await;
    scene
        .expect(
            &secret_down,
            "success path",
            &order(&scene, &merchant_pays),
            503,
        )
        .await;
    secret_down.stop();

    let lines = scene.check("debox-order");
    let created = find(
        &lines,
        "debox order created",
        &[("serial_id", made["serial_id"].clone())],
    );
    assert_eq!(created["fields"]["amount"], "10.5", "{created}");
    find(
        &lines,
        "provider refused the call",
        &[("status", json!(401))],
    );
    refused_and_failed(&lines, &[400], &[502, 503, 504]);
}

#[tokio::test(flavor = "multi_thread")]
async fn debox_transfer_never_logs_a_secret_token_or_body() {
    tokio::task::block_in_place(binaries);
    let mut scene = Scene::new().await;
    let debox = scene.world.debox();
    let merchant = shared::debox::UserId::parse(MERCHANT).unwrap();
    let receiver = shared::debox::UserId::parse("u1").unwrap();
    let amount: shared::debox::Amount = "10.50".parse().unwrap();
    // Orders made at DeBox (through our client, in this process): their tokens are secrets.
    let mut orders = Vec::new();
    for _ in 0..10 {
        let order = debox
            .client
            .create_order(&merchant, &receiver, amount)
            .await
            .unwrap();
        scene.never("a transfer token", &order.access_token);
        orders.push(order);
    }
    let mut orders = orders.into_iter();
    let lambda = scene.start("debox-transfer", Outage::None).await;
    let transfer = |scene: &Scene, body: &Value| {
        with_json(scene.signed_event("POST", "/debox/transfers"), body)
    };
    let spend = |order: &shared::debox::Order| json!({"access_token": order.access_token, "serial_id": order.serial_id, "verify_amount": "10.50"});

    let paid = orders.next().unwrap();
    scene
        .expect(&lambda, "success", &transfer(&scene, &spend(&paid)), 200)
        .await;
    scene
        .expect(&lambda, "duplicate", &transfer(&scene, &spend(&paid)), 409)
        .await;

    let token = orders.next().unwrap().access_token;
    for (what, body) in [
        (
            "bad input: serial_id",
            json!({"access_token": token, "serial_id": "has space", "verify_amount": "1"}),
        ),
        (
            "bad input: verify_amount",
            json!({"access_token": token, "serial_id": "s1", "verify_amount": token}),
        ),
        (
            "bad input: token not a string",
            json!({"access_token": 5, "serial_id": token}),
        ),
        (
            "bad input: unknown field",
            json!({"access_token": token, "serial_id": "s1", "note": token}),
        ),
    ] {
        scene
            .expect(&lambda, what, &transfer(&scene, &body), 400)
            .await;
    }
    let truncated = format!(r#"{{"access_token": "{token}", "serial_id": "s"#);
    let event = with_body(
        scene.signed_event("POST", "/debox/transfers"),
        "application/json",
        &truncated,
    );
    scene
        .expect(&lambda, "bad input: truncated JSON", &event, 400)
        .await;

    // DeBox refuses: a token that is not the order's, then a balance too low.
    let wrong = scene.plant("a transfer token (refused)", "TOKENMARKER");
    let order = orders.next().unwrap();
    let refused =
        json!({"access_token": wrong, "serial_id": order.serial_id, "verify_amount": "10.50"});
    scene
        .expect(
            &lambda,
            "provider refusal (token)",
            &transfer(&scene, &refused),
            400,
        )
        .await;
    let balance = scene.world.sandbox.state().balance(MERCHANT);
    scene.world.sandbox.state().set_balance(MERCHANT, 0);
    let poor = orders.next().unwrap();
    scene
        .expect(
            &lambda,
            "provider refusal (balance)",
            &transfer(&scene, &spend(&poor)),
            402,
        )
        .await;
    scene.world.sandbox.state().set_balance(MERCHANT, balance);
    for (what, kind, status) in [
        ("provider 5xx", FaultKind::Status { status: 500 }, 502),
        ("provider garbage", FaultKind::Garbage, 502),
        (
            "provider cut the connection (after the effect)",
            FaultKind::DropAfter,
            502,
        ),
    ] {
        scene.fault("/openapi/payment/transfer", None, kind);
        let order = orders.next().unwrap();
        scene
            .expect(&lambda, what, &transfer(&scene, &spend(&order)), status)
            .await;
    }
    scene.fault("/openapi/payment/transfer", None, FaultKind::Hang);
    let stalled = orders.next().unwrap();
    // The call gets what is left after the record margin: 2 s.
    scene
        .expect_by(
            &lambda,
            "provider timeout",
            &transfer(&scene, &spend(&stalled)),
            504,
            now_ms() + 7_000,
        )
        .await;
    lambda.stop();

    let table_down = scene.start("debox-transfer", Outage::Table).await;
    let order = orders.next().unwrap();
    scene
        .expect(
            &table_down,
            "success path",
            &transfer(&scene, &spend(&order)),
            503,
        )
        .await;
    table_down.stop();
    let secret_down = scene.start("debox-transfer", Outage::Secret).await;
    let order = orders.next().unwrap();
    scene
        .expect(
            &secret_down,
            "success path",
            &transfer(&scene, &spend(&order)),
            503,
        )
        .await;
    secret_down.stop();

    let lines = scene.check("debox-transfer");
    let serial = json!(paid.serial_id);
    let settled = find(
        &lines,
        "transfer settled",
        &[
            ("serial_id", serial.clone()),
            ("outcome", json!("succeeded")),
        ],
    );
    assert_eq!(settled["fields"]["amount"], "10.5", "{settled}");
    assert_eq!(settled["fields"]["caller_arn"], CALLER_ARN, "{settled}");
    find(
        &lines,
        "transfer refused: serial already claimed",
        &[("serial_id", serial)],
    );
    find(
        &lines,
        "transfer settled",
        &[
            ("serial_id", json!(poor.serial_id)),
            ("outcome", json!("failed")),
        ],
    );
    find(
        &lines,
        "transfer settled",
        &[
            ("serial_id", json!(stalled.serial_id)),
            ("outcome", json!("unknown")),
        ],
    );
    for outcome in ["succeeded", "failed", "unknown", "duplicate"] {
        metric(&lines, "Transfers", outcome);
    }
    refused_and_failed(&lines, &[400, 402, 409], &[502, 503, 504]);
}

#[tokio::test(flavor = "multi_thread")]
async fn vbox_balance_never_logs_a_secret_or_body() {
    tokio::task::block_in_place(binaries);
    let mut scene = Scene::new().await;
    let lambda = scene.start("vbox-balance", Outage::None).await;
    let balance =
        |scene: &Scene, query: &str| with_query(scene.signed_event("GET", "/vbox/balance"), query);

    scene
        .expect(&lambda, "success", &balance(&scene, ""), 200)
        .await;
    let mark = scene.plant("the request's query", "QUERYMARKER");
    let event = balance(&scene, &format!("user={mark}"));
    scene
        .expect(&lambda, "bad input: a parameter", &event, 400)
        .await;
    for (what, kind, status) in [
        (
            "provider refusal (401: our credentials)",
            FaultKind::Status { status: 401 },
            502,
        ),
        ("provider 5xx", FaultKind::Status { status: 500 }, 502),
        ("provider garbage", FaultKind::Garbage, 502),
        ("provider cut the connection", FaultKind::DropAfter, 502),
        ("provider timeout", FaultKind::Hang, 504),
    ] {
        scene.fault("/openapi/payment/assert/vbox", None, kind);
        scene
            .expect(&lambda, what, &balance(&scene, ""), status)
            .await;
    }
    lambda.stop();
    let secret_down = scene.start("vbox-balance", Outage::Secret).await;
    scene
        .expect(&secret_down, "success path", &balance(&scene, ""), 503)
        .await;
    secret_down.stop();

    let lines = scene.check("vbox-balance");
    find(
        &lines,
        "provider refused the call",
        &[("status", json!(401))],
    );
    find(&lines, "provider answer unreadable", &[]);
    refused_and_failed(&lines, &[400], &[502, 503, 504]);
}
