//! What the processes run against: the provider sandbox (in this process,
//! on a runtime and thread of its own, so that serving it never delays the
//! Runtime API stand-in's clock), and a table and a secret of this run's
//! own in moto. And the events: the files in `events/`, with a fresh DeBox
//! order for each transfer and a freshly signed Qbit event for each webhook
//! delivery, so every request takes the path a real one takes.
//!
//! Each webhook process gets a table of its own, holding only the charges
//! its events are for (copied from the main table, where `create-charge`
//! recorded them): moto copies a whole table for every `TransactWriteItems`
//! (its rollback), so in the main table, thousands of items deep, each
//! delivery would cost moto tens of milliseconds more as the run goes on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use bytes::Bytes;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::Function;

/// The merchant's DeBox user id.
pub const MERCHANT: &str = "merchant1";

/// Everything a run needs from outside the processes it times.
pub struct World {
    pub sandbox: Arc<Sandbox>,
    pub moto: String,
    pub table: String,
    pub secret_id: String,
    api_key: String,
    events: PathBuf,
    http: reqwest::Client,
    dynamo: aws_sdk_dynamodb::Client,
    /// Charges recorded in the main table, copied to each webhook table and
    /// handed out in turn to webhook events.
    charges: Vec<String>,
    next_charge: usize,
    /// The webhook tables made so far, by process label.
    webhook_tables: std::collections::BTreeMap<String, String>,
}

/// How many recorded charges the webhook events are spread over.
pub const WEBHOOK_CHARGES: usize = 50;

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The sandbox on a thread and runtime of its own; dropping the handle
/// stops it.
fn start_sandbox(config: SandboxConfig) -> Result<Sandbox, String> {
    let (tell, told) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the sandbox");
        runtime.block_on(async move {
            let started = Sandbox::start(config, "127.0.0.1:0".parse().expect("an address"))
                .await
                .map_err(|e| e.to_string());
            let _ = tell.send(started);
            std::future::pending::<()>().await;
        });
    });
    told.recv().map_err(|e| e.to_string())?
}

