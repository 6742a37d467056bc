//! Properties of [`MinorUnits`], Qbit's amount: a JSON integer from 1 to
//! [`MAX_MINOR_UNITS`]. Printing (serialising) then parsing gives the same
//! value; a parsed amount prints as the plain integer; every other way of
//! writing a number (fraction, exponent, sign, string, leading zeros) is
//! refused; parsed amounts compare as the integers written. The oracle reads
//! the digits itself: no float, nothing shared with serde_json's number.

use std::cmp::Ordering;

use proptest::prelude::*;

use super::types::{MAX_MINOR_UNITS, MinorUnits};

fn parse(json: &str) -> Option<MinorUnits> {
    serde_json::from_str::<MinorUnits>(json).ok()
}

/// Compare two unsigned decimal integers written without leading zeros,
/// by length then digits: exact at any length.
fn compare_digits(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A canonical JSON integer of up to 40 digits (beyond u64 included).
fn integer_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // The edges, drawn often: 0, 1, the bound and one past it.
        prop_oneof![
            Just(0),
            Just(1),
            Just(MAX_MINOR_UNITS),
            Just(MAX_MINOR_UNITS + 1)
        ]
        .prop_map(|n: u64| n.to_string()),
        (0u64..=2000).prop_map(|n| n.to_string()),
        (0u64..=MAX_MINOR_UNITS + 10).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[1-9][0-9]{19,39}",
    ]
}

proptest! {
    /// parse(print(x)) == x, and print is the plain integer.
    #[test]
    fn printing_then_parsing_gives_the_same_amount(units in 1..=MAX_MINOR_UNITS) {
        let amount = parse(&units.to_string()).unwrap();
        prop_assert_eq!(amount.get(), units);
        let printed = serde_json::to_string(&amount).unwrap();
        prop_assert_eq!(&printed, &units.to_string());
        prop_assert_eq!(parse(&printed), Some(amount));
    }

    /// A canonical integer is accepted exactly when it is from 1 to the
    /// bound, and reads as itself.
    #[test]
    fn integers_are_accepted_exactly_within_the_bound(text in integer_text()) {
        let within = compare_digits(&text, "1") != Ordering::Less
            && compare_digits(&text, &MAX_MINOR_UNITS.to_string()) != Ordering::Greater;
        let parsed = parse(&text);
        prop_assert_eq!(parsed.is_some(), within, "{}", text);
        if let Some(amount) = parsed {
            prop_assert_eq!(amount.get().to_string(), text);
        }
    }

    /// The same number written any other way is refused: a float could
    /// have rounded it, and the contract asks for a plain integer.
    #[test]
    fn other_ways_of_writing_a_number_are_refused(
        units in 1..=MAX_MINOR_UNITS,
        form in 0usize..9,
    ) {
        let text = match form {
            0 => format!("{units}.0"),
            1 => format!("{units}.00"),
            2 => format!("{units}e0"),
            3 => format!("{units}E+0"),
            4 => format!("\"{units}\""),
            5 => format!("-{units}"),
            6 => format!("+{units}"),
            7 => format!("0{units}"),
            _ => format!("{}.{}e{}", units / 10, units % 10, 1),
        };
        prop_assert_eq!(parse(&text), None, "{}", text);
    }

    /// Parsed amounts compare as the integers written.
    #[test]
    fn parsed_amounts_compare_as_their_integers(a in integer_text(), b in integer_text()) {
        if let (Some(x), Some(y)) = (parse(&a), parse(&b)) {
            prop_assert_eq!(x.get().cmp(&y.get()), compare_digits(&a, &b), "{} vs {}", a, b);
            prop_assert_eq!(x == y, a == b);
        }
    }
}
