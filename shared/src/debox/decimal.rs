//! Balances as DeBox sends them, JSON numbers or strings, turned into
//! decimal strings without passing through a binary float.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::value::RawValue;

/// A decimal string from a raw JSON value: a number's own digits, or a
/// string's content, checked to be a plain decimal. An exponent form
/// (`1.5e3`) is expanded exactly. `None` for anything else.
pub fn decimal_string(raw: &RawValue) -> Option<String> {
    let text = raw.get().trim();
    let literal = match text.strip_prefix('"') {
        Some(quoted) => serde_json::from_str::<String>(text)
            .ok()
            .filter(|_| quoted.ends_with('"'))?,
        None => text.to_string(),
    };
    if is_plain_decimal(&literal) {
        return Some(literal);
    }
    if literal.contains(['e', 'E']) {
        return Decimal::from_scientific(&literal)
            .ok()
            .map(|d| d.normalize().to_string());
    }
    None
}

/// `-?digits(.digits)?`, ASCII only.
fn is_plain_decimal(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction) && Decimal::from_str(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    #[test]
    fn numbers_and_strings_keep_their_digits() {
        let cases = [
            ("1234.56", "1234.56"),
            ("\"1234.56\"", "1234.56"),
            ("0", "0"),
            ("10.10", "10.10"),
            ("\"0.01\"", "0.01"),
            // More digits than an f64 holds: kept exactly.
            ("12345678901234567.89", "12345678901234567.89"),
            ("1.5e3", "1500"),
            ("\"2E-2\"", "0.02"),
        ];
        for (json, expected) in cases {
            assert_eq!(
                decimal_string(&raw(json)).as_deref(),
                Some(expected),
                "{json}"
            );
        }
    }

    #[test]
    fn anything_else_is_unreadable() {
        for json in [
            "null",
            "true",
            "\"\"",
            "\"abc\"",
            "\"1,000\"",
            "\" 1\"",
            "[1]",
            "{}",
            "\"NaN\"",
        ] {
            assert_eq!(decimal_string(&raw(json)), None, "{json}");
        }
    }
}
