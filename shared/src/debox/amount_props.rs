//! Properties of [`Amount`]: printing and parsing are inverse, the printed
//! form is canonical, the parser accepts exactly the documented grammar,
//! and parsed amounts compare as the numbers they stand for. The oracle
//! below reads digits by hand: no float, and nothing shared with the parser.

use std::cmp::Ordering;

use proptest::prelude::*;

use super::amount::{Amount, MAX_HUNDREDTHS};

/// The documented grammar, `digits` or `digits.d` or `digits.dd` in ASCII,
/// read into hundredths exactly (u128, so 40 digits cannot overflow):
/// `None` when `s` is outside the grammar.
fn grammar_value(s: &str) -> Option<u128> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let ascii_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let shape = !whole.is_empty()
        && ascii_digits(whole)
        && ascii_digits(fraction)
        && fraction.len() <= 2
        && s.contains('.') != fraction.is_empty();
    if !shape {
        return None;
    }
    let significant = whole.trim_start_matches('0');
    if significant.len() > 30 {
        return Some(u128::MAX);
    }
    let number = |p: &str| p.bytes().fold(0u128, |n, b| n * 10 + u128::from(b - b'0'));
    let cents = match fraction.len() {
        0 => 0,
        1 => number(fraction) * 10,
        _ => number(fraction),
    };
    Some(number(significant) * 100 + cents)
}

/// The canonical print of `hundredths`, written independently of `Display`:
/// no leading zero, no trailing zero in the fraction, no point without one.
fn canonical(hundredths: u64) -> String {
    let whole = hundredths / 100;
    let fraction = format!("{:02}", hundredths % 100);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// Any way of writing an amount the grammar allows: leading zeros, none,
/// one or two fraction digits (trailing zeros included), values around and
/// past the bound.
fn written() -> impl Strategy<Value = String> {
    let whole = prop_oneof![
        // The edges, drawn often: 0 and the bound.
        prop_oneof![Just(0), Just(1_000_000_000)],
        0u64..=20,
        0u64..=1_000_000_001,
        999_999_990u64..=1_000_000_010,
        any::<u64>(),
    ];
    let fraction = prop_oneof![
        Just(String::new()),
        (0u8..10).prop_map(|d| format!(".{d}")),
        (0u8..100).prop_map(|d| format!(".{d:02}")),
    ];
    (0usize..4, whole, fraction)
        .prop_map(|(zeros, whole, fraction)| format!("{}{whole}{fraction}", "0".repeat(zeros)))
}

/// Two amounts written around one whole number, so that ties and near
/// ties ("10.5" and "10.50", "1.5" and "1.10") are common.
fn close_pair() -> impl Strategy<Value = (String, String)> {
    let fraction = || {
        prop_oneof![
            Just(String::new()),
            (0u8..10).prop_map(|d| format!(".{d}")),
            (0u8..100).prop_map(|d| format!(".{d:02}")),
        ]
    };
    (
        0u64..=1_000_000_000,
        0usize..3,
        fraction(),
        0usize..3,
        fraction(),
    )
        .prop_map(|(whole, za, fa, zb, fb)| {
            (
                format!("{}{whole}{fa}", "0".repeat(za)),
                format!("{}{whole}{fb}", "0".repeat(zb)),
            )
        })
}

/// Strings near the grammar (signs, exponents, separators, spaces, extra
/// points, non-ASCII digits) and arbitrary text.
fn near_or_anything() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,12}(\\.[0-9]{0,3})?",
        "[-+ ]?[0-9.eE_, ]{0,14}",
        "[0-9٠-٩０-９.]{1,8}",
        "[0-9]{20,40}",
        any::<String>(),
    ]
}

proptest! {
    /// parse(print(x)) == x, and print(x) is canonical, for every amount.
    #[test]
    fn printing_then_parsing_gives_the_same_amount(hundredths in 1..=MAX_HUNDREDTHS) {
        let amount = Amount::from_hundredths(hundredths).unwrap();
        let printed = amount.to_string();
        prop_assert_eq!(&printed, &canonical(hundredths));
        prop_assert_eq!(printed.parse::<Amount>(), Ok(amount));
    }

    /// The parser accepts exactly the grammar within the bound, reads the
    /// exact value, and prints it back canonically.
    #[test]
    fn parsing_accepts_exactly_the_grammar_within_the_bound(
        s in prop_oneof![written(), near_or_anything()]
    ) {
        let expected = grammar_value(&s).filter(|v| (1..=u128::from(MAX_HUNDREDTHS)).contains(v));
        let parsed = s.parse::<Amount>();
        prop_assert_eq!(parsed.as_ref().ok().map(|a| u128::from(a.hundredths())), expected, "{:?}", s);
        if let Ok(amount) = parsed {
            let printed = amount.to_string();
            prop_assert_eq!(&printed, &canonical(amount.hundredths()));
            prop_assert_eq!(printed.parse::<Amount>(), Ok(amount));
        }
    }

    /// Two amounts however written compare as the numbers they stand for:
    /// `10.5` equals `10.50` and is below `10.51`.
    #[test]
    fn parsed_amounts_compare_as_their_numbers(
        (a, b) in prop_oneof![(written(), written()), close_pair()]
    ) {
        if let (Ok(x), Ok(y)) = (a.parse::<Amount>(), b.parse::<Amount>()) {
            let (va, vb) = (grammar_value(&a).unwrap(), grammar_value(&b).unwrap());
            prop_assert_eq!(x.cmp(&y), va.cmp(&vb), "{} vs {}", a, b);
            prop_assert_eq!(x == y, va.cmp(&vb) == Ordering::Equal);
        }
    }
}
