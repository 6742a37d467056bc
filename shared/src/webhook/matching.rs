//! Whether a signed event may apply to a charge: only to one this bundle
//! recorded (create-charge writes `charge#<id>` when Qbit creates it), and
//! only with the amount and currency recorded. Qbit's signing key may serve
//! every merchant on its platform, so a genuine event can be about a charge
//! that is not ours; and an event with another amount than we asked for is
//! not proof of our payment. Neither changes a charge: it is kept as
//! unmatched for an operator.

use crate::qbit::webhook::{Event, EventCharge, rank};

/// Why an event applies to no charge of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmatchedReason {
    /// No charge of that id was recorded by create-charge.
    UnknownCharge,
    /// The event's amount is not the recorded one.
    AmountMismatch,
    /// Same amount, another currency.
    CurrencyMismatch,
    /// A `charge.*` or `refund.*` type this bundle does not apply (a refund,
    /// a dispute): money may have moved, so a person looks, whatever charge
    /// it is about.
    UnhandledType,
}

impl UnmatchedReason {
    /// As stored in `unmatched` and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownCharge => "unknown_charge",
            Self::AmountMismatch => "amount_mismatch",
            Self::CurrencyMismatch => "currency_mismatch",
            Self::UnhandledType => "unhandled_type",
        }
    }
}

/// An event kept as unmatched: why, and in words for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    pub reason: UnmatchedReason,
    /// Such as "event says 1000 USD, charge recorded 900 USD".
    pub detail: String,
}

/// What the match reads of a charge record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCharge {
    /// Minor units.
    pub amount: u64,
    pub currency: String,
}

/// Whether `event`'s charge may apply to `recorded` (the charge as
/// create-charge recorded it, if it did): `Ok` when it is ours and agrees
/// (whether it is newer is the store's forward rule), otherwise why not.
pub fn match_charge(
    event: &EventCharge,
    recorded: Option<&RecordedCharge>,
) -> Result<(), Unmatched> {
    let Some(recorded) = recorded else {
        return Err(Unmatched {
            reason: UnmatchedReason::UnknownCharge,
            detail: format!("no charge {} was recorded by create-charge", event.id),
        });
    };
    let reason = if event.amount != recorded.amount {
        UnmatchedReason::AmountMismatch
    } else if event.currency != recorded.currency {
        UnmatchedReason::CurrencyMismatch
    } else {
        return Ok(());
    };
    Err(Unmatched {
        reason,
        detail: format!(
            "event says {} {}, charge recorded {} {}",
            event.amount, event.currency, recorded.amount, recorded.currency
        ),
    })
}

/// Why `event` must be kept for a person although it names no charge we
/// apply it to: its type is about money (`charge.*`, `refund.*`) but is not
/// one whose effect on a charge this bundle knows. Other unknown types
/// (say, a customer's) are recorded and acknowledged as before.
pub fn unhandled(event: &Event) -> Option<Unmatched> {
    let about_money = ["charge.", "refund."]
        .iter()
        .any(|family| event.kind.starts_with(family));
    (about_money && rank(&event.kind).is_none()).then(|| Unmatched {
        reason: UnmatchedReason::UnhandledType,
        detail: format!(
            "event type {} is not applied by this bundle; check the charge at Qbit and the merchant's ledger",
            event.kind
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(amount: u64, currency: &str) -> EventCharge {
        EventCharge {
            id: "ch_1".into(),
            status: "succeeded".into(),
            paid: true,
            amount,
            currency: currency.into(),
            external_order_id: "o-1".into(),
        }
    }

    fn recorded(amount: u64, currency: &str) -> RecordedCharge {
        RecordedCharge {
            amount,
            currency: currency.into(),
        }
    }

    #[test]
    fn only_a_recorded_charge_with_the_same_amount_and_currency_matches() {
        assert_eq!(
            match_charge(&event(1000, "USD"), Some(&recorded(1000, "USD"))),
            Ok(())
        );
        let cases = [
            (
                None,
                UnmatchedReason::UnknownCharge,
                "no charge ch_1 was recorded by create-charge",
            ),
            (
                Some(recorded(900, "USD")),
                UnmatchedReason::AmountMismatch,
                "event says 1000 USD, charge recorded 900 USD",
            ),
            (
                Some(recorded(1000, "EUR")),
                UnmatchedReason::CurrencyMismatch,
                "event says 1000 USD, charge recorded 1000 EUR",
            ),
            // Both differ: the amount is named first, the detail says both.
            (
                Some(recorded(5, "EUR")),
                UnmatchedReason::AmountMismatch,
                "event says 1000 USD, charge recorded 5 EUR",
            ),
        ];
        for (recorded, reason, detail) in cases {
            assert_eq!(
                match_charge(&event(1000, "USD"), recorded.as_ref()),
                Err(Unmatched {
                    reason,
                    detail: detail.into()
                }),
                "{recorded:?}"
            );
        }
    }

    #[test]
    fn money_types_we_do_not_apply_are_unhandled_other_types_are_not() {
        let event = |kind: &str| Event {
            id: "evt_1".into(),
            kind: kind.into(),
            created_at: "2026-11-21T10:00:00Z".into(),
            created_at_ms: 0,
            charge: None,
        };
        for kind in [
            "charge.refunded",
            "charge.dispute.created",
            "refund.succeeded",
        ] {
            let unmatched = unhandled(&event(kind)).expect(kind);
            assert_eq!(unmatched.reason, UnmatchedReason::UnhandledType);
            assert!(unmatched.detail.contains(kind), "{}", unmatched.detail);
        }
        for kind in [
            "charge.succeeded",
            "charge.pending",
            "customer.created",
            "chargeback",
        ] {
            assert_eq!(unhandled(&event(kind)), None, "{kind}");
        }
    }

    #[test]
    fn reasons_are_stored_as_the_shared_names() {
        assert_eq!(UnmatchedReason::UnknownCharge.as_str(), "unknown_charge");
        assert_eq!(UnmatchedReason::AmountMismatch.as_str(), "amount_mismatch");
        assert_eq!(
            UnmatchedReason::CurrencyMismatch.as_str(),
            "currency_mismatch"
        );
    }
}
