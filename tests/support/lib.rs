//! What the integration tests share: moto (started by `scripts/test.sh`,
//! found through `MOTO_ENDPOINT`), a sandbox per test on a free port, and
//! API Gateway v2 events parsed by `lambda_http` exactly as in Lambda.

pub mod contract;
pub mod soak;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_secretsmanager::config::{Credentials, Region};
use lambda_http::{Body, Context, Request, RequestExt, Response};
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};
use shared::bootstrap::Debox;
use shared::debox::{DeboxClient, UserId};
use shared::qbit::QbitClient;
use shared::secrets::Secrets;
use shared::table::DynamoStore;
use shared::upstream::{Timeouts, http_client};

/// The merchant's DeBox user id in every test world.
pub const MERCHANT: &str = "merchant1";

/// The test key pair Qbit's webhook events are signed with (test only: its
/// private half is in the repository).
pub const WEBHOOK_PRIVATE_KEY: &str = include_str!("../../events/keys/qbit-webhook-test.key.pem");
pub const WEBHOOK_PUBLIC_KEY: &str = include_str!("../../events/keys/qbit-webhook-test.pub.pem");

/// moto's endpoint. The test script starts moto and sets this; running
/// `cargo test` alone without it fails here, saying what to do.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto")
    })
}

/// SDK configuration pointing at moto, with moto's dummy credentials.
pub async fn aws_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await
}

/// A name no other test (or earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// One test's world: a sandbox, a secret in moto holding its credentials,
/// and a table of its own in moto.
pub struct World {
    pub sandbox: Sandbox,
    pub sdk: aws_config::SdkConfig,
    pub secrets_client: aws_sdk_secretsmanager::Client,
    pub secret_id: String,
    pub api_key: String,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub table: String,
}

impl World {
    pub async fn start() -> Self {
        let api_key = unique("sk_test");
        let config = SandboxConfig {
            qbit_api_keys: vec![api_key.clone()],
            qbit_webhook_key_pem: Some(WEBHOOK_PRIVATE_KEY.to_string()),
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
        secrets_client
            .create_secret()
            .name(&secret_id)
            .secret_string(secret_json(&api_key))
            .send()
            .await
            .expect("moto creates the secret");
        Self {
            sandbox,
            sdk,
            secrets_client,
            secret_id,
            api_key,
            dynamo,
            table,
        }
    }

    /// The transfer store on this world's table, as a container builds it.
    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(self.dynamo.clone(), &self.table)
    }

    /// A DeBox function's clients, as a container builds them (the sandbox
    /// serves both the open API and the authorize page).
    pub fn debox(&self) -> Debox {
        self.debox_with(Timeouts::default())
    }

    pub fn debox_with(&self, timeouts: Timeouts) -> Debox {
        let url: url::Url = self.sandbox.url().parse().unwrap();
        Debox {
            client: DeboxClient::new(http_client(timeouts).unwrap(), url.clone(), self.secrets()),
            merchant: UserId::parse(MERCHANT).unwrap(),
            app_base: url,
        }
    }

    /// Replace the secret's value, as a rotation would.
    pub async fn put_secret(&self, json: String) {
        self.secrets_client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(json)
            .send()
            .await
            .expect("moto stores the new value");
    }

    /// The secret cache as a container builds it (the client with the
    /// functions' timeouts and retries).
    pub fn secrets(&self) -> Arc<Secrets> {
        Arc::new(Secrets::new(
            shared::bootstrap::secrets_client(&self.sdk),
            &self.secret_id,
        ))
    }

    /// A client as a function's container builds it, with default timeouts.
    pub fn qbit(&self) -> QbitClient {
        self.qbit_with(Timeouts::default())
    }

    pub fn qbit_with(&self, timeouts: Timeouts) -> QbitClient {
        QbitClient::new(
            http_client(timeouts).unwrap(),
            self.sandbox.url().parse().unwrap(),
            self.secrets(),
        )
    }

