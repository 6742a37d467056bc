//! A transfer's states, its record, and what a claim and a settlement say.

use serde::Serialize;

use crate::debox::{Amount, SerialId};
use crate::http::Caller;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    InProgress,
    Succeeded,
    Failed,
    Unknown,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "in_progress" => Self::InProgress,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }
}

/// A transfer record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    pub serial_id: String,
    pub status: TransferStatus,
    pub claim_id: String,
    /// Unix milliseconds after which an `in_progress` claim is dead.
    pub lease_expires_at: u64,
    pub verify_amount: Option<String>,
    pub request_id: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub outcome_code: Option<String>,
    pub outcome_message: Option<String>,
    /// The points, as DeBox's decimal string, when the request named them
    /// (`verify_amount`; a user-pays transfer names none).
    pub amount: Option<String>,
    /// The recipient, when the record names one.
    pub to_user_id: Option<String>,
    /// Who asked (`caller_arn`, `caller_account`); `None` on records
    /// written before callers were recorded.
    pub caller: Option<Caller>,
    /// An operator's resolution of an `unknown` or dead transfer.
    pub resolution: Option<Resolution>,
}

/// What an operator recorded when settling a transfer by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The operator's IAM identity (STS `GetCallerIdentity`'s ARN).
    pub resolved_by: String,
    /// Unix milliseconds.
    pub resolved_at: u64,
    pub reason: String,
    /// The status it was resolved from (`unknown` or `in_progress`).
    pub resolved_from: TransferStatus,
}

impl TransferRecord {
    /// The status as callers must see it at `now_ms`: an `in_progress`
    /// claim whose lease ran out (past [`crate::table::LEASE_GRACE_MS`] of clock
    /// skew) belonged to a function that died mid-call, so DeBox may or may
    /// not have moved the points.
    pub fn status_at(&self, now_ms: u64) -> TransferStatus {
        match self.status {
            TransferStatus::InProgress
                if crate::table::lease_is_over(self.lease_expires_at, now_ms) =>
            {
                TransferStatus::Unknown
            }
            status => status,
        }
    }
}

/// A request to own a serial id until `lease_expires_at`.
#[derive(Debug, Clone)]
pub struct Claim {
    pub serial_id: SerialId,
    /// Unique to this attempt, so only its owner can settle it.
    pub claim_id: String,
    pub lease_expires_at: u64,
    pub verify_amount: Option<Amount>,
    pub request_id: String,
    /// Who asked, recorded on the claim.
    pub caller: Caller,
    pub now_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Ours: call DeBox.
    Claimed,
    /// Someone else's: never call DeBox.
    Taken(Box<TransferRecord>),
}

/// How a claimed transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub status: TransferStatus,
    pub code: Option<String>,
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_in_progress_claim_reads_as_unknown() {
        let record = TransferRecord {
            serial_id: "s".into(),
            status: TransferStatus::InProgress,
            claim_id: "c".into(),
            lease_expires_at: 1_000,
            verify_amount: None,
            request_id: "r".into(),
            created_at: 0,
            updated_at: 0,
            outcome_code: None,
            outcome_message: None,
            amount: None,
            to_user_id: None,
            caller: None,
            resolution: None,
        };
        assert_eq!(record.status_at(999), TransferStatus::InProgress);
        // Another container's clock may run a second ahead: still live.
        assert_eq!(record.status_at(2_000), TransferStatus::InProgress);
        let grace = crate::table::LEASE_GRACE_MS;
        assert_eq!(
            record.status_at(1_000 + grace - 1),
            TransferStatus::InProgress
        );
        assert_eq!(record.status_at(1_000 + grace), TransferStatus::Unknown);
        let done = TransferRecord {
            status: TransferStatus::Succeeded,
            ..record
        };
        assert_eq!(done.status_at(5_000), TransferStatus::Succeeded);
    }

    #[test]
    fn statuses_round_trip_as_text() {
        for s in [
            TransferStatus::InProgress,
            TransferStatus::Succeeded,
            TransferStatus::Failed,
            TransferStatus::Unknown,
        ] {
            assert_eq!(TransferStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