impl World {
    /// A sandbox, and a table and secret of this run's own in `moto`.
    pub async fn start(moto: &str, events: &Path) -> Result<Self, String> {
        let api_key = unique("sk_bench");
        let private_key = read(&events.join("keys/qbit-webhook-test.key.pem"))?;
        let public_key = read(&events.join("keys/qbit-webhook-test.pub.pem"))?;
        let config = SandboxConfig {
            qbit_api_keys: vec![api_key.clone()],
            qbit_webhook_key_pem: Some(private_key),
            debox_merchant: MERCHANT.into(),
            // Enough points for every transfer a run makes.
            debox_merchant_balance: 1_000_000_000 * 100,
            ..SandboxConfig::default()
        };
        let app = config.debox_app.clone();
        let sandbox = Arc::new(start_sandbox(config)?);

        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(moto)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "moto",
            ))
            .load()
            .await;
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let table = create_table(&dynamo, moto).await?;
        let secret_id = unique("bench");
        let secret = json!({
            "qbit_api_key": api_key,
            "qbit_webhook_public_key": public_key,
            "debox_app_id": app.app_id,
            "debox_api_key": app.api_key,
            "debox_app_secret": app.app_secret,
        });
        aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(&secret_id)
            .secret_string(secret.to_string())
            .send()
            .await
            .map_err(|e| format!("moto did not create the secret: {e:?}"))?;
        Ok(Self {
            sandbox,
            moto: moto.to_string(),
            table,
            secret_id,
            api_key,
            events: events.to_path_buf(),
            http: reqwest::Client::new(),
            dynamo,
            charges: Vec::new(),
            next_charge: 0,
            webhook_tables: Default::default(),
        })
    }

    /// The table the process `label` runs with: the main one, or for a
    /// webhook process one of its own, made (and filled with the recorded
    /// charges its events are for) on first use.
    pub async fn table_for(&mut self, function: Function, label: &str) -> Result<String, String> {
        if function != Function::QbitWebhook {
            return Ok(self.table.clone());
        }
        if let Some(table) = self.webhook_tables.get(label) {
            return Ok(table.clone());
        }
        let records = self.charge_records().await?;
        let table = create_table(&self.dynamo, &self.moto).await?;
        for record in records {
            self.dynamo
                .put_item()
                .table_name(&table)
                .set_item(Some(record))
                .send()
                .await
                .map_err(|e| format!("moto did not copy a charge: {e:?}"))?;
        }
        self.webhook_tables.insert(label.to_string(), table.clone());
        Ok(table)
    }

    /// Up to [`WEBHOOK_CHARGES`] charge records from the main table (made
    /// here through Qbit's API, and so unrecorded, when create-charge has
    /// recorded none yet); their ids become the webhook events' charges.
    async fn charge_records(&mut self) -> Result<Vec<Item>, String> {
        let mut records: Vec<Item> = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamo
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :charge)")
                .expression_attribute_values(":charge", AttributeValue::S("charge#".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| format!("moto did not scan the table: {e:?}"))?;
            records.extend(page.items().iter().cloned());
            start = page.last_evaluated_key().cloned();
            if start.is_none() || records.len() >= WEBHOOK_CHARGES {
                break;
            }
        }
        records.sort_by_key(|r| r.get("pk").and_then(|v| v.as_s().ok()).cloned());
        records.truncate(WEBHOOK_CHARGES);
        let id = |r: &Item| {
            r.get("pk")
                .and_then(|v| v.as_s().ok())
                .and_then(|pk| pk.strip_prefix("charge#"))
                .map(String::from)
        };
        if self.charges.is_empty() {
            self.charges = records.iter().filter_map(id).collect();
        }
        if self.charges.is_empty() {
            self.charges.push(self.charge_at_qbit().await?);
        }
        // Every webhook table holds the same charges, whatever was recorded since.
        records.retain(|r| id(r).is_some_and(|id| self.charges.contains(&id)));
        Ok(records)
    }

    /// A charge made straight at Qbit (the sandbox); its id.
    async fn charge_at_qbit(&self) -> Result<String, String> {
        let charge: Value = self
            .http
            .post(format!("{}/api/v1/charges", self.sandbox.url()))
            .basic_auth(&self.api_key, Some(""))
            .json(&json!({"amount": 1000, "currency": "USD", "externalOrderId": "bench"}))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        charge["id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| format!("the sandbox made no charge: {charge}"))
    }

    /// The functions' environment (`demo::function_env`, the list the local
    /// run and the tests use), with `aws` as the AWS endpoint (moto, or a
    /// counting proxy in front of it) and `table` as the table.
    pub fn function_env(&self, aws: &str, table: &str) -> Vec<(String, String)> {
        let setup = demo::Setup {
            lambda_port: 0,
            sandbox_url: self.sandbox.url(),
            moto_endpoint: aws.to_string(),
            table: table.to_string(),
            secret_id: self.secret_id.clone(),
            merchant: MERCHANT.into(),
            events: self.events.clone(),
            scratch: std::env::temp_dir(),
        };
        demo::function_env(&setup)
            .into_iter()
            .filter_map(|pair| {
                pair.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect()
    }

    /// `events/<function>.json`.
    fn template(&self, function: Function) -> Result<Value, String> {
        let path = self.events.join(format!("{}.json", function.name()));
        serde_json::from_str(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `count` events for `function`'s next invocations, each one a request
    /// that takes the path a real one takes (200, nothing duplicated).
    pub async fn events(&mut self, function: Function, count: usize) -> Result<Vec<Bytes>, String> {
        let template = self.template(function)?;
        let mut events = Vec::with_capacity(count);
        for _ in 0..count {
            let mut event = template.clone();
            match function {
                Function::DeboxTransfer => {
                    let (token, serial) = self.order().await?;
                    event["body"] = json!(
                        json!({"access_token": token, "serial_id": serial, "verify_amount": "10.50"})
                            .to_string()
                    );
                }
                Function::QbitWebhook => {
                    let (body, signature) = self.signed_event().await?;
                    event["body"] = json!(body);
                    event["headers"]["x-qbitpay-signature"] = json!(signature);
                }
                _ => {}
            }
            events.push(Bytes::from(event.to_string()));
        }
        Ok(events)
    }

    /// After a webhook `event` was answered: remove the event item it wrote
    /// from the process's `table`, so that the table stays the size it
    /// started at. DynamoDB's cost does not grow with a table; moto's
    /// `TransactWriteItems` does (it copies the table), and without this
    /// the thousandth delivery would cost moto far more than the first.
    pub async fn forget_event(&self, table: &str, event: &Bytes) -> Result<(), String> {
        let event: Value = serde_json::from_slice(event).map_err(|e| e.to_string())?;
        let body: Value = serde_json::from_str(event["body"].as_str().unwrap_or("{}"))
            .map_err(|e| e.to_string())?;
        let id = body["id"].as_str().ok_or("a webhook event without an id")?;
        self.dynamo
            .delete_item()
            .table_name(table)
            .key("pk", AttributeValue::S(format!("event#{id}")))
            .send()
            .await
            .map_err(|e| format!("moto did not delete an event: {e:?}"))?;
        Ok(())
    }

    /// A merchant-pays order of 10.50 points at DeBox: its transfer token
    /// and serial.
    async fn order(&self) -> Result<(String, String), String> {
        let app = SandboxConfig::default().debox_app;
        let nonce = format!("{:08}", rand::random_range(0..100_000_000u32));
        let timestamp = crate::now_ms().to_string();
        let signature = sandbox::debox::signature(&app.app_secret, &nonce, &timestamp);
        let answer: Value = self
            .http
            .post(format!("{}/openapi/payment/order", self.sandbox.url()))
            .header("app_id", &app.app_id)
            .header("X-API-KEY", &app.api_key)
            .header("nonce", nonce)
            .header("timestamp", timestamp)
            .header("signature", signature)
            .json(&json!({"payer_user_id": MERCHANT, "receiver_user_id": "u1", "amount": "10.50"}))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let data = if answer["data"].is_object() {
            &answer["data"]
        } else {
            &answer
        };
        match (data["access_token"].as_str(), data["serial_id"].as_str()) {
            (Some(token), Some(serial)) => Ok((token.to_string(), serial.to_string())),
            _ => Err(format!("the sandbox made no order: {answer}")),
        }
    }

    /// A `charge.succeeded` for one of the webhook tables' charges in turn,
    /// freshly signed (a new event id each time, so each is applied, as a
    /// real payment's is): its body and signature.
    async fn signed_event(&mut self) -> Result<(String, String), String> {
        if self.charges.is_empty() {
            self.charge_records().await?;
        }
        let charge = self.charges[self.next_charge % self.charges.len()].clone();
        self.next_charge += 1;
        let event = self
            .sandbox
            .state()
            .settle_charge(&charge, "charge.succeeded")
            .ok_or("the sandbox lost a charge")?;
        Ok((event.body, event.signature))
    }
}

type Item = std::collections::HashMap<String, AttributeValue>;

/// A table like the template's: `pk` a string, on demand.
async fn create_table(dynamo: &aws_sdk_dynamodb::Client, moto: &str) -> Result<String, String> {
    let table = unique("bench");
    dynamo
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| format!("moto did not create a table (is {moto} moto?): {e:?}"))?;
    Ok(table)
}
