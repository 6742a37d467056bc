//! Webhook events in memory, with the table's semantics, for unit tests of
//! the flow. Never used to prove a feature: that is moto's job.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::matching::{RecordedCharge, match_charge, unhandled};
use super::store::{EventStore, Recorded, unreadable_event_key};
use crate::qbit::webhook::{Event, rank};
use crate::table::StoreUnavailable;

/// A charge as create-charge recorded it and events left it: its rank,
/// its last applied event's instant and id (none yet: just recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeState {
    pub amount: u64,
    pub currency: String,
    pub status: String,
    pub rank: u8,
    pub last_event_at_ms: Option<u64>,
    pub last_event_id: Option<String>,
}

#[derive(Default)]
struct Tables {
    /// Event id to what recording it did.
    events: HashMap<String, Recorded>,
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

    /// A charge as create-charge records it: pending, no event yet.
    pub fn recorded_charge(&self, id: &str, amount: u64, currency: &str) {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables.charges.insert(
            id.to_string(),
            ChargeState {
                amount,
                currency: currency.to_string(),
                status: crate::charge::CREATED_STATUS.to_string(),
                rank: crate::charge::CREATED_RANK,
                last_event_at_ms: None,
                last_event_id: None,
            },
        );
    }

    /// A charge's state, if recorded (for assertions).
    pub fn charge(&self, id: &str) -> Option<ChargeState> {
        self.tables.lock().ok()?.charges.get(id).cloned()
    }

    /// What recording an event did, if it was recorded (for assertions).
    pub fn event(&self, id: &str) -> Option<Recorded> {
        self.tables.lock().ok()?.events.get(id).cloned()
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
        _body: &str,
        _now_ms: u64,
    ) -> Result<Recorded, StoreUnavailable> {
        let mut tables = self.tables()?;
        if tables.events.contains_key(&event.id) {
            return Ok(Recorded::Duplicate);
        }
        let mut recorded = match unhandled(event) {
            Some(unmatched) => Recorded::Unmatched(unmatched),
            None => Recorded::New { applied: false },
        };
        if let (Some(charge), Some(rank)) = (&event.charge, rank(&event.kind)) {
            let now = tables.charges.get(&charge.id);
            let seen = now.map(|c| RecordedCharge {
                amount: c.amount,
                currency: c.currency.clone(),
            });
            match match_charge(charge, seen.as_ref()) {
                Err(unmatched) => recorded = Recorded::Unmatched(unmatched),
                Ok(()) => {
                    let forward = now.is_some_and(|now| {
                        now.rank < rank
                            || (now.rank == rank
                                && now
                                    .last_event_at_ms
                                    .is_none_or(|at| at < event.created_at_ms))
                    });
                    if let (true, Some(state)) = (forward, tables.charges.get_mut(&charge.id)) {
                        state.status = charge.status.clone();
                        state.rank = rank;
                        state.last_event_at_ms = Some(event.created_at_ms);
                        state.last_event_id = Some(event.id.clone());
                        recorded = Recorded::New { applied: true };
                    }
                }
            }
        }
        tables.events.insert(event.id.clone(), recorded.clone());
        Ok(recorded)
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
