//! Idempotency keys in memory, with the table's semantics, for unit tests of
//! the flow. Never used to prove a feature: that is moto's job.

use std::collections::HashMap;
use std::sync::Mutex;

use super::IdempotencyKey;
use super::store::{KEY_RETENTION_SECS, KeyClaim, KeyRecord, KeyState, KeyStore};
use crate::table::{StoreUnavailable, lease_is_over};

struct Held {
    record: KeyRecord,
    claim_id: String,
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
}

impl KeyStore for MemoryKeys {
    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        claim_id: &str,
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
                },
                claim_id: claim_id.to_string(),
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
