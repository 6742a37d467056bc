//! What DeBox holds: the apps whose signed calls it accepts, the merchant,
//! vBOX balances, orders, and which answer shape it uses. One lock of its
//! own, never held across an await.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::lock::lock;

/// The app's credentials, as the open platform issued them.
#[derive(Debug, Clone)]
pub struct DeboxApp {
    pub app_id: String,
    pub api_key: String,
    pub app_secret: String,
}

/// An order (merchant-pays from `/openapi/payment/order`, user-pays from
/// `/oauth/authorize`), and whether its points have moved.
#[derive(Debug, Clone)]
pub struct DeboxOrder {
    pub payer: String,
    pub receiver: String,
    pub hundredths: u64,
    pub token: String,
    pub expires_at_ms: u64,
    pub merchant_pays: bool,
    pub transferred: bool,
}

/// DeBox's side of the sandbox.
pub struct Debox {
    books: Mutex<Books>,
}

/// The changing part, behind [`Debox`]'s lock.
pub(super) struct Books {
    pub(super) apps: HashMap<String, DeboxApp>,
    /// The merchant's user id (the app's owner).
    pub(super) merchant: String,
    /// vBOX balances by user id, in hundredths.
    pub(super) balances: HashMap<String, u64>,
    /// Orders by serial id.
    pub(super) orders: HashMap<String, DeboxOrder>,
    /// Answer `{"code": 1, "msg", "data"}` instead of the flat shape.
    pub(super) wrapped: bool,
    /// Transfer requests received, by serial id, whatever their outcome
    /// (faulted ones too): what a soak reconciles against ("was any serial
    /// sent twice?").
    pub(super) transfer_requests: HashMap<String, u32>,
}

impl Debox {
    /// One app, and its merchant holding `merchant_balance` hundredths.
    pub fn new(app: DeboxApp, merchant: String, merchant_balance: u64) -> Self {
        Self {
            books: Mutex::new(Books {
                apps: HashMap::from([(app.app_id.clone(), app)]),
                balances: HashMap::from([(merchant.clone(), merchant_balance)]),
                merchant,
                orders: HashMap::new(),
                wrapped: false,
                transfer_requests: HashMap::new(),
            }),
        }
    }

    /// The books, locked; for this provider's routes only.
    pub(super) fn lock(&self) -> MutexGuard<'_, Books> {
        lock(&self.books)
    }

    /// Set a user's vBOX balance, in hundredths.
    pub fn set_balance(&self, user: &str, hundredths: u64) {
        self.lock().balances.insert(user.to_string(), hundredths);
    }

    /// A user's vBOX balance, in hundredths.
    pub fn balance(&self, user: &str) -> u64 {
        self.lock().balances.get(user).copied().unwrap_or(0)
    }

    /// Make an order's token expire now, as 5 minutes passing would; false
    /// when there is no such order.
    pub fn expire_order(&self, serial_id: &str) -> bool {
        match self.lock().orders.get_mut(serial_id) {
            Some(order) => {
                order.expires_at_ms = 0;
                true
            }
            None => false,
        }
    }

    /// Answer wrapped (`{"code", "msg", "data"}`) or flat from now on.
    pub fn set_wrapped(&self, wrapped: bool) {
        self.lock().wrapped = wrapped;
    }

    /// An order, by serial id.
    pub fn order(&self, serial_id: &str) -> Option<DeboxOrder> {
        self.lock().orders.get(serial_id).cloned()
    }

    /// How many transfer requests named `serial_id`.
    pub fn transfer_requests(&self, serial_id: &str) -> u32 {
        self.lock()
            .transfer_requests
            .get(serial_id)
            .copied()
            .unwrap_or(0)
    }

    pub fn order_count(&self) -> usize {
        self.lock().orders.len()
    }
}