    /// A charge made straight at the sandbox, as Qbit would hold it; its id.
    pub async fn charge_at_qbit(&self, amount: u64, order: &str) -> String {
        let charge: Value = reqwest::Client::new()
            .post(format!("{}/api/v1/charges", self.sandbox.url()))
            .basic_auth(&self.api_key, Some(""))
            .json(&json!({"amount": amount, "currency": "USD", "externalOrderId": order}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        charge["id"].as_str().unwrap().to_string()
    }

    /// An item of this world's table, by key.
    pub async fn item(
        &self,
        pk: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.dynamo
            .get_item()
            .table_name(&self.table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(pk.to_string()),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// How many items this world's table holds.
    pub async fn item_count(&self) -> usize {
        self.dynamo
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap()
            .items()
            .len()
    }

    /// Calls the sandbox received, as `{"POST /api/v1/charges": 1}`.
    pub fn calls(&self) -> Value {
        serde_json::to_value(self.sandbox.state().calls()).unwrap()
    }

    /// The local run's setup (`demo`) for this world: its sandbox, table and
    /// secret, the functions' Runtime API on `lambda_port`, files in `scratch`.
    pub fn local_run(&self, lambda_port: u16, scratch: &std::path::Path) -> demo::Setup {
        demo::Setup {
            lambda_port,
            sandbox_url: self.sandbox.url(),
            moto_endpoint: moto_endpoint(),
            table: self.table.clone(),
            secret_id: self.secret_id.clone(),
            merchant: MERCHANT.into(),
            events: workspace_root().join("events"),
            scratch: scratch.to_path_buf(),
        }
    }
}

/// The six functions, for [`World::invoke`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    CreateCharge,
    ListCharges,
    QbitWebhook,
    DeboxOrder,
    DeboxTransfer,
    VboxBalance,
}

impl World {
    /// Call `function`'s handler with this world's clients, built as its
    /// container builds them, and read its answer. (Tests that need other
    /// clients, a short timeout or a table that is down, call the handler
    /// themselves.)
    pub async fn invoke(&self, function: Function, request: Request) -> Answer {
        match function {
            Function::CreateCharge => {
                let (qbit, store) = (self.qbit(), self.store());
                call(request, |r| create_charge::handle(&qbit, &store, r)).await
            }
            Function::ListCharges => {
                let qbit = self.qbit();
                call(request, |r| list_charges::handle(&qbit, r)).await
            }
            Function::QbitWebhook => {
                let (secrets, store) = (self.secrets(), self.store());
                call(request, |r| qbit_webhook::handle(&secrets, &store, r)).await
            }
            Function::DeboxOrder => {
                let debox = self.debox();
                call(request, |r| debox_order::handle(&debox, r)).await
            }
            Function::DeboxTransfer => {
                let (store, debox) = (self.store(), self.debox());
                call(request, |r| {
                    debox_transfer::handle(&store, &debox.client, r)
                })
                .await
            }
            Function::VboxBalance => {
                let debox = self.debox();
                call(request, |r| vbox_balance::handle(&debox, r)).await
            }
        }
    }
}

/// Call a handler with `request` and read its answer, checked against
/// `openapi.yaml` for the request's method and path (see [`contract`]).
/// Every integration test reaches a handler through this (or
/// [`World::invoke`], which builds the clients first).
pub async fn call<F, Fut>(request: Request, handler: F) -> Answer
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let (method, path) = (
        request.method().to_string(),
        request.uri().path().to_string(),
    );
    let answer = Answer::of(handler(request).await);
    contract::check(&method, &path, &answer);
    answer
}

/// `http://127.0.0.1:<port>` where nothing listens, for as long as the test
/// process lives: the port stays bound to a socket that never listens, so
/// a connection is refused. Merely freeing a port is not enough: another
/// test's sandbox or moto stand-in could be handed the same port a moment
/// later, and the "unreachable" client would reach it.
pub fn closed_address() -> String {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    // Held, never closed: clients built on this address outlive the call.
    std::mem::forget(socket);
    format!("http://{addr}")
}

/// `http://127.0.0.1:<port>` where connections are accepted and never
/// answered (a stalled service), for as long as the test's runtime lives.
pub async fn stalled_address() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

/// The secret cache of a container whose Secrets Manager stalls: every
/// call is accepted and never answered.
pub async fn stalled_secrets() -> Arc<Secrets> {
    secrets_at(&stalled_address().await).await
}

/// The secret cache of a container whose Secrets Manager is at `endpoint`
/// (the client as the functions build it).
pub async fn secrets_at(endpoint: &str) -> Arc<Secrets> {
    let sdk = aws_config(endpoint).await;
    Arc::new(Secrets::new(
        shared::bootstrap::secrets_client(&sdk),
        "payments",
    ))
}

/// Run a handler as Lambda does: cut off at the invocation's deadline. A
/// handler still running then is killed, and API Gateway answers for it
/// outside the contract; `None` says that happened.
pub async fn within_deadline<T>(deadline_ms: u64, handler: impl Future<Output = T>) -> Option<T> {
    let left = std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms()));
    tokio::time::timeout(left, handler).await.ok()
}

/// The store on `table`, reached through an address where nothing listens.
pub async fn unreachable_store(table: &str) -> DynamoStore {
    let sdk = aws_config(&closed_address()).await;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)
}

/// A store for requests that send no Idempotency-Key, which never touch it.
pub async fn keyless_store() -> DynamoStore {
    let sdk = aws_config(&moto_endpoint()).await;
    DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        "no-idempotency-key-sent",
    )
}

