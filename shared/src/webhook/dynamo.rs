//! Webhook events on the table, through the real SDK.

use crate::table::{condition_failed, transaction_refused};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};

use super::matching::{RecordedCharge, Unmatched, match_charge, unhandled};
use super::store::{EVENT_RETENTION_SECS, EventStore, Recorded, unreadable_event_key};
use crate::http::MAX_BODY_BYTES;
use crate::qbit::webhook::{Event, EventCharge, rank};
use crate::table::{DynamoStore, Item, StoreUnavailable, TTL_ATTRIBUTE};
use crate::table::{n, put_refused, s, unavailable};

/// What an `event#` item says became of the event.
enum Kept<'a> {
    /// Recorded; `true` when it moved its charge.
    Applied(bool),
    /// About a charge that is not ours, or not as recorded: why, and the
    /// event exactly as received. Kept until an operator removes it.
    Unmatched(&'a Unmatched, Option<&'a EventCharge>, &'a str),
}

fn event_put(
    store: &DynamoStore,
    event: &Event,
    kept: Kept<'_>,
    now_ms: u64,
) -> Result<Put, StoreUnavailable> {
    let mut put = Put::builder()
        .table_name(store.table())
        .item("pk", s(format!("event#{}", event.id)))
        .item("kind", s("event"))
        .item("event_id", s(&event.id))
        .item("event_type", s(&event.kind))
        .item("created_at", s(&event.created_at))
        .item("created_at_ms", n(event.created_at_ms))
        .item("received_at", n(now_ms))
        .condition_expression("attribute_not_exists(pk)");
    if let Some(charge) = &event.charge {
        put = put.item("charge_id", s(&charge.id));
    }
    put = match kept {
        Kept::Applied(applied) => put
            .item("applied", AttributeValue::Bool(applied))
            .item(TTL_ATTRIBUTE, n(now_ms / 1000 + EVENT_RETENTION_SECS)),
        // No TTL: an operator decides when it goes.
        Kept::Unmatched(unmatched, charge, body) => {
            put = put
                .item("applied", AttributeValue::Bool(false))
                .item("unmatched", s(unmatched.reason.as_str()))
                .item("unmatched_detail", s(&unmatched.detail))
                .item("body", s(body));
            match charge {
                Some(charge) => put
                    .item("event_amount", n(charge.amount))
                    .item("event_currency", s(&charge.currency)),
                None => put,
            }
        }
    };
    put.build().map_err(|e| StoreUnavailable(e.to_string()))
}

/// A `charge#` item as the match reads it: only one create-charge wrote
/// (it has `request_id`; a charge item from before create-charge recorded
/// charges was made by an event, and counts as unknown).
fn recorded_charge(item: &Item) -> Option<RecordedCharge> {
    item.get("request_id")?;
    Some(RecordedCharge {
        amount: item.get("amount")?.as_n().ok()?.parse().ok()?,
        currency: item.get("currency")?.as_s().ok()?.clone(),
    })
}

