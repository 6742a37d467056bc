//! A table item as JSON and as text, whatever attributes it holds: the
//! charge and event items are written by other flows, so they are read
//! generically (known fields first, then whatever else is there).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde_json::{Map, Number, Value};

pub type Item = HashMap<String, AttributeValue>;

/// An attribute as JSON: numbers as JSON numbers when they are integers
/// (amounts in minor units, Unix times), otherwise their exact text, never
/// through a float; binary as base64.
pub fn to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(b) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
        }
        AttributeValue::L(list) => Value::Array(list.iter().map(to_json).collect()),
        AttributeValue::M(map) => Value::Object(object(map)),
        AttributeValue::Ss(set) => set.iter().cloned().map(Value::String).collect(),
        AttributeValue::Ns(set) => set.iter().map(|n| number(n)).collect(),
        AttributeValue::Bs(set) => set
            .iter()
            .map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref())))
            .collect(),
        _ => Value::Null,
    }
}

/// A whole item as a JSON object.
pub fn object(item: &Item) -> Map<String, Value> {
    let mut names: Vec<_> = item.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| (name.clone(), to_json(&item[name])))
        .collect()
}

/// DynamoDB's number text as a JSON number if it is an integer that fits,
/// else the text itself.
fn number(text: &str) -> Value {
    if let Ok(i) = text.parse::<u64>() {
        return Value::Number(Number::from(i));
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Number(Number::from(i));
    }
    Value::String(text.to_string())
}

/// An attribute as one line of text (JSON for lists and maps).
pub fn to_text(value: &AttributeValue) -> String {
    match to_json(value) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// A string attribute.
pub fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// A non-negative integer attribute.
pub fn integer(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;
    use serde_json::json;

    #[test]
    fn attributes_read_as_json_without_floats() {
        let item: Item = [
            ("amount", AttributeValue::N("1000".into())),
            ("ratio", AttributeValue::N("0.1".into())),
            ("paid", AttributeValue::Bool(true)),
            ("body", AttributeValue::B(Blob::new(b"{}".to_vec()))),
            ("id", AttributeValue::S("ch_1".into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(
            Value::Object(object(&item)),
            json!({"amount": 1000, "ratio": "0.1", "paid": true, "body": "e30=", "id": "ch_1"})
        );
    }
}
