//! Building a container's long-lived clients, once, before the first event.
//!
//! Only cheap work happens here: reading the environment and constructing
//! clients. Nothing is fetched over the network until a request needs it.

use std::sync::Arc;

use std::time::Duration;

use crate::config::{self, ConfigError};
use crate::debox::{DeboxClient, UserId};
use crate::qbit::QbitClient;
use crate::secrets::Secrets;
use crate::table::DynamoStore;
use crate::upstream::{Timeouts, http_client};

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The AWS SDK configuration from the standard environment (region,
/// credentials, and `AWS_ENDPOINT_URL*` for local emulators).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// Timeouts and retries for our own AWS services (the table, the secret):
/// one that cannot be reached must become a quick 503, well before the
/// function's own timeout and before anything is sent to a provider.
/// 1 s to connect, 2 s an attempt, 3 attempts, 4 s in all
/// (`budget::RECORD_MARGIN_MS` counts on that bound).
fn aws_limits() -> (
    aws_config::timeout::TimeoutConfig,
    aws_config::retry::RetryConfig,
) {
    (
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_attempt_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(4))
            .build(),
        aws_config::retry::RetryConfig::standard().with_max_attempts(3),
    )
}

/// The Secrets Manager client, with [`aws_limits`]: a stalled Secrets
/// Manager is a 503 after 4 s, not a call that hangs until Lambda kills us.
pub fn secrets_client(sdk: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    let (timeouts, retries) = aws_limits();
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// The Secrets Manager cache for `PAYMENTS_SECRET_ID`.
pub fn secrets(
    sdk: &aws_config::SdkConfig,
    env: &config::Env<impl Fn(&str) -> Option<String>>,
) -> Result<Arc<Secrets>, BootError> {
    Ok(Arc::new(Secrets::new(
        secrets_client(sdk),
        env.secret_id()?,
    )))
}

/// Everything a Qbit Pay function needs, from the process environment.
pub fn qbit_client(sdk: &aws_config::SdkConfig) -> Result<QbitClient, BootError> {
    let env = config::process_env();
    let base = env.qbit_base_url()?;
    let secrets = secrets(sdk, &env)?;
    Ok(QbitClient::new(
        http_client(Timeouts::default())?,
        base,
        secrets,
    ))
}

/// A DeBox function's clients, from the process environment.
pub struct Debox {
    pub client: DeboxClient,
    pub merchant: UserId,
    pub app_base: url::Url,
}

pub fn debox(sdk: &aws_config::SdkConfig) -> Result<Debox, BootError> {
    let env = config::process_env();
    let merchant = env.merchant_user_id()?;
    let open_base = env.debox_open_base_url()?;
    let app_base = env.debox_app_base_url()?;
    let secrets = secrets(sdk, &env)?;
    Ok(Debox {
        client: DeboxClient::new(http_client(Timeouts::default())?, open_base, secrets),
        merchant,
        app_base,
    })
}

/// The DynamoDB client, with [`aws_limits`].
pub fn dynamo_client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let (timeouts, retries) = aws_limits();
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The DynamoDB store for `PAYMENTS_TABLE`.
pub fn store(sdk: &aws_config::SdkConfig) -> Result<DynamoStore, BootError> {
    let table = config::process_env().table()?;
    Ok(DynamoStore::new(dynamo_client(sdk), table))
}

/// Log lines as the Lambda runtime sets them up (JSON when the function's
/// log format is JSON).
pub fn init_tracing() {
    lambda_http::tracing::init_default_subscriber();
}
