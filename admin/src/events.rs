//! `events unmatched`: signed webhook events that changed nothing and are
//! kept for a person (`event#<id>` items with an `unmatched` reason:
//! `unknown_charge`, `amount_mismatch`, `currency_mismatch`).

use serde_json::{Value, json};
use shared::table::{Item, s};
use shared::transfer::operator::ScanProgress;

use crate::aws::Aws;
use crate::exit::Failure;
use crate::item;
use crate::render::{rfc3339, table, truncate, utc};
use crate::transfers::scan_progress;

pub async fn unmatched(aws: &Aws, json: bool) -> Result<(), Failure> {
    let mut last = ScanProgress::default();
    let mut events = {
        let mut progress = scan_progress(&mut last);
        scan(aws, &mut progress).await?
    };
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
                Value::Object(object)
            })
            .collect();
        println!("{}", Value::Array(all));
        return Ok(());
    }
    if events.is_empty() {
        println!("No unmatched events.");
        return Ok(());
    }
    let text = |e: &Item, name: &str| item::text(e, name).unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                text(e, "event_id"),
                text(e, "event_type"),
                text(e, "charge_id"),
                text(e, "unmatched"),
                truncate(&text(e, "unmatched_detail"), 60),
                item::integer(e, "received_at").map_or_else(|| "-".into(), utc),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "EVENT",
                "TYPE",
                "CHARGE",
                "REASON",
                "DETAIL",
                "RECEIVED (UTC)"
            ],
            &rows
        )
    );
    println!(
        "{} unmatched event(s); `payments-admin charges show <CHARGE>` shows the charge.",
        events.len()
    );
    Ok(())
}

/// Every unmatched event item, page by page.
async fn scan(
    aws: &Aws,
    progress: &mut (dyn FnMut(ScanProgress) + Send),
) -> Result<Vec<Item>, Failure> {
    let mut found = Vec::new();
    let mut seen = ScanProgress::default();
    let mut start: Option<Item> = None;
    loop {
        let page = aws
            .store
            .client()
            .scan()
            .table_name(aws.store.table())
            .consistent_read(true)
            .filter_expression("#kind = :event AND attribute_exists(#unmatched)")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#unmatched", "unmatched")
            .expression_attribute_values(":event", s("event"))
            .set_exclusive_start_key(start.take())
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
