//! Idempotency keys and charge records in memory, with the table's
//! semantics, for unit tests of the flow. Never used to prove a feature:
//! that is moto's job.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::IdempotencyKey;
use super::store::{
    ChargeRecord, ChargeStore, KEY_RETENTION_SECS, KeyClaim, KeyRecord, KeyState, KeyStore,
};
use crate::http::Caller;
use crate::table::{StoreUnavailable, lease_is_over};

struct Held {
    record: KeyRecord,
    claim_id: String,
    caller: Caller,
    lease_ends: u64,
    expires_at_s: u64,
}

#[derive(Default)]
pub struct MemoryKeys {
    keys: Mutex<HashMap<String, Held>>,
}

impl MemoryKeys {
    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key's record, if any (for assertions).
    pub fn record(&self, key: &IdempotencyKey) -> Option<KeyRecord> {
        self.keys().get(key.as_str()).map(|h| h.record.clone())
    }

    /// Who claimed the key, if anyone (for assertions).
    pub fn caller(&self, key: &IdempotencyKey) -> Option<Caller> {
        self.keys().get(key.as_str()).map(|h| h.caller.clone())
    }
}

impl KeyStore for MemoryKeys {
    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        claim_id: &str,
        caller: &Caller,
        lease_ends: u64,
        now_ms: u64,
    ) -> Result<KeyClaim, StoreUnavailable> {
        let mut keys = self.keys();
        if let Some(held) = keys.get(key.as_str()) {
            let free = held.expires_at_s <= now_ms / 1000
                || (held.record.state == KeyState::InProgress
                    && lease_is_over(held.lease_ends, now_ms));
            if held.claim_id == claim_id && held.record.state == KeyState::InProgress {
                return Ok(KeyClaim::Claimed);
            }
            if !free {
                return Ok(KeyClaim::Taken(held.record.clone()));
            }
        }
        keys.insert(
            key.as_str().to_string(),
            Held {
                record: KeyRecord {
                    fingerprint: fingerprint.to_string(),
                    state: KeyState::InProgress,
                    caller_account: Some(caller.account().to_string()),
                },
                claim_id: claim_id.to_string(),
                caller: caller.clone(),
                lease_ends,
                expires_at_s: now_ms / 1000 + KEY_RETENTION_SECS,
            },
        );
        Ok(KeyClaim::Claimed)
    }

    async fn complete_key(
        &self,
        key: &IdempotencyKey,
        claim_id: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreUnavailable> {
        match self.keys().get_mut(key.as_str()) {
            Some(held)
                if held.claim_id == claim_id && held.record.state == KeyState::InProgress =>
            {
                held.record.state = KeyState::Completed {
                    status,
                    body: body.to_string(),
                };
                Ok(())
            }
            _ => Err(StoreUnavailable("the claim is no longer ours".into())),
        }
    }

    async fn release_key(
        &self,
        key: &IdempotencyKey,
        claim_id: &str,
    ) -> Result<(), StoreUnavailable> {
        let mut keys = self.keys();
        match keys.get(key.as_str()) {
            Some(held) if held.claim_id == claim_id => {
                keys.remove(key.as_str());
                Ok(())
            }
            _ => Err(StoreUnavailable("the claim is no longer ours".into())),
        }
    }
}

/// Charge records in memory: the first record of an id stays.
#[derive(Default)]
pub struct MemoryCharges {
    charges: Mutex<HashMap<String, ChargeRecord>>,
    /// When set, every call fails as an unreachable table would.
    pub down: AtomicBool,
}

impl MemoryCharges {
    /// A charge's record, if any (for assertions).
    pub fn charge(&self, id: &str) -> Option<ChargeRecord> {
        let charges = self.charges.lock().unwrap_or_else(|p| p.into_inner());
        charges.get(id).cloned()
    }
}

impl ChargeStore for MemoryCharges {
    async fn record_charge(&self, charge: &ChargeRecord) -> Result<(), StoreUnavailable> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreUnavailable("memory store is down".into()));
        }
        let mut charges = self.charges.lock().unwrap_or_else(|p| p.into_inner());
        charges
            .entry(charge.charge_id.clone())
            .or_insert_with(|| charge.clone());
        Ok(())
    }
}
