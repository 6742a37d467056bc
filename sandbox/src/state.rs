//! The sandbox as a whole: the two providers and the fault injector, each
//! owning its state behind its own lock, plus where the sandbox is reached.
//!
//! This module only composes. It imports the providers and none of them
//! imports it, so the providers stay independent of each other and of the
//! control API. Only [`crate::control`] and the crate root use
//! [`SandboxState`]; the methods below are there so that tests can set up
//! and read a sandbox without HTTP.

use std::sync::Arc;
use std::time::Duration;

use crate::config::SandboxConfig;
use crate::debox::{Debox, DeboxOrder};
use crate::faults::{Calls, Fault, Faults};
use crate::qbit::{Charge, QbitPay, SignedEvent};
use crate::webhooks::SigningKey;

pub struct SandboxState {
    /// Where the sandbox is reached, for the URLs it hands out.
    pub public_url: String,
    /// The key Qbit's webhook events are signed with: the one [`QbitPay`]
    /// holds, here too so a test can sign a body of its own with it.
    pub webhook_key: Arc<SigningKey>,
    pub qbit: Arc<QbitPay>,
    pub debox: Arc<Debox>,
    pub faults: Arc<Faults>,
}

impl SandboxState {
    pub fn new(config: SandboxConfig, public_url: String) -> Result<Self, String> {
        let webhook_key = Arc::new(SigningKey::new(config.qbit_webhook_key_pem.as_deref())?);
        let qbit = QbitPay::new(
            config.qbit_api_keys,
            config.qbit_token_ttl,
            webhook_key.clone(),
            config.qbit_webhook_url,
            public_url.clone(),
        );
        let debox = Debox::new(
            config.debox_app,
            config.debox_merchant,
            config.debox_merchant_balance,
        );
        Ok(Self {
            public_url,
            webhook_key,
            qbit: Arc::new(qbit),
            debox: Arc::new(debox),
            faults: Arc::new(Faults::new()),
        })
    }

    // The faults: calls received, faults to apply.

    /// Calls received so far.
    pub fn calls(&self) -> Calls {
        self.faults.calls()
    }

    /// Calls received on one route, such as `"POST /api/v1/charges"`.
    pub fn calls_to(&self, route: &str) -> u64 {
        self.faults.calls_to(route)
    }

    pub fn inject(&self, fault: Fault) {
        self.faults.inject(fault);
    }

    /// How many faults have been applied, by kind.
    pub fn faults_applied(&self) -> std::collections::BTreeMap<String, u64> {
        self.faults.applied()
    }

    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    // Qbit Pay.

    pub fn add_qbit_key(&self, key: &str) {
        self.qbit.add_key(key);
    }

    pub fn revoke_qbit_key(&self, key: &str) {
        self.qbit.revoke_key(key);
    }

    pub fn set_qbit_token_ttl(&self, ttl: Duration) {
        self.qbit.set_token_ttl(ttl);
    }

    /// Where Qbit's webhook events are POSTed from now on.
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.qbit.set_webhook_url(url);
    }

    /// The charges Qbit holds, oldest first.
    pub fn charges(&self) -> Vec<Charge> {
        self.qbit.charges()
    }

    pub fn charge_count(&self) -> usize {
        self.qbit.charge_count()
    }

    /// Move a charge on and make its signed event (see [`QbitPay::settle_charge`]).
    pub fn settle_charge(&self, charge_id: &str, kind: &str) -> Option<SignedEvent> {
        self.qbit.settle_charge(charge_id, kind)
    }

    /// An event made earlier.
    pub fn event(&self, event_id: &str) -> Option<SignedEvent> {
        self.qbit.event(event_id)
    }

    /// POST the event to the webhook URL, if one is set; the status answered
    /// (0: no URL, or no answer).
    pub async fn deliver(&self, event: &SignedEvent) -> u16 {
        self.qbit.deliver(event).await
    }

    // DeBox.

    /// Set a user's vBOX balance, in hundredths.
    pub fn set_balance(&self, user: &str, hundredths: u64) {
        self.debox.set_balance(user, hundredths);
    }

    /// A user's vBOX balance, in hundredths.
    pub fn balance(&self, user: &str) -> u64 {
        self.debox.balance(user)
    }

    /// Make an order's token expire now, as 5 minutes passing would.
    pub fn expire_order(&self, serial_id: &str) -> bool {
        self.debox.expire_order(serial_id)
    }

    pub fn set_debox_wrapped(&self, wrapped: bool) {
        self.debox.set_wrapped(wrapped);
    }

    /// A DeBox order, by serial id.
    pub fn debox_order(&self, serial_id: &str) -> Option<DeboxOrder> {
        self.debox.order(serial_id)
    }

    /// How many transfer requests DeBox received for `serial_id`.
    pub fn debox_transfer_requests(&self, serial_id: &str) -> u32 {
        self.debox.transfer_requests(serial_id)
    }

    pub fn debox_order_count(&self) -> usize {
        self.debox.order_count()
    }
}
