//! The bundle's end-to-end story, written once. `scripts/local-run.sh`
//! runs it (through the `demo` binary) to show a new user the six real
//! functions working under `cargo lambda watch`; `tests/it/binaries.rs`
//! runs the same story and then checks what only a test can (logs, every
//! answer against `openapi.yaml`). Each step checks what it shows and the
//! story stops at the first that fails.
//!
//! Everything goes over real HTTP: the functions through
//! `cargo lambda invoke` with the files in `events/`, the sandbox through
//! its `/_sandbox` control API, the table through moto's DynamoDB.

use std::path::PathBuf;
use std::process::Command;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

/// Where everything runs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `cargo lambda watch`'s port on 127.0.0.1.
    pub lambda_port: u16,
    /// The provider sandbox, `http://127.0.0.1:<port>`.
    pub sandbox_url: String,
    /// moto (Secrets Manager and DynamoDB).
    pub moto_endpoint: String,
    pub table: String,
    pub secret_id: String,
    /// The merchant's DeBox user id.
    pub merchant: String,
    /// The repository's `events/`.
    pub events: PathBuf,
    /// Where the story writes the event files it makes.
    pub scratch: PathBuf,
}

/// The environment every function runs with, as `NAME=value`: the one list
/// the local run and the tests both give `cargo lambda watch`.
pub fn function_env(setup: &Setup) -> Vec<String> {
    vec![
        format!("PAYMENTS_SECRET_ID={}", setup.secret_id),
        format!("PAYMENTS_TABLE={}", setup.table),
        format!("QBIT_BASE_URL={}", setup.sandbox_url),
        format!("DEBOX_OPEN_BASE_URL={}", setup.sandbox_url),
        format!("DEBOX_APP_BASE_URL={}", setup.sandbox_url),
        format!("DEBOX_MERCHANT_USER_ID={}", setup.merchant),
        format!("AWS_ENDPOINT_URL={}", setup.moto_endpoint),
        "AWS_ACCESS_KEY_ID=test".into(),
        "AWS_SECRET_ACCESS_KEY=test".into(),
        "AWS_REGION=us-east-1".into(),
        // As the template sets it (LoggingConfig: LogFormat: JSON).
        "AWS_LAMBDA_LOG_FORMAT=JSON".into(),
    ]
}

/// One function's answer to one event file.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub method: String,
    pub path: String,
    /// API Gateway's answer: `statusCode`, `headers`, `body`.
    pub response: Value,
}

impl Invocation {
    pub fn status(&self) -> u64 {
        self.response["statusCode"].as_u64().unwrap_or(0)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.response["headers"][name].as_str()
    }

    /// The body, as JSON (`null` when it is not).
    pub fn body(&self) -> Value {
        self.response["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null)
    }
}

/// What the story made, for checks after it.
#[derive(Debug, Clone)]
pub struct Story {
    /// Every invocation, in order.
    pub invocations: Vec<Invocation>,
    pub charge_id: String,
    /// The buyer's token for the hosted page.
    pub access_token: String,
    /// The merchant-pays order the transfer spent.
    pub order: Value,
    /// The request id of the transfer that succeeded.
    pub transfer_request_id: String,
    /// The event delivered when the buyer paid, and its signature.
    pub paid_event_id: String,
    pub paid_event_signature: String,
}

type Step<T> = Result<T, String>;

fn check(ok: bool, what: impl FnOnce() -> String) -> Step<()> {
    if ok { Ok(()) } else { Err(what()) }
}

/// Runs the story against `setup`, telling `say` each step as it starts and
/// each answer as it comes.
pub async fn run(setup: &Setup, say: &mut dyn FnMut(&str)) -> Step<Story> {
    let mut story = Teller {
        setup,
        say,
        invocations: Vec::new(),
        http: reqwest::Client::new(),
    };
    story.tell().await
}

struct Teller<'a> {
    setup: &'a Setup,
    say: &'a mut dyn FnMut(&str),
    invocations: Vec<Invocation>,
    http: reqwest::Client,
}

