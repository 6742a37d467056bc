//! `charges show ID`: the `charge#<ID>` item, as create-charge recorded it
//! and the webhook updated it. Read generically: the fields this bundle
//! writes first, in a useful order, then whatever else the item holds.

use serde_json::Value;
use shared::table::s;

use crate::aws::Aws;
use crate::exit::{self, Failure};
use crate::item::{self, Item};
use crate::render::{fields, utc_and_ms};

/// The fields a charge record has, in the order a person reads them.
const KNOWN: &[&str] = &[
    "charge_id",
    "status",
    "paid",
    "amount",
    "currency",
    "external_order_id",
    "created_at",
    "request_id",
    "caller_arn",
    "caller_account",
    "updated_at",
    "last_event_id",
    "last_event_at",
    "last_event_at_ms",
    "status_rank",
];

/// Attributes holding Unix milliseconds, shown as UTC too.
const TIMES_MS: &[&str] = &["created_at", "updated_at", "last_event_at_ms"];

pub async fn show(aws: &Aws, id: &str, json: bool) -> Result<(), Failure> {
    let key = format!("charge#{id}");
    let found = aws
        .store
        .client()
        .get_item()
        .table_name(aws.store.table())
        .key("pk", s(&key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| Failure::unavailable(shared::table::unavailable(e)))?;
    let Some(record) = found.item().filter(|i| !i.is_empty()) else {
        return Err(Failure::new(
            exit::NOT_FOUND,
            format!(
                "no charge {id} in table {} (no item {key}): create-charge never recorded it, or it is another merchant's",
                aws.store.table()
            ),
        ));
    };
    if json {
        println!("{}", Value::Object(item::object(record)));
    } else {
        print!("{}", describe(record));
    }
    Ok(())
}

fn describe(record: &Item) -> String {
    let mut names: Vec<&str> = KNOWN
        .iter()
        .copied()
        .filter(|k| record.contains_key(*k))
        .collect();
    let mut rest: Vec<&str> = record
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k) && *k != "pk")
        .collect();
    rest.sort_unstable();
    names.extend(rest);
    let pairs: Vec<(String, String)> = names
        .into_iter()
        .map(|name| {
            let value = match item::integer(record, name) {
                Some(ms) if TIMES_MS.contains(&name) => utc_and_ms(ms),
                _ => item::to_text(&record[name]),
            };
            (name.to_string(), value)
        })
        .collect();
    fields(&pairs)
}
