//! The table `PAYMENTS_TABLE` (partition key `pk`, a string), as every
//! flow uses it: the client, item helpers, the TTL attribute, leases and
//! claim ids, and the one error for a table that cannot be reached. It
//! knows no flow; each flow (`charge`, `transfer`, `webhook`) keeps
//! its own items and their conditions.
//!
//! Items carry `expires_at` (Unix seconds), the table's TTL attribute, so
//! old records age out. Expiry that matters for correctness (a lease) is
//! checked in code, never left to TTL, which deletes up to 48 hours late.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use rand::Rng;

use crate::ApiError;

/// The table, through the real SDK: each flow implements its store trait
/// on it.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A PutItem refused by its condition: the old item, when DynamoDB sent it
/// with the refusal. Any other failure: the store is unavailable.
pub fn put_refused<R: std::fmt::Debug>(
    error: SdkError<PutItemError, R>,
) -> Result<Option<Item>, StoreUnavailable> {
    match error {
        SdkError::ServiceError(e)
            if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
        {
            match e.into_err() {
                PutItemError::ConditionalCheckFailedException(failed) => Ok(failed.item),
                _ => Ok(None),
            }
        }
        other => Err(unavailable(other)),
    }
}

/// An UpdateItem refused by its condition: the old item, when DynamoDB sent
/// it with the refusal. Any other failure: the store is unavailable.
pub fn update_refused<R: std::fmt::Debug>(
    error: SdkError<UpdateItemError, R>,
) -> Result<Option<Item>, StoreUnavailable> {
    match error {
        SdkError::ServiceError(e)
            if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
        {
            match e.into_err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => Ok(failed.item),
                _ => Ok(None),
            }
        }
        other => Err(unavailable(other)),
    }
}

/// A TransactWriteItems the table cancelled: each item's reason, in the
/// order of the transaction's items (with the old item where it was asked
/// for, `ReturnValuesOnConditionCheckFailure`). Any other failure: the
/// store is unavailable.
pub fn transaction_refused<R: std::fmt::Debug>(
    error: SdkError<TransactWriteItemsError, R>,
) -> Result<Vec<CancellationReason>, StoreUnavailable> {
    match error {
        SdkError::ServiceError(e)
            if matches!(
                e.err(),
                TransactWriteItemsError::TransactionCanceledException(_)
            ) =>
        {
            match e.into_err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    Ok(cancelled.cancellation_reasons.unwrap_or_default())
                }
                _ => Ok(Vec::new()),
            }
        }
        other => Err(unavailable(other)),
    }
}

/// Whether a cancellation `reason` is its item's condition failing.
pub fn condition_failed(reason: Option<&CancellationReason>) -> bool {
    reason.and_then(|r| r.code()) == Some("ConditionalCheckFailed")
}

