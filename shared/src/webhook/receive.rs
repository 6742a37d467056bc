//! Receiving one of Qbit's webhook deliveries: the signature header, then
//! the key, then the signature over the exact bytes, then the event,
//! recorded once (applied to its charge, or kept as unmatched); or, for a
//! verified body we cannot read, kept whole.

use std::future::Future;

use serde_json::json;

use super::store::{EventStore, Recorded, unreadable_event_key};
use crate::http::Reply;
use crate::qbit::webhook::{Event, Signature, SignatureError, Unreadable, WebhookKey};
use crate::{ApiError, metrics, now_ms};

/// Receive one delivery: `body`, the exact bytes Qbit sent, and `header`,
/// its signature header. `load_key` gives Qbit's public key; it is only
/// asked once the header is plausible (anyone can call this route, and a
/// request that cannot be signed must not make us call Secrets Manager).
pub async fn receive<S, K, Fut>(
    store: &S,
    body: &[u8],
    header: Option<&str>,
    load_key: K,
) -> Result<Reply, ApiError>
where
    S: EventStore,
    K: FnOnce() -> Fut,
    Fut: Future<Output = Result<WebhookKey, ApiError>>,
{
    let refused = |why: SignatureError| {
        // Why, but never the body or the signature.
        tracing::warn!(reason = %why, bytes = body.len(), "webhook refused");
        ApiError::from(why)
    };
    let signature = Signature::from_header(header).map_err(refused)?;
    let key = load_key().await?;
    key.verify(body, &signature).map_err(|why| {
        // A plausible header that does not verify: our key out of step
        // with Qbit's, or a forger. Counted (the template alarms on it);
        // a missing or garbled header is internet noise and is not.
        metrics::webhook_signature_refused();
        refused(why)
    })?;
    let event = match Event::parse(body) {
        Ok(event) => event,
        Err(why) => return keep_unreadable(store, body, header.unwrap_or_default(), &why).await,
    };
    // Parsed as JSON, so UTF-8: kept as received if it is unmatched.
    let text = String::from_utf8_lossy(body);
    let recorded = store.record_event(&event, &text, now_ms()).await?;
    let charge_id = event.charge.as_ref().map(|c| c.id.as_str()).unwrap_or("");
    let duplicate = recorded == Recorded::Duplicate;
    match &recorded {
        // Acknowledged all the same: Qbit retrying cannot make it ours, and
        // an endpoint that keeps failing gets disabled, dropping our events.
        Recorded::Unmatched(unmatched) => {
            metrics::unmatched_webhook_event(&event.id);
            tracing::error!(
                event_id = %event.id,
                event_type = %event.kind,
                charge_id,
                reason = unmatched.reason.as_str(),
                detail = %unmatched.detail,
                "webhook event unmatched: kept for an operator, no charge changed"
            );
        }
        _ => tracing::info!(
            event_id = %event.id,
            event_type = %event.kind,
            charge_id,
            duplicate,
            applied = matches!(recorded, Recorded::New { applied: true }),
            "webhook recorded"
        ),
    }
    Reply::json(&json!({"received": true, "duplicate": duplicate}))
}

