//! `POST /debox/transfers`: spend a DeBox order's token, at most once per
//! `serial_id`, whatever retries, concurrency or crashes happen.
//!
//! 1. Claim the serial with one conditional write (`in_progress`, with a
//!    lease that ends no later than this invocation) before DeBox is called.
//!    If it is taken: 409, code `-2016`, with its state; DeBox is not called.
//! 2. Call DeBox.
//! 3. Settle the claim: `succeeded`; `failed` when DeBox definitely did
//!    nothing (the serial may be claimed again by a corrected request); or
//!    `unknown` when the points may have moved (a lost or unreadable answer,
//!    a 5xx, a system error). An `unknown` transfer is never sent again.
//!
//! A claim whose lease ran out belonged to a function that died mid-call:
//! it is `unknown` too. Usual idempotency utilities re-run such a call; a
//! payment must not.

use std::future::Future;
use std::time::Duration;

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::debox::{Amount, Certainty, DeboxClient, Refusal, SerialId, Transfer, TransferToken};
use shared::http::{Reply, invocation_deadline, json_body, request_id, respond};
use shared::store::{Claim, ClaimOutcome, Settlement, TransferStatus, TransferStore};
use shared::{ApiError, now_ms};

/// Kept back from the deadline to record the outcome (the table's client
/// gives up after 4 s; most writes take milliseconds).
const SETTLE_MARGIN_MS: u64 = 3_000;
/// Below this, DeBox is not called at all: it could not answer in time.
const MIN_CALL_MS: u64 = 1_000;

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a JSON object with access_token, serial_id and (for merchant-pays orders) verify_amount"
)]
struct TransferBody {
    access_token: TransferToken,
    serial_id: SerialId,
    #[serde(default)]
    verify_amount: Option<Amount>,
}

pub async fn handle<S: TransferStore>(
    store: &S,
    debox: &DeboxClient,
    req: Request,
) -> Response<Body> {
    let request_id = request_id(&req);
    let result = async {
        let body: TransferBody = json_body(&req)?;
        let transfer = Transfer {
            access_token: body.access_token,
            serial_id: body.serial_id,
            verify_amount: body.verify_amount,
        };
        let lease_ends = invocation_deadline(&req, now_ms());
        run(store, &transfer, lease_ends, &request_id, || {
            debox.transfer(&transfer)
        })
        .await
    }
    .await;
    respond(&request_id, result)
}

