//! Qbit webhook events, recorded exactly once, and the charge state they
//! move forward.
//!
//! Items: `event#<id>` (type, time, charge id, whether it was applied;
//! kept 90 days) and `charge#<id>` (status, paid, amount, currency,
//! externalOrderId, the last applied event's id and time, its rank).

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::dynamo::{n, put_refused, s, unavailable};
use super::{DynamoStore, StoreUnavailable, TTL_ATTRIBUTE};
use crate::qbit::webhook::{Event, rank};

const EVENT_RETENTION_SECS: u64 = 90 * 24 * 3600;

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// First delivery. `applied`: the charge moved to this event's state
    /// (false when a newer or higher-ranked event was already applied).
    New { applied: bool },
    /// This event id was recorded before: nothing changed.
    Duplicate,
}

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

impl DynamoStore {
    /// Record `event` once and, for a charge event, move the charge forward,
    /// in one transaction: a failure leaves neither written, so Qbit's retry
    /// is processed as new rather than taken for a duplicate.
    pub async fn record_event(
        &self,
        event: &Event,
        now_ms: u64,
    ) -> Result<Recorded, StoreUnavailable> {
        let (Some(charge), Some(rank)) = (&event.charge, rank(&event.kind)) else {
            return self.record_event_only(event, false, now_ms).await;
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
                    self.record_event_only(event, false, now_ms).await
                } else {
                    Err(StoreUnavailable(format!(
                        "transaction cancelled: {cancelled}"
                    )))
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn record_event_only(
        &self,
        event: &Event,
        applied: bool,
        now_ms: u64,
    ) -> Result<Recorded, StoreUnavailable> {
        let put = event_put(self, event, applied, now_ms)?;
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(put.item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Recorded::New { applied }),
            Err(e) => put_refused(e).map(|_| Recorded::Duplicate),
        }
    }
}