/// A verified body we cannot read: Qbit sent it, so it may be a payment.
/// Keep it whole and alarm, then acknowledge (200), so Qbit stops sending
/// it: retrying cannot make it readable, and a webhook that keeps failing
/// gets disabled, which would drop every later event. If it cannot be kept
/// (the store is down), answer 503 so Qbit, which still holds it, delivers
/// it again. (Every body that gets this far fits in one item: see
/// `dynamo.rs`.)
async fn keep_unreadable<S: EventStore>(
    store: &S,
    body: &[u8],
    signature: &str,
    why: &Unreadable,
) -> Result<Reply, ApiError> {
    let key = unreadable_event_key(body);
    // Every verified event we cannot read raises the alarm, kept or not.
    metrics::unreadable_webhook_event(&key);
    let deliveries = match store
        .keep_unreadable_event(body, signature, &why.reason, now_ms())
        .await
    {
        Ok(deliveries) => deliveries,
        Err(_) => {
            tracing::error!(item_key = %key, bytes = body.len(), reason = %why.reason,
                "unreadable webhook event could not be kept: store unavailable");
            return Err(ApiError::unavailable(
                "the event could not be read and the store is unavailable to keep it; \
                 it was not kept, deliver it again",
            ));
        }
    };
    tracing::error!(item_key = %key, bytes = body.len(), reason = %why.reason, deliveries,
        "unreadable webhook event kept for an operator");
    Reply::json(&json!({"received": true, "duplicate": deliveries > 1}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qbit::webhook::test_key::{PUBLIC, sign};
    use crate::webhook::{MemoryEvents, UnmatchedReason};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn event(id: &str, kind: &str, at: &str) -> String {
        event_for(id, kind, at, "ch_1", 1000, "USD")
    }

    fn event_for(
        id: &str,
        kind: &str,
        at: &str,
        charge: &str,
        amount: u64,
        currency: &str,
    ) -> String {
        json!({"id": id, "object": "event", "type": kind, "createdAt": at,
               "data": {"object": {"id": charge, "object": "charge", "paid": true,
               "status": kind.trim_start_matches("charge."), "amount": amount,
               "currency": currency, "externalOrderId": "o-1"}}})
        .to_string()
    }

    /// A store where create-charge recorded `ch_1` for 1000 USD.
    fn with_charge() -> MemoryEvents {
        let store = MemoryEvents::default();
        store.recorded_charge("ch_1", 1000, "USD");
        store
    }

    /// Deliver `body` signed with `signature`, counting the key loads.
    async fn deliver(
        store: &MemoryEvents,
        loads: &AtomicU32,
        body: &str,
        signature: Option<&str>,
    ) -> Result<Reply, ApiError> {
        receive(store, body.as_bytes(), signature, || async {
            loads.fetch_add(1, Ordering::SeqCst);
            WebhookKey::from_pem(PUBLIC)
        })
        .await
    }

    async fn signed(store: &MemoryEvents, body: &str) -> Result<Reply, ApiError> {
        deliver(
            store,
            &AtomicU32::new(0),
            body,
            Some(&sign(body.as_bytes())),
        )
        .await
    }

    #[tokio::test]
    async fn an_implausible_header_is_401_before_the_key_is_loaded() {
        let (store, loads) = (MemoryEvents::default(), AtomicU32::new(0));
        let body = event("evt_1", "charge.succeeded", "2026-11-21T10:00:00Z");
        for header in [None, Some(""), Some("!!not base64!!")] {
            let refused = deliver(&store, &loads, &body, header).await.unwrap_err();
            assert_eq!(refused.status(), 401, "{header:?}");
        }
        // Internet noise: not counted as a refused signature.
        assert_eq!(metrics::captured::outcomes(), Vec::<String>::new());
        assert_eq!(loads.load(Ordering::SeqCst), 0);
        assert_eq!(store.charge("ch_1"), None);
    }

    #[tokio::test]
    async fn a_forged_event_is_401_and_changes_nothing() {
        let (store, loads) = (with_charge(), AtomicU32::new(0));
        let body = event("evt_1", "charge.succeeded", "2026-11-21T10:00:00Z");
        let other = sign(b"another body");
        let refused = deliver(&store, &loads, &body, Some(&other))
            .await
            .unwrap_err();
        assert_eq!(refused.status(), 401);
        assert_eq!(metrics::captured::outcomes(), ["signature_refused"]);
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(store.charge("ch_1").unwrap().status, "pending");
        assert_eq!(store.event("evt_1"), None);
    }

    #[tokio::test]
    async fn an_event_is_recorded_once_and_moves_the_charge_only_forward() {
        let store = with_charge();
        let paid = event("evt_1", "charge.succeeded", "2026-11-21T18:00:00+08:00");
        let first = signed(&store, &paid).await.unwrap();
        assert_eq!(first.body(), r#"{"duplicate":false,"received":true}"#);
        assert_eq!(store.event("evt_1"), Some(Recorded::New { applied: true }));
        let again = signed(&store, &paid).await.unwrap();
        assert_eq!(again.body(), r#"{"duplicate":true,"received":true}"#);
        let charge = store.charge("ch_1").unwrap();
        assert_eq!(charge.last_event_id.as_deref(), Some("evt_1"));
        metrics::captured::outcomes();

        // Same rank, an instant earlier (09:59:59Z): recorded as ours and
        // not applied, not as unmatched (nothing counted), the charge as it was.
        let older = event("evt_0", "charge.succeeded", "2026-11-21T09:59:59Z");
        let answer = signed(&store, &older).await.unwrap();
        assert_eq!(answer.body(), r#"{"duplicate":false,"received":true}"#);
        assert_eq!(store.event("evt_0"), Some(Recorded::New { applied: false }));
        assert_eq!(metrics::captured::outcomes(), Vec::<String>::new());
        assert_eq!(store.charge("ch_1"), Some(charge));
        // A lower rank, later: not applied either.
        let pending = event("evt_2", "charge.pending", "2026-11-21T11:00:00Z");
        signed(&store, &pending).await.unwrap();
        assert_eq!(store.charge("ch_1").unwrap().status, "succeeded");
        assert_eq!(store.event("evt_2"), Some(Recorded::New { applied: false }));
    }

    #[tokio::test]
    async fn a_pending_event_applies_to_a_charge_just_recorded() {
        let store = with_charge();
        let pending = event("evt_p", "charge.pending", "2026-11-21T10:00:00Z");
        signed(&store, &pending).await.unwrap();
        assert_eq!(metrics::captured::outcomes(), Vec::<String>::new());
        assert_eq!(
            store.charge("ch_1").unwrap().last_event_id.as_deref(),
            Some("evt_p")
        );
    }

    #[tokio::test]
    async fn an_event_for_a_charge_not_ours_or_not_as_recorded_is_unmatched() {
        let store = with_charge();
        let at = "2026-11-21T10:00:00Z";
        let cases = [
            (
                event_for("evt_u", "charge.succeeded", at, "ch_other", 1000, "USD"),
                "evt_u",
                UnmatchedReason::UnknownCharge,
            ),
            (
                event_for("evt_a", "charge.succeeded", at, "ch_1", 999, "USD"),
                "evt_a",
                UnmatchedReason::AmountMismatch,
            ),
            (
                event_for("evt_c", "charge.succeeded", at, "ch_1", 1000, "EUR"),
                "evt_c",
                UnmatchedReason::CurrencyMismatch,
            ),
        ];
        for (body, id, reason) in cases {
            let answer = signed(&store, &body).await.unwrap();
            assert_eq!(answer.status(), 200, "{id}");
            assert_eq!(answer.body(), r#"{"duplicate":false,"received":true}"#);
            let Some(Recorded::Unmatched(unmatched)) = store.event(id) else {
                panic!("{id} not unmatched: {:?}", store.event(id))
            };
            assert_eq!(unmatched.reason, reason, "{id}");
            assert_eq!(metrics::captured::outcomes(), ["unmatched"], "{id}");
            // A redelivery is a duplicate, changes nothing, counts nothing.
            let again = signed(&store, &body).await.unwrap();
            assert_eq!(again.body(), r#"{"duplicate":true,"received":true}"#);
            assert_eq!(metrics::captured::outcomes(), Vec::<String>::new());
        }
        assert_eq!(store.charge("ch_other"), None, "no charge created");
        let charge = store.charge("ch_1").unwrap();
        assert_eq!(
            (charge.status.as_str(), charge.last_event_id),
            ("pending", None)
        );
    }

    #[tokio::test]
    async fn a_verified_body_we_cannot_read_is_kept_not_dropped() {
        let store = MemoryEvents::default();
        let body = r#"{"hello": "world"}"#;
        let first = signed(&store, body).await.unwrap();
        assert_eq!(first.body(), r#"{"duplicate":false,"received":true}"#);
        signed(&store, body).await.unwrap();
        assert_eq!(
            store.unreadable(body.as_bytes()),
            Some((body.as_bytes().to_vec(), 2))
        );

        store.down.store(true, Ordering::SeqCst);
        let other = r#"{"hello": "again"}"#;
        let down = signed(&store, other).await.unwrap_err();
        assert_eq!(down.status(), 503);
    }
}
