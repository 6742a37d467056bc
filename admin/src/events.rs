//! `events unmatched`: signed webhook events that changed nothing and are
//! kept for a person (`event#<id>` items with an `unmatched` reason:
//! `unknown_charge`, `amount_mismatch`, `currency_mismatch`,
//! `unhandled_type`); and the scan and the handled columns every `events`
//! list shares.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value, json};
use shared::table::{Item, s};
use shared::transfer::operator::ScanProgress;

use crate::aws::Aws;
use crate::exit::Failure;
use crate::item;
use crate::render::{rfc3339, table, truncate, utc};
use crate::transfers::scan_progress;

pub async fn unmatched(aws: &Aws, all: bool, json: bool) -> Result<(), Failure> {
    let filter = Filter {
        expression: "#kind = :event AND attribute_exists(#unmatched)",
        names: &[("#unmatched", "unmatched")],
        values: vec![(":event", s("event"))],
        all,
    };
    let mut events = scan_with_progress(aws, &filter).await?;
    events.sort_by_key(|e| (item::integer(e, "received_at"), item::text(e, "event_id")));
    if json {
        let all: Vec<Value> = events
            .iter()
            .map(|e| {
                let mut object = item::object(e);
                object.remove("pk");
                object.insert(
                    "received_at_utc".into(),
                    json!(item::integer(e, "received_at").map(rfc3339)),
                );
                handled_at_utc(e, &mut object);
                Value::Object(object)
            })
            .collect();
        println!("{}", Value::Array(all));
        return Ok(());
    }
    if events.is_empty() {
        println!("No unmatched events{}.", unhandled_word(all));
        return Ok(());
    }
    let text = |e: &Item, name: &str| item::text(e, name).unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let mut row = vec![
                text(e, "event_id"),
                text(e, "event_type"),
                text(e, "charge_id"),
                text(e, "unmatched"),
                truncate(&text(e, "unmatched_detail"), 60),
                item::integer(e, "received_at").map_or_else(|| "-".into(), utc),
            ];
            if all {
                row.extend(handled_cells(e));
            }
            row
        })
        .collect();
    let mut header = vec![
        "EVENT",
        "TYPE",
        "CHARGE",
        "REASON",
        "DETAIL",
        "RECEIVED (UTC)",
    ];
    if all {
        header.extend(HANDLED_HEADER);
    }
    print!("{}", table(&header, &rows));
    println!(
        "{} unmatched event(s){}; `payments-admin charges show <CHARGE>` shows the charge, \
         `payments-admin events handle <EVENT> --note '...'` marks one handled.",
        events.len(),
        unhandled_word(all)
    );
    Ok(())
}

/// " to handle" unless `--all`.
pub fn unhandled_word(all: bool) -> &'static str {
    if all { "" } else { " to handle" }
}

/// The columns `--all` adds to a human list.
pub const HANDLED_HEADER: [&str; 3] = ["HANDLED (UTC)", "HANDLED BY", "NOTE"];

/// Who handled an item, when and their note, as cells (`-` when nobody has).
pub fn handled_cells(e: &Item) -> [String; 3] {
    let text = |name: &str| item::text(e, name).unwrap_or_else(|| "-".into());
    [
        item::integer(e, "handled_at").map_or_else(|| "-".into(), utc),
        text("handled_by"),
        truncate(&text("handled_note"), 60),
    ]
}

/// `handled_at_utc` beside `handled_at`, when the item was handled.
pub fn handled_at_utc(e: &Item, object: &mut Map<String, Value>) {
    if let Some(at) = item::integer(e, "handled_at") {
        object.insert("handled_at_utc".into(), json!(rfc3339(at)));
    }
}

/// Which items a list scans for: `expression` over `#kind` (and `names`,
/// `values`), and, unless `all`, only those nobody has handled.
pub struct Filter<'a> {
    pub expression: &'a str,
    pub names: &'a [(&'a str, &'a str)],
    pub values: Vec<(&'a str, AttributeValue)>,
    pub all: bool,
}

/// Every item `filter` keeps, page by page, with progress on stderr.
pub async fn scan_with_progress(aws: &Aws, filter: &Filter<'_>) -> Result<Vec<Item>, Failure> {
    let mut last = ScanProgress::default();
    let mut progress = scan_progress(&mut last);
    scan(aws, filter, &mut progress).await
}

async fn scan(
    aws: &Aws,
    filter: &Filter<'_>,
    progress: &mut (dyn FnMut(ScanProgress) + Send),
) -> Result<Vec<Item>, Failure> {
    let expression = if filter.all {
        filter.expression.to_string()
    } else {
        // Handled, but delivered again since (an unreadable body Qbit sent
        // once more): a live problem again, listed.
        format!(
            "({}) AND (attribute_not_exists(handled_at) OR last_received_at > handled_at)",
            filter.expression
        )
    };
    let mut found = Vec::new();
    let mut seen = ScanProgress::default();
    let mut start: Option<Item> = None;
    loop {
        let mut scan = aws
            .store
            .client()
            .scan()
            .table_name(aws.store.table())
            .consistent_read(true)
            .filter_expression(&expression)
            .expression_attribute_names("#kind", "kind")
            .set_exclusive_start_key(start.take());
        for (placeholder, name) in filter.names {
            scan = scan.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in &filter.values {
            scan = scan.expression_attribute_values(*placeholder, value.clone());
        }
        let page = scan
            .send()
            .await
            .map_err(|e| Failure::unavailable(shared::table::unavailable(e)))?;
        seen.pages += 1;
        seen.scanned += u64::try_from(page.scanned_count()).unwrap_or(0);
        found.extend(page.items().iter().cloned());
        seen.matched = found.len() as u64;
        progress(seen);
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(found),
        }
    }
}
