//! Idempotency keys and charge records on the table, through the real SDK.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::IdempotencyKey;
use super::store::{
    CREATED_RANK, CREATED_STATUS, ChargeRecord, ChargeStore, KEY_RETENTION_SECS, KeyClaim,
    KeyRecord, KeyState, KeyStore,
};
use crate::http::Caller;
use crate::table::{
    DynamoStore, Item, StoreUnavailable, TTL_ATTRIBUTE, lease_cutoff, n, put_refused, s,
    unavailable,
};

fn key_pk(key: &IdempotencyKey) -> String {
    format!("idem#create-charge#{}", key.as_str())
}

fn record_of(item: &Item) -> Option<KeyRecord> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let state = match text("status")?.as_str() {
        "in_progress" => KeyState::InProgress,
        "completed" => KeyState::Completed {
            status: item.get("response_status")?.as_n().ok()?.parse().ok()?,
            body: text("response_body")?,
        },
        _ => return None,
    };
    Some(KeyRecord {
        fingerprint: text("fingerprint")?,
        state,
        caller_account: text("caller_account"),
    })
}

impl KeyStore for DynamoStore {
    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        claim_id: &str,
        caller: &Caller,
        lease_ends: u64,
        now_ms: u64,
    ) -> Result<KeyClaim, StoreUnavailable> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(key_pk(key)))
            .item("kind", s("idempotency_key"))
            .item("fingerprint", s(fingerprint))
            .item("status", s("in_progress"))
            .item("claim_id", s(claim_id))
            .item("caller_arn", s(caller.arn()))
            .item("caller_account", s(caller.account()))
            .item("lease_expires_at", n(lease_ends))
            .item("created_at", n(now_ms))
            .item(TTL_ATTRIBUTE, n(now_ms / 1000 + KEY_RETENTION_SECS))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now_s OR (#status = :in_progress AND lease_expires_at <= :lease_cutoff)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now_s", n(now_ms / 1000))
            // Another container's clock may run ahead of the one that wrote the lease.
            .expression_attribute_values(":lease_cutoff", n(lease_cutoff(now_ms)))
            .expression_attribute_values(":in_progress", s("in_progress"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(_) => return Ok(KeyClaim::Claimed),
            Err(e) => put_refused(e)?,
        };
        // The SDK retried our own write after a lost reply: the claim is ours.
        let owner = old
            .as_ref()
            .and_then(|item| item.get("claim_id"))
            .and_then(|v| v.as_s().ok());
        if owner.map(String::as_str) == Some(claim_id) {
            return Ok(KeyClaim::Claimed);
        }
        let record = old
            .as_ref()
            .and_then(record_of)
            .ok_or_else(|| StoreUnavailable("an idempotency key record is unreadable".into()))?;
        Ok(KeyClaim::Taken(record))
    }

    async fn complete_key(
        &self,
        key: &IdempotencyKey,
        claim_id: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreUnavailable> {
        self.client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(key_pk(key)))
            .update_expression(
                "SET #status = :completed, response_status = :code, response_body = :body",
            )
            .condition_expression("#status = :in_progress AND claim_id = :claim")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s("completed"))
            .expression_attribute_values(":in_progress", s("in_progress"))
            .expression_attribute_values(":claim", s(claim_id))
            .expression_attribute_values(":code", n(u64::from(status)))
            .expression_attribute_values(":body", s(body))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn release_key(
        &self,
        key: &IdempotencyKey,
        claim_id: &str,
    ) -> Result<(), StoreUnavailable> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key("pk", s(key_pk(key)))
            .condition_expression("claim_id = :claim")
            .expression_attribute_values(":claim", s(claim_id))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}

impl ChargeStore for DynamoStore {
    async fn record_charge(&self, charge: &ChargeRecord) -> Result<(), StoreUnavailable> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(format!("charge#{}", charge.charge_id)))
            .item("kind", s("charge"))
            .item("charge_id", s(&charge.charge_id))
            .item("status", s(CREATED_STATUS))
            .item("paid", AttributeValue::Bool(false))
            .item("amount", n(charge.amount))
            .item("currency", s(&charge.currency))
            .item("external_order_id", s(&charge.external_order_id))
            .item("created_at", n(charge.created_at))
            .item("request_id", s(&charge.request_id))
            .item("caller_arn", s(charge.caller.arn()))
            .item("caller_account", s(charge.caller.account()))
            .item("status_rank", n(u64::from(CREATED_RANK)))
            .item("updated_at", n(charge.created_at))
            // Never over a record of this id: an event may have moved it.
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let Err(error) = result else {
            return Ok(());
        };
        let old = put_refused(error)?;
        let by = old
            .as_ref()
            .and_then(|item| item.get("request_id"))
            .and_then(|v| v.as_s().ok());
        // An item of this id that create-charge did not write (an older
        // version's webhook made it from an event): the webhook would never
        // apply an event to it, so the charge must not be handed out.
        let Some(by) = by else {
            return Err(StoreUnavailable(format!(
                "charge#{} exists without create-charge's record (made by an older webhook); \
                 events for it would never apply",
                charge.charge_id
            )));
        };
        // Our own write resent by the SDK after a lost reply: nothing to say.
        if by != &charge.request_id {
            tracing::warn!(charge_id = %charge.charge_id, recorded_by = %by,
                "charge already recorded by another request; kept as it was");
        }
        Ok(())
    }
}
