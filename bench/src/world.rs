//! What the processes run against: the provider sandbox (in this process,
//! on a runtime and thread of its own, so that serving it never delays the
//! Runtime API stand-in's clock), and a table and a secret of this run's
//! own in moto. And the events: the files in `events/`, with a fresh DeBox
//! order for each transfer and a freshly signed Qbit event for each webhook
//! delivery, so every request takes the path a real one takes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
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
    /// Charges at Qbit, handed out in turn to webhook events.
    next_charge: usize,
}

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
        let table = unique("bench");
        aws_sdk_dynamodb::Client::new(&sdk)
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
            .map_err(|e| format!("moto did not create the table (is {moto} moto?): {e:?}"))?;
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
            next_charge: 0,
        })
    }

    /// The functions' environment (`demo::function_env`, the list the local
    /// run and the tests use), with `aws` as the AWS endpoint (moto, or a
    /// counting proxy in front of it).
    pub fn function_env(&self, aws: &str) -> Vec<(String, String)> {
        let setup = demo::Setup {
            lambda_port: 0,
            sandbox_url: self.sandbox.url(),
            moto_endpoint: aws.to_string(),
            table: self.table.clone(),
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

    /// A `charge.succeeded` for a charge at Qbit, freshly signed (a new
    /// event id each time): its body and signature. The charges
    /// `create-charge` made are used in turn (each one recorded, so the
    /// event is applied, as a real payment's is); one is made at Qbit when
    /// there are none yet.
    async fn signed_event(&mut self) -> Result<(String, String), String> {
        let state = self.sandbox.state();
        if state.charge_count() == 0 {
            self.http
                .post(format!("{}/api/v1/charges", self.sandbox.url()))
                .basic_auth(&self.api_key, Some(""))
                .json(&json!({"amount": 1000, "currency": "USD", "externalOrderId": "bench"}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
        }
        let charges = state.charges();
        let charge = &charges[self.next_charge % charges.len()];
        self.next_charge += 1;
        let event = state
            .settle_charge(&charge.id, "charge.succeeded")
            .ok_or("the sandbox lost a charge")?;
        Ok((event.body, event.signature))
    }
}
