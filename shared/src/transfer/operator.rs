//! What an operator does with transfers (the `payments-admin` CLI): list
//! them by status, and settle an `unknown` or dead one by hand once DeBox's
//! records say what happened.
//!
//! Resolving is one conditional write (with an audit item, in one
//! transaction), allowed only from `unknown` or from `in_progress` more
//! than [`OPERATOR_LEASE_MARGIN_MS`] past its lease: never over a live
//! call, never over an outcome already recorded. `failed` frees the serial for a
//! corrected retry exactly as a definite DeBox refusal does (the claim's
//! condition lets a `failed` record be claimed again); `succeeded` holds it
//! for good, as a success DeBox confirmed does.

use std::future::Future;

use super::{TransferRecord, TransferStatus, TransferStore};
use crate::debox::SerialId;
use crate::table::StoreUnavailable;

/// How long past its end an `in_progress` claim's lease must be before an
/// operator may resolve it. The operator's clock is a laptop's, not a
/// Lambda container's: it may be off by seconds or minutes, far beyond the
/// 5 s of [`crate::table::LEASE_GRACE_MS`]. A live claim resolved `failed`
/// mid-call would free its serial while DeBox applies it, and the retry
/// would send the points twice. The function's lease ends at its deadline,
/// at most its 15 s timeout after the claim, so 10 minutes past the lease no
/// function can still be running, whatever the operator's clock says
/// within 10 minutes of the truth. Waiting costs a dead claim nothing but
/// minutes. `unknown` is resolvable at once: Lambda-side code wrote it,
/// after the call ended or with its own clock's grace.
pub const OPERATOR_LEASE_MARGIN_MS: u64 = 10 * 60 * 1000;

/// Whether an operator may resolve `record` at `now_ms` (the operator's
/// clock): it is `unknown`, or `in_progress` with its lease over by
/// [`OPERATOR_LEASE_MARGIN_MS`]. The rule the stores' writes enforce.
pub fn is_resolvable(record: &TransferRecord, now_ms: u64) -> bool {
    match record.status {
        TransferStatus::Unknown => true,
        TransferStatus::InProgress => resolvable_from(record.lease_expires_at) <= now_ms,
        TransferStatus::Succeeded | TransferStatus::Failed => false,
    }
}

/// The first instant (Unix ms) an operator may resolve an `in_progress`
/// claim whose lease ends at `lease_expires_at`.
pub fn resolvable_from(lease_expires_at: u64) -> u64 {
    lease_expires_at.saturating_add(OPERATOR_LEASE_MARGIN_MS)
}

/// The latest lease end an operator may resolve at `now_ms`, for the
/// table's condition (`lease_expires_at <= :cutoff`).
pub fn operator_lease_cutoff(now_ms: u64) -> u64 {
    now_ms.saturating_sub(OPERATOR_LEASE_MARGIN_MS)
}

/// Which transfers to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this stored status.
    Is(TransferStatus),
    /// What needs a person: `unknown`, or `in_progress` past its lease
    /// (grace included), whose function died mid-call. Listing is
    /// harmless, so it uses the functions' grace; resolving such a claim
    /// waits for [`OPERATOR_LEASE_MARGIN_MS`].
    Stuck,
}

impl StatusFilter {
    /// `unknown`, `in_progress`, `failed`, `succeeded` or `stuck`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "stuck" => Some(Self::Stuck),
            other => TransferStatus::parse(other).map(Self::Is),
        }
    }

    pub fn matches(self, record: &TransferRecord, now_ms: u64) -> bool {
        match self {
            Self::Is(status) => record.status == status,
            Self::Stuck => is_stuck(record, now_ms),
        }
    }
}

/// Whether a person must settle this transfer: its outcome is unknown, or
/// its claim is dead (the lease ran out, grace included).
pub fn is_stuck(record: &TransferRecord, now_ms: u64) -> bool {
    record.status_at(now_ms) == TransferStatus::Unknown
}

/// What an operator may resolve a transfer as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveAs {
    /// DeBox moved the points: the serial is never sent again.
    Succeeded,
    /// DeBox did not: the serial is free for a corrected retry.
    Failed,
}

impl ResolveAs {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    pub fn status(self) -> TransferStatus {
        match self {
            Self::Succeeded => TransferStatus::Succeeded,
            Self::Failed => TransferStatus::Failed,
        }
    }
}

/// Why an operator resolved a transfer: what DeBox's records said, a ticket.
/// Never empty: a resolution nobody can explain later is no record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

/// The longest reason kept (a table item holds 400 KB; a reason is a line).
pub const MAX_REASON_CHARS: usize = 1_000;

