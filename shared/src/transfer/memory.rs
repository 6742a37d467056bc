//! The transfer store in memory, with DynamoDB's semantics, for unit tests
//! of the state machine. Never used to prove a feature: that is moto's job.

use std::collections::HashMap;
use std::sync::Mutex;

use super::operator::{ResolveRequest, ScanProgress, StatusFilter, TransferAdmin, is_resolvable};
use super::store::ABANDONED_MESSAGE;
use super::{
    Claim, ClaimOutcome, Resolution, Settlement, TransferRecord, TransferStatus, TransferStore,
};
use crate::debox::SerialId;
use crate::table::{StoreUnavailable, lease_is_over};

#[derive(Default)]
pub struct MemoryTransfers {
    records: Mutex<HashMap<String, TransferRecord>>,
    /// When set, every call fails as an unreachable table would.
    pub down: std::sync::atomic::AtomicBool,
}

impl MemoryTransfers {
    fn check(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, TransferRecord>>, StoreUnavailable> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreUnavailable("memory store is down".into()));
        }
        Ok(self.records.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl TransferStore for MemoryTransfers {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreUnavailable> {
        let mut records = self.check()?;
        let key = claim.serial_id.as_str().to_string();
        // As DynamoDB: a failed claim is free again, and a retried write of
        // this very claim is still this claim's.
        if let Some(existing) = records.get(&key)
            && existing.status != TransferStatus::Failed
            && !(existing.claim_id == claim.claim_id
                && existing.status == TransferStatus::InProgress)
        {
            return Ok(ClaimOutcome::Taken(Box::new(existing.clone())));
        }
        records.insert(
            key,
            TransferRecord {
                serial_id: claim.serial_id.to_string(),
                status: TransferStatus::InProgress,
                claim_id: claim.claim_id.clone(),
                lease_expires_at: claim.lease_expires_at,
                verify_amount: claim.verify_amount.map(|a| a.to_string()),
                request_id: claim.request_id.clone(),
                created_at: claim.now_ms,
                updated_at: claim.now_ms,
                outcome_code: None,
                outcome_message: None,
                amount: claim.verify_amount.map(|a| a.to_string()),
                to_user_id: None,
                caller: Some(claim.caller.clone()),
                resolution: None,
            },
        );
        Ok(ClaimOutcome::Claimed)
    }

    async fn settle(
        &self,
        serial_id: &SerialId,
        claim_id: &str,
        settlement: &Settlement,
        now_ms: u64,
    ) -> Result<bool, StoreUnavailable> {
        let mut records = self.check()?;
        match records.get_mut(serial_id.as_str()) {
            Some(r) if r.status == TransferStatus::InProgress && r.claim_id == claim_id => {
                r.status = settlement.status;
                r.outcome_code.clone_from(&settlement.code);
                r.outcome_message.clone_from(&settlement.message);
                r.updated_at = now_ms;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn mark_abandoned(
        &self,
        record: &TransferRecord,
        now_ms: u64,
    ) -> Result<bool, StoreUnavailable> {
        let mut records = self.check()?;
        match records.get_mut(&record.serial_id) {
            Some(r)
                if r.status == TransferStatus::InProgress
                    && r.claim_id == record.claim_id
                    && lease_is_over(r.lease_expires_at, now_ms) =>
            {
                r.status = TransferStatus::Unknown;
                r.updated_at = now_ms;
                r.outcome_message = Some(ABANDONED_MESSAGE.to_string());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn get(&self, serial_id: &SerialId) -> Result<Option<TransferRecord>, StoreUnavailable> {
        Ok(self.check()?.get(serial_id.as_str()).cloned())
    }
}

impl TransferAdmin for MemoryTransfers {
    async fn scan(
        &self,
        filter: Option<StatusFilter>,
        now_ms: u64,
        progress: &mut (dyn FnMut(ScanProgress) + Send),
    ) -> Result<Vec<TransferRecord>, StoreUnavailable> {
        let records = self.check()?;
        let found: Vec<_> = records
            .values()
            .filter(|r| filter.is_none_or(|f| f.matches(r, now_ms)))
            .cloned()
            .collect();
        progress(ScanProgress {
            pages: 1,
            scanned: records.len() as u64,
            matched: found.len() as u64,
            unreadable: 0,
        });
        Ok(found)
    }

    async fn write_resolution(
        &self,
        request: &ResolveRequest,
    ) -> Result<Result<TransferRecord, Option<TransferRecord>>, StoreUnavailable> {
        let mut records = self.check()?;
        let Some(record) = records.get_mut(request.serial_id.as_str()) else {
            return Ok(Err(None));
        };
        if !is_resolvable(record, request.now_ms) {
            return Ok(Err(Some(record.clone())));
        }
        record.resolution = Some(Resolution {
            resolved_by: request.resolved_by.clone(),
            resolved_at: request.now_ms,
            reason: request.reason.as_str().to_string(),
            resolved_from: record.status,
        });
        record.status = request.to.status();
        record.updated_at = request.now_ms;
        Ok(Ok(record.clone()))
    }
}
