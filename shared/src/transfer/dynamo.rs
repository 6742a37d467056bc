//! The transfer store on DynamoDB, through the real SDK.

use crate::table::{condition_failed, transaction_refused};
use aws_sdk_dynamodb::types::{
    Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::operator::{
    ResolveRequest, ScanProgress, StatusFilter, TransferAdmin, operator_lease_cutoff,
};
use super::store::{ABANDONED_MESSAGE, TRANSFER_RETENTION_SECS, transfer_key};
use super::{
    Claim, ClaimOutcome, Resolution, Settlement, TransferRecord, TransferStatus, TransferStore,
};
use crate::debox::SerialId;
use crate::http::Caller;
use crate::table::{
    DynamoStore, Item, StoreUnavailable, TTL_ATTRIBUTE, lease_cutoff, n, put_refused, s,
    unavailable, update_refused,
};

/// Read a transfer item; `None` if it is not one we wrote.
pub(super) fn record_of(item: &Item) -> Option<TransferRecord> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
    };
    Some(TransferRecord {
        serial_id: text("serial_id")?,
        status: TransferStatus::parse(&text("status")?)?,
        claim_id: text("claim_id")?,
        lease_expires_at: number("lease_expires_at")?,
        verify_amount: text("verify_amount"),
        request_id: text("request_id").unwrap_or_default(),
        created_at: number("created_at").unwrap_or_default(),
        updated_at: number("updated_at").unwrap_or_default(),
        outcome_code: text("outcome_code"),
        outcome_message: text("outcome_message"),
        amount: text("amount"),
        to_user_id: text("to_user_id"),
        caller: text("caller_arn")
            .map(|arn| Caller::new(arn, text("caller_account").unwrap_or_default())),
        resolution: text("resolved_by").and_then(|resolved_by| {
            Some(Resolution {
                resolved_by,
                resolved_at: number("resolved_at")?,
                reason: text("resolution_reason")?,
                resolved_from: TransferStatus::parse(&text("resolved_from")?)?,
            })
        }),
    })
}

