//! The floor for a first answer and for warm latency: a minimal Rust Lambda
//! that makes the same upstream calls as one of the six functions
//! (`BENCH_FLOOR=create-charge`, ...), directly, with the same clients,
//! built once in `main` exactly as the functions build them
//! (`shared::bootstrap::aws_config`, `secrets_client`, `dynamo_client`,
//! `shared::upstream::http_client`). No parsing beyond what the calls
//! need, no validation, no logging, no error mapping: whatever a function
//! spends above this is its own code's.
//!
//! `BENCH_FLOOR_CLIENTS=platform` builds the clients the default way
//! instead (see [`platform`]), to measure what `shared::tls` and the
//! environment-only credentials save.
//!
//! Like the functions it keeps the secret (and Qbit's access token) for the
//! life of the process, so a warm request makes only the provider call and
//! the table writes. The harness checks, by counting, that each floor makes
//! exactly the calls its function makes (`bench calls`).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use rand::Rng;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use tokio::sync::OnceCell;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Calls {
    CreateCharge,
    ListCharges,
    QbitWebhook,
    DeboxOrder,
    DeboxTransfer,
    VboxBalance,
}

impl Calls {
    fn from_env() -> Result<Self, Error> {
        Ok(match env("BENCH_FLOOR")?.as_str() {
            "create-charge" => Self::CreateCharge,
            "list-charges" => Self::ListCharges,
            "qbit-webhook" => Self::QbitWebhook,
            "debox-order" => Self::DeboxOrder,
            "debox-transfer" => Self::DeboxTransfer,
            "vbox-balance" => Self::VboxBalance,
            other => return Err(format!("BENCH_FLOOR={other} names no function").into()),
        })
    }

    /// Whether the function it stands for builds a provider client.
    fn uses_http(self) -> bool {
        self != Self::QbitWebhook
    }

    /// Whether the function it stands for builds a table client.
    fn uses_table(self) -> bool {
        matches!(
            self,
            Self::CreateCharge | Self::QbitWebhook | Self::DeboxTransfer
        )
    }
}

struct Floor {
    calls: Calls,
    secrets: aws_sdk_secretsmanager::Client,
    dynamo: Option<aws_sdk_dynamodb::Client>,
    http: Option<reqwest::Client>,
    secret_id: String,
    table: String,
    qbit: String,
    debox: String,
    merchant: String,
    secret: OnceCell<Value>,
    token: OnceCell<String>,
}

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text(value: &Value, name: &str) -> String {
    value[name].as_str().unwrap_or_default().to_string()
}

impl Floor {
    fn http(&self) -> &reqwest::Client {
        self.http.as_ref().expect("built for every provider call")
    }

    fn dynamo(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamo.as_ref().expect("built for every table call")
    }

    /// The secret's JSON, read once.
    async fn secret(&self) -> Result<&Value, Error> {
        self.secret
            .get_or_try_init(|| async {
                let output = self
                    .secrets
                    .get_secret_value()
                    .secret_id(&self.secret_id)
                    .send()
                    .await?;
                Ok::<_, Error>(serde_json::from_str(
                    output.secret_string().unwrap_or("{}"),
                )?)
            })
            .await
    }

    /// A Qbit call with our key; the answer's JSON.
    async fn qbit(&self, request: reqwest::RequestBuilder) -> Result<Value, Error> {
        let key = text(self.secret().await?, "qbit_api_key");
        let answer = request.basic_auth(key, Some("")).send().await?;
        Ok(answer.error_for_status()?.json().await?)
    }

    /// Qbit's access token, read once.
    async fn token(&self) -> Result<&String, Error> {
        self.token
            .get_or_try_init(|| async {
                let url = format!("{}/api/v1/accessToken", self.qbit);
                let answer = self.qbit(self.http().get(url)).await?;
                Ok::<_, Error>(text(&answer, "accessToken"))
            })
            .await
    }

