//! Qbit Pay's request values, parsed at the edge so the client cannot be
//! handed a bad one. Each type's only constructor checks it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::http::QueryParams;

/// The contract's bound on a Qbit amount: 1 to 10^12 minor units.
pub const MAX_MINOR_UNITS: u64 = 1_000_000_000_000;
/// Our bound on `externalOrderId` (an assumption: Qbit states none).
pub const MAX_EXTERNAL_ORDER_ID: usize = 128;
/// Our bound on a Qbit object id used as a cursor (an assumption).
pub const MAX_OBJECT_ID: usize = 255;

/// An amount in minor units (1000 = 10.00). Parsed from a JSON integer:
/// a fraction, an exponent or a string is refused, and no float is involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Number", into = "u64")]
pub struct MinorUnits(u64);

impl TryFrom<serde_json::Number> for MinorUnits {
    type Error = String;

    fn try_from(n: serde_json::Number) -> Result<Self, String> {
        // `as_u64` is None for negatives and for anything written with a
        // fraction or exponent, so `1000.0` and `1e3` are refused unread.
        match n.as_u64() {
            Some(v @ 1..=MAX_MINOR_UNITS) => Ok(Self(v)),
            _ => Err(format!(
                "must be a whole number of minor units from 1 to {MAX_MINOR_UNITS} (1000 = 10.00), without fraction or exponent"
            )),
        }
    }
}

impl From<MinorUnits> for u64 {
    fn from(m: MinorUnits) -> u64 {
        m.0
    }
}

impl MinorUnits {
    pub fn get(self) -> u64 {
        self.0
    }
}

/// An ISO 4217 code: exactly three upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl TryFrom<String> for Currency {
    type Error = &'static str;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s))
        } else {
            Err("must be three upper-case letters (ISO 4217), such as \"USD\"")
        }
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

/// The merchant's own order id: 1 to 128 characters, none of them control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalOrderId(String);

impl TryFrom<String> for ExternalOrderId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let chars = s.chars().count();
        if s.trim().is_empty() || chars > MAX_EXTERNAL_ORDER_ID || s.chars().any(char::is_control) {
            return Err(format!(
                "must be 1 to {MAX_EXTERNAL_ORDER_ID} characters, not blank, without control characters"
            ));
        }
        Ok(Self(s))
    }
}

impl From<ExternalOrderId> for String {
    fn from(id: ExternalOrderId) -> String {
        id.0
    }
}

/// A `POST /charges` body, as our caller sends it and as Qbit receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object with amount, currency and externalOrderId"
)]
pub struct NewCharge {
    pub amount: MinorUnits,
    pub currency: Currency,
    pub external_order_id: ExternalOrderId,
}

/// A page size, 1..=100 (default 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u8);

impl PageLimit {
    pub const DEFAULT: Self = Self(10);

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::invalid_field("limit", "must be a whole number from 1 to 100");
        if raw.is_empty() || raw.len() > 3 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        match raw.parse::<u8>() {
            Ok(n @ 1..=100) => Ok(Self(n)),
            _ => Err(bad()),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A Qbit object id, as used in cursors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectId(String);

impl ObjectId {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ApiError> {
        if raw.is_empty() || raw.len() > MAX_OBJECT_ID || !raw.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ApiError::invalid_field(
                field,
                format!(
                    "must be an object id: 1 to {MAX_OBJECT_ID} printable ASCII characters without spaces"
                ),
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a page starts: one cursor at most, so "both" cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    StartingAfter(ObjectId),
    EndingBefore(ObjectId),
}

/// A `GET /charges` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub limit: PageLimit,
    pub cursor: Option<Cursor>,
}

impl ListQuery {
    pub const PARAMETERS: [&'static str; 3] = ["limit", "starting_after", "ending_before"];

    pub fn parse(params: &QueryParams) -> Result<Self, ApiError> {
        let limit = match params.get("limit")? {
            Some(raw) => PageLimit::parse(raw)?,
            None => PageLimit::DEFAULT,
        };
        let after = params.get("starting_after")?;
        let before = params.get("ending_before")?;
        let cursor = match (after, before) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid_request(
                    "starting_after and ending_before cannot be used together; send one of them",
                )
                .with_detail(serde_json::json!({"fields": ["starting_after", "ending_before"]})));
            }
            (Some(id), None) => Some(Cursor::StartingAfter(ObjectId::parse(
                "starting_after",
                id,
            )?)),
            (None, Some(id)) => Some(Cursor::EndingBefore(ObjectId::parse("ending_before", id)?)),
            (None, None) => None,
        };
        Ok(Self { limit, cursor })
    }

    /// The query string Qbit receives, as (name, value) pairs.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("limit", self.limit.get().to_string())];
        match &self.cursor {
            Some(Cursor::StartingAfter(id)) => pairs.push(("starting_after", id.to_string())),
            Some(Cursor::EndingBefore(id)) => pairs.push(("ending_before", id.to_string())),
            None => {}
        }
        pairs
    }
}

