//! Creating a charge at Qbit: the access token, then the charge, each
//! within the invocation's time budget (`crate::budget`), then its record.
//!
//! Why a charge that cannot be recorded is not handed out: the webhook
//! applies an event only to a charge this bundle recorded (Qbit's signing
//! key may serve every merchant on its platform). A charge handed to a
//! buyer without its record could be paid, and its `charge.succeeded` would
//! then land as unmatched: money taken that the merchant's ledger never
//! shows. So when the write fails after Qbit created the charge, the
//! answer is 503 and the idempotency key is given back: the retry creates
//! a fresh charge, recorded. The first one stays pending at Qbit, its page
//! shown to no one (its id is only in our error log); were it somehow paid,
//! its event would still be kept as unmatched and raise the alarm.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::store::{ChargeRecord, ChargeStore};
use crate::budget::{ONE_WRITE_MS, call_budget};
use crate::http::{Caller, Reply};
use crate::qbit::{CallError, NewCharge, QbitClient};
use crate::upstream::timed_out;
use crate::{ApiError, now_ms};

/// `create-charge`'s answer: Qbit's charge as sent, and the token the
/// buyer's browser opens the hosted page with.
#[derive(Serialize)]
struct Created<'a> {
    charge: &'a RawValue,
    #[serde(rename = "accessToken")]
    access_token: &'a str,
}

/// Who asked for a charge: recorded with it and named in its log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    pub caller: Caller,
    /// The Lambda request id (the answer's `x-request-id`).
    pub request_id: String,
}

/// How creating a charge failed, and so what becomes of its idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateError {
    /// Qbit's call failed: whether Qbit may have acted decides (see
    /// [`CallError`]).
    Call(CallError),
    /// Qbit created the charge and it could not be recorded: 503, and the
    /// key is given back, since no one was handed this charge.
    NotRecorded(ApiError),
}

impl From<CallError> for CreateError {
    fn from(error: CallError) -> Self {
        Self::Call(error)
    }
}

impl CreateError {
    pub fn into_api_error(self) -> ApiError {
        match self {
            Self::Call(error) => error.into_api_error(),
            Self::NotRecorded(error) => error,
        }
    }
}

/// Token, then charge, both within the invocation's budget, then the
/// charge's record. The error says whether Qbit may have created a charge
/// that a retry must not repeat.
pub async fn create_charge<S: ChargeStore>(
    qbit: &QbitClient,
    store: &S,
    charge: &NewCharge,
    by: &Requester,
    deadline: u64,
) -> Result<Reply, CreateError> {
    let too_late = || {
        CallError::NotReached(ApiError::unavailable(
            "too little of this invocation is left to create the charge safely; nothing was sent, try again",
        ))
    };
    let timed_out = || timed_out(crate::qbit::PROVIDER);
    // The token first: if it cannot be had, no charge is left behind.
    let budget = call_budget(deadline, now_ms()).ok_or_else(too_late)?;
    let token = tokio::time::timeout(budget, qbit.access_token())
        .await
        .unwrap_or_else(|_| Err(timed_out()))
        .map_err(CallError::NotReached)?;
    // Our key read and the request built before the call is timed: a
    // secret read that stalls must not be mistaken for a charge call cut off.
    let call = qbit
        .prepare_charge(charge)
        .await
        .map_err(CallError::NotReached)?;
    // What is left now: the charge call must end, answered or not, while
    // there is time to record the charge and keep its answer under the key
    // (two writes: one more than the budget's own margin).
    let budget =
        call_budget(deadline.saturating_sub(ONE_WRITE_MS), now_ms()).ok_or_else(too_late)?;
    let created = tokio::time::timeout(budget, qbit.send_charge(call))
        .await
        .unwrap_or_else(|_| Err(CallError::MayHaveActed(timed_out())))?;
    record_created(store, &created, charge, by, now_ms()).await?;
    Reply::json(&Created {
        charge: &created,
        access_token: token.as_str(),
    })
    .map_err(|e| CreateError::Call(CallError::MayHaveActed(e)))
}

/// What the record checks in Qbit's answer: the id, and that Qbit holds
/// the amount and currency we asked for. A charge Qbit created otherwise
/// is not handed out: its buyer would pay what we did not ask, and the
/// webhook would only find out after the money was taken.
#[derive(Deserialize)]
struct AsCreated {
    id: String,
    amount: Option<u64>,
    currency: Option<String>,
}

