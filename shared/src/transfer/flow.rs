//! Sending a transfer at most once: claim, call, settle, report.

use std::future::Future;

use http::StatusCode;
use serde_json::{Value, json};

use super::{Claim, ClaimOutcome, Settlement, TransferStatus, TransferStore};
use crate::ApiError;
use crate::budget::call_budget;
use crate::debox::{Certainty, Refusal, SerialId, Transfer};
use crate::http::{Caller, Reply};
use crate::now_ms;
use crate::table::new_claim_id;

/// Where transfer outcomes are reported: CloudWatch's embedded metrics in a
/// function, a list in unit tests.
pub trait OutcomeReport: Sync {
    /// `outcome`: `succeeded`, `failed`, `unknown` (what the table holds
    /// for the serial), or `duplicate` (a request refused with 409).
    fn transfer(&self, outcome: &str, serial: &SerialId);
}

/// The `Transfers` metric, one EMF line per outcome.
pub struct EmfReport;

impl OutcomeReport for EmfReport {
    fn transfer(&self, outcome: &str, serial: &SerialId) {
        crate::metrics::transfer_outcome(outcome, serial.as_str());
    }
}

fn too_late() -> ApiError {
    ApiError::unavailable(
        "too little of this invocation is left to send the transfer safely; nothing was sent, try again",
    )
}

/// The state machine, with DeBox's call passed in so it can be tested alone.
/// `deadline` is the invocation's (Unix ms): the claim's lease ends there.
/// `caller` (who asked) is recorded on the claim and named in the money
/// log lines.
pub async fn run<S, R, F, Fut>(
    store: &S,
    report: &R,
    transfer: &Transfer,
    deadline: u64,
    request_id: &str,
    caller: &Caller,
    send: F,
) -> Result<Reply, ApiError>
where
    S: TransferStore,
    R: OutcomeReport,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), Refusal>>,
{
    let serial = &transfer.serial_id;
    // Not even time to call: nothing is claimed.
    if call_budget(deadline, now_ms()).is_none() {
        return Err(too_late());
    }
    let claim = Claim {
        serial_id: serial.clone(),
        claim_id: new_claim_id(),
        lease_expires_at: deadline,
        verify_amount: transfer.verify_amount,
        request_id: request_id.to_string(),
        caller: caller.clone(),
        now_ms: now_ms(),
    };
    let (caller_arn, caller_account) = (caller.arn(), caller.account());
    // No claim, no call: an unreachable store is a 503 and DeBox never hears of it.
    if let ClaimOutcome::Taken(record) = store.claim(&claim).await? {
        let now = now_ms();
        let status = record.status_at(now);
        if status == TransferStatus::Unknown && record.status == TransferStatus::InProgress {
            // A dead claim, found: mark it unknown for operators, and report
            // it once (only the request whose write changed it reports).
            match store.mark_abandoned(&record, now).await {
                Ok(true) => report.transfer(TransferStatus::Unknown.as_str(), serial),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(serial_id = %serial, caller_arn, caller_account, error = %e, "dead claim not marked unknown")
                }
            }
        }
        tracing::info!(serial_id = %serial, status = status.as_str(), caller_arn, caller_account, "transfer refused: serial already claimed");
        report.transfer("duplicate", serial);
        return Err(already_requested(serial, status));
    }

    // The budget again, now: the claim may have taken seconds (the table's
    // client retries). Too little left, and the call is not made at all.
    let outcome = match call_budget(deadline, now_ms()) {
        None => Err(Refusal::certain(too_late())),
        Some(budget) => tokio::time::timeout(budget, send())
            .await
            .unwrap_or_else(|_| {
                Err(Refusal::uncertain(crate::upstream::timed_out(
                    crate::debox::PROVIDER,
                )))
            }),
    };
    let (settlement, answer) = match outcome {
        Ok(()) => (
            Settlement {
                status: TransferStatus::Succeeded,
                code: None,
                message: None,
            },
            Reply::json(&json!({"serial_id": serial.as_str(), "status": "succeeded"})),
        ),
        Err(refusal) => {
            let status = match refusal.certainty {
                Certainty::NothingHappened => TransferStatus::Failed,
                Certainty::MayHaveHappened => TransferStatus::Unknown,
            };
            let settlement = Settlement {
                status,
                code: refusal.error.code().map(str::to_string),
                message: Some(refusal.error.message().to_string()),
            };
            (settlement, Err(with_state(refusal.error, serial, status)))
        }
    };
    let recorded = match store
        .settle(serial, &claim.claim_id, &settlement, now_ms())
        .await
    {
        Ok(true) => true,
        Ok(false) => {
            tracing::error!(serial_id = %serial, caller_arn, caller_account, "transfer settled but its claim was no longer ours");
            false
        }
        Err(e) => {
            tracing::error!(serial_id = %serial, caller_arn, caller_account, error = %e, "transfer settled but not recorded");
            false
        }
    };
    // Not recorded: the record stays in_progress and reads as unknown once
    // its lease is over, so that is what the table holds and what is
    // reported (the alarm must fire), and nothing ever sends this serial
    // again. DeBox's answer still stands for the caller (a success is a
    // 200); an error says `unknown` rather than `failed`, which would invite
    // a retry that can only get a 409.
    let held = if recorded {
        settlement.status
    } else {
        TransferStatus::Unknown
    };
    tracing::info!(
        serial_id = %serial,
        outcome = held.as_str(),
        code = settlement.code.as_deref().unwrap_or(""),
        amount = claim.verify_amount.map(|a| a.to_string()).unwrap_or_default(),
        caller_arn,
        caller_account,
        "transfer settled"
    );
    report.transfer(held.as_str(), serial);
    match answer {
        Err(error) if !recorded => Err(with_state(error, serial, TransferStatus::Unknown)),
        answer => answer,
    }
}

