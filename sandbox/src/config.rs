//! How a sandbox starts: one flat set of options for both providers, as
//! `main`'s flags and the tests give them. [`crate::state`] hands each
//! provider its part.

use std::time::Duration;

use crate::debox::DeboxApp;

/// How a sandbox starts.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Qbit API keys accepted with Basic auth.
    pub qbit_api_keys: Vec<String>,
    /// Lifetime of the access tokens Qbit issues.
    pub qbit_token_ttl: Duration,
    /// The DeBox app whose signed calls are accepted.
    pub debox_app: DeboxApp,
    /// The merchant's DeBox user id (the app's owner).
    pub debox_merchant: String,
    /// The merchant's starting vBOX balance, in hundredths.
    pub debox_merchant_balance: u64,
    /// The PKCS#8 PEM that webhook events are signed with; a fresh key when
    /// absent.
    pub qbit_webhook_key_pem: Option<String>,
    /// Where events are POSTed; none are sent until it is set.
    pub qbit_webhook_url: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            qbit_api_keys: vec!["sk_test_sandbox".into()],
            qbit_token_ttl: Duration::from_secs(3600),
            debox_app: DeboxApp {
                app_id: "app_sandbox".into(),
                api_key: "debox_key_sandbox".into(),
                app_secret: "debox_secret_sandbox".into(),
            },
            debox_merchant: "merchant1".into(),
            debox_merchant_balance: 100_000, // 1000 points
            qbit_webhook_key_pem: None,
            qbit_webhook_url: None,
        }
    }
}