    /// A DeBox call with the five signed headers; the answer's JSON.
    async fn debox(&self, path: &str, body: Option<Value>) -> Result<Value, Error> {
        let secret = self.secret().await?;
        let nonce = format!("{:08}", rand::rng().random_range(0..100_000_000u32));
        let timestamp = now_ms().to_string();
        let mut sha = Sha1::new();
        sha.update(text(secret, "debox_app_secret"));
        sha.update(&nonce);
        sha.update(&timestamp);
        let signature: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let mut request = self
            .http()
            .post(format!("{}{path}", self.debox))
            .header("app_id", text(secret, "debox_app_id"))
            .header("X-API-KEY", text(secret, "debox_api_key"))
            .header("nonce", nonce)
            .header("timestamp", timestamp)
            .header("signature", signature);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Ok(request.send().await?.error_for_status()?.json().await?)
    }

    async fn handle(&self, event: Value) -> Result<Value, Error> {
        let body: Value = event["body"]
            .as_str()
            .map(serde_json::from_str)
            .transpose()?
            .unwrap_or(Value::Null);
        let answer = match self.calls {
            Calls::CreateCharge => {
                let token = self.token().await?.clone();
                let url = format!("{}/api/v1/charges", self.qbit);
                let charge = self.qbit(self.http().post(url).json(&body)).await?;
                let now = now_ms();
                self.dynamo()
                    .put_item()
                    .table_name(&self.table)
                    .item("pk", s(format!("charge#{}", text(&charge, "id"))))
                    .item("kind", s("charge"))
                    .item("charge_id", s(text(&charge, "id")))
                    .item("status", s("pending"))
                    .item("paid", AttributeValue::Bool(false))
                    .item("amount", n(body["amount"].as_u64().unwrap_or_default()))
                    .item("currency", s(text(&body, "currency")))
                    .item("external_order_id", s(text(&body, "externalOrderId")))
                    .item("created_at", n(now))
                    .item("request_id", s("floor"))
                    .item("caller_arn", s("floor"))
                    .item("caller_account", s("floor"))
                    .item("status_rank", n(1))
                    .item("updated_at", n(now))
                    .condition_expression("attribute_not_exists(pk)")
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await?;
                json!({"charge": charge, "accessToken": token})
            }
            Calls::ListCharges => {
                let query = event["rawQueryString"].as_str().unwrap_or_default();
                let url = format!("{}/api/v1/charges?{query}", self.qbit);
                self.qbit(self.http().get(url)).await?
            }
            Calls::QbitWebhook => {
                // The key is read as the function reads it; verifying the
                // signature is the function's own work, not a call. The
                // writes carry the same attributes and conditions as the
                // function's (moto's cost grows with an expression's length).
                let _key = text(self.secret().await?, "qbit_webhook_public_key");
                let charge = &body["data"]["object"];
                let now = now_ms();
                let put = Put::builder()
                    .table_name(&self.table)
                    .item("pk", s(format!("event#{}", text(&body, "id"))))
                    .item("kind", s("event"))
                    .item("event_id", s(text(&body, "id")))
                    .item("event_type", s(text(&body, "type")))
                    .item("created_at", s(text(&body, "createdAt")))
                    .item("created_at_ms", n(now))
                    .item("received_at", n(now))
                    .item("charge_id", s(text(charge, "id")))
                    .item("applied", AttributeValue::Bool(true))
                    .item("expires_at", n(now / 1000 + 90 * 24 * 3600))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()?;
                let update = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(format!("charge#{}", text(charge, "id"))))
                    .update_expression(
                        "SET #status = :status, paid = :paid, last_event_id = :event, last_event_at = :at, \
                         last_event_at_ms = :at_ms, status_rank = :rank, updated_at = :now",
                    )
                    .condition_expression(
                        "attribute_exists(request_id) AND amount = :amount AND currency = :currency \
                         AND (status_rank < :rank OR (status_rank = :rank \
                         AND (attribute_not_exists(last_event_at_ms) OR last_event_at_ms < :at_ms)))",
                    )
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(text(charge, "status")))
                    .expression_attribute_values(":paid", AttributeValue::Bool(true))
                    .expression_attribute_values(":amount", n(charge["amount"].as_u64().unwrap_or_default()))
                    .expression_attribute_values(":currency", s(text(charge, "currency")))
                    .expression_attribute_values(":event", s(text(&body, "id")))
                    .expression_attribute_values(":at", s(text(&body, "createdAt")))
                    .expression_attribute_values(":at_ms", n(now))
                    .expression_attribute_values(":rank", n(3))
                    .expression_attribute_values(":now", n(now))
                    .build()?;
                self.dynamo()
                    .transact_write_items()
                    .transact_items(TransactWriteItem::builder().put(put).build())
                    .transact_items(TransactWriteItem::builder().update(update).build())
                    .send()
                    .await?;
                json!({"received": true, "duplicate": false})
            }
            Calls::DeboxOrder => {
                let order = json!({
                    "payer_user_id": self.merchant,
                    "receiver_user_id": body["receiver_user_id"],
                    "amount": body["amount"],
                });
                self.debox("/openapi/payment/order", Some(order)).await?
            }
            Calls::DeboxTransfer => {
                // The secret first, as the function signs before it claims;
                // the writes shaped as the function's.
                self.secret().await?;
                let serial = text(&body, "serial_id");
                let amount = text(&body, "verify_amount");
                let now = now_ms();
                self.dynamo()
                    .put_item()
                    .table_name(&self.table)
                    .item("pk", s(format!("transfer#{serial}")))
                    .item("kind", s("transfer"))
                    .item("serial_id", s(&serial))
                    .item("status", s("in_progress"))
                    .item("claim_id", s("floor-claim-0123456789abcdef"))
                    .item("lease_expires_at", n(now + 30_000))
                    .item("request_id", s("floor"))
                    .item("caller_arn", s("floor"))
                    .item("caller_account", s("floor"))
                    .item("created_at", n(now))
                    .item("updated_at", n(now))
                    .item("expires_at", n(now / 1000 + 90 * 24 * 3600))
                    .item("verify_amount", s(&amount))
                    .item("amount", s(&amount))
                    .condition_expression("attribute_not_exists(pk) OR #status = :failed")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":failed", s("failed"))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await?;
                let answer = self
                    .debox("/openapi/payment/transfer", Some(body.clone()))
                    .await?;
                self.dynamo()
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", s(format!("transfer#{serial}")))
                    .update_expression("SET #status = :status, updated_at = :now")
                    .condition_expression("#status = :in_progress AND claim_id = :claim")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":in_progress", s("in_progress"))
                    .expression_attribute_values(":claim", s("floor-claim-0123456789abcdef"))
                    .expression_attribute_values(":status", s("succeeded"))
                    .expression_attribute_values(":now", n(now_ms()))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await?;
                answer
            }
            Calls::VboxBalance => self.debox("/openapi/payment/assert/vbox", None).await?,
        };
        Ok(json!({"statusCode": 200, "body": answer.to_string()}))
    }
}