/// 409 for a serial that is, or was, someone else's.
fn already_requested(serial: &SerialId, status: TransferStatus) -> ApiError {
    let why = match status {
        TransferStatus::InProgress => "is being sent right now",
        TransferStatus::Succeeded => "has already succeeded",
        TransferStatus::Unknown => {
            "has an unknown outcome and must be checked against DeBox's records before anything else is done"
        }
        TransferStatus::Failed => "failed",
    };
    ApiError::new(
        StatusCode::CONFLICT,
        format!("a transfer for this serial_id {why}; it is never sent twice"),
    )
    .with_code("-2016")
    .with_detail(json!({"serial_id": serial.as_str(), "status": status.as_str()}))
}

/// The error, with the transfer's serial and state added to its detail.
fn with_state(error: ApiError, serial: &SerialId, status: TransferStatus) -> ApiError {
    let mut detail = error.detail().cloned().unwrap_or_else(|| json!({}));
    if let Value::Object(map) = &mut detail {
        map.insert("serial_id".into(), json!(serial.as_str()));
        map.insert("status".into(), json!(status.as_str()));
    }
    error.with_detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{MIN_CALL_MS, RECORD_MARGIN_MS};
    use crate::debox::TransferToken;
    use crate::debox::answer::refusal_for_code;
    use crate::table::StoreUnavailable;
    use crate::transfer::{MemoryTransfers as MemoryStore, TransferRecord};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    /// The outcomes reported, in order.
    #[derive(Default)]
    struct Reported(Mutex<Vec<String>>);

    impl OutcomeReport for Reported {
        fn transfer(&self, outcome: &str, serial: &SerialId) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{outcome} {}", serial.as_str()));
        }
    }

    impl Reported {
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }

    /// A store whose claims take `claim_delay`, and whose settles fail when
    /// `settle_down` is set; otherwise the memory store.
    #[derive(Default)]
    struct Flaky {
        inner: MemoryStore,
        claim_delay: Duration,
        settle_down: bool,
    }

    impl TransferStore for Flaky {
        async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreUnavailable> {
            tokio::time::sleep(self.claim_delay).await;
            self.inner.claim(claim).await
        }
        async fn settle(
            &self,
            serial_id: &SerialId,
            claim_id: &str,
            settlement: &Settlement,
            now_ms: u64,
        ) -> Result<bool, StoreUnavailable> {
            if self.settle_down {
                return Err(StoreUnavailable("settle refused".into()));
            }
            self.inner
                .settle(serial_id, claim_id, settlement, now_ms)
                .await
        }
        async fn mark_abandoned(
            &self,
            record: &TransferRecord,
            now_ms: u64,
        ) -> Result<bool, StoreUnavailable> {
            self.inner.mark_abandoned(record, now_ms).await
        }
        async fn get(
            &self,
            serial_id: &SerialId,
        ) -> Result<Option<TransferRecord>, StoreUnavailable> {
            self.inner.get(serial_id).await
        }
    }

    fn caller() -> Caller {
        Caller::new("arn:aws:iam::123456789012:user/merchant", "123456789012")
    }

    fn transfer(serial: &str) -> Transfer {
        Transfer {
            access_token: TransferToken::try_from("token".to_string()).unwrap(),
            serial_id: SerialId::parse(serial).unwrap(),
            verify_amount: Some("10.50".parse().unwrap()),
        }
    }

    async fn attempt_on<S: TransferStore>(
        store: &S,
        report: &Reported,
        calls: &AtomicU32,
        deadline: u64,
        result: Result<(), Refusal>,
    ) -> Result<Reply, ApiError> {
        run(
            store,
            report,
            &transfer("s1"),
            deadline,
            "req",
            &caller(),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                result
            },
        )
        .await
    }

    async fn attempt(
        store: &MemoryStore,
        calls: &AtomicU32,
        result: Result<(), Refusal>,
    ) -> Result<Reply, ApiError> {
        attempt_on(
            store,
            &Reported::default(),
            calls,
            now_ms() + 10_000,
            result,
        )
        .await
    }

    async fn record<S: TransferStore>(store: &S) -> Option<TransferRecord> {
        store.get(&SerialId::parse("s1").unwrap()).await.unwrap()
    }

    async fn status(store: &MemoryStore) -> TransferStatus {
        record(store).await.unwrap().status
    }

    /// A claim left by a function whose lease ended `ago_ms` ago, by this
    /// container's clock, and that never settled.
    async fn claim_left_behind(store: &MemoryStore, ago_ms: u64) {
        let old = Claim {
            serial_id: SerialId::parse("s1").unwrap(),
            claim_id: "other".into(),
            lease_expires_at: now_ms() - ago_ms,
            verify_amount: None,
            request_id: "req-other".into(),
            caller: caller(),
            now_ms: now_ms() - 20_000,
        };
        assert_eq!(store.claim(&old).await.unwrap(), ClaimOutcome::Claimed);
    }

    #[tokio::test]
    async fn success_is_recorded_and_a_repeat_is_refused_without_a_call() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        let reply = attempt(&store, &calls, Ok(())).await.unwrap();
        assert_eq!(reply.body(), r#"{"serial_id":"s1","status":"succeeded"}"#);
        let stored = record(&store).await.unwrap();
        assert_eq!(stored.status, TransferStatus::Succeeded);
        // Who asked and how much, as the claim recorded them.
        assert_eq!(stored.caller, Some(caller()));
        assert_eq!(stored.amount.as_deref(), Some("10.5"));

        let again = attempt(&store, &calls, Ok(())).await.unwrap_err();
        assert_eq!(
            (again.status().as_u16(), again.code()),
            (409, Some("-2016"))
        );
        assert_eq!(again.detail().unwrap()["status"], "succeeded");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_definite_refusal_releases_the_serial() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        let short = attempt(&store, &calls, Err(refusal_for_code("-7048", None)))
            .await
            .unwrap_err();
        assert_eq!(
            (short.status().as_u16(), short.code()),
            (402, Some("-7048"))
        );
        assert_eq!(short.detail().unwrap()["status"], "failed");
        assert_eq!(status(&store).await, TransferStatus::Failed);

        attempt(&store, &calls, Ok(())).await.unwrap();
        assert_eq!(status(&store).await, TransferStatus::Succeeded);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_uncertain_outcome_is_never_sent_again() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        let lost = attempt(&store, &calls, Err(refusal_for_code("-2014", None)))
            .await
            .unwrap_err();
        assert_eq!(lost.detail().unwrap()["status"], "unknown");
        assert_eq!(status(&store).await, TransferStatus::Unknown);

        let again = attempt(&store, &calls, Ok(())).await.unwrap_err();
        assert_eq!(again.detail().unwrap()["status"], "unknown");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_dead_claim_reads_as_unknown_is_marked_so_and_reported_once() {
        let (store, calls, report) = (
            MemoryStore::default(),
            AtomicU32::new(0),
            Reported::default(),
        );
        claim_left_behind(&store, crate::table::LEASE_GRACE_MS + 1).await;
        let deadline = now_ms() + 10_000;

        let retry = attempt_on(&store, &report, &calls, deadline, Ok(()))
            .await
            .unwrap_err();
        assert_eq!(retry.detail().unwrap()["status"], "unknown");
        let marked = record(&store).await.unwrap();
        assert_eq!(marked.status, TransferStatus::Unknown);
        assert_eq!(
            marked.outcome_message.as_deref(),
            Some("the function ended before DeBox answered (lease expired)")
        );
        assert_eq!(report.take(), ["unknown s1", "duplicate s1"]);

        // Found again: already marked, so only the duplicate is reported.
        attempt_on(&store, &report, &calls, deadline, Ok(()))
            .await
            .unwrap_err();
        assert_eq!(report.take(), ["duplicate s1"]);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    /// Another container's clock runs a second ahead of the one that wrote
    /// the lease: by it, the lease is just over, but the claim is live.
    #[tokio::test]
    async fn a_lease_just_over_by_another_clock_is_still_in_progress() {
        let (store, calls, report) = (
            MemoryStore::default(),
            AtomicU32::new(0),
            Reported::default(),
        );
        claim_left_behind(&store, 1_000).await;
        let retry = attempt_on(&store, &report, &calls, now_ms() + 10_000, Ok(()))
            .await
            .unwrap_err();
        assert_eq!(retry.detail().unwrap()["status"], "in_progress");
        assert_eq!(status(&store).await, TransferStatus::InProgress);
        assert_eq!(report.take(), ["duplicate s1"]);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_live_claim_is_in_progress() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        let t = transfer("s1");
        let report = Reported::default();
        let who = caller();
        let pending = run(
            &store,
            &report,
            &t,
            now_ms() + 60_000,
            "req-1",
            &who,
            || async { std::future::pending::<Result<(), Refusal>>().await },
        );
        let _ = tokio::time::timeout(Duration::from_millis(20), pending).await;
        let retry = attempt(&store, &calls, Ok(())).await.unwrap_err();
        assert_eq!(retry.detail().unwrap()["status"], "in_progress");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn too_little_time_left_is_503_with_no_claim_and_no_call() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        let late = attempt_on(
            &store,
            &Reported::default(),
            &calls,
            now_ms() + RECORD_MARGIN_MS,
            Ok(()),
        )
        .await
        .unwrap_err();
        assert_eq!(late.status().as_u16(), 503);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(record(&store).await, None);
    }

    /// The claim itself took long enough (the table's client retrying) to
    /// leave too little for the call and its record: the call is not made,
    /// the claim is released as `failed` (nothing was sent), so a retry
    /// with time to spare sends it.
    #[tokio::test]
    async fn a_slow_claim_leaves_no_call_and_releases_the_serial() {
        let calls = AtomicU32::new(0);
        let report = Reported::default();
        let store = Flaky {
            claim_delay: Duration::from_millis(600),
            ..Flaky::default()
        };
        // Enough to start when asked, not after a 600 ms claim.
        let deadline = now_ms() + RECORD_MARGIN_MS + MIN_CALL_MS + 300;
        let late = attempt_on(&store, &report, &calls, deadline, Ok(()))
            .await
            .unwrap_err();
        assert_eq!(late.status().as_u16(), 503, "{late:?}");
        assert_eq!(late.detail().unwrap()["status"], "failed");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(record(&store).await.unwrap().status, TransferStatus::Failed);
        assert_eq!(report.take(), ["failed s1"]);

        let retry = attempt_on(&store, &report, &calls, now_ms() + 15_000, Ok(()))
            .await
            .unwrap();
        assert_eq!(retry.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_call_that_outlives_its_budget_is_504_and_unknown() {
        let store = MemoryStore::default();
        let report = Reported::default();
        let slow = run(
            &store,
            &report,
            &transfer("s1"),
            now_ms() + RECORD_MARGIN_MS + MIN_CALL_MS + 500,
            "req",
            &caller(),
            || async { std::future::pending::<Result<(), Refusal>>().await },
        )
        .await
        .unwrap_err();
        assert_eq!(slow.status().as_u16(), 504);
        assert_eq!(slow.detail().unwrap()["status"], "unknown");
        assert_eq!(status(&store).await, TransferStatus::Unknown);
        assert_eq!(report.take(), ["unknown s1"]);
    }

    /// The metric the alarm watches says what the table holds: a settle
    /// that failed leaves `in_progress` (read as `unknown`), whatever DeBox
    /// answered.
    #[tokio::test]
    async fn an_unrecorded_outcome_is_reported_unknown() {
        for (answer, status) in [(Ok(()), 200), (Err(refusal_for_code("-7048", None)), 402)] {
            let (calls, report) = (AtomicU32::new(0), Reported::default());
            let store = Flaky {
                settle_down: true,
                ..Flaky::default()
            };
            let result = attempt_on(&store, &report, &calls, now_ms() + 10_000, answer).await;
            match result {
                Ok(reply) => assert_eq!(reply.status().as_u16(), status),
                Err(error) => {
                    assert_eq!(error.status().as_u16(), status);
                    assert_eq!(error.detail().unwrap()["status"], "unknown");
                }
            }
            assert_eq!(
                record(&store).await.unwrap().status,
                TransferStatus::InProgress
            );
            assert_eq!(report.take(), ["unknown s1"], "DeBox answered {status}");
        }
    }

    #[tokio::test]
    async fn recorded_outcomes_are_reported_as_recorded() {
        for (answer, outcome) in [
            (Ok(()), "succeeded s1"),
            (Err(refusal_for_code("-7048", None)), "failed s1"),
            (Err(refusal_for_code("-2014", None)), "unknown s1"),
        ] {
            let (store, calls, report) = (
                MemoryStore::default(),
                AtomicU32::new(0),
                Reported::default(),
            );
            let _ = attempt_on(&store, &report, &calls, now_ms() + 10_000, answer).await;
            assert_eq!(report.take(), [outcome]);
        }
    }

    /// The memory store, counting the dead-claim marks asked of it.
    #[derive(Default)]
    struct CountingMarks {
        inner: MemoryStore,
        marks: AtomicU32,
    }

    impl TransferStore for CountingMarks {
        async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreUnavailable> {
            self.inner.claim(claim).await
        }
        async fn settle(
            &self,
            serial_id: &SerialId,
            claim_id: &str,
            settlement: &Settlement,
            now_ms: u64,
        ) -> Result<bool, StoreUnavailable> {
            self.inner
                .settle(serial_id, claim_id, settlement, now_ms)
                .await
        }
        async fn mark_abandoned(
            &self,
            record: &TransferRecord,
            now_ms: u64,
        ) -> Result<bool, StoreUnavailable> {
            self.marks.fetch_add(1, Ordering::SeqCst);
            self.inner.mark_abandoned(record, now_ms).await
        }
        async fn get(
            &self,
            serial_id: &SerialId,
        ) -> Result<Option<TransferRecord>, StoreUnavailable> {
            self.inner.get(serial_id).await
        }
    }

    /// Only a dead claim is marked: a live claim, or an outcome already
    /// settled (`unknown` included), costs no write.
    #[tokio::test]
    async fn only_a_dead_claim_is_marked_unknown() {
        let calls = AtomicU32::new(0);
        let deadline = now_ms() + 10_000;
        // A live claim (its lease just over by this clock, within the grace).
        let live = CountingMarks::default();
        claim_left_behind(&live.inner, 1_000).await;
        let report = Reported::default();
        attempt_on(&live, &report, &calls, deadline, Ok(()))
            .await
            .unwrap_err();
        assert_eq!(live.marks.load(Ordering::SeqCst), 0, "a live claim");
        // Settled outcomes, `unknown` and `succeeded`.
        for answer in [Err(refusal_for_code("-2014", None)), Ok(())] {
            let settled = CountingMarks::default();
            let _ = attempt_on(&settled, &report, &calls, deadline, answer).await;
            attempt_on(&settled, &report, &calls, deadline, Ok(()))
                .await
                .unwrap_err();
            assert_eq!(settled.marks.load(Ordering::SeqCst), 0, "a settled serial");
        }
        // A dead claim: marked once.
        let dead = CountingMarks::default();
        claim_left_behind(&dead.inner, crate::table::LEASE_GRACE_MS + 1).await;
        attempt_on(&dead, &report, &calls, deadline, Ok(()))
            .await
            .unwrap_err();
        assert_eq!(dead.marks.load(Ordering::SeqCst), 1, "a dead claim");
    }

    /// In a function, outcomes go to CloudWatch as the `Transfers` metric.
    #[test]
    fn the_emf_report_writes_the_transfers_metric() {
        crate::metrics::captured::outcomes();
        EmfReport.transfer("unknown", &SerialId::parse("s1").unwrap());
        assert_eq!(crate::metrics::captured::outcomes(), ["unknown"]);
    }

    #[tokio::test]
    async fn an_unreachable_store_is_503_and_debox_is_not_called() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        store.down.store(true, Ordering::SeqCst);
        let error = attempt(&store, &calls, Ok(())).await.unwrap_err();
        assert_eq!(error.status().as_u16(), 503);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
