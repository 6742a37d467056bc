//! A charge call made at most once per `Idempotency-Key` and body, with
//! Stripe's semantics: the same key and body within 24 hours replays the
//! first answer (`idempotent-replayed: true`) without calling Qbit; the same
//! key with another body, or while the first request is still running, is
//! 409. Only the answers of a charge call Qbit may have executed are kept;
//! one that provably never reached Qbit's charge logic, or whose charge
//! could not be recorded (and so was handed to no one), gives the key back,
//! so its retry runs.

use std::future::Future;

use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

use super::create::CreateError;
use super::store::{KeyClaim, KeyState, KeyStore, MAX_KEPT_ANSWER_BYTES};
use super::{IdempotencyKey, fingerprint};
use crate::ApiError;
use crate::http::{Caller, Reply};
use crate::now_ms;
use crate::qbit::CallError;
use crate::table::new_claim_id;

/// The fingerprint of a parsed request body, re-serialised: the same
/// parameters match however they were spaced or ordered.
pub fn body_fingerprint<T: Serialize>(parsed: &T) -> Result<String, ApiError> {
    let canonical =
        serde_json::to_vec(parsed).map_err(|e| ApiError::misconfigured(e.to_string()))?;
    Ok(fingerprint(&canonical))
}

/// Run `call` once for `key`: claim the key for `caller` (its lease ends
/// at `deadline`), make the call, and keep or release the key by what the
/// call says about Qbit; or answer from what the key already holds,
/// without calling.
pub async fn once<S, F, Fut>(
    store: &S,
    key: &IdempotencyKey,
    fingerprint: &str,
    caller: &Caller,
    deadline: u64,
    call: F,
) -> Result<Reply, ApiError>
where
    S: KeyStore,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Reply, CreateError>>,
{
    let claim_id = new_claim_id();
    match store
        .claim_key(key, fingerprint, &claim_id, caller, deadline, now_ms())
        .await?
    {
        // A key is scoped to the account that used it first, as a payment
        // API scopes keys to the merchant: another account's request with the
        // same key and body must not be handed the first one's charge and
        // access token.
        KeyClaim::Taken(record)
            if record
                .caller_account
                .as_deref()
                .is_some_and(|account| account != caller.account()) =>
        {
            tracing::warn!(
                caller_account = caller.account(),
                "idempotency key of another account"
            );
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "this Idempotency-Key was already used by another caller; use a new key for a new charge",
            ))
        }
        KeyClaim::Taken(record) if record.fingerprint != fingerprint => Err(ApiError::new(
            StatusCode::CONFLICT,
            "this Idempotency-Key was already used with a different request body; use a new key for a new charge",
        )),
        KeyClaim::Taken(record) => match record.state {
            KeyState::InProgress => Err(ApiError::new(
                StatusCode::CONFLICT,
                "a request with this Idempotency-Key is still being processed; retry after it finishes",
            )),
            KeyState::Completed { status, body } => {
                tracing::info!(status, "idempotent replay");
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                Ok(Reply::stored(status, body).with_header(
                    HeaderName::from_static("idempotent-replayed"),
                    HeaderValue::from_static("true"),
                ))
            }
        },
        KeyClaim::Claimed => {
            let result = call().await;
            let kept = match &result {
                Ok(reply) => {
                    let (status, body) = keepable(reply.status(), reply.body());
                    store.complete_key(key, &claim_id, status, &body).await
                }
                Err(CreateError::Call(CallError::MayHaveActed(error))) => {
                    let (status, body) = keepable(error.status(), &error.to_json());
                    store.complete_key(key, &claim_id, status, &body).await
                }
                // Qbit's charge logic never saw it: the key stays free.
                Err(CreateError::Call(CallError::NotReached(_))) => {
                    store.release_key(key, &claim_id).await
                }
                // Qbit holds a charge no one was handed: the retry makes a
                // new one, recorded (see `create.rs`).
                Err(CreateError::NotRecorded(_)) => store.release_key(key, &claim_id).await,
            };
            if let Err(e) = kept {
                tracing::error!(error = %e, "idempotency key not updated; a retry with this key gets 409 until its lease ends");
            }
            result.map_err(CreateError::into_api_error)
        }
    }
}

