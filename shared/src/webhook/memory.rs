//! Webhook events in memory, with the table's semantics, for unit tests of
//! the flow. Never used to prove a feature: that is moto's job.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::store::{EventStore, Recorded, unreadable_event_key};
use crate::qbit::webhook::{Event, rank};
use crate::table::StoreUnavailable;

/// A charge as events left it: its rank, its last event's instant and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeState {
    pub status: String,
    pub rank: u8,
    pub last_event_at_ms: u64,
    pub last_event_id: String,
}

#[derive(Default)]
struct Tables {
    /// Event id to whether it was applied.
    events: HashMap<String, bool>,
    charges: HashMap<String, ChargeState>,
    /// Item key to (body, deliveries).
    unreadable: HashMap<String, (Vec<u8>, u64)>,
}

#[derive(Default)]
pub struct MemoryEvents {
    tables: Mutex<Tables>,
    /// When set, every call fails as an unreachable table would.
    pub down: AtomicBool,
}

impl MemoryEvents {
    fn tables(&self) -> Result<std::sync::MutexGuard<'_, Tables>, StoreUnavailable> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreUnavailable("memory store is down".into()));
        }
        Ok(self.tables.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A charge's state, if an event set one (for assertions).
    pub fn charge(&self, id: &str) -> Option<ChargeState> {
        self.tables.lock().ok()?.charges.get(id).cloned()
    }

    /// An unreadable body kept, and its deliveries (for assertions).
    pub fn unreadable(&self, body: &[u8]) -> Option<(Vec<u8>, u64)> {
        let key = unreadable_event_key(body);
        self.tables.lock().ok()?.unreadable.get(&key).cloned()
    }
}

impl EventStore for MemoryEvents {
    async fn record_event(
        &self,
        event: &Event,
        _now_ms: u64,
    ) -> Result<Recorded, StoreUnavailable> {
        let mut tables = self.tables()?;
        if tables.events.contains_key(&event.id) {
            return Ok(Recorded::Duplicate);
        }
        let mut applied = false;
        if let (Some(charge), Some(rank)) = (&event.charge, rank(&event.kind)) {
            let forward = tables.charges.get(&charge.id).is_none_or(|now| {
                now.rank < rank || (now.rank == rank && now.last_event_at_ms < event.created_at_ms)
            });
            if forward {
                tables.charges.insert(
                    charge.id.clone(),
                    ChargeState {
                        status: charge.status.clone(),
                        rank,
                        last_event_at_ms: event.created_at_ms,
                        last_event_id: event.id.clone(),
                    },
                );
                applied = true;
            }
        }
        tables.events.insert(event.id.clone(), applied);
        Ok(Recorded::New { applied })
    }

    async fn keep_unreadable_event(
        &self,
        body: &[u8],
        _signature: &str,
        _reason: &str,
        _now_ms: u64,
    ) -> Result<u64, StoreUnavailable> {
        let mut tables = self.tables()?;
        let kept = tables
            .unreadable
            .entry(unreadable_event_key(body))
            .or_insert_with(|| (body.to_vec(), 0));
        kept.1 += 1;
        Ok(kept.1)
    }
}