fn claim_id() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// The state machine, with DeBox's call passed in so it can be tested alone.
pub async fn run<S, F, Fut>(
    store: &S,
    transfer: &Transfer,
    lease_ends: u64,
    request_id: &str,
    send: F,
) -> Result<Reply, ApiError>
where
    S: TransferStore,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), Refusal>>,
{
    let serial = &transfer.serial_id;
    // The call must end, answered or not, while there is time to record it.
    let budget = lease_ends
        .saturating_sub(now_ms())
        .saturating_sub(SETTLE_MARGIN_MS);
    if budget < MIN_CALL_MS {
        return Err(ApiError::unavailable(
            "too little of this invocation is left to send the transfer safely; nothing was sent, try again",
        ));
    }
    let claim = Claim {
        serial_id: serial.clone(),
        claim_id: claim_id(),
        lease_expires_at: lease_ends,
        verify_amount: transfer.verify_amount,
        request_id: request_id.to_string(),
        now_ms: now_ms(),
    };
    // No claim, no call: an unreachable store is a 503 and DeBox never hears of it.
    if let ClaimOutcome::Taken(record) = store.claim(&claim).await? {
        let now = now_ms();
        let status = record.status_at(now);
        if status == TransferStatus::Unknown && record.status == TransferStatus::InProgress {
            // Best effort: record the dead claim as unknown, for operators.
            let _ = store.mark_abandoned(&record, now).await;
        }
        tracing::info!(serial_id = %serial, status = status.as_str(), "transfer refused: serial already claimed");
        shared::metrics::transfer_outcome("duplicate", serial.as_str());
        return Err(already_requested(serial, status));
    }

    let outcome = match tokio::time::timeout(Duration::from_millis(budget), send()).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Refusal::uncertain(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!("{} did not answer in time", shared::debox::PROVIDER),
        ))),
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
    tracing::info!(serial_id = %serial, outcome = settlement.status.as_str(), code = settlement.code.as_deref().unwrap_or(""), "transfer settled");
    shared::metrics::transfer_outcome(settlement.status.as_str(), serial.as_str());
    let recorded = match store
        .settle(serial, &claim.claim_id, &settlement, now_ms())
        .await
    {
        Ok(true) => true,
        Ok(false) => {
            tracing::error!(serial_id = %serial, "transfer settled but its claim was no longer ours");
            false
        }
        Err(e) => {
            tracing::error!(serial_id = %serial, error = %e, "transfer settled but not recorded");
            false
        }
    };
    // Not recorded: DeBox's answer still stands for the caller (a success is
    // a 200), but the record stays in_progress and reads as unknown once its
    // lease is over, so nothing ever sends this serial again. Say so, rather
    // than "failed", which would invite a retry that can only get a 409.
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
    use shared::debox::answer::refusal_for_code;
    use shared::store::MemoryStore;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn transfer(serial: &str) -> Transfer {
        Transfer {
            access_token: TransferToken::try_from("token".to_string()).unwrap(),
            serial_id: SerialId::parse(serial).unwrap(),
            verify_amount: Some("10.50".parse().unwrap()),
        }
    }

    async fn attempt(
        store: &MemoryStore,
        calls: &AtomicU32,
        result: Result<(), Refusal>,
    ) -> Result<Reply, ApiError> {
        run(store, &transfer("s1"), now_ms() + 10_000, "req", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            result
        })
        .await
    }

    async fn status(store: &MemoryStore) -> TransferStatus {
        store
            .get(&SerialId::parse("s1").unwrap())
            .await
            .unwrap()
            .unwrap()
            .status
    }

    #[tokio::test]
    async fn success_is_recorded_and_a_repeat_is_refused_without_a_call() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        let reply = attempt(&store, &calls, Ok(())).await.unwrap();
        assert_eq!(reply.body(), r#"{"serial_id":"s1","status":"succeeded"}"#);
        assert_eq!(status(&store).await, TransferStatus::Succeeded);

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
    async fn a_dead_claim_reads_as_unknown_and_is_marked_so() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        // A claim whose lease is already over, never settled: its function died.
        let dead = Claim {
            serial_id: SerialId::parse("s1").unwrap(),
            claim_id: "dead".into(),
            lease_expires_at: now_ms() - 1,
            verify_amount: None,
            request_id: "req-dead".into(),
            now_ms: now_ms() - 10_000,
        };
        assert_eq!(store.claim(&dead).await.unwrap(), ClaimOutcome::Claimed);
        assert_eq!(status(&store).await, TransferStatus::InProgress);

        let retry = attempt(&store, &calls, Ok(())).await.unwrap_err();
        assert_eq!(retry.detail().unwrap()["status"], "unknown");
        assert_eq!(status(&store).await, TransferStatus::Unknown);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_live_claim_is_in_progress() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        let t = transfer("s1");
        let pending = run(&store, &t, now_ms() + 60_000, "req-1", || async {
            std::future::pending::<Result<(), Refusal>>().await
        });
        let _ = tokio::time::timeout(Duration::from_millis(20), pending).await;
        let retry = attempt(&store, &calls, Ok(())).await.unwrap_err();
        assert_eq!(retry.detail().unwrap()["status"], "in_progress");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn too_little_time_left_is_503_with_no_claim_and_no_call() {
        let (store, calls) = (MemoryStore::default(), AtomicU32::new(0));
        let late = run(
            &store,
            &transfer("s1"),
            now_ms() + SETTLE_MARGIN_MS,
            "req",
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .await
        .unwrap_err();
        assert_eq!(late.status().as_u16(), 503);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(
            store.get(&SerialId::parse("s1").unwrap()).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_call_that_outlives_its_budget_is_504_and_unknown() {
        let store = MemoryStore::default();
        let t = transfer("s1");
        let slow = run(
            &store,
            &t,
            now_ms() + SETTLE_MARGIN_MS + MIN_CALL_MS + 50,
            "req",
            || async { std::future::pending::<Result<(), Refusal>>().await },
        )
        .await
        .unwrap_err();
        assert_eq!(slow.status().as_u16(), 504);
        assert_eq!(slow.detail().unwrap()["status"], "unknown");
        assert_eq!(status(&store).await, TransferStatus::Unknown);
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