impl TransferStore for DynamoStore {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreUnavailable> {
        let serial = claim.serial_id.as_str();
        let mut put = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(transfer_key(serial)))
            .item("kind", s("transfer"))
            .item("serial_id", s(serial))
            .item("status", s(TransferStatus::InProgress.as_str()))
            .item("claim_id", s(&claim.claim_id))
            .item("lease_expires_at", n(claim.lease_expires_at))
            .item("request_id", s(&claim.request_id))
            .item("caller_arn", s(claim.caller.arn()))
            .item("caller_account", s(claim.caller.account()))
            .item("created_at", n(claim.now_ms))
            .item("updated_at", n(claim.now_ms))
            .item(
                TTL_ATTRIBUTE,
                n(claim.now_ms / 1000 + TRANSFER_RETENTION_SECS),
            )
            // Free, or released by a definite failure: nothing else may be overwritten.
            .condition_expression("attribute_not_exists(pk) OR #status = :failed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":failed", s(TransferStatus::Failed.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(amount) = claim.verify_amount {
            // `amount` is what operators read; `verify_amount` what was sent.
            put = put
                .item("verify_amount", s(amount.to_string()))
                .item("amount", s(amount.to_string()));
        }
        let old = match put.send().await {
            Ok(_) => return Ok(ClaimOutcome::Claimed),
            Err(e) => put_refused(e)?,
        };
        // The old item comes with the refusal; read it only if it did not.
        let record = match old.as_ref().and_then(record_of) {
            Some(record) => record,
            None => self.get(&claim.serial_id).await?.ok_or_else(|| {
                StoreUnavailable(format!("{serial} is taken but its record is unreadable"))
            })?,
        };
        // The SDK retried our own write after a lost reply: the claim is ours.
        if record.claim_id == claim.claim_id && record.status == TransferStatus::InProgress {
            return Ok(ClaimOutcome::Claimed);
        }
        Ok(ClaimOutcome::Taken(Box::new(record)))
    }

    async fn settle(
        &self,
        serial_id: &SerialId,
        claim_id: &str,
        settlement: &Settlement,
        now_ms: u64,
    ) -> Result<bool, StoreUnavailable> {
        let mut update = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(transfer_key(serial_id.as_str())))
            .condition_expression("#status = :in_progress AND claim_id = :claim")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s(TransferStatus::InProgress.as_str()))
            .expression_attribute_values(":claim", s(claim_id))
            .expression_attribute_values(":status", s(settlement.status.as_str()))
            .expression_attribute_values(":now", n(now_ms));
        let mut set = vec!["#status = :status", "updated_at = :now"];
        if let Some(code) = &settlement.code {
            set.push("outcome_code = :code");
            update = update.expression_attribute_values(":code", s(code));
        }
        if let Some(message) = &settlement.message {
            set.push("outcome_message = :message");
            update = update.expression_attribute_values(":message", s(message));
        }
        let result = update
            .update_expression(format!("SET {}", set.join(", ")))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(_) => return Ok(true),
            Err(e) => update_refused(e)?,
        };
        // Already settled as asked by this claim: the SDK retried our own
        // write after a lost reply.
        Ok(old
            .as_ref()
            .and_then(record_of)
            .is_some_and(|old| old.claim_id == claim_id && old.status == settlement.status))
    }

    async fn mark_abandoned(
        &self,
        record: &TransferRecord,
        now_ms: u64,
    ) -> Result<bool, StoreUnavailable> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(transfer_key(&record.serial_id)))
            .update_expression("SET #status = :unknown, updated_at = :now, outcome_message = :why")
            .condition_expression(
                "#status = :in_progress AND claim_id = :claim AND lease_expires_at <= :cutoff",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":unknown", s(TransferStatus::Unknown.as_str()))
            .expression_attribute_values(":in_progress", s(TransferStatus::InProgress.as_str()))
            .expression_attribute_values(":claim", s(&record.claim_id))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":cutoff", n(lease_cutoff(now_ms)))
            .expression_attribute_values(":why", s(ABANDONED_MESSAGE))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(_) => return Ok(true),
            Err(e) => update_refused(e)?,
        };
        // The SDK resent our own write after a lost reply: the record holds
        // exactly what this call wrote (same claim, `unknown`, our `now`).
        Ok(old.as_ref().and_then(record_of).is_some_and(|old| {
            old.claim_id == record.claim_id
                && old.status == TransferStatus::Unknown
                && old.updated_at == now_ms
        }))
    }

    async fn get(&self, serial_id: &SerialId) -> Result<Option<TransferRecord>, StoreUnavailable> {
        let output = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", s(transfer_key(serial_id.as_str())))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item().and_then(record_of))
    }
}