/// The secret's JSON: a Qbit key, and the sandbox's DeBox app.
pub fn secret_json(qbit_api_key: &str) -> String {
    let app = SandboxConfig::default().debox_app;
    json!({
        "qbit_api_key": qbit_api_key,
        "qbit_webhook_public_key": WEBHOOK_PUBLIC_KEY,
        "debox_app_id": app.app_id,
        "debox_api_key": app.api_key,
        "debox_app_secret": app.app_secret,
    })
    .to_string()
}

/// A table like the template's: `pk` a string, on demand.
pub async fn create_table(dynamo: &aws_sdk_dynamodb::Client, table: &str) {
    dynamo
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("moto creates the table");
}

/// The IAM identity every [`Event`] is signed by, unless told otherwise.
pub const CALLER_ARN: &str = "arn:aws:iam::123456789012:user/merchant-backend";
pub const CALLER_ACCOUNT: &str = "123456789012";

/// An API Gateway HTTP API (v2) event, parsed by `lambda_http` as Lambda
/// would, with a Lambda context whose request id is `request_id`.
pub struct Event {
    value: Value,
}

impl Event {
    pub fn new(method: &str, path: &str) -> Self {
        let value = json!({
            "version": "2.0",
            "routeKey": format!("{method} {path}"),
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"host": "api.example.test"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "authorizer": {"iam": {
                    "accessKey": "AKIAEXAMPLE", "accountId": CALLER_ACCOUNT,
                    "callerId": "AIDAEXAMPLE", "principalOrgId": null,
                    "userArn": CALLER_ARN, "userId": "AIDAEXAMPLE"}},
                "domainName": "api.example.test",
                "domainPrefix": "api",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "tests"},
                "requestId": "apigw-request",
                "routeKey": format!("{method} {path}"),
                "stage": "$default",
                "time": "21/Nov/2026:10:00:00 +0000",
                "timeEpoch": 1_795_255_200_000u64
            },
            "isBase64Encoded": false
        });
        Self { value }
    }

    /// A file from `events/`, as `cargo lambda invoke` would send it.
    pub fn file(name: &str) -> Self {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        Self {
            value: serde_json::from_str(&text).unwrap(),
        }
    }

    /// Signed (SigV4) by another IAM identity.
    pub fn caller(mut self, arn: &str, account: &str) -> Self {
        self.value["requestContext"]["authorizer"]["iam"]["userArn"] = json!(arn);
        self.value["requestContext"]["authorizer"]["iam"]["accountId"] = json!(account);
        self
    }

    /// With no IAM identity in the request context (a local run).
    pub fn without_caller(mut self) -> Self {
        if let Some(context) = self.value["requestContext"].as_object_mut() {
            context.remove("authorizer");
        }
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.value["headers"][name] = json!(value);
        self
    }

    pub fn json_body(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .text_body(&body.to_string())
    }

    pub fn text_body(mut self, body: &str) -> Self {
        self.value["body"] = json!(body);
        self.value["isBase64Encoded"] = json!(false);
        self
    }

    pub fn query(mut self, raw: &str) -> Self {
        self.value["rawQueryString"] = json!(raw);
        self
    }

    /// The request, with a Lambda context whose deadline is 15 s away (the
    /// functions' timeout).
    pub fn request(&self, request_id: &str) -> Request {
        self.request_with_deadline(request_id, now_ms() + 15_000)
    }

    /// The request, with the invocation's deadline (Unix ms) as given.
    pub fn request_with_deadline(&self, request_id: &str, deadline_ms: u64) -> Request {
        let mut context = Context::default();
        context.request_id = request_id.to_string();
        context.deadline = deadline_ms;
        lambda_http::request::from_str(&self.value.to_string())
            .expect("lambda_http parses the event")
            .with_lambda_context(context)
    }
}

/// Now, in Unix milliseconds: the functions' own clock.
pub use shared::now_ms;

