//! How much of an invocation a provider call may use when its outcome must
//! be recorded afterwards (a transfer's settle, an idempotency key's answer).
//!
//! Lambda kills a function at its deadline, mid-write if need be: a call
//! allowed to run to the deadline could get a definite answer that is never
//! recorded. So a call is only started with [`MIN_CALL_MS`] to run and
//! [`RECORD_MARGIN_MS`] left after it, and is cut when its budget is spent.

use std::time::Duration;

/// Kept back from the deadline to record the outcome and answer: the
/// table's client may take up to 4 s to write or give up (three attempts
/// of at most 2 s, see `bootstrap::aws_limits`), and 1 s more is left to
/// answer. A write takes milliseconds when the table is well; the margin
/// is for when it is not, so the function is never killed mid-write.
pub const RECORD_MARGIN_MS: u64 = 5_000;

/// The most one table write may take (the table client's limit, see
/// `bootstrap::aws_limits`). A flow that writes twice after its call (a
/// charge: its record, then its idempotency key) keeps this much more back.
pub const ONE_WRITE_MS: u64 = 4_000;

/// Below this, a provider could not answer in time: the call is not made.
pub const MIN_CALL_MS: u64 = 1_000;

/// The time a call started at `now_ms` may take, or `None` when too little
/// of the invocation (ending at `deadline_ms`) is left to start one.
/// Computed just before the call, after any claim: whatever the claim took
/// is no longer there.
pub fn call_budget(deadline_ms: u64, now_ms: u64) -> Option<Duration> {
    let budget = deadline_ms
        .saturating_sub(now_ms)
        .saturating_sub(RECORD_MARGIN_MS);
    (budget >= MIN_CALL_MS).then(|| Duration::from_millis(budget))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_gets_what_is_left_after_the_record_margin() {
        let deadline = 100_000;
        assert_eq!(
            call_budget(deadline, deadline - 15_000),
            Some(Duration::from_millis(10_000))
        );
        let least = RECORD_MARGIN_MS + MIN_CALL_MS;
        assert_eq!(
            call_budget(deadline, deadline - least),
            Some(Duration::from_millis(MIN_CALL_MS))
        );
        assert_eq!(call_budget(deadline, deadline - least + 1), None);
        assert_eq!(call_budget(deadline, deadline), None);
        assert_eq!(call_budget(deadline, deadline + 5_000), None);
    }
}