impl EventStore for DynamoStore {
    /// One transaction: a failure leaves neither item written.
    async fn record_event(
        &self,
        event: &Event,
        body: &str,
        now_ms: u64,
    ) -> Result<Recorded, StoreUnavailable> {
        let (Some(charge), Some(rank)) = (&event.charge, rank(&event.kind)) else {
            if let Some(unmatched) = unhandled(event) {
                let kept = Kept::Unmatched(&unmatched, None, body);
                return match record_event_only(self, event, kept, now_ms).await? {
                    Recorded::Duplicate => Ok(Recorded::Duplicate),
                    _ => Ok(Recorded::Unmatched(unmatched)),
                };
            }
            return record_event_only(self, event, Kept::Applied(false), now_ms).await;
        };
        let update = Update::builder()
            .table_name(self.table())
            .key("pk", s(format!("charge#{}", charge.id)))
            .update_expression(
                "SET #status = :status, paid = :paid, last_event_id = :event, last_event_at = :at, \
                 last_event_at_ms = :at_ms, status_rank = :rank, updated_at = :now",
            )
            // Only a charge create-charge recorded, as recorded, and only
            // forward: a higher rank, or the same rank and a later event
            // (a charge just recorded has had none).
            .condition_expression(
                "attribute_exists(request_id) AND amount = :amount AND currency = :currency \
                 AND (status_rank < :rank OR (status_rank = :rank \
                 AND (attribute_not_exists(last_event_at_ms) OR last_event_at_ms < :at_ms)))",
            )
            // What the condition saw, to say why it failed without a
            // second read that could see another moment.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(&charge.status))
            .expression_attribute_values(":paid", AttributeValue::Bool(charge.paid))
            .expression_attribute_values(":amount", n(charge.amount))
            .expression_attribute_values(":currency", s(&charge.currency))
            .expression_attribute_values(":event", s(&event.id))
            .expression_attribute_values(":at", s(&event.created_at))
            .expression_attribute_values(":at_ms", n(event.created_at_ms))
            .expression_attribute_values(":rank", n(u64::from(rank)))
            .expression_attribute_values(":now", n(now_ms))
            .build()
            .map_err(|e| StoreUnavailable(e.to_string()))?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(event_put(self, event, Kept::Applied(true), now_ms)?)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().update(update).build())
            .send()
            .await;
        let reasons = match result {
            Ok(_) => return Ok(Recorded::New { applied: true }),
            Err(e) => transaction_refused(e)?,
        };
        let reason = |i: usize| reasons.get(i);
        let failed = |i: usize| condition_failed(reason(i));
        if failed(0) {
            return Ok(Recorded::Duplicate);
        }
        if !failed(1) {
            return Err(StoreUnavailable(format!(
                "transaction cancelled: {reasons:?}"
            )));
        }
        // The charge as the failed condition saw it (none: no such item).
        // Whatever it says, only the event is written from here on, so no
        // reading of it can apply an event to a charge.
        let seen = reason(1).and_then(|r| r.item()).and_then(recorded_charge);
        match match_charge(charge, seen.as_ref()) {
            Err(unmatched) => {
                let kept = Kept::Unmatched(&unmatched, Some(charge), body);
                match record_event_only(self, event, kept, now_ms).await? {
                    Recorded::Duplicate => Ok(Recorded::Duplicate),
                    _ => Ok(Recorded::Unmatched(unmatched)),
                }
            }
            // Ours and as recorded: older than what the charge shows.
            Ok(()) => record_event_only(self, event, Kept::Applied(false), now_ms).await,
        }
    }

    /// Keep a verified body we cannot read, exactly as received, with the
    /// signature header it came with (so it can be replayed to the webhook
    /// once the code reads it). One UpdateItem: the first delivery writes
    /// the body, signature, `reason` and times; every delivery sets
    /// `last_received_at` and adds one to `deliveries`, which is returned.
    async fn keep_unreadable_event(
        &self,
        body: &[u8],
        signature: &str,
        reason: &str,
        now_ms: u64,
    ) -> Result<u64, StoreUnavailable> {
        let output = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(unreadable_event_key(body)))
            // Names through placeholders: none can collide with a reserved word.
            .update_expression(
                "SET #kind = if_not_exists(#kind, :kind), #body = if_not_exists(#body, :body), \
                 #signature = if_not_exists(#signature, :signature), \
                 #reason = if_not_exists(#reason, :reason), \
                 #first = if_not_exists(#first, :now), #ttl = if_not_exists(#ttl, :expires), \
                 #last = :now ADD #deliveries :one",
            )
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#body", "body")
            .expression_attribute_names("#signature", "signature")
            .expression_attribute_names("#reason", "reason")
            .expression_attribute_names("#first", "first_received_at")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#last", "last_received_at")
            .expression_attribute_names("#deliveries", "deliveries")
            .expression_attribute_values(":kind", s("unreadable_event"))
            .expression_attribute_values(":body", AttributeValue::B(Blob::new(body)))
            .expression_attribute_values(":signature", s(signature))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":expires", n(now_ms / 1000 + EVENT_RETENTION_SECS))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output
            .attributes()
            .and_then(|item| item.get("deliveries"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1))
    }
}

/// Record the event alone (a type that moves no charge, one older than
/// what the charge shows, or one unmatched), once.
async fn record_event_only(
    store: &DynamoStore,
    event: &Event,
    kept: Kept<'_>,
    now_ms: u64,
) -> Result<Recorded, StoreUnavailable> {
    let applied = matches!(kept, Kept::Applied(true));
    let put = event_put(store, event, kept, now_ms)?;
    let result = store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(put.item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(Recorded::New { applied }),
        Err(e) => put_refused(e).map(|_| Recorded::Duplicate),
    }
}

/// The largest body an `unreadable_event#` item can keep: an item holds at
/// most 400 KB, its attribute names and other values included. Request
/// bodies are refused over [`MAX_BODY_BYTES`] before they are verified, so
/// every verified body fits; this is checked when the crate compiles.
const MAX_KEPT_BODY_BYTES: usize = 350_000;
const _: () = assert!(MAX_BODY_BYTES <= MAX_KEPT_BODY_BYTES);
