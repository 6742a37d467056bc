//! DeBox money: decimal strings with at most two decimals, held as whole
//! hundredths so that no binary float ever touches them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The contract's bound: at most 1,000,000,000 points.
pub const MAX_HUNDREDTHS: u64 = 1_000_000_000 * 100;

/// An amount of vBOX points: > 0, at most 1,000,000,000, at most two
/// decimals. Equal amounts compare equal however written ("10.5" and
/// "10.50"); printed canonically ("10.5", "10", "0.01").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    hundredths: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be a decimal string of points greater than 0 and at most 1000000000, with at most two decimals, such as \"10.50\""
)]
pub struct AmountError;

impl Amount {
    pub fn from_hundredths(hundredths: u64) -> Result<Self, AmountError> {
        if (1..=MAX_HUNDREDTHS).contains(&hundredths) {
            Ok(Self { hundredths })
        } else {
            Err(AmountError)
        }
    }

    pub fn hundredths(self) -> u64 {
        self.hundredths
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Only `digits` or `digits.d` / `digits.dd`, in ASCII: no sign,
    /// exponent, spaces, separators, leading or trailing point.
    fn from_str(s: &str) -> Result<Self, AmountError> {
        let (whole, fraction) = match s.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (s, ""),
        };
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 2 {
            return Err(AmountError);
        }
        if s.ends_with('.') {
            return Err(AmountError);
        }
        // Leading zeros aside, more than 10 digits is over the bound anyway,
        // and keeping the count small keeps the arithmetic in range.
        let significant = whole.trim_start_matches('0');
        if significant.len() > 10 {
            return Err(AmountError);
        }
        let whole: u64 = if significant.is_empty() {
            0
        } else {
            significant.parse().map_err(|_| AmountError)?
        };
        let fraction: u64 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<u64>().map_err(|_| AmountError)? * 10,
            _ => fraction.parse().map_err(|_| AmountError)?,
        };
        Self::from_hundredths(whole * 100 + fraction)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, cents) = (self.hundredths / 100, self.hundredths % 100);
        match cents {
            0 => write!(f, "{whole}"),
            c if c % 10 == 0 => write!(f, "{whole}.{}", c / 10),
            c => write!(f, "{whole}.{c:02}"),
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// From a JSON string only: a JSON number is refused, since it may already
/// have been rounded by whoever wrote it.
impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string such as \"10.50\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Amount, E> {
                s.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        let cases = [
            ("10", "10"),
            ("10.5", "10.5"),
            ("10.50", "10.5"),
            ("10.05", "10.05"),
            ("0.01", "0.01"),
            ("0.1", "0.1"),
            ("010.00", "10"),
            ("1000000000", "1000000000"),
            ("1000000000.00", "1000000000"),
        ];
        for (input, canonical) in cases {
            assert_eq!(
                input.parse::<Amount>().unwrap().to_string(),
                canonical,
                "{input}"
            );
        }
    }

    #[test]
    fn compares_exactly() {
        let a: Amount = "10.5".parse().unwrap();
        let b: Amount = "10.50".parse().unwrap();
        assert_eq!(a, b);
        assert_ne!(a, "10.51".parse::<Amount>().unwrap());
        assert_eq!("0.01".parse::<Amount>().unwrap().hundredths(), 1);
    }

    #[test]
    fn refuses_everything_else() {
        let bad = [
            "0",
            "0.00",
            "-1",
            "+1",
            "1.001",
            "1e3",
            "1E3",
            " 1",
            "1 ",
            "1,00",
            "1_000",
            "NaN",
            "inf",
            ".5",
            "5.",
            "",
            ".",
            "١٠",
            "１０",
            "1000000000.01",
            "99999999999",
            "18446744073709551616",
            "0x10",
            "1.2.3",
        ];
        for input in bad {
            assert_eq!(input.parse::<Amount>(), Err(AmountError), "{input:?}");
        }
    }

    #[test]
    fn deserialises_from_strings_only() {
        assert_eq!(
            serde_json::from_str::<Amount>(r#""10.50""#)
                .unwrap()
                .to_string(),
            "10.5"
        );
        for json in ["10.5", "10", "null", "true", r#"["1"]"#] {
            assert!(serde_json::from_str::<Amount>(json).is_err(), "{json}");
        }
    }

    /// Whole hundredths, exactly, at both ends of the bound.
    #[test]
    fn hundredths_are_exact() {
        assert_eq!("10.50".parse::<Amount>().unwrap().hundredths(), 1050);
        assert_eq!(
            "1000000000".parse::<Amount>().unwrap().hundredths(),
            100_000_000_000
        );
        assert_eq!(MAX_HUNDREDTHS, 100_000_000_000);
        assert_eq!(Amount::from_hundredths(1050).unwrap().to_string(), "10.5");
        assert_eq!(Amount::from_hundredths(0), Err(AmountError));
        assert_eq!(
            Amount::from_hundredths(MAX_HUNDREDTHS + 1),
            Err(AmountError)
        );
    }

    /// A JSON number's refusal says what is expected instead.
    #[test]
    fn a_json_number_is_refused_saying_a_string_is_expected() {
        let error = serde_json::from_str::<Amount>("10.5").unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"invalid type: floating point `10.5`, expected a decimal string such as "10.50" at line 1 column 4"#
        );
    }

    #[test]
    fn serialises_canonically() {
        let a: Amount = "7.10".parse().unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), r#""7.1""#);
    }
}
