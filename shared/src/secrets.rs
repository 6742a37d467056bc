//! The providers' credentials: one JSON secret in Secrets Manager, fetched on
//! first use (not at start-up), cached per container, refreshed after at
//! most five minutes and at once when a provider rejects our credentials.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::ApiError;

/// The contract's bound on how stale a cached secret may be.
pub const MAX_SECRET_AGE: Duration = Duration::from_secs(5 * 60);

/// A credential. Its `Debug` never shows the value, so it cannot reach a log
/// by accident; `expose` is the one way to read it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The secret's JSON. Every member is optional here because each function
/// needs only its own provider's; asking for a missing one is a 500 that
/// names the member. Unknown members are ignored, so the secret can grow.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderSecrets {
    qbit_api_key: Option<Secret>,
    qbit_webhook_public_key: Option<String>,
    debox_app_id: Option<String>,
    debox_api_key: Option<Secret>,
    debox_app_secret: Option<Secret>,
}

fn present<'a, T>(value: &'a Option<T>, name: &str) -> Result<&'a T, ApiError> {
    value
        .as_ref()
        .ok_or_else(|| ApiError::misconfigured(format!("the payments secret has no {name}")))
}

impl ProviderSecrets {
    /// Parse the secret string. The error never quotes the secret.
    pub fn parse(json: &str) -> Result<Self, ApiError> {
        serde_json::from_str(json).map_err(|e| {
            ApiError::misconfigured(format!(
                "the payments secret is not a JSON object of strings (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    pub fn qbit_api_key(&self) -> Result<&Secret, ApiError> {
        present(&self.qbit_api_key, "qbit_api_key")
    }

    pub fn qbit_webhook_public_key(&self) -> Result<&str, ApiError> {
        present(&self.qbit_webhook_public_key, "qbit_webhook_public_key").map(String::as_str)
    }

    pub fn debox_app_id(&self) -> Result<&str, ApiError> {
        present(&self.debox_app_id, "debox_app_id").map(String::as_str)
    }

    pub fn debox_api_key(&self) -> Result<&Secret, ApiError> {
        present(&self.debox_api_key, "debox_api_key")
    }

    pub fn debox_app_secret(&self) -> Result<&Secret, ApiError> {
        present(&self.debox_app_secret, "debox_app_secret")
    }
}

struct Cached {
    secrets: Arc<ProviderSecrets>,
    fetched_at: Instant,
}

/// The per-container cache in front of Secrets Manager.
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    max_age: Duration,
    cached: Mutex<Option<Cached>>,
}

impl Secrets {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self::with_max_age(client, secret_id, MAX_SECRET_AGE)
    }

    /// A cache whose entries live `max_age` (at most [`MAX_SECRET_AGE`]).
    pub fn with_max_age(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        max_age: Duration,
    ) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            max_age: max_age.min(MAX_SECRET_AGE),
            cached: Mutex::new(None),
        }
    }

    /// The current secrets: from the cache while fresh, else from Secrets
    /// Manager. Concurrent callers wait for one fetch rather than each
    /// making their own.
    pub async fn get(&self) -> Result<Arc<ProviderSecrets>, ApiError> {
        let mut cached = self.cached.lock().await;
        if let Some(entry) = cached.as_ref()
            && entry.fetched_at.elapsed() < self.max_age
        {
            return Ok(entry.secrets.clone());
        }
        let secrets = Arc::new(self.fetch().await?);
        *cached = Some(Cached {
            secrets: secrets.clone(),
            fetched_at: Instant::now(),
        });
        Ok(secrets)
    }

    /// Forget the cached value: a provider rejected our credentials, so the
    /// secret may have been rotated.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<ProviderSecrets, ApiError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                tracing::error!(error = %DisplayErrorContext(&e), "could not read the payments secret");
                ApiError::unavailable("the payments secret could not be read; try again shortly")
            })?;
        let text = output.secret_string().ok_or_else(|| {
            ApiError::misconfigured(
                "the payments secret has no string value; store it as JSON text",
            )
        })?;
        ProviderSecrets::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_credential() {
        let s =
            ProviderSecrets::parse(r#"{"qbit_api_key": "sk_live_123", "debox_app_secret": "shh"}"#)
                .unwrap();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("sk_live_123") && !shown.contains("shh"),
            "{shown}"
        );
        assert_eq!(s.qbit_api_key().unwrap().expose(), "sk_live_123");
    }

    #[test]
    fn a_missing_member_is_named_without_values() {
        let s = ProviderSecrets::parse(r#"{"debox_app_id": "app", "future_member": "x"}"#).unwrap();
        let err = s.qbit_api_key().unwrap_err();
        assert_eq!(err.status(), 500);
        assert_eq!(err.message(), "the payments secret has no qbit_api_key");
    }

    #[test]
    fn a_malformed_secret_is_refused_without_quoting_it() {
        let err = ProviderSecrets::parse(r#"{"qbit_api_key": 12345678}"#).unwrap_err();
        assert!(!err.message().contains("12345678"), "{}", err.message());
        let err = ProviderSecrets::parse("sk_live_plain_text").unwrap_err();
        assert!(!err.message().contains("sk_live"), "{}", err.message());
    }
}