/// A list answer's shape, checked before we pass Qbit's bytes on untouched.
#[derive(Debug, Deserialize)]
pub struct ChargeList {
    pub object: String,
    pub data: Vec<serde::de::IgnoredAny>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn charge(v: serde_json::Value) -> Result<NewCharge, ApiError> {
        crate::http::parse_json(v.to_string().as_bytes())
    }

    #[test]
    fn a_good_charge_parses_and_serialises_for_qbit_unchanged() {
        let body = json!({"amount": 1000, "currency": "USD", "externalOrderId": "order-42"});
        let parsed = charge(body.clone()).unwrap();
        assert_eq!(parsed.amount.get(), 1000);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
    }

    #[test]
    fn amounts_outside_whole_minor_units_are_refused_naming_amount() {
        for bad in [
            json!(0),
            json!(-1),
            json!(10.5),
            json!(1000.0),
            json!(1e3),
            json!(1_000_000_000_001u64),
            json!("1000"),
            json!(null),
            json!(18446744073709551615u64),
        ] {
            let err = charge(json!({"amount": bad, "currency": "USD", "externalOrderId": "o"}))
                .unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
            assert_eq!(err.detail().unwrap()["field"], "amount", "{bad}");
        }
        assert!(
            charge(json!({"amount": MAX_MINOR_UNITS, "currency": "USD", "externalOrderId": "o"}))
                .is_ok()
        );
        assert!(charge(json!({"amount": 1, "currency": "USD", "externalOrderId": "o"})).is_ok());
    }

    #[test]
    fn currency_must_be_three_upper_case_letters() {
        for bad in ["usd", "US", "USDT", "U1D", "ÜSD", ""] {
            let err =
                charge(json!({"amount": 1, "currency": bad, "externalOrderId": "o"})).unwrap_err();
            assert_eq!(err.detail().unwrap()["field"], "currency", "{bad}");
            assert!(
                err.message().contains("three upper-case letters"),
                "{}",
                err.message()
            );
        }
    }

    #[test]
    fn external_order_id_is_non_empty_and_bounded() {
        let long = "x".repeat(MAX_EXTERNAL_ORDER_ID + 1);
        for bad in ["", "   ", "a\nb", long.as_str()] {
            let err = charge(json!({"amount": 1, "currency": "USD", "externalOrderId": bad}))
                .unwrap_err();
            assert_eq!(err.detail().unwrap()["field"], "externalOrderId", "{bad:?}");
        }
        let max = "é".repeat(MAX_EXTERNAL_ORDER_ID);
        assert!(charge(json!({"amount": 1, "currency": "USD", "externalOrderId": max})).is_ok());
    }

    #[test]
    fn page_limit_is_1_to_100() {
        for good in ["1", "10", "100", "007"] {
            assert!(PageLimit::parse(good).is_ok(), "{good}");
        }
        for bad in ["0", "101", "-1", "+5", "1.0", "", "ten", "1000", " 5"] {
            let err = PageLimit::parse(bad).unwrap_err();
            assert_eq!(err.detail().unwrap()["field"], "limit", "{bad:?}");
        }
    }

    #[test]
    fn object_ids_are_printable_ascii_without_spaces() {
        assert!(ObjectId::parse("starting_after", "5uTSifDOuTy9i").is_ok());
        for bad in ["", "a b", "ü", &"x".repeat(MAX_OBJECT_ID + 1)] {
            let err = ObjectId::parse("starting_after", bad).unwrap_err();
            assert_eq!(err.detail().unwrap()["field"], "starting_after");
        }
    }
}
