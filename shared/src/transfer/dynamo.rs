//! The transfer store on DynamoDB, through the real SDK.

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::store::{ABANDONED_MESSAGE, TRANSFER_RETENTION_SECS, transfer_key};
use super::{Claim, ClaimOutcome, Settlement, TransferRecord, TransferStatus, TransferStore};
use crate::debox::SerialId;
use crate::table::{
    DynamoStore, Item, StoreUnavailable, TTL_ATTRIBUTE, lease_cutoff, n, put_refused, s,
    unavailable, update_refused,
};

/// Read a transfer item; `None` if it is not one we wrote.
fn record_of(item: &Item) -> Option<TransferRecord> {
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
            put = put.item("verify_amount", s(amount.to_string()));
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
        Ok(ClaimOutcome::Taken(record))
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