impl Reason {
    /// The text, trimmed; refused when empty or whitespace only, over
    /// [`MAX_REASON_CHARS`], or holding control characters other than a
    /// line break or tab.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the reason is empty: say why (what DeBox's records show, a ticket)");
        }
        if text.chars().count() > MAX_REASON_CHARS {
            return Err("the reason is longer than 1000 characters");
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("the reason holds a control character");
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An operator's resolution, as it will be written.
#[derive(Debug, Clone)]
pub struct ResolveRequest {
    pub serial_id: SerialId,
    pub to: ResolveAs,
    pub reason: Reason,
    /// The operator's IAM identity (STS `GetCallerIdentity`'s ARN), read
    /// before the write.
    pub resolved_by: String,
    pub now_ms: u64,
}

/// Why a resolution was refused (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveRefusal {
    NoSuchSerial,
    /// It succeeded (DeBox confirmed it, or an operator resolved it so).
    AlreadySucceeded(Box<TransferRecord>),
    /// It failed (DeBox refused it, or an operator resolved it so): the
    /// serial is already free for a retry.
    AlreadyFailed(Box<TransferRecord>),
    /// Its call may still be running: its lease ends at `lease_expires_at`
    /// and it can be resolved from `resolvable_from` (Unix ms),
    /// [`OPERATOR_LEASE_MARGIN_MS`] later.
    StillLive {
        lease_expires_at: u64,
        resolvable_from: u64,
    },
}

/// The store operations an operator needs, beyond [`TransferStore`].
pub trait TransferAdmin: TransferStore {
    /// Every transfer record `filter` keeps (all of them without one), read
    /// page by page; `progress` hears of each page.
    fn scan(
        &self,
        filter: Option<StatusFilter>,
        now_ms: u64,
        progress: &mut (dyn FnMut(ScanProgress) + Send),
    ) -> impl Future<Output = Result<Vec<TransferRecord>, StoreUnavailable>> + Send;

    /// One conditional write: the resolution, only if the record is
    /// `unknown`, or `in_progress` with its lease over by
    /// [`OPERATOR_LEASE_MARGIN_MS`] at `now_ms` ([`is_resolvable`]). `Ok(record)` is the record as written; `Err(old)` is the
    /// refusal with the record as it was (`None`: there is none).
    fn write_resolution(
        &self,
        request: &ResolveRequest,
    ) -> impl Future<
        Output = Result<Result<TransferRecord, Option<TransferRecord>>, StoreUnavailable>,
    > + Send;
}

/// How far a scan has got: pages read, items read, transfers kept, and
/// transfer items that could not be read as a record (left out, counted so
/// they are not missed silently).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanProgress {
    pub pages: u64,
    pub scanned: u64,
    pub matched: u64,
    pub unreadable: u64,
}

/// The transfers `filter` keeps, oldest first (by `created_at`, then
/// serial).
pub async fn list<S: TransferAdmin>(
    store: &S,
    filter: Option<StatusFilter>,
    now_ms: u64,
    progress: &mut (dyn FnMut(ScanProgress) + Send),
) -> Result<Vec<TransferRecord>, StoreUnavailable> {
    let mut records = store.scan(filter, now_ms, progress).await?;
    // The store filters already; the rule is this one, whatever the store.
    records.retain(|r| filter.is_none_or(|f| f.matches(r, now_ms)));
    records.sort_by(|a, b| (a.created_at, &a.serial_id).cmp(&(b.created_at, &b.serial_id)));
    Ok(records)
}

/// Resolve a transfer by hand: the record as written, or why not (nothing
/// written).
pub async fn resolve<S: TransferAdmin>(
    store: &S,
    request: &ResolveRequest,
) -> Result<Result<TransferRecord, ResolveRefusal>, StoreUnavailable> {
    let old = match store.write_resolution(request).await? {
        Ok(record) => {
            tracing::info!(
                serial_id = %request.serial_id,
                status = request.to.status().as_str(),
                resolved_by = %request.resolved_by,
                "transfer resolved by an operator"
            );
            return Ok(Ok(record));
        }
        Err(old) => old,
    };
    // The store's client resent our own write after a lost reply: the
    // record holds exactly this resolution.
    if let Some(old) = &old
        && old.status == request.to.status()
        && old.resolution.as_ref().is_some_and(|r| {
            r.resolved_by == request.resolved_by
                && r.resolved_at == request.now_ms
                && r.reason == request.reason.as_str()
        })
    {
        return Ok(Ok(old.clone()));
    }
    Ok(Err(refusal(old)))
}

