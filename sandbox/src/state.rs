//! The sandbox's in-memory world: the merchant's keys, tokens and charges,
//! the calls received and the faults waiting to be applied.
//!
//! One lock, never held across an await.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::debox::{DeboxApp, DeboxOrder};
use crate::faults::Fault;
use crate::qbit::{Charge, IssuedToken};
use crate::webhooks::{SignedEvent, SigningKey};

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

/// How many calls each route received, keyed `"METHOD /path"`.
pub type Calls = BTreeMap<String, u64>;

pub struct World {
    pub qbit_api_keys: HashSet<String>,
    pub qbit_token_ttl: Duration,
    pub tokens: HashMap<String, IssuedToken>,
    /// Oldest first; lists read it backwards.
    pub charges: Vec<Charge>,
    pub calls: Calls,
    pub faults: Vec<Fault>,
    pub debox_apps: HashMap<String, DeboxApp>,
    pub debox_merchant: String,
    /// vBOX balances by user id, in hundredths.
    pub balances: HashMap<String, u64>,
    pub debox_orders: HashMap<String, DeboxOrder>,
    /// Answer `{"code": 1, "msg", "data"}` instead of the flat shape.
    pub debox_wrapped: bool,
    pub webhook_url: Option<String>,
    /// Every event made, oldest first.
    pub events: Vec<SignedEvent>,
    /// Each delivery: event id and the status the merchant answered.
    pub deliveries: Vec<(String, u16)>,
}

pub struct State {
    /// Where the sandbox is reached, for the URLs it hands out.
    pub public_url: String,
    /// The key Qbit's webhook events are signed with.
    pub webhook_key: SigningKey,
    world: Mutex<World>,
}

impl State {
    pub fn new(config: SandboxConfig, public_url: String) -> Result<Self, String> {
        let webhook_key = SigningKey::new(config.qbit_webhook_key_pem.as_deref())?;
        let world = World {
            qbit_api_keys: config.qbit_api_keys.into_iter().collect(),
            qbit_token_ttl: config.qbit_token_ttl,
            tokens: HashMap::new(),
            charges: Vec::new(),
            calls: Calls::new(),
            faults: Vec::new(),
            debox_apps: HashMap::from([(config.debox_app.app_id.clone(), config.debox_app)]),
            balances: HashMap::from([(
                config.debox_merchant.clone(),
                config.debox_merchant_balance,
            )]),
            debox_merchant: config.debox_merchant,
            debox_orders: HashMap::new(),
            debox_wrapped: false,
            webhook_url: config.qbit_webhook_url,
            events: Vec::new(),
            deliveries: Vec::new(),
        };
        Ok(Self {
            public_url,
            webhook_key,
            world: Mutex::new(world),
        })
    }

    /// The world, locked. A panic while it was held cannot leave it half
    /// changed in a way that matters to a test double, so poison is ignored.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Calls received so far.
    pub fn calls(&self) -> Calls {
        self.world().calls.clone()
    }

    /// Calls received on one route, such as `"POST /api/v1/charges"`.
    pub fn calls_to(&self, route: &str) -> u64 {
        self.world().calls.get(route).copied().unwrap_or(0)
    }

    pub fn add_qbit_key(&self, key: &str) {
        self.world().qbit_api_keys.insert(key.to_string());
    }

    pub fn revoke_qbit_key(&self, key: &str) {
        self.world().qbit_api_keys.remove(key);
    }

    pub fn set_qbit_token_ttl(&self, ttl: Duration) {
        self.world().qbit_token_ttl = ttl;
    }

    pub fn inject(&self, fault: Fault) {
        self.world().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.world().faults.clear();
    }

    /// Set a user's vBOX balance, in hundredths.
    pub fn set_balance(&self, user: &str, hundredths: u64) {
        self.world().balances.insert(user.to_string(), hundredths);
    }

    /// A user's vBOX balance, in hundredths.
    pub fn balance(&self, user: &str) -> u64 {
        self.world().balances.get(user).copied().unwrap_or(0)
    }

    /// Make an order's token expire now, as 5 minutes passing would.
    pub fn expire_order(&self, serial_id: &str) -> bool {
        match self.world().debox_orders.get_mut(serial_id) {
            Some(order) => {
                order.expires_at_ms = 0;
                true
            }
            None => false,
        }
    }

    pub fn set_debox_wrapped(&self, wrapped: bool) {
        self.world().debox_wrapped = wrapped;
    }
}