impl Teller<'_> {
    async fn tell(&mut self) -> Step<Story> {
        self.step("create-charge  (events/create-charge.json)");
        let created = self.invoke("create-charge", "create-charge.json", 200)?;
        check(
            created.header("content-type") == Some("application/json"),
            || {
                format!(
                    "create-charge answered without JSON: {:?}",
                    created.response
                )
            },
        )?;
        let request_id = created.header("x-request-id").unwrap_or_default();
        check(!request_id.is_empty() && request_id != "unknown", || {
            format!(
                "create-charge carried no Lambda request id: {:?}",
                created.response
            )
        })?;
        let charge = created.body()["charge"].clone();
        check(
            charge["amount"] == 1000 && charge["externalOrderId"] == "order-42",
            || format!("not the charge asked for: {charge}"),
        )?;
        let charge_id = charge["id"].as_str().unwrap_or_default().to_string();
        let access_token = created.body()["accessToken"]
            .as_str()
            .unwrap_or_default()
            .to_string();

        self.step("the hosted payment page, opened with the charge's access token");
        let page = charge["paymentPageUrl"].as_str().unwrap_or_default();
        let opened = self
            .http
            .get(page)
            .bearer_auth(&access_token)
            .send()
            .await
            .map_err(|e| format!("the hosted page did not answer: {e}"))?;
        check(opened.status() == 200, || {
            format!("the hosted page answered {}", opened.status())
        })?;
        (self.say)("HTTP 200: the page for this charge");

        self.step("list-charges  (events/list-charges.json): the new charge first");
        let listed = self.invoke("list-charges", "list-charges.json", 200)?;
        check(listed.body()["data"][0]["id"] == charge["id"], || {
            format!(
                "the list does not start with {charge_id}: {}",
                listed.body()
            )
        })?;

        self.step("create-charge with amount 0  (events/create-charge-invalid.json): 400 naming the field");
        let refused = self.invoke("create-charge", "create-charge-invalid.json", 400)?;
        check(refused.body()["detail"]["field"] == "amount", || {
            format!("the 400 does not name amount: {}", refused.body())
        })?;
        self.expect_calls(
            json!({"GET /api/v1/accessToken": 1, "GET /api/v1/charges": 1,
                                 "POST /api/v1/charges": 1, "GET /h5/payment": 1}),
        )
        .await?;

        self.step("vbox-balance  (events/vbox-balance.json)");
        self.expect_balance("1000").await?;

        self.step("debox-order: the merchant pays 10.50 to u1  (events/debox-order.json)");
        let order = self.invoke("debox-order", "debox-order.json", 200)?.body();
        check(order["amount"] == "10.5", || {
            format!("not the order asked for: {order}")
        })?;

        self.step("debox-transfer with the order's token and serial");
        let transfer = self.transfer_event(&order)?;
        let sent = self.invoke_file("debox-transfer", &transfer, 200)?;
        check(
            sent.body() == json!({"serial_id": order["serial_id"], "status": "succeeded"}),
            || format!("not a succeeded transfer: {}", sent.body()),
        )?;
        let transfer_request_id = sent.header("x-request-id").unwrap_or_default().to_string();

        self.step("the same transfer again: refused with -2016, DeBox not called");
        let again = self.invoke_file("debox-transfer", &transfer, 409)?;
        check(again.body()["code"] == "-2016", || {
            format!("not -2016: {}", again.body())
        })?;

        self.step("vbox-balance again: 10.50 points fewer");
        self.expect_balance("989.5").await?;

        self.step(
            "debox-transfer for a serial DeBox never issued  (events/debox-transfer.json): -2006",
        );
        let unknown = self.invoke("debox-transfer", "debox-transfer.json", 400)?;
        check(unknown.body()["code"] == "-2006", || {
            format!("not -2006: {}", unknown.body())
        })?;

        self.step("debox-order: a user pays the merchant  (events/debox-order-user-pays.json)");
        let user_pays = self.invoke("debox-order", "debox-order-user-pays.json", 200)?;
        let url = user_pays.body()["authorize_url"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        check(
            url.contains("redirect_uri=https%3A%2F%2Fshop.example"),
            || format!("the authorize URL lacks the encoded redirect_uri: {url}"),
        )?;
        let transfers = self.calls().await?["POST /openapi/payment/transfer"].clone();
        check(transfers == 2, || {
            format!("DeBox got {transfers} transfer calls, not 2")
        })?;

        self.step(
            "qbit-webhook with the signed sample event  (events/qbit-webhook.json), twice: \
             its charge ch_1 was never created here, so it is kept as unmatched",
        );
        let first = self.invoke("qbit-webhook", "qbit-webhook.json", 200)?;
        check(
            first.body() == json!({"received": true, "duplicate": false}),
            || format!("{}", first.body()),
        )?;
        let second = self.invoke("qbit-webhook", "qbit-webhook.json", 200)?;
        check(
            second.body() == json!({"received": true, "duplicate": true}),
            || format!("the redelivery is not a duplicate: {}", second.body()),
        )?;
        let kept = self.item("event#evt_1").await?;
        let unmatched = kept.get("unmatched").and_then(|v| v.as_s().ok());
        (self.say)(&format!(
            "event#evt_1 in the table: unmatched={}",
            unmatched.map(String::as_str).unwrap_or_default()
        ));
        check(
            unmatched.map(String::as_str) == Some("unknown_charge"),
            || format!("the sample event is not kept as unmatched: {kept:?}"),
        )?;
        check(self.item("charge#ch_1").await.is_err(), || {
            "the sample event created charge#ch_1".to_string()
        })?;

        self.step("the buyer pays in the sandbox: Qbit delivers a signed charge.succeeded to qbit-webhook");
        let hook = format!(
            "http://127.0.0.1:{}/lambda-url/qbit-webhook",
            self.setup.lambda_port
        );
        self.control_put("/_sandbox/qbit/webhook", json!({"url": hook}))
            .await?;
        let paid = self
            .control_post(&format!("/_sandbox/qbit/charges/{charge_id}/pay"))
            .await?;
        check(paid["webhook_status"] == 200, || {
            format!("the function did not acknowledge the event: {paid}")
        })?;
        let paid_event_id = paid["event_id"].as_str().unwrap_or_default().to_string();
        let item = self.item(&format!("charge#{charge_id}")).await?;
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        (self.say)(&format!(
            "charge#{charge_id} in the table: status={}",
            text("status").unwrap_or_default()
        ));
        check(
            text("status").as_deref() == Some("succeeded")
                && text("last_event_id").as_deref() == Some(paid_event_id.as_str()),
            || format!("the charge did not move to succeeded by {paid_event_id}: {item:?}"),
        )?;
        let redelivered = self
            .control_post(&format!("/_sandbox/qbit/events/{paid_event_id}/redeliver"))
            .await?;
        check(redelivered["webhook_status"] == 200, || {
            format!("a redelivery was not acknowledged: {redelivered}")
        })?;

        self.step("create-charge with an Idempotency-Key, twice: the second is replayed, Qbit called once");
        let first = self.invoke("create-charge", "create-charge-idempotent.json", 200)?;
        let replay = self.invoke("create-charge", "create-charge-idempotent.json", 200)?;
        check(
            replay.header("idempotent-replayed") == Some("true")
                && replay.response["body"] == first.response["body"],
            || format!("not a replay of the first: {:?}", replay.response),
        )?;
        let charges = self.calls().await?["POST /api/v1/charges"].clone();
        check(charges == 2, || {
            format!("Qbit got {charges} charge calls, not 2")
        })?;

        self.step("the calls the sandbox received");
        let calls = self.calls().await?;
        (self.say)(&calls.to_string());

        Ok(Story {
            invocations: std::mem::take(&mut self.invocations),
            charge_id,
            access_token,
            order,
            transfer_request_id,
            paid_event_id,
            paid_event_signature: paid["signature"].as_str().unwrap_or_default().to_string(),
        })
    }

    fn step(&mut self, what: &str) {
        (self.say)(&format!("\n==> {what}"));
    }

    fn invoke(&mut self, function: &str, file: &str, status: u64) -> Step<Invocation> {
        let path = self.setup.events.join(file);
        self.invoke_file(function, &path, status)
    }

    /// `cargo lambda invoke FUNCTION --data-file FILE`; the answer must have
    /// `status`.
    fn invoke_file(
        &mut self,
        function: &str,
        file: &std::path::Path,
        status: u64,
    ) -> Step<Invocation> {
        let program = std::env::var("CARGO_LAMBDA").unwrap_or_else(|_| "cargo-lambda".into());
        let port = self.setup.lambda_port.to_string();
        let output = Command::new(program)
            .args(["lambda", "invoke", function, "-A", "127.0.0.1", "-P", &port])
            .args(["--output-format", "json", "--data-file"])
            .arg(file)
            .output()
            .map_err(|e| format!("cargo lambda invoke did not run: {e}"))?;
        check(output.status.success(), || {
            format!(
                "cargo lambda invoke {function} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        let response: Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("{function} answered something that is not JSON: {e}"))?;
        let event: Value = std::fs::read_to_string(file)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .ok_or_else(|| format!("{} is not an event", file.display()))?;
        let invocation = Invocation {
            method: event["requestContext"]["http"]["method"]
                .as_str()
                .unwrap_or("")
                .into(),
            path: event["rawPath"].as_str().unwrap_or("").into(),
            response,
        };
        (self.say)(&format!(
            "HTTP {}  x-request-id: {}\n{}",
            invocation.status(),
            invocation.header("x-request-id").unwrap_or(""),
            serde_json::to_string_pretty(&invocation.body()).unwrap_or_default()
        ));
        self.invocations.push(invocation.clone());
        check(invocation.status() == status, || {
            format!(
                "{function} answered {} where {status} was expected: {:?}",
                invocation.status(),
                invocation.response
            )
        })?;
        Ok(invocation)
    }

    /// `events/debox-transfer.json` with the order's token and serial.
    fn transfer_event(&self, order: &Value) -> Step<PathBuf> {
        let sample = self.setup.events.join("debox-transfer.json");
        let mut event: Value = std::fs::read_to_string(&sample)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .ok_or_else(|| format!("{} is not an event", sample.display()))?;
        event["body"] = json!(
            json!({"access_token": order["access_token"], "serial_id": order["serial_id"],
                   "verify_amount": "10.50"})
            .to_string()
        );
        let file = self
            .setup
            .scratch
            .join(format!("debox-transfer-{}.json", self.setup.lambda_port));
        std::fs::write(&file, event.to_string()).map_err(|e| format!("{}: {e}", file.display()))?;
        Ok(file)
    }

    async fn expect_balance(&mut self, points: &str) -> Step<()> {
        let balance = self
            .invoke("vbox-balance", "vbox-balance.json", 200)?
            .body();
        check(
            balance == json!({"total": points, "usable_balance": points}),
            || format!("the balance is not {points}: {balance}"),
        )
    }

    async fn calls(&self) -> Step<Value> {
        self.control_get("/_sandbox/calls").await
    }

    async fn expect_calls(&self, expected: Value) -> Step<()> {
        let calls = self.calls().await?;
        check(calls == expected, || {
            format!("the sandbox received {calls}, not {expected}")
        })
    }

    async fn control_get(&self, path: &str) -> Step<Value> {
        let request = self.http.get(format!("{}{path}", self.setup.sandbox_url));
        Self::json(request).await
    }

    async fn control_post(&self, path: &str) -> Step<Value> {
        let request = self.http.post(format!("{}{path}", self.setup.sandbox_url));
        Self::json(request).await
    }

    async fn control_put(&self, path: &str, body: Value) -> Step<Value> {
        let request = self
            .http
            .put(format!("{}{path}", self.setup.sandbox_url))
            .json(&body);
        Self::json(request).await
    }

    async fn json(request: reqwest::RequestBuilder) -> Step<Value> {
        let response = request
            .send()
            .await
            .map_err(|e| format!("the sandbox did not answer: {e}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        check(status.is_success(), || {
            format!("the sandbox answered {status}: {text}")
        })?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn item(&self, pk: &str) -> Step<std::collections::HashMap<String, AttributeValue>> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.setup.moto_endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "moto",
            ))
            .load()
            .await;
        aws_sdk_dynamodb::Client::new(&sdk)
            .get_item()
            .table_name(&self.setup.table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("the table could not be read: {e}"))?
            .item
            .ok_or_else(|| format!("no {pk} in the table"))
    }
}
