//! The AWS clients, from the SDK's usual configuration (credentials,
//! region, `AWS_ENDPOINT_URL` for moto), with the functions' limits. Unlike
//! the functions (`shared::tls`), it trusts the machine's certificate store:
//! an operator's machine may reach AWS through a proxy with its own CA, and
//! a CLI's start-up is not on anyone's request path.

use std::time::Duration;

use aws_sdk_sts::error::DisplayErrorContext;
use shared::table::DynamoStore;

use crate::exit::Failure;

pub struct Aws {
    pub sdk: aws_config::SdkConfig,
    pub store: DynamoStore,
}

impl Aws {
    pub async fn load(table: String) -> Self {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        // The functions' limits (1 s to connect, 2 s an attempt, 3 attempts):
        // a page of a Scan is one request, well within them.
        let store = DynamoStore::new(shared::bootstrap::dynamo_client(&sdk), table);
        Self { sdk, store }
    }

    /// Who is running this: STS `GetCallerIdentity`'s ARN, recorded on a
    /// resolution or a handled event. No answer, no write. `who` names it
    /// in the error ("who is resolving").
    pub async fn caller_arn(&self, who: &str) -> Result<String, Failure> {
        let config = aws_sdk_sts::config::Builder::from(&self.sdk)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            )
            .build();
        let answer = aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                Failure::unavailable(format!(
                    "STS GetCallerIdentity failed, so {who} cannot be recorded; nothing was written: {}",
                    DisplayErrorContext(&e)
                ))
            })?;
        answer
            .arn()
            .filter(|arn| !arn.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                Failure::unavailable(format!(
                    "STS GetCallerIdentity answered without an ARN, so {who} cannot be recorded; nothing was written"
                ))
            })
    }
}
