//! The forward-only rule, as the store applies it: an event moves a charge
//! when its (status rank, instant) is above the charge's last applied one.
//! Read off the memory store itself, that relation is a strict total order
//! on those keys (irreflexive, antisymmetric, transitive, total), and any
//! delivery order of a charge's events, redeliveries included, ends in the
//! state the sorted order gives, never moving backwards on the way. (The
//! DynamoDB store's condition expression is the same rule; it is proved
//! against moto by the integration tests, not here.)

use proptest::prelude::*;
use proptest::sample::Index;

use super::memory::{ChargeState, MemoryEvents};
use super::store::{EventStore, Recorded};
use crate::qbit::webhook::{Event, EventCharge, rank};

const KINDS: [&str; 4] = [
    "charge.pending",
    "charge.failed",
    "charge.succeeded",
    "charge.closed",
];

/// An event about the charge the store recorded, as (kind, instant).
/// Instants come from a small range so that ties are common.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spec {
    kind: usize,
    at_ms: u64,
}

impl Spec {
    fn key(self) -> (u8, u64) {
        (rank(KINDS[self.kind]).unwrap(), self.at_ms)
    }

    fn event(self, id: usize) -> Event {
        let kind = KINDS[self.kind];
        Event {
            id: format!("evt_{id}"),
            kind: kind.to_string(),
            created_at: format!("{} ms", self.at_ms),
            created_at_ms: self.at_ms,
            charge: Some(EventCharge {
                id: "ch_1".into(),
                status: kind.trim_start_matches("charge.").into(),
                paid: kind == "charge.succeeded",
                amount: 1000,
                currency: "USD".into(),
                external_order_id: "o-1".into(),
            }),
        }
    }
}

fn a_spec() -> impl Strategy<Value = Spec> {
    (0..KINDS.len(), 0u64..6).prop_map(|(kind, at_ms)| Spec { kind, at_ms })
}

/// The memory store's futures never wait: poll them on a one-thread runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn store() -> MemoryEvents {
    let store = MemoryEvents::default();
    store.recorded_charge("ch_1", 1000, "USD");
    store
}

fn record(store: &MemoryEvents, event: &Event) -> Recorded {
    block_on(store.record_event(event, "{}", 0)).unwrap()
}

/// Whether the store moves a charge left at `a` on to `b`.
fn moves_on(a: Spec, b: Spec) -> bool {
    let store = store();
    assert_eq!(record(&store, &a.event(0)), Recorded::New { applied: true });
    record(&store, &b.event(1)) == Recorded::New { applied: true }
}

/// Where a charge stands: its rank and last applied instant.
fn position(state: &ChargeState) -> (u8, Option<u64>) {
    (state.rank, state.last_event_at_ms)
}

proptest! {
    /// The store's "moves on" relation is the strict order of the keys:
    /// total and antisymmetric on different keys, irreflexive on equal
    /// ones (a second event of the same rank and instant changes nothing),
    /// transitive.
    #[test]
    fn moving_on_is_a_strict_total_order_of_rank_then_instant(
        a in a_spec(), b in a_spec(), c in a_spec(),
    ) {
        let (ab, ba) = (moves_on(a, b), moves_on(b, a));
        prop_assert_eq!(ab, a.key() < b.key(), "{:?} then {:?}", a, b);
        if a.key() == b.key() {
            prop_assert!(!ab && !ba, "equal keys: {:?} {:?}", a, b);
        } else {
            prop_assert!(ab != ba, "exactly one way: {:?} {:?}", a, b);
        }
        if ab && moves_on(b, c) {
            prop_assert!(moves_on(a, c), "{:?} < {:?} < {:?}", a, b, c);
        }
    }

    /// Any delivery order, with redeliveries, ends where the sorted order
    /// ends, each event is applied exactly when it is above everything
    /// applied before it, and the charge never moves backwards.
    #[test]
    fn any_delivery_order_ends_as_the_sorted_order_never_moving_back(
        (specs, mut delivery) in proptest::collection::vec(a_spec(), 1..12).prop_flat_map(|specs| {
            let order: Vec<usize> = (0..specs.len()).collect();
            (Just(specs), Just(order).prop_shuffle())
        }),
        again in proptest::collection::vec(any::<Index>(), 0..6),
    ) {
        let events: Vec<Event> = specs.iter().enumerate().map(|(i, s)| s.event(i)).collect();
        // The shuffled delivery order, then some redeliveries.
        delivery.extend(again.iter().map(|at| at.index(events.len())));

        let shuffled = store();
        let mut best: Option<(u8, u64)> = None;
        let mut before = position(&shuffled.charge("ch_1").unwrap());
        let mut seen = std::collections::HashSet::new();
        for &i in &delivery {
            let recorded = record(&shuffled, &events[i]);
            if !seen.insert(i) {
                prop_assert_eq!(recorded, Recorded::Duplicate);
            } else {
                let key = specs[i].key();
                let above = best.is_none_or(|best| key > best);
                prop_assert_eq!(recorded, Recorded::New { applied: above }, "{:?} after {:?}", specs[i], best);
                if above {
                    best = Some(key);
                }
            }
            let now = position(&shuffled.charge("ch_1").unwrap());
            prop_assert!(now >= before, "moved back from {:?} to {:?}", before, now);
            before = now;
        }

        let mut sorted: Vec<usize> = (0..events.len()).collect();
        sorted.sort_by_key(|&i| specs[i].key());
        let in_order = store();
        for &i in &sorted {
            record(&in_order, &events[i]);
        }
        let (a, b) = (shuffled.charge("ch_1").unwrap(), in_order.charge("ch_1").unwrap());
        prop_assert_eq!(position(&a), position(&b));
        prop_assert_eq!(&a.status, &b.status);
        prop_assert_eq!(position(&a), (best.unwrap().0, Some(best.unwrap().1)));
        // With one event at the top key, both name it.
        let top = specs.iter().filter(|s| Some(s.key()) == best).count();
        if top == 1 {
            prop_assert_eq!(a.last_event_id, b.last_event_id);
        }
    }
}
