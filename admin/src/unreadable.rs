//! `events unreadable` and `events replay-file`: verified webhook bodies
//! the code could not read (`unreadable_event#<sha256>` items, written by
//! the webhook with the body as Binary, the signature header, `reason`,
//! `deliveries`, first and last receipt, a 90-day TTL), listed, and one
//! written to a file with the `curl` that replays it.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use shared::table::{Item, s};
use shared::webhook::operator::UnreadableKey;

use crate::aws::Aws;
use crate::events::{Filter, HANDLED_HEADER, handled_cells, scan_with_progress, unhandled_word};
use crate::exit::{self, Failure};
use crate::item;
use crate::render::{rfc3339, table, truncate, utc};

/// The header Qbit signs with, as the runbook spells it (HTTP header names
/// are case-insensitive; a test ties it to `shared::qbit::webhook`).
const SIGNATURE_HEADER: &str = "X-QbitPay-Signature";

/// The file `replay-file` writes, in the directory given.
const BODY_FILE: &str = "body.json";

pub async fn list(aws: &Aws, all: bool, json: bool) -> Result<(), Failure> {
    let filter = Filter {
        expression: "#kind = :kind",
        names: &[],
        values: vec![(":kind", s("unreadable_event"))],
        all,
    };
    let mut bodies = scan_with_progress(aws, &filter).await?;
    // Oldest first, the newest last.
    bodies.sort_by_key(|e| (item::integer(e, "first_received_at"), item::text(e, "pk")));
    if json {
        let all: Vec<Value> = bodies.iter().map(to_json).collect();
        println!("{}", Value::Array(all));
        return Ok(());
    }
    if bodies.is_empty() {
        println!("No unreadable events{}.", unhandled_word(all));
        return Ok(());
    }
    let time = |e: &Item, name: &str| item::integer(e, name).map_or_else(|| "-".into(), utc);
    let rows: Vec<Vec<String>> = bodies
        .iter()
        .map(|e| {
            let mut row = vec![
                item::text(e, "pk").unwrap_or_default(),
                truncate(&item::text(e, "reason").unwrap_or_else(|| "-".into()), 60),
                item::integer(e, "deliveries").map_or_else(|| "-".into(), |d| d.to_string()),
                time(e, "first_received_at"),
                time(e, "last_received_at"),
            ];
            if all {
                row.extend(handled_cells(e));
            }
            row
        })
        .collect();
    let mut header = vec![
        "ITEM KEY",
        "REASON",
        "DELIVERIES",
        "FIRST RECEIVED (UTC)",
        "LAST RECEIVED (UTC)",
    ];
    if all {
        header.extend(HANDLED_HEADER);
    }
    print!("{}", table(&header, &rows));
    println!(
        "{} unreadable event(s){}; `payments-admin events replay-file <ITEM KEY> --out <DIR>` writes one's body \
         and prints the `curl` that replays it, `payments-admin events handle <ITEM KEY> --note '...'` marks one handled.",
        bodies.len(),
        unhandled_word(all)
    );
    Ok(())
}

/// The body's exact bytes (Binary, as the webhook writes it).
fn body(e: &Item) -> Option<Vec<u8>> {
    match e.get("body")? {
        aws_sdk_dynamodb::types::AttributeValue::B(b) => Some(b.as_ref().to_vec()),
        aws_sdk_dynamodb::types::AttributeValue::S(text) => Some(text.clone().into_bytes()),
        _ => None,
    }
}

/// One unreadable event as JSON: every field, absent ones `null`; times
/// as Unix ms and RFC 3339 (`expires_at`, the TTL, in Unix seconds); the
/// body as base64 and, when it is UTF-8, as text.
pub fn to_json(e: &Item) -> Value {
    let time = |name: &str| item::integer(e, name);
    let utc = |name: &str| time(name).map(rfc3339);
    let body = body(e);
    json!({
        "item_key": item::text(e, "pk"),
        "reason": item::text(e, "reason"),
        "deliveries": time("deliveries"),
        "first_received_at": time("first_received_at"),
        "first_received_at_utc": utc("first_received_at"),
        "last_received_at": time("last_received_at"),
        "last_received_at_utc": utc("last_received_at"),
        "expires_at": time("expires_at"),
        "expires_at_utc": time("expires_at").map(|secs| rfc3339(secs.saturating_mul(1000))),
        "signature": item::text(e, "signature"),
        "body_base64": body.as_ref().map(|b| STANDARD.encode(b)),
        "body_text": body.and_then(|b| String::from_utf8(b).ok()),
        "handled_by": item::text(e, "handled_by"),
        "handled_at": time("handled_at"),
        "handled_at_utc": utc("handled_at"),
        "handled_note": item::text(e, "handled_note"),
    })
}