/// The clients built the default way, as the functions built them before
/// `shared::tls`: reqwest's and the SDK's own TLS settings (each loads the
/// platform's certificate store) and the SDK's default credentials chain.
/// `bench --platform` cold-starts it beside the floor, for the difference.
mod platform {
    use std::time::Duration;

    pub async fn aws_config() -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await
    }

    pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let calls = Calls::from_env()?;
    let platform = std::env::var("BENCH_FLOOR_CLIENTS").as_deref() == Ok("platform");
    let sdk = if platform {
        platform::aws_config().await
    } else {
        shared::bootstrap::aws_config().await?
    };
    let http = || -> Result<reqwest::Client, Error> {
        if platform {
            Ok(platform::http_client()?)
        } else {
            Ok(shared::upstream::http_client(
                shared::upstream::Timeouts::default(),
            )?)
        }
    };
    let floor = Floor {
        calls,
        secrets: shared::bootstrap::secrets_client(&sdk),
        dynamo: calls
            .uses_table()
            .then(|| shared::bootstrap::dynamo_client(&sdk)),
        http: calls.uses_http().then(http).transpose()?,
        secret_id: env("PAYMENTS_SECRET_ID")?,
        table: env("PAYMENTS_TABLE")?,
        qbit: env("QBIT_BASE_URL")?,
        debox: env("DEBOX_OPEN_BASE_URL")?,
        merchant: env("DEBOX_MERCHANT_USER_ID")?,
        secret: OnceCell::new(),
        token: OnceCell::new(),
    };
    let floor = &floor;
    run(service_fn(|event: LambdaEvent<Value>| async move {
        // A failed call is an answer the harness can see, not a crash.
        Ok::<_, Error>(
            floor
                .handle(event.payload)
                .await
                .unwrap_or_else(|error| json!({"statusCode": 502, "body": format!("{error:?}")})),
        )
    }))
    .await
}