impl TransferAdmin for DynamoStore {
    async fn scan(
        &self,
        filter: Option<StatusFilter>,
        now_ms: u64,
        progress: &mut (dyn FnMut(ScanProgress) + Send),
    ) -> Result<Vec<TransferRecord>, StoreUnavailable> {
        let (condition, values) = match filter {
            None => ("#kind = :kind", vec![]),
            Some(StatusFilter::Is(status)) => (
                "#kind = :kind AND #status = :status",
                vec![(":status", s(status.as_str()))],
            ),
            // The rule of `status_at`, as the table evaluates it.
            Some(StatusFilter::Stuck) => (
                "#kind = :kind AND (#status = :unknown OR (#status = :in_progress AND lease_expires_at <= :cutoff))",
                vec![
                    (":unknown", s(TransferStatus::Unknown.as_str())),
                    (":in_progress", s(TransferStatus::InProgress.as_str())),
                    (":cutoff", n(lease_cutoff(now_ms))),
                ],
            ),
        };
        let mut found = Vec::new();
        let mut seen = ScanProgress::default();
        let mut start: Option<Item> = None;
        loop {
            let mut scan = self
                .client()
                .scan()
                .table_name(self.table())
                .consistent_read(true)
                .filter_expression(condition)
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":kind", s("transfer"))
                .set_exclusive_start_key(start.take());
            if filter.is_some() {
                scan = scan.expression_attribute_names("#status", "status");
            }
            for (name, value) in &values {
                scan = scan.expression_attribute_values(*name, value.clone());
            }
            let page = scan.send().await.map_err(unavailable)?;
            seen.pages += 1;
            seen.scanned += u64::try_from(page.scanned_count()).unwrap_or(0);
            for item in page.items() {
                match record_of(item) {
                    Some(record) => found.push(record),
                    None => seen.unreadable += 1,
                }
            }
            seen.matched = found.len() as u64;
            progress(seen);
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    /// One transaction: the conditional update of the record, and an
    /// audit item `transfer_resolution#<serial>#<ms>` (no TTL) that says who
    /// resolved it, how and why. The record alone would lose that: a serial
    /// resolved `failed` is claimed again by its retry, whose write replaces
    /// the whole item.
    async fn write_resolution(
        &self,
        request: &ResolveRequest,
    ) -> Result<Result<TransferRecord, Option<TransferRecord>>, StoreUnavailable> {
        let serial = request.serial_id.as_str();
        let update = Update::builder()
            .table_name(self.table())
            .key("pk", s(transfer_key(serial)))
            // Operands read the item as it was: `resolved_from` is the old status.
            // An `in_progress` claim only past the operator's margin
            // (`operator::is_resolvable`): the operator's clock is no
            // Lambda container's.
            .update_expression(
                "SET resolved_from = #status, #status = :to, resolution_reason = :reason, \
                 resolved_by = :by, resolved_at = :now, updated_at = :now",
            )
            .condition_expression(
                "attribute_exists(pk) AND (#status = :unknown \
                 OR (#status = :in_progress AND lease_expires_at <= :cutoff))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(request.to.status().as_str()))
            .expression_attribute_values(":reason", s(request.reason.as_str()))
            .expression_attribute_values(":by", s(&request.resolved_by))
            .expression_attribute_values(":now", n(request.now_ms))
            .expression_attribute_values(":unknown", s(TransferStatus::Unknown.as_str()))
            .expression_attribute_values(":in_progress", s(TransferStatus::InProgress.as_str()))
            .expression_attribute_values(":cutoff", n(operator_lease_cutoff(request.now_ms)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreUnavailable(e.to_string()))?;
        let audit = Put::builder()
            .table_name(self.table())
            .item("pk", s(resolution_key(serial, request.now_ms)))
            .item("kind", s("transfer_resolution"))
            .item("serial_id", s(serial))
            .item("status", s(request.to.status().as_str()))
            .item("resolution_reason", s(request.reason.as_str()))
            .item("resolved_by", s(&request.resolved_by))
            .item("resolved_at", n(request.now_ms))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreUnavailable(e.to_string()))?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(audit).build())
            .send()
            .await;
        match result {
            Ok(_) => self.get(&request.serial_id).await?.map(Ok).ok_or_else(|| {
                StoreUnavailable(format!(
                    "the resolution of {serial} was written but its record cannot be read back"
                ))
            }),
            Err(e) => {
                let reasons = transaction_refused(e)?;
                let record = reasons.first();
                if !condition_failed(record) {
                    return Err(StoreUnavailable(format!(
                        "the resolution of {serial} was cancelled: {reasons:?}"
                    )));
                }
                // The record as the condition saw it (none: no such serial).
                Ok(Err(record.and_then(|r| r.item()).and_then(record_of)))
            }
        }
    }
}

/// The audit item of one operator resolution of `serial` at `at_ms`.
pub(crate) fn resolution_key(serial: &str, at_ms: u64) -> String {
    format!("transfer_resolution#{serial}#{at_ms}")
}