/// Why a record as it was (`None`: none) could not be resolved.
pub fn refusal(old: Option<TransferRecord>) -> ResolveRefusal {
    let Some(old) = old else {
        return ResolveRefusal::NoSuchSerial;
    };
    match old.status {
        TransferStatus::Succeeded => ResolveRefusal::AlreadySucceeded(Box::new(old)),
        TransferStatus::Failed => ResolveRefusal::AlreadyFailed(Box::new(old)),
        // The condition allows `unknown` and a claim past the operator's
        // margin, so what it refused in progress may still be live.
        TransferStatus::InProgress | TransferStatus::Unknown => ResolveRefusal::StillLive {
            lease_expires_at: old.lease_expires_at,
            resolvable_from: resolvable_from(old.lease_expires_at),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Caller;
    use crate::now_ms;
    use crate::table::LEASE_GRACE_MS;
    use crate::transfer::{Claim, ClaimOutcome, MemoryTransfers, Settlement};

    fn serial(s: &str) -> SerialId {
        SerialId::parse(s).unwrap()
    }

    /// A claim on `s` whose lease ends at `lease`, made at `at`.
    async fn claimed(store: &MemoryTransfers, s: &str, lease: u64, at: u64) {
        let claim = Claim {
            serial_id: serial(s),
            claim_id: format!("claim-{s}"),
            lease_expires_at: lease,
            verify_amount: Some("10.50".parse().unwrap()),
            request_id: "req".into(),
            caller: Caller::new("arn:aws:iam::1:user/m", "1"),
            now_ms: at,
        };
        assert_eq!(store.claim(&claim).await.unwrap(), ClaimOutcome::Claimed);
    }

    async fn settled(store: &MemoryTransfers, s: &str, status: TransferStatus) {
        let settlement = Settlement {
            status,
            code: None,
            message: None,
        };
        let changed = store
            .settle(&serial(s), &format!("claim-{s}"), &settlement, now_ms())
            .await
            .unwrap();
        assert!(changed);
    }

    fn request(s: &str, to: ResolveAs, now: u64) -> ResolveRequest {
        ResolveRequest {
            serial_id: serial(s),
            to,
            reason: Reason::parse("DeBox support: not made (ticket 42)").unwrap(),
            resolved_by: "arn:aws:sts::1:assumed-role/ops/alice".into(),
            now_ms: now,
        }
    }

    #[test]
    fn a_reason_is_never_blank() {
        for blank in ["", "   ", "\n\t "] {
            assert!(Reason::parse(blank).is_err(), "{blank:?}");
        }
        assert_eq!(Reason::parse("  ticket 42 ").unwrap().as_str(), "ticket 42");
        assert!(Reason::parse("a\u{7}b").is_err());
        assert!(Reason::parse(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
    }

    #[tokio::test]
    async fn stuck_is_unknown_or_in_progress_past_its_lease_and_grace() {
        let store = MemoryTransfers::default();
        let now = now_ms();
        claimed(&store, "live", now + 10_000, now - 3).await;
        claimed(&store, "in-grace", now - LEASE_GRACE_MS + 1, now - 2).await;
        claimed(&store, "dead", now - LEASE_GRACE_MS, now - 1).await;
        claimed(&store, "unknown", now + 10_000, now - 4).await;
        settled(&store, "unknown", TransferStatus::Unknown).await;
        claimed(&store, "failed", now + 10_000, now - 5).await;
        settled(&store, "failed", TransferStatus::Failed).await;
        claimed(&store, "done", now + 10_000, now - 6).await;
        settled(&store, "done", TransferStatus::Succeeded).await;

        let serials = |filter: &str| {
            let store = &store;
            let filter = StatusFilter::parse(filter).unwrap();
            async move {
                list(store, Some(filter), now, &mut |_| {})
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.serial_id)
                    .collect::<Vec<_>>()
            }
        };
        // Oldest first.
        assert_eq!(serials("stuck").await, ["unknown", "dead"]);
        assert_eq!(serials("in_progress").await, ["live", "in-grace", "dead"]);
        assert_eq!(serials("unknown").await, ["unknown"]);
        assert_eq!(serials("failed").await, ["failed"]);
        assert_eq!(serials("succeeded").await, ["done"]);
        let all = list(&store, None, now, &mut |_| {}).await.unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(StatusFilter::parse("stuckk"), None);
    }

    #[tokio::test]
    async fn failed_frees_the_serial_and_succeeded_holds_it() {
        let store = MemoryTransfers::default();
        let now = now_ms();
        for s in ["a", "b"] {
            claimed(&store, s, now + 10_000, now).await;
            settled(&store, s, TransferStatus::Unknown).await;
        }
        let failed = resolve(&store, &request("a", ResolveAs::Failed, now))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(failed.status, TransferStatus::Failed);
        assert_eq!(
            failed.resolution,
            Some(crate::transfer::Resolution {
                resolved_by: "arn:aws:sts::1:assumed-role/ops/alice".into(),
                resolved_at: now,
                reason: "DeBox support: not made (ticket 42)".into(),
                resolved_from: TransferStatus::Unknown,
            })
        );
        // Claimable again, as after a definite refusal from DeBox.
        claimed(&store, "a", now + 10_000, now).await;

        let succeeded = resolve(&store, &request("b", ResolveAs::Succeeded, now))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(succeeded.status, TransferStatus::Succeeded);
        let again = Claim {
            serial_id: serial("b"),
            claim_id: "retry".into(),
            lease_expires_at: now + 10_000,
            verify_amount: None,
            request_id: "r".into(),
            caller: Caller::unauthenticated(),
            now_ms: now,
        };
        assert!(matches!(
            store.claim(&again).await.unwrap(),
            ClaimOutcome::Taken(r) if r.status == TransferStatus::Succeeded
        ));
    }

    #[tokio::test]
    async fn each_refusal_says_why_and_changes_nothing() {
        let store = MemoryTransfers::default();
        let now = now_ms();
        claimed(&store, "live", now + 10_000, now).await;
        claimed(&store, "done", now + 10_000, now).await;
        settled(&store, "done", TransferStatus::Succeeded).await;
        claimed(&store, "refused", now + 10_000, now).await;
        settled(&store, "refused", TransferStatus::Failed).await;

        let refused = |s: &'static str| {
            let store = &store;
            async move {
                let before = store.get(&serial(s)).await.unwrap();
                let refusal = resolve(store, &request(s, ResolveAs::Failed, now))
                    .await
                    .unwrap()
                    .unwrap_err();
                assert_eq!(store.get(&serial(s)).await.unwrap(), before, "{s}");
                refusal
            }
        };
        assert_eq!(refused("nothing").await, ResolveRefusal::NoSuchSerial);
        assert!(matches!(
            refused("done").await,
            ResolveRefusal::AlreadySucceeded(r) if r.serial_id == "done"
        ));
        assert!(matches!(
            refused("refused").await,
            ResolveRefusal::AlreadyFailed(r) if r.resolution.is_none()
        ));
        assert_eq!(
            refused("live").await,
            ResolveRefusal::StillLive {
                lease_expires_at: now + 10_000,
                resolvable_from: now + 10_000 + OPERATOR_LEASE_MARGIN_MS,
            }
        );
    }

    /// The operator's margin, to the millisecond: a claim whose lease ended
    /// a millisecond short of it may still be live by some clock and is
    /// refused (though already listed as stuck); at the margin it resolves.
    #[tokio::test]
    async fn an_in_progress_claim_is_resolvable_only_past_the_operator_margin() {
        let store = MemoryTransfers::default();
        let now = now_ms();
        let early = now - OPERATOR_LEASE_MARGIN_MS + 1;
        let due = now - OPERATOR_LEASE_MARGIN_MS;
        claimed(&store, "early", early, early - 15_000).await;
        claimed(&store, "due", due, due - 15_000).await;

        let before = store.get(&serial("early")).await.unwrap().unwrap();
        assert!(is_stuck(&before, now), "listed as stuck already");
        assert!(!is_resolvable(&before, now));
        assert_eq!(
            resolve(&store, &request("early", ResolveAs::Failed, now))
                .await
                .unwrap(),
            Err(ResolveRefusal::StillLive {
                lease_expires_at: early,
                resolvable_from: now + 1,
            })
        );
        assert_eq!(store.get(&serial("early")).await.unwrap(), Some(before));

        let resolved = resolve(&store, &request("due", ResolveAs::Failed, now))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resolved.status, TransferStatus::Failed);
        assert_eq!(
            resolved.resolution.unwrap().resolved_from,
            TransferStatus::InProgress
        );
        assert_eq!(resolvable_from(due), now);
        assert_eq!(operator_lease_cutoff(now), due);
    }

    #[tokio::test]
    async fn a_dead_claim_is_resolvable_and_a_resent_resolution_is_ours() {
        let store = MemoryTransfers::default();
        let now = now_ms();
        let lease = now - OPERATOR_LEASE_MARGIN_MS;
        claimed(&store, "dead", lease, lease - 15_000).await;
        let ask = request("dead", ResolveAs::Succeeded, now);
        let first = resolve(&store, &ask).await.unwrap().unwrap();
        assert_eq!(
            first.resolution.as_ref().unwrap().resolved_from,
            TransferStatus::InProgress
        );
        // The same write, resent after a lost reply: still this resolution.
        assert_eq!(resolve(&store, &ask).await.unwrap().unwrap(), first);
        // Another resolution of it, later: refused.
        assert!(matches!(
            resolve(&store, &request("dead", ResolveAs::Failed, now + 1))
                .await
                .unwrap(),
            Err(ResolveRefusal::AlreadySucceeded(_))
        ));
    }
}