/// The answer as kept for replay. One too large for the table's item (a
/// charge or an error padded beyond reason) is kept as a 502 that says so:
/// the first caller had the real answer, and a key whose answer cannot be
/// written would stay `in_progress` and be handed to a second request once
/// its lease ran out.
fn keepable(status: StatusCode, body: &str) -> (u16, String) {
    if body.len() <= MAX_KEPT_ANSWER_BYTES {
        return (status.as_u16(), body.to_string());
    }
    let error = ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "the first answer to this Idempotency-Key (HTTP {}) was too large to keep; a charge may exist at Qbit but was not recorded here: do not hand it out, create a new charge with a new key",
            status.as_u16()
        ),
    );
    (error.status().as_u16(), error.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charge::MemoryKeys;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn key(text: &str) -> IdempotencyKey {
        let mut headers = http::HeaderMap::new();
        headers.insert("idempotency-key", text.parse().unwrap());
        IdempotencyKey::from_headers(&headers).unwrap().unwrap()
    }

    /// `once` for `k`, body fingerprint `print`, whose call counts itself
    /// and answers `answer`.
    async fn attempt(
        keys: &MemoryKeys,
        calls: &AtomicU32,
        print: &str,
        answer: Result<Reply, CreateError>,
    ) -> Result<Reply, ApiError> {
        once(
            keys,
            &key("k"),
            print,
            &caller(),
            now_ms() + 10_000,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                answer
            },
        )
        .await
    }

    fn caller() -> Caller {
        Caller::new("arn:aws:iam::123456789012:user/m", "123456789012")
    }

    fn not_reached(error: ApiError) -> Result<Reply, CreateError> {
        Err(CreateError::Call(CallError::NotReached(error)))
    }

    fn may_have_acted(error: ApiError) -> Result<Reply, CreateError> {
        Err(CreateError::Call(CallError::MayHaveActed(error)))
    }

    fn created() -> Result<Reply, CreateError> {
        Ok(Reply::raw_json(r#"{"charge":{"id":"ch_1"}}"#.into()))
    }

    #[tokio::test]
    async fn the_same_key_and_body_replay_without_a_call() {
        let (keys, calls) = (MemoryKeys::default(), AtomicU32::new(0));
        let first = attempt(&keys, &calls, "p", created()).await.unwrap();
        assert_eq!(first.status(), 200);
        assert_eq!(keys.caller(&key("k")), Some(caller()));
        let again = attempt(&keys, &calls, "p", created()).await.unwrap();
        assert_eq!(again.body(), first.body());
        assert_eq!(again.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn another_body_or_a_running_first_request_is_409() {
        let (keys, calls) = (MemoryKeys::default(), AtomicU32::new(0));
        attempt(&keys, &calls, "p", created()).await.unwrap();
        let other = attempt(&keys, &calls, "q", created()).await.unwrap_err();
        assert_eq!(other.status(), 409);
        assert!(other.message().contains("different request body"));

        let running = MemoryKeys::default();
        running
            .claim_key(
                &key("k"),
                "p",
                "first",
                &caller(),
                now_ms() + 10_000,
                now_ms(),
            )
            .await
            .unwrap();
        let busy = attempt(&running, &calls, "p", created()).await.unwrap_err();
        assert_eq!(busy.status(), 409);
        assert!(busy.message().contains("still being processed"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_call_that_never_reached_qbit_releases_the_key() {
        let (keys, calls) = (MemoryKeys::default(), AtomicU32::new(0));
        let limited = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "slow down");
        let first = attempt(&keys, &calls, "p", not_reached(limited))
            .await
            .unwrap_err();
        assert_eq!(first.status(), 429);
        assert_eq!(keys.record(&key("k")), None);
        let retry = attempt(&keys, &calls, "p", created()).await.unwrap();
        assert_eq!(retry.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_call_qbit_may_have_acted_on_is_kept_and_replayed() {
        let (keys, calls) = (MemoryKeys::default(), AtomicU32::new(0));
        let lost = ApiError::new(StatusCode::BAD_GATEWAY, "lost");
        let first = attempt(&keys, &calls, "p", may_have_acted(lost))
            .await
            .unwrap_err();
        let replay = attempt(&keys, &calls, "p", created()).await.unwrap();
        assert_eq!(replay.status(), 502);
        assert_eq!(replay.body(), first.to_json());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_charge_that_could_not_be_recorded_releases_the_key() {
        let (keys, calls) = (MemoryKeys::default(), AtomicU32::new(0));
        let unrecorded = ApiError::unavailable("created but not recorded");
        let first = attempt(
            &keys,
            &calls,
            "p",
            Err(CreateError::NotRecorded(unrecorded)),
        )
        .await
        .unwrap_err();
        assert_eq!(first.status(), 503);
        assert_eq!(keys.record(&key("k")), None);
        let retry = attempt(&keys, &calls, "p", created()).await.unwrap();
        assert_eq!(retry.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// A key is the first account's: another account's request with the
    /// same key and body is 409, without a call and without the first
    /// answer.
    #[tokio::test]
    async fn another_accounts_request_with_the_key_is_409_without_a_call() {
        let (keys, calls) = (MemoryKeys::default(), AtomicU32::new(0));
        attempt(&keys, &calls, "p", created()).await.unwrap();
        let other = Caller::new("arn:aws:iam::999999999999:user/m", "999999999999");
        let refused = once(&keys, &key("k"), "p", &other, now_ms() + 10_000, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            created()
        })
        .await
        .unwrap_err();
        assert_eq!(refused.status(), 409);
        assert_eq!(
            refused.message(),
            "this Idempotency-Key was already used by another caller; use a new key for a new charge"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// The fingerprint is SHA-256 of the parsed body re-serialised: the
    /// same parameters however spaced or ordered, and nothing else.
    #[test]
    fn a_body_fingerprint_is_the_sha256_of_its_canonical_form() {
        let parse = |body: &str| -> crate::qbit::NewCharge {
            crate::http::parse_json(body.as_bytes()).unwrap()
        };
        let one = parse(r#"{"amount": 1000, "currency": "USD", "externalOrderId": "o-1"}"#);
        let same = parse(r#"{"externalOrderId":"o-1","currency":"USD","amount":1000}"#);
        let other = parse(r#"{"amount": 1001, "currency": "USD", "externalOrderId": "o-1"}"#);
        let print = body_fingerprint(&one).unwrap();
        assert_eq!(
            print,
            fingerprint(br#"{"amount":1000,"currency":"USD","externalOrderId":"o-1"}"#)
        );
        assert_eq!(print.len(), 64);
        assert_eq!(body_fingerprint(&same).unwrap(), print);
        assert_ne!(body_fingerprint(&other).unwrap(), print);
    }

    #[test]
    fn an_answer_too_large_to_keep_is_kept_as_a_502_that_says_so() {
        let small = keepable(StatusCode::OK, "{}");
        assert_eq!(small, (200, "{}".to_string()));
        let (status, body) = keepable(StatusCode::OK, &"x".repeat(MAX_KEPT_ANSWER_BYTES + 1));
        assert_eq!(status, 502);
        assert!(body.contains("too large to keep"), "{body}");
    }
}