pub async fn replay_file(
    aws: &Aws,
    key: &UnreadableKey,
    out: &Path,
    json: bool,
) -> Result<(), Failure> {
    let found = aws
        .store
        .client()
        .get_item()
        .table_name(aws.store.table())
        .key("pk", s(key.as_str()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| Failure::unavailable(shared::table::unavailable(e)))?;
    let not_found = |why: &str| {
        Failure::new(
            exit::NOT_FOUND,
            format!(
                "no unreadable event {} in table {}: {why}; nothing was written",
                key.as_str(),
                aws.store.table()
            ),
        )
    };
    let Some(kept) = found.item().filter(|i| !i.is_empty()) else {
        return Err(not_found(
            "the key is mistyped, or the item expired (90 days after its first delivery)",
        ));
    };
    let Some(bytes) = body(kept) else {
        return Err(not_found("the item holds no body"));
    };
    let signature = item::text(kept, "signature").unwrap_or_default();
    let path = out.join(BODY_FILE);
    std::fs::create_dir_all(out)
        .and_then(|()| std::fs::write(&path, &bytes))
        .map_err(|e| {
            Failure::new(
                exit::LOCAL,
                format!("could not write {}: {e}", path.display()),
            )
        })?;
    let curl = curl(&signature, &path);
    if json {
        println!(
            "{}",
            json!({
                "item_key": key.as_str(),
                "path": path.display().to_string(),
                "bytes": bytes.len(),
                "signature": signature,
                "curl": curl,
            })
        );
        return Ok(());
    }
    println!(
        "Wrote {}: {} bytes, exactly as Qbit sent them (not readable because: {}).",
        path.display(),
        bytes.len(),
        item::text(kept, "reason").unwrap_or_else(|| "-".into())
    );
    println!("Signature: {signature}");
    println!(
        "Once the code reads it (fixed and deployed), replay it to the webhook (<WebhookUrl>: the stack's WebhookUrl output):"
    );
    println!("  {curl}");
    println!(
        "A 200 with \"duplicate\": false means it was recorded now; then `payments-admin events handle {} --note '...'`.",
        key.as_str()
    );
    Ok(())
}

/// The command that sends `path`'s bytes as they are, with `signature`.
fn curl(signature: &str, path: &Path) -> String {
    format!(
        "curl -X POST '<WebhookUrl>' -H 'content-type: application/json' -H {} --data-binary {}",
        shell_quote(&format!("{SIGNATURE_HEADER}: {signature}")),
        shell_quote(&format!("@{}", path.display()))
    )
}

/// `text` as one shell word: bare when it is plainly safe, else in single
/// quotes (a quote inside as `'\''`).
fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn the_header_is_the_one_qbit_signs_with() {
        assert!(SIGNATURE_HEADER.eq_ignore_ascii_case(shared::qbit::webhook::SIGNATURE_HEADER));
    }

    #[test]
    fn a_body_that_is_not_utf8_is_base64_only() {
        let kept: Item = [
            ("pk", AttributeValue::S("unreadable_event#x".into())),
            ("body", AttributeValue::B(Blob::new(vec![0xff, 0x00, b'{']))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let printed = to_json(&kept);
        assert_eq!(printed["body_base64"], "/wB7");
        assert_eq!(printed["body_text"], Value::Null);
        assert_eq!(printed["handled_by"], Value::Null);
    }

    #[test]
    fn the_curl_is_one_word_per_argument() {
        assert_eq!(
            curl("YWJj+/=", Path::new("out dir/body.json")),
            "curl -X POST '<WebhookUrl>' -H 'content-type: application/json' \
             -H 'X-QbitPay-Signature: YWJj+/=' --data-binary '@out dir/body.json'"
        );
        assert_eq!(shell_quote("@out/body.json"), "@out/body.json");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