/// A response's status, headers and JSON body, for assertions.
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn of(response: Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let text = match body {
            Body::Text(text) => text,
            Body::Binary(bytes) => String::from_utf8(bytes).unwrap(),
            _ => String::new(),
        };
        Self {
            status: parts.status.as_u16(),
            headers: parts.headers,
            text,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Charges as the webhook must find them: created through create-charge,
/// or recorded the way create-charge records them.
impl World {
    /// A charge created through `create-charge` (no Idempotency-Key), as the
    /// merchant's backend creates one: its id. Qbit holds it, and it is
    /// recorded as `charge#<id>`.
    pub async fn create_charge(&self, amount: u64, currency: &str, order: &str) -> String {
        let request = Event::new("POST", "/charges")
            .json_body(&json!({"amount": amount, "currency": currency, "externalOrderId": order}))
            .request("req-create-charge");
        let answer = self.invoke(Function::CreateCharge, request).await;
        assert_eq!(answer.status, 200, "create-charge: {}", answer.text);
        answer.json()["charge"]["id"].as_str().unwrap().to_string()
    }

    /// `charge#<id>` recorded through the charge flow's store exactly as
    /// create-charge records it (for events built by hand about a charge
    /// Qbit never held), asked by [`CALLER_ARN`] in request `req-seeded`.
    pub async fn record_charge(&self, id: &str, amount: u64, currency: &str, order: &str) {
        use shared::charge::{ChargeRecord, ChargeStore};
        self.store()
            .record_charge(&ChargeRecord {
                charge_id: id.to_string(),
                amount,
                currency: currency.to_string(),
                external_order_id: order.to_string(),
                created_at: now_ms(),
                request_id: "req-seeded".to_string(),
                caller: shared::http::Caller::new(CALLER_ARN, CALLER_ACCOUNT),
            })
            .await
            .expect("moto records the charge");
    }
}

/// The store on a new table of its own in moto, for a test that calls
/// create-charge without a [`World`]: even without an Idempotency-Key, the
/// charge Qbit creates is recorded there.
pub async fn fresh_store() -> DynamoStore {
    let sdk = aws_config(&moto_endpoint()).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique("payments");
    create_table(&dynamo, &table).await;
    DynamoStore::new(dynamo, table)
}

/// The functions' binaries as the code stands now, by package name: one
/// `cargo build` (a no-op when they are up to date) that says where each
/// one is. Each package's binary has the package's name.
/// The repository's root (this crate, `tests/`, is one of its members).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// A process the test started (a function binary), killed and reaped when
/// dropped, however the test ends.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One invocation of a fresh process of `function`'s binary (the debug
/// build), run as Lambda runs it (the Runtime API stand-in), with the local
/// run's environment for `world` less the variables `unset`, and `HOME` at
/// `home`, where its output goes (`function.log`, `function.err`): its
/// answer, as API Gateway gets it.
pub async fn invoke_binary(
    world: &World,
    function: &str,
    event: String,
    unset: &[&str],
    home: &std::path::Path,
) -> Value {
    let binary = tokio::task::block_in_place(|| built_binary(function));
    let api = sandbox::lambda::RuntimeApi::start(function).await.unwrap();
    let setup = world.local_run(0, home);
    let mut command = std::process::Command::new(&binary);
    command.env_clear();
    for pair in demo::function_env(&setup) {
        let (name, value) = pair.split_once('=').unwrap();
        if !unset.contains(&name) {
            command.env(name, value);
        }
    }
    std::fs::create_dir_all(home).unwrap();
    let log = home.join("function.log");
    let _function = Running(
        command
            .envs(api.lambda_env(function))
            .env("HOME", home)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(home.join("function.err")).unwrap())
            .spawn()
            .unwrap(),
    );
    let invoked = api.invoke(event, now_ms() + 15_000);
    let printed = || std::fs::read_to_string(&log).unwrap_or_default();
    match tokio::time::timeout(std::time::Duration::from_secs(60), invoked).await {
        Ok(Ok(sandbox::lambda::Outcome::Response(body))) => serde_json::from_slice(&body).unwrap(),
        Ok(Ok(sandbox::lambda::Outcome::Error(body))) => panic!(
            "the function failed: {}\n{}",
            String::from_utf8_lossy(&body),
            printed()
        ),
        _ => panic!("no answer within a minute\n{}", printed()),
    }
}

pub fn built_binaries(packages: &[&str]) -> std::collections::HashMap<String, std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = std::process::Command::new(env!("CARGO"));
    command.args(["build", "--quiet", "--message-format=json"]);
    for package in packages {
        command.args(["-p", package, "--bin", package]);
    }
    let output = command
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build of {packages:?} failed"
    );
    let built: std::collections::HashMap<String, std::path::PathBuf> =
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact")
            .filter_map(|m| {
                let name = m["target"]["name"].as_str()?.to_string();
                let exe = m["executable"].as_str()?;
                Some((name, std::path::PathBuf::from(exe)))
            })
            .collect();
    for package in packages {
        assert!(built.contains_key(*package), "cargo built no {package}");
    }
    built
}

/// One function's binary as the code stands now (see [`built_binaries`]).
pub fn built_binary(package: &str) -> std::path::PathBuf {
    built_binaries(&[package])
        .remove(package)
        .expect("checked by built_binaries")
}

#[cfg(test)]
mod tests {
    /// The "unreachable" address must stay unreachable while the test runs:
    /// nobody else may be handed its port, and a connection is refused.
    #[tokio::test]
    async fn a_closed_address_keeps_its_port_and_refuses_connections() {
        let url = super::closed_address();
        let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
        let taken = std::net::TcpListener::bind(addr).unwrap_err();
        assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
        let refused = tokio::net::TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
