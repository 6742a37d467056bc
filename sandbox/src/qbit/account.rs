//! What Qbit Pay holds for the merchant: API keys, the token lifetime, the
//! tokens issued, charges, the events made and their deliveries, and where
//! and how events are sent. One lock of its own, never held across an
//! await, so a slow webhook delivery blocks nothing else.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::model::{Charge, IssuedToken, SignedEvent, event_body, now_rfc3339, random_id};
use crate::lock::lock;
use crate::webhooks::{self, SigningKey};

/// Qbit Pay's side of the sandbox.
pub struct QbitPay {
    /// Where the sandbox is reached: charges' `paymentPageUrl` starts here.
    pub(super) public_url: String,
    /// Signs every event; fixed for the sandbox's life, so outside the lock.
    webhook_key: Arc<SigningKey>,
    account: Mutex<Account>,
}

/// The changing part, behind [`QbitPay`]'s lock.
pub(super) struct Account {
    pub(super) api_keys: HashSet<String>,
    pub(super) token_ttl: Duration,
    pub(super) tokens: HashMap<String, IssuedToken>,
    /// Oldest first; lists read it backwards.
    pub(super) charges: Vec<Charge>,
    /// Every event made, oldest first.
    events: Vec<SignedEvent>,
    /// Each delivery: event id and the status the merchant answered.
    deliveries: Vec<(String, u16)>,
    /// Where events are POSTed; none are sent until it is set.
    webhook_url: Option<String>,
}

impl QbitPay {
    pub fn new(
        api_keys: impl IntoIterator<Item = String>,
        token_ttl: Duration,
        webhook_key: Arc<SigningKey>,
        webhook_url: Option<String>,
        public_url: String,
    ) -> Self {
        Self {
            public_url,
            webhook_key,
            account: Mutex::new(Account {
                api_keys: api_keys.into_iter().collect(),
                token_ttl,
                tokens: HashMap::new(),
                charges: Vec::new(),
                events: Vec::new(),
                deliveries: Vec::new(),
                webhook_url,
            }),
        }
    }

    /// The account, locked; for this provider's routes only.
    pub(super) fn lock(&self) -> MutexGuard<'_, Account> {
        lock(&self.account)
    }

    /// The key events are signed with (its public half is the merchant's).
    pub fn webhook_key(&self) -> &Arc<SigningKey> {
        &self.webhook_key
    }

    pub fn add_key(&self, key: &str) {
        self.lock().api_keys.insert(key.to_string());
    }

    pub fn revoke_key(&self, key: &str) {
        self.lock().api_keys.remove(key);
    }

    /// Lifetime of the access tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.lock().token_ttl = ttl;
    }

    /// Where events are POSTed from now on.
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.lock().webhook_url = Some(url.into());
    }

    /// The charges made, oldest first.
    pub fn charges(&self) -> Vec<Charge> {
        self.lock().charges.clone()
    }

    pub fn charge_count(&self) -> usize {
        self.lock().charges.len()
    }

    /// Each delivery so far, oldest first: event id and the status answered.
    pub fn deliveries(&self) -> Vec<(String, u16)> {
        self.lock().deliveries.clone()
    }

    /// Move a charge on (`charge.succeeded`: paid; `charge.closed`;
    /// `charge.failed`) and make its signed event, stamped now.
    pub fn settle_charge(&self, charge_id: &str, kind: &str) -> Option<SignedEvent> {
        let mut account = self.lock();
        let charge = account.charges.iter_mut().find(|c| c.id == charge_id)?;
        match kind {
            "charge.succeeded" => {
                charge.paid = true;
                charge.status = "succeeded".into();
            }
            "charge.closed" => charge.status = "closed".into(),
            "charge.failed" => charge.status = "failed".into(),
            _ => {}
        }
        let id = format!("evt_{}", random_id(16));
        let body = event_body(&id, kind, &now_rfc3339(), charge);
        let signature = self.webhook_key.sign(body.as_bytes());
        let event = SignedEvent {
            id,
            kind: kind.to_string(),
            body,
            signature,
        };
        account.events.push(event.clone());
        Some(event)
    }

    /// An event made earlier.
    pub fn event(&self, event_id: &str) -> Option<SignedEvent> {
        self.lock()
            .events
            .iter()
            .find(|e| e.id == event_id)
            .cloned()
    }

    /// POST the event to the webhook URL, if one is set; the status answered
    /// (0: no URL, or no answer).
    pub async fn deliver(&self, event: &SignedEvent) -> u16 {
        let Some(url) = self.lock().webhook_url.clone() else {
            return 0;
        };
        let status = webhooks::deliver(&url, &event.body, &event.signature).await;
        self.lock().deliveries.push((event.id.clone(), status));
        status
    }
}
