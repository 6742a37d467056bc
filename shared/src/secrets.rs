//! The providers' credentials: one JSON secret in Secrets Manager, fetched on
//! first use (not at start-up), cached per container, refreshed after at
//! most five minutes and at once when a provider rejects our credentials.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use http::StatusCode;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::ApiError;

/// The contract's bound on how stale a cached secret may be.
pub const MAX_SECRET_AGE: Duration = Duration::from_secs(5 * 60);

/// After Secrets Manager could not be read, how long every caller gets the
/// same 503 without a new call. Without it each request (the public webhook
/// included, which anyone can send) would call a failing service again, up
/// to three attempts each; a few seconds lets it recover, and Qbit's and
/// merchants' retries come later than that anyway.
pub const FAILED_READ_PAUSE: Duration = Duration::from_secs(5);

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

/// What the cache knows: the last secrets read, and when a read last failed.
#[derive(Default)]
struct State {
    cached: Option<Cached>,
    failed_at: Option<Instant>,
}

impl State {
    fn fresh(&self, now: Instant, max_age: Duration) -> Option<Arc<ProviderSecrets>> {
        self.cached
            .as_ref()
            .filter(|c| now.saturating_duration_since(c.fetched_at) < max_age)
            .map(|c| c.secrets.clone())
    }

    /// Whether a read failed less than [`FAILED_READ_PAUSE`] before `now`.
    fn pausing(&self, now: Instant) -> bool {
        self.failed_at
            .is_some_and(|at| now.saturating_duration_since(at) < FAILED_READ_PAUSE)
    }
}

/// The answer while Secrets Manager cannot be read: a 503, retried later.
fn unreadable() -> ApiError {
    ApiError::unavailable("the payments secret could not be read; try again shortly")
}

/// The per-container cache in front of Secrets Manager.
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    max_age: Duration,
    state: Mutex<State>,
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
            state: Mutex::new(State::default()),
        }
    }

    /// The current secrets: from the cache while fresh, else from Secrets
    /// Manager. Concurrent callers wait for one fetch rather than each
    /// making their own. A read that failed is not tried again for
    /// [`FAILED_READ_PAUSE`]: callers get the same 503 at once. A secret
    /// that was read but is wrong (a 500) is not paused: fixing it takes
    /// effect on the next request.
    pub async fn get(&self) -> Result<Arc<ProviderSecrets>, ApiError> {
        let mut state = self.state.lock().await;
        if let Some(secrets) = state.fresh(Instant::now(), self.max_age) {
            return Ok(secrets);
        }
        if state.pausing(Instant::now()) {
            return Err(unreadable());
        }
        match self.fetch().await {
            Ok(secrets) => {
                let secrets = Arc::new(secrets);
                *state = State {
                    cached: Some(Cached {
                        secrets: secrets.clone(),
                        fetched_at: Instant::now(),
                    }),
                    failed_at: None,
                };
                Ok(secrets)
            }
            Err(error) => {
                if error.status() == StatusCode::SERVICE_UNAVAILABLE {
                    state.failed_at = Some(Instant::now());
                }
                Err(error)
            }
        }
    }

    /// Forget the cached value and any failed read: a provider rejected our
    /// credentials, so the secret may have been rotated; read it afresh.
    pub async fn invalidate(&self) {
        *self.state.lock().await = State::default();
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
                unreadable()
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

    #[test]
    fn a_failed_read_pauses_reads_for_a_few_seconds_only() {
        let t0 = Instant::now();
        let mut state = State::default();
        assert!(!state.pausing(t0), "nothing failed yet");
        state.failed_at = Some(t0);
        assert!(state.pausing(t0));
        assert!(state.pausing(t0 + FAILED_READ_PAUSE - Duration::from_millis(1)));
        assert!(!state.pausing(t0 + FAILED_READ_PAUSE));
        // A clock read before the failure (another task's) still pauses.
        assert!(state.pausing(t0.checked_sub(Duration::from_secs(1)).unwrap_or(t0)));
    }

    #[test]
    fn a_cached_secret_is_fresh_for_its_max_age() {
        let t0 = Instant::now();
        let state = State {
            cached: Some(Cached {
                secrets: Arc::new(ProviderSecrets::parse("{}").unwrap()),
                fetched_at: t0,
            }),
            failed_at: None,
        };
        let age = Duration::from_secs(60);
        assert!(
            state
                .fresh(t0 + age - Duration::from_millis(1), age)
                .is_some()
        );
        assert!(state.fresh(t0 + age, age).is_none());
        assert!(State::default().fresh(t0, age).is_none());
    }
}