pub fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(
    error: SdkError<E, R>,
) -> StoreUnavailable {
    let text = DisplayErrorContext(&error).to_string();
    tracing::error!(error = %text, "payments table call failed");
    StoreUnavailable(text)
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// How long past its end a lease still counts as live. Leases are written
/// with one container's clock and read with another's; clocks differ (NTP
/// keeps Lambda's within milliseconds, but not always), and a live claim
/// taken for dead would have its transfer reported `unknown` while it runs,
/// or its idempotency key handed to a second request. Five seconds is far
/// beyond any skew NTP leaves, and only delays the reading of a dead claim.
pub const LEASE_GRACE_MS: u64 = 5_000;

/// Whether a lease ending at `lease_expires_at` is over at `now_ms`, grace
/// included.
pub fn lease_is_over(lease_expires_at: u64, now_ms: u64) -> bool {
    lease_expires_at.saturating_add(LEASE_GRACE_MS) <= now_ms
}

/// The latest lease end that counts as over at `now_ms`, for conditions
/// evaluated by the table (`lease_expires_at <= :cutoff`).
pub fn lease_cutoff(now_ms: u64) -> u64 {
    now_ms.saturating_sub(LEASE_GRACE_MS)
}

/// A new claim id: unique to one attempt, so only its owner can settle or
/// release what it claimed.
pub fn new_claim_id() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// The table's TTL attribute.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The store could not be reached, or refused (throttling, say).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the payments table is unavailable: {0}")]
pub struct StoreUnavailable(pub String);

impl From<StoreUnavailable> for ApiError {
    fn from(_: StoreUnavailable) -> Self {
        ApiError::unavailable(
            "the payments store is unavailable; nothing was sent, try again shortly",
        )
    }
}

#[cfg(test)]
mod tests {
    //! The refusal helpers decide what a store call means (the old item
    //! of a refused claim, or an unreachable store): each path, exactly.
    //! Written for mutation testing (scripts/mutants.sh).
    use super::*;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, ProvisionedThroughputExceededException,
        TransactionCanceledException,
    };

    fn old_item() -> Item {
        HashMap::from([("pk".to_string(), s("transfer#s1"))])
    }

    fn refused_with(item: Option<Item>) -> ConditionalCheckFailedException {
        ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .set_item(item)
            .build()
    }

    fn throttled() -> ProvisionedThroughputExceededException {
        ProvisionedThroughputExceededException::builder()
            .message("slow down")
            .build()
    }

    #[test]
    fn a_refused_put_gives_the_old_item_and_any_other_failure_is_unavailable() {
        let refused = |item| {
            put_refused(SdkError::service_error(
                PutItemError::ConditionalCheckFailedException(refused_with(item)),
                (),
            ))
            .unwrap()
        };
        assert_eq!(refused(Some(old_item())), Some(old_item()));
        assert_eq!(refused(None), None);
        let throttled = SdkError::service_error(
            PutItemError::ProvisionedThroughputExceededException(throttled()),
            (),
        );
        assert!(put_refused(throttled).is_err());
        let lost = SdkError::<PutItemError, ()>::timeout_error("no answer");
        assert!(put_refused(lost).is_err());
    }

    #[test]
    fn a_refused_update_gives_the_old_item_and_any_other_failure_is_unavailable() {
        let refused = |item| {
            update_refused(SdkError::service_error(
                UpdateItemError::ConditionalCheckFailedException(refused_with(item)),
                (),
            ))
            .unwrap()
        };
        assert_eq!(refused(Some(old_item())), Some(old_item()));
        assert_eq!(refused(None), None);
        let throttled = SdkError::service_error(
            UpdateItemError::ProvisionedThroughputExceededException(throttled()),
            (),
        );
        assert!(update_refused(throttled).is_err());
        let lost = SdkError::<UpdateItemError, ()>::timeout_error("no answer");
        assert!(update_refused(lost).is_err());
    }

    #[test]
    fn a_cancelled_transaction_gives_each_items_reason_in_order() {
        let reasons = vec![
            CancellationReason::builder().code("None").build(),
            CancellationReason::builder()
                .code("ConditionalCheckFailed")
                .set_item(Some(old_item()))
                .build(),
        ];
        let cancelled = TransactionCanceledException::builder()
            .set_cancellation_reasons(Some(reasons.clone()))
            .build();
        let got = transaction_refused(SdkError::service_error(
            TransactWriteItemsError::TransactionCanceledException(cancelled),
            (),
        ))
        .unwrap();
        assert_eq!(got, reasons);
        assert!(!condition_failed(got.first()));
        assert!(condition_failed(got.get(1)));
        assert!(!condition_failed(None));
        let throttled = SdkError::service_error(
            TransactWriteItemsError::ProvisionedThroughputExceededException(throttled()),
            (),
        );
        assert!(transaction_refused(throttled).is_err());
    }

    #[test]
    fn leases_end_past_their_grace_and_claim_ids_are_unique() {
        assert_eq!(lease_cutoff(10_000), 10_000 - LEASE_GRACE_MS);
        assert_eq!(lease_cutoff(1_000), 0);
        assert!(!lease_is_over(10_000, 10_000 + LEASE_GRACE_MS - 1));
        assert!(lease_is_over(10_000, 10_000 + LEASE_GRACE_MS));
        let (a, b) = (new_claim_id(), new_claim_id());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn the_store_names_its_table() {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        let store = DynamoStore::new(Client::from_conf(config), "payments-test");
        assert_eq!(store.table(), "payments-test");
    }
}
