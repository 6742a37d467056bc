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
