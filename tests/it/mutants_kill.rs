//! Mutants of the stores that only DynamoDB can see (scripts/mutants.sh
//! store): the exact expiry each item is written with, and an idempotency
//! key that is free again once its 24 hours are over. The other store
//! tests bound these values from one side only.

use aws_sdk_dynamodb::types::AttributeValue;
use bundle_tests::{fresh_store, unique};
use shared::charge::{IdempotencyKey, KeyClaim, KeyStore};
use shared::debox::SerialId;
use shared::http::Caller;
use shared::qbit::webhook::{Event, EventCharge};
use shared::table::DynamoStore;
use shared::transfer::{Claim, ClaimOutcome, Settlement, TransferStatus, TransferStore};
use shared::webhook::{EventStore, Recorded, unreadable_event_key};

/// 2026-11-21T10:00:00.789Z: a fraction of a second, so that a TTL
/// computed from milliseconds rather than seconds shows.
const NOW_MS: u64 = 1_795_255_200_789;
const NOW_S: u64 = 1_795_255_200;
const DAY_S: u64 = 24 * 3600;

fn caller() -> Caller {
    Caller::new("arn:aws:iam::123456789012:user/merchant", "123456789012")
}

async fn number(store: &DynamoStore, pk: &str, name: &str) -> u64 {
    let item = store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.to_string()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("no item {pk}"));
    item[name].as_n().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_transfer_record_expires_90_days_after_its_claim() {
    let store = fresh_store().await;
    let serial = unique("serial");
    let claim = Claim {
        serial_id: SerialId::parse(&serial).unwrap(),
        claim_id: "claim-1".into(),
        lease_expires_at: NOW_MS + 9_000,
        verify_amount: None,
        request_id: "req-1".into(),
        caller: caller(),
        now_ms: NOW_MS,
    };
    assert_eq!(store.claim(&claim).await.unwrap(), ClaimOutcome::Claimed);
    let pk = format!("transfer#{serial}");
    assert_eq!(number(&store, &pk, "expires_at").await, NOW_S + 90 * DAY_S);
    assert_eq!(number(&store, &pk, "created_at").await, NOW_MS);
}

fn key(text: &str) -> IdempotencyKey {
    let mut headers = lambda_http::http::HeaderMap::new();
    headers.insert("idempotency-key", text.parse().unwrap());
    IdempotencyKey::from_headers(&headers).unwrap().unwrap()
}

/// Kept 24 hours from its claim, then free: a completed key whose day is
/// over is claimed again (a new charge), one still in its day replays.
#[tokio::test]
async fn an_idempotency_key_is_kept_24_hours_then_free() {
    let store = fresh_store().await;
    let k = key(&unique("key"));
    let lease = NOW_MS + 9_000;
    let claim = |claim_id: &'static str, now_ms: u64| {
        let (store, k) = (&store, &k);
        async move {
            store
                .claim_key(k, "print", claim_id, &caller(), lease, now_ms)
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("first", NOW_MS).await, KeyClaim::Claimed);
    let pk = format!("idem#create-charge#{}", k.as_str());
    assert_eq!(number(&store, &pk, "expires_at").await, NOW_S + DAY_S);
    store
        .complete_key(&k, "first", 200, r#"{"charge":{}}"#)
        .await
        .unwrap();

    // The last second of its day: still the first request's.
    let within = claim("second", (NOW_S + DAY_S - 1) * 1000).await;
    assert!(matches!(within, KeyClaim::Taken(_)), "{within:?}");
    // Its day over: free again.
    assert_eq!(
        claim("third", (NOW_S + DAY_S) * 1000).await,
        KeyClaim::Claimed
    );
}

#[tokio::test]
async fn a_webhook_event_record_expires_90_days_after_it_was_received() {
    let store = fresh_store().await;
    let event = Event {
        id: unique("evt"),
        kind: "customer.created".into(),
        created_at: "2026-11-21T10:00:00Z".into(),
        created_at_ms: 1_795_255_200_000,
        charge: None,
    };
    assert_eq!(
        store.record_event(&event, "{}", NOW_MS).await.unwrap(),
        Recorded::New { applied: false }
    );
    let pk = format!("event#{}", event.id);
    assert_eq!(number(&store, &pk, "expires_at").await, NOW_S + 90 * DAY_S);
}

/// An unreadable body: kept 90 days from its first delivery, every
/// delivery counted.
#[tokio::test]
async fn an_unreadable_event_expires_90_days_after_its_first_delivery() {
    let store = fresh_store().await;
    let body = unique("not an event").into_bytes();
    let keep = |now_ms: u64| store.keep_unreadable_event(&body, "sig", "not JSON", now_ms);
    assert_eq!(keep(NOW_MS).await.unwrap(), 1);
    assert_eq!(keep(NOW_MS + DAY_S * 1000).await.unwrap(), 2);
    let pk = unreadable_event_key(&body);
    assert_eq!(number(&store, &pk, "expires_at").await, NOW_S + 90 * DAY_S);
}

/// A settle refused by its condition is ours only when the record holds
/// exactly what it would have written (our resent write): not another
/// claim's outcome, nor ours with another status.
#[tokio::test]
async fn a_refused_settle_is_ours_only_when_it_holds_our_own_outcome() {
    let store = fresh_store().await;
    let serial = SerialId::parse(&unique("serial")).unwrap();
    let claim = Claim {
        serial_id: serial.clone(),
        claim_id: "claim-a".into(),
        lease_expires_at: NOW_MS + 9_000,
        verify_amount: None,
        request_id: "req-a".into(),
        caller: caller(),
        now_ms: NOW_MS,
    };
    assert_eq!(store.claim(&claim).await.unwrap(), ClaimOutcome::Claimed);
    let settled = |status: TransferStatus| Settlement {
        status,
        code: None,
        message: None,
    };
    let settle = |claim_id: &'static str, status: TransferStatus| {
        let (store, serial) = (&store, &serial);
        async move {
            store
                .settle(serial, claim_id, &settled(status), NOW_MS + 1_000)
                .await
                .unwrap()
        }
    };
    assert!(settle("claim-a", TransferStatus::Succeeded).await);
    assert!(
        settle("claim-a", TransferStatus::Succeeded).await,
        "our write, resent"
    );
    assert!(
        !settle("claim-b", TransferStatus::Succeeded).await,
        "another claim's"
    );
    assert!(
        !settle("claim-a", TransferStatus::Failed).await,
        "ours, with another outcome"
    );
    let record = store.get(&serial).await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.claim_id.as_str()),
        (TransferStatus::Succeeded, "claim-a")
    );
}

