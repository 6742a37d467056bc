//! Amount parsing, both kinds: DeBox points (`Amount`, a decimal string with
//! at most two decimals) and Qbit minor units (`MinorUnits`, a JSON
//! integer), plus DeBox's balances read from raw JSON (`decimal_string`).
//! Each is checked against an oracle written here, and a parsed amount
//! must print back to something that parses to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use shared::debox::Amount;
use shared::debox::decimal::decimal_string;
use shared::http::parse_json;
use shared::qbit::types::MAX_MINOR_UNITS;
use shared::qbit::{MinorUnits, NewCharge};

/// The bound on DeBox amounts, in hundredths.
const MAX_HUNDREDTHS: u128 = 1_000_000_000 * 100;

/// `digits` or `digits.d` or `digits.dd`, ASCII: its value in hundredths.
fn grammar_value(s: &str) -> Option<u128> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
        || s.contains('.') == fraction.is_empty()
    {
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

fn check_amount(text: &str) {
    let expected = grammar_value(text).filter(|v| (1..=MAX_HUNDREDTHS).contains(v));
    let parsed = text.parse::<Amount>();
    assert_eq!(
        parsed.as_ref().ok().map(|a| u128::from(a.hundredths())),
        expected,
        "{text:?}"
    );
    if let Ok(amount) = parsed {
        let printed = amount.to_string();
        assert_eq!(
            printed.parse::<Amount>(),
            Ok(amount),
            "{text:?} -> {printed}"
        );
        assert!(
            !printed.ends_with('0') || !printed.contains('.'),
            "not canonical: {printed}"
        );
        assert!(
            !printed.starts_with('0') || printed.starts_with("0."),
            "not canonical: {printed}"
        );
        let json = serde_json::to_string(&amount).unwrap();
        assert_eq!(json, format!("\"{printed}\""));
    }
}

/// As a JSON value: only a string whose content parses is an amount.
fn check_amount_json(data: &[u8]) {
    if let Ok(amount) = serde_json::from_slice::<Amount>(data) {
        let content: String = serde_json::from_slice(data).expect("an amount is a JSON string");
        assert_eq!(content.parse::<Amount>(), Ok(amount));
    }
}

/// A JSON integer from 1 to the bound, written plainly; nothing else.
fn check_minor_units(data: &[u8]) {
    let text = std::str::from_utf8(data).unwrap_or("");
    let plain = text.trim_matches([' ', '\t', '\n', '\r']);
    let canonical_integer = !plain.is_empty()
        && plain.bytes().all(|b| b.is_ascii_digit())
        && (plain == "0" || !plain.starts_with('0'));
    // Compared as digit strings: by length, then digit by digit.
    let within = canonical_integer
        && plain != "0"
        && (plain.len() < 13 || (plain.len() == 13 && plain <= "1000000000000"));
    let parsed = serde_json::from_slice::<MinorUnits>(data);
    assert_eq!(parsed.is_ok(), within, "{text:?}");
    if let Ok(units) = parsed {
        assert!((1..=MAX_MINOR_UNITS).contains(&units.get()));
        assert_eq!(units.get().to_string(), plain);
        let printed = serde_json::to_string(&units).unwrap();
        assert_eq!(
            serde_json::from_str::<MinorUnits>(&printed).ok(),
            Some(units)
        );
    }
    // In a charge body, as create-charge reads it: whatever the bytes do to
    // the object around them, a body that parses holds exactly this amount,
    // and a refusal is a 400.
    let mut body = br#"{"currency":"USD","externalOrderId":"o-1","amount":"#.to_vec();
    body.extend_from_slice(data);
    body.push(b'}');
    match parse_json::<NewCharge>(&body) {
        Ok(charge) => {
            let units =
                parsed.unwrap_or_else(|_| panic!("{text:?} accepted in a body, refused alone"));
            assert_eq!(charge.amount, units);
        }
        Err(error) => assert_eq!(error.status(), 400),
    }
}

/// A balance from DeBox: a plain decimal string out, never a float's
/// digits; a plain number's own digits are kept as they are.
fn check_decimal(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(raw) = serde_json::from_str::<Box<RawValue>>(text) else {
        return;
    };
    let Some(decimal) = decimal_string(&raw) else {
        return;
    };
    let unsigned = decimal.strip_prefix('-').unwrap_or(&decimal);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    assert!(
        digits(whole) && digits(fraction),
        "{text:?} -> {decimal:?} is not a plain decimal"
    );
    let literal = raw.get().trim();
    if !literal.contains(['e', 'E', '"']) {
        assert_eq!(decimal, literal, "a number's digits changed");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_amount(text);
    }
    check_amount_json(data);
    check_minor_units(data);
    check_decimal(data);
});
