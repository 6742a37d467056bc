//! Building a container's long-lived clients, once, before the first event.
//!
//! Only cheap work happens here: reading the environment and constructing
//! clients. Nothing is fetched over the network until a request needs it.

use std::sync::Arc;

use crate::config::{self, ConfigError};
use crate::qbit::QbitClient;
use crate::secrets::Secrets;
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

/// The Secrets Manager cache for `PAYMENTS_SECRET_ID`.
pub fn secrets(
    sdk: &aws_config::SdkConfig,
    env: &config::Env<impl Fn(&str) -> Option<String>>,
) -> Result<Arc<Secrets>, BootError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    Ok(Arc::new(Secrets::new(client, env.secret_id()?)))
}

/// Everything a Qbit Pay function needs, from the process environment.
pub async fn qbit_client() -> Result<QbitClient, BootError> {
    let env = config::process_env();
    let base = env.qbit_base_url()?;
    let secrets = secrets(&aws_config().await, &env)?;
    Ok(QbitClient::new(
        http_client(Timeouts::default())?,
        base,
        secrets,
    ))
}

/// Log lines as the Lambda runtime sets them up (JSON when the function's
/// log format is JSON).
pub fn init_tracing() {
    lambda_http::tracing::init_default_subscriber();
}