/// Record the charge Qbit answered with (`created`), as asked (`charge`)
/// by `by`, at `now_ms`; log it, or log the charge left unrecorded.
async fn record_created<S: ChargeStore>(
    store: &S,
    created: &RawValue,
    charge: &NewCharge,
    by: &Requester,
    now_ms: u64,
) -> Result<(), CreateError> {
    // The client read the id already; a charge without one never gets here.
    let answer = serde_json::from_str::<AsCreated>(created.get()).map_err(|_| {
        CreateError::Call(CallError::MayHaveActed(crate::upstream::unreadable(
            crate::qbit::PROVIDER,
            http::StatusCode::OK,
            "charge has no id",
        )))
    })?;
    let asked_currency = String::from(charge.currency.clone());
    if answer.amount != Some(charge.amount.get())
        || answer.currency.as_ref() != Some(&asked_currency)
    {
        tracing::error!(charge_id = %answer.id, asked_amount = charge.amount.get(), asked_currency = %asked_currency,
            answered_amount = ?answer.amount, answered_currency = ?answer.currency,
            caller_arn = by.caller.arn(), caller_account = by.caller.account(),
            "Qbit created the charge with another amount or currency: not recorded, not handed out");
        return Err(CreateError::Call(CallError::MayHaveActed(ApiError::new(
            http::StatusCode::BAD_GATEWAY,
            format!(
                "{} created charge {} with another amount or currency than asked; \
                 it was not recorded or handed out: create a new charge",
                crate::qbit::PROVIDER,
                answer.id
            ),
        ))));
    }
    let id = answer.id;
    let record = ChargeRecord {
        charge_id: id,
        amount: charge.amount.get(),
        currency: String::from(charge.currency.clone()),
        external_order_id: String::from(charge.external_order_id.clone()),
        created_at: now_ms,
        request_id: by.request_id.clone(),
        caller: by.caller.clone(),
    };
    if let Err(e) = store.record_charge(&record).await {
        tracing::error!(charge_id = %record.charge_id, amount = record.amount, currency = %record.currency,
            caller_arn = by.caller.arn(), caller_account = by.caller.account(), error = %e,
            "charge created at Qbit but not recorded: not handed out, left pending at Qbit (orphan)");
        return Err(CreateError::NotRecorded(ApiError::unavailable(
            "Qbit Pay created the charge, but it could not be recorded, so it was not handed out \
             and cannot be paid; retry: a new charge will be created and recorded \
             (with the same Idempotency-Key, if you sent one)",
        )));
    }
    tracing::info!(charge_id = %record.charge_id, amount = record.amount, currency = %record.currency,
        caller_arn = by.caller.arn(), caller_account = by.caller.account(), "charge created");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charge::MemoryCharges;
    use std::sync::atomic::Ordering;

    fn asked() -> NewCharge {
        crate::http::parse_json(br#"{"amount": 1000, "currency": "USD", "externalOrderId": "o-1"}"#)
            .unwrap()
    }

    fn by() -> Requester {
        Requester {
            caller: Caller::new("arn:aws:iam::1:user/m", "1"),
            request_id: "req-1".into(),
        }
    }

    fn qbits_answer() -> Box<RawValue> {
        RawValue::from_string(
            r#"{"id":"ch_1","object":"charge","paid":false,"status":"pending","amount":1000,"currency":"USD"}"#
                .into(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn the_charge_is_recorded_as_asked_by_whom_and_when() {
        let store = MemoryCharges::default();
        record_created(&store, &qbits_answer(), &asked(), &by(), 42)
            .await
            .unwrap();
        assert_eq!(
            store.charge("ch_1"),
            Some(ChargeRecord {
                charge_id: "ch_1".into(),
                amount: 1000,
                currency: "USD".into(),
                external_order_id: "o-1".into(),
                created_at: 42,
                request_id: "req-1".into(),
                caller: Caller::new("arn:aws:iam::1:user/m", "1"),
            })
        );
    }

    #[tokio::test]
    async fn a_charge_qbit_holds_with_another_amount_or_currency_is_not_handed_out() {
        let store = MemoryCharges::default();
        for answer in [
            r#"{"id":"ch_1","amount":900,"currency":"USD"}"#,
            r#"{"id":"ch_1","amount":1000,"currency":"EUR"}"#,
            r#"{"id":"ch_1","amount":1000}"#,
            r#"{"id":"ch_1","currency":"USD"}"#,
        ] {
            let answer = RawValue::from_string(answer.into()).unwrap();
            let refused = record_created(&store, &answer, &asked(), &by(), 42)
                .await
                .unwrap_err();
            // Qbit acted: the answer is kept under any key, never retried.
            let CreateError::Call(CallError::MayHaveActed(error)) = refused else {
                panic!("{refused:?}");
            };
            assert_eq!(error.status(), 502);
            assert!(
                error
                    .to_json()
                    .contains("created charge ch_1 with another amount or currency than asked")
            );
            assert_eq!(store.charge("ch_1"), None, "not recorded");
        }
    }

    #[tokio::test]
    async fn a_charge_that_cannot_be_recorded_is_503_and_gives_the_key_back() {
        let store = MemoryCharges::default();
        store.down.store(true, Ordering::SeqCst);
        let error = record_created(&store, &qbits_answer(), &asked(), &by(), 42)
            .await
            .unwrap_err();
        let CreateError::NotRecorded(error) = error else {
            panic!("not NotRecorded: {error:?}")
        };
        assert_eq!(error.status(), 503);
        assert!(
            error.message().starts_with(
                "Qbit Pay created the charge, but it could not be recorded, so it was not handed out"
            ),
            "{}",
            error.message()
        );
        assert_eq!(store.charge("ch_1"), None);
    }

    #[test]
    fn a_new_charge_has_charge_pendings_rank() {
        assert_eq!(
            crate::qbit::webhook::rank("charge.pending"),
            Some(super::super::store::CREATED_RANK)
        );
    }
}