/// The same unmatched event delivered by several instances at once: one
/// of them records it (one `unmatched` alarm), every other is told it is
/// a duplicate, even when its transaction ran before the first record was
/// written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_an_unmatched_event_record_it_once() {
    let store = fresh_store().await;
    let event = Event {
        id: unique("evt"),
        kind: "charge.succeeded".into(),
        created_at: "2026-11-21T10:00:00Z".into(),
        created_at_ms: 1_795_255_200_000,
        charge: Some(EventCharge {
            id: unique("ch_not_ours"),
            status: "succeeded".into(),
            paid: true,
            amount: 500,
            currency: "USD".into(),
            external_order_id: "their-order".into(),
        }),
    };
    let mut deliveries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (store, event) = (store.clone(), event.clone());
        deliveries.spawn(async move { store.record_event(&event, "{}", NOW_MS).await });
    }
    let recorded: Vec<Recorded> = deliveries
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let unmatched = recorded
        .iter()
        .filter(|r| matches!(r, Recorded::Unmatched(_)))
        .count();
    let duplicates = recorded
        .iter()
        .filter(|r| **r == Recorded::Duplicate)
        .count();
    assert_eq!((unmatched, duplicates), (1, 7), "{recorded:?}");
}

/// The operator's listing counts what it read, page by page: every item
/// scanned (whatever its kind), the transfers kept, and the transfer items
/// it could not read (left out, but counted, so none is missed silently).
#[tokio::test]
async fn a_transfer_scan_counts_what_it_read() {
    use shared::transfer::operator::{ScanProgress, TransferAdmin};
    let store = fresh_store().await;
    for claim_id in ["claim-1", "claim-2"] {
        let claim = Claim {
            serial_id: SerialId::parse(&unique("serial")).unwrap(),
            claim_id: claim_id.into(),
            lease_expires_at: NOW_MS + 9_000,
            verify_amount: None,
            request_id: "req".into(),
            caller: caller(),
            now_ms: NOW_MS,
        };
        assert_eq!(store.claim(&claim).await.unwrap(), ClaimOutcome::Claimed);
    }
    // A transfer item without a status, and an item of another kind.
    for (pk, kind) in [("transfer#broken", "transfer"), ("charge#ch_1", "charge")] {
        store
            .client()
            .put_item()
            .table_name(store.table())
            .item("pk", AttributeValue::S(pk.into()))
            .item("kind", AttributeValue::S(kind.into()))
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let found = store
        .scan(None, NOW_MS, &mut |progress| seen.push(progress))
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        seen,
        [ScanProgress {
            pages: 1,
            scanned: 4,
            matched: 2,
            unreadable: 1,
        }]
    );
}
