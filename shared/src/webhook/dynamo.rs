//! Webhook events on the table, through the real SDK.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};

use super::store::{EVENT_RETENTION_SECS, EventStore, Recorded, unreadable_event_key};
use crate::http::MAX_BODY_BYTES;
use crate::qbit::webhook::{Event, rank};
use crate::table::{DynamoStore, StoreUnavailable, TTL_ATTRIBUTE};
use crate::table::{n, put_refused, s, unavailable};

fn event_put(
    store: &DynamoStore,
    event: &Event,
    applied: bool,
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
        .item("applied", AttributeValue::Bool(applied))
        .item(TTL_ATTRIBUTE, n(now_ms / 1000 + EVENT_RETENTION_SECS))
        .condition_expression("attribute_not_exists(pk)");
    if let Some(charge) = &event.charge {
        put = put.item("charge_id", s(&charge.id));
    }
    put.build().map_err(|e| StoreUnavailable(e.to_string()))
}

impl EventStore for DynamoStore {
    /// One transaction: a failure leaves neither item written.
    async fn record_event(&self, event: &Event, now_ms: u64) -> Result<Recorded, StoreUnavailable> {
        let (Some(charge), Some(rank)) = (&event.charge, rank(&event.kind)) else {
            return record_event_only(self, event, false, now_ms).await;
        };
        let update = Update::builder()
            .table_name(self.table())
            .key("pk", s(format!("charge#{}", charge.id)))
            .update_expression(
                "SET kind = :kind, charge_id = :id, #status = :status, paid = :paid, amount = :amount, \
                 currency = :currency, external_order_id = :order, last_event_id = :event, \
                 last_event_at = :at, last_event_at_ms = :at_ms, status_rank = :rank, updated_at = :now",
            )
            // Only forward: a higher rank, or the same rank and a later event.
            .condition_expression(
                "attribute_not_exists(pk) OR status_rank < :rank OR (status_rank = :rank AND last_event_at_ms < :at_ms)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":kind", s("charge"))
            .expression_attribute_values(":id", s(&charge.id))
            .expression_attribute_values(":status", s(&charge.status))
            .expression_attribute_values(":paid", AttributeValue::Bool(charge.paid))
            .expression_attribute_values(":amount", n(charge.amount))
            .expression_attribute_values(":currency", s(&charge.currency))
            .expression_attribute_values(":order", s(&charge.external_order_id))
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
                    .put(event_put(self, event, true, now_ms)?)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().update(update).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Recorded::New { applied: true }),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                let TransactWriteItemsError::TransactionCanceledException(cancelled) = e.into_err()
                else {
                    unreachable!("matched above")
                };
                let failed = |i: usize| {
                    cancelled
                        .cancellation_reasons()
                        .get(i)
                        .and_then(|r| r.code())
                        == Some("ConditionalCheckFailed")
                };
                if failed(0) {
                    Ok(Recorded::Duplicate)
                } else if failed(1) {
                    // Older than what the charge shows: record it, change nothing.
                    record_event_only(self, event, false, now_ms).await
                } else {
                    Err(StoreUnavailable(format!(
                        "transaction cancelled: {cancelled}"
                    )))
                }
            }
            Err(e) => Err(unavailable(e)),
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

/// Record the event alone (a type that moves no charge, or one older than
/// what the charge shows), once.
async fn record_event_only(
    store: &DynamoStore,
    event: &Event,
    applied: bool,
    now_ms: u64,
) -> Result<Recorded, StoreUnavailable> {
    let put = event_put(store, event, applied, now_ms)?;
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
