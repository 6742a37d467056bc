//! `transfers list | show | resolve`: the transfer flow's operator side
//! (`shared::transfer::operator`), printed for a person or as JSON.

use std::io::IsTerminal;

use serde_json::{Value, json};
use shared::debox::SerialId;
use shared::transfer::operator::{
    self, Reason, ResolveAs, ResolveRefusal, ResolveRequest, ScanProgress, StatusFilter,
};
use shared::transfer::{TransferRecord, TransferStatus, TransferStore};

use crate::aws::Aws;
use crate::exit::{self, Failure};
use crate::render::{fields, rfc3339, table, truncate, utc, utc_and_ms};

pub async fn list(aws: &Aws, status: Option<StatusFilter>, json: bool) -> Result<(), Failure> {
    let now = shared::now_ms();
    let mut last = ScanProgress::default();
    let records = {
        let mut progress = scan_progress(&mut last);
        operator::list(&aws.store, status, now, &mut progress).await?
    };
    warn_unreadable(last.unreadable, "transfer");
    if json {
        let all: Vec<Value> = records.iter().map(|r| to_json(r, now)).collect();
        println!("{}", Value::Array(all));
        return Ok(());
    }
    if records.is_empty() {
        println!("No transfers{}.", describe(status));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.serial_id.clone(),
                status_text(r, now),
                r.amount.clone().unwrap_or_else(|| "-".into()),
                r.to_user_id.clone().unwrap_or_else(|| "-".into()),
                utc(r.created_at),
                truncate(&outcome_text(r), 60),
                r.caller
                    .as_ref()
                    .map_or_else(|| "-".into(), |c| c.arn().to_string()),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "SERIAL",
                "STATUS",
                "AMOUNT",
                "TO",
                "CREATED (UTC)",
                "OUTCOME",
                "CALLER"
            ],
            &rows
        )
    );
    println!("{} transfer(s){}.", records.len(), describe(status));
    Ok(())
}

pub async fn show(aws: &Aws, serial: &SerialId, json: bool) -> Result<(), Failure> {
    let now = shared::now_ms();
    let record = aws.store.get(serial).await?.ok_or_else(|| {
        Failure::new(
            exit::NOT_FOUND,
            format!(
                "no transfer with serial_id {serial} in table {}",
                aws.store.table()
            ),
        )
    })?;
    if json {
        println!("{}", to_json(&record, now));
    } else {
        print!("{}", describe_record(&record, now));
    }
    Ok(())
}

pub async fn resolve(
    aws: &Aws,
    serial: SerialId,
    to: ResolveAs,
    reason: Reason,
    json: bool,
) -> Result<(), Failure> {
    // Who is resolving, before anything is written: no identity, no write.
    let resolved_by = aws.caller_arn("who is resolving").await?;
    let request = ResolveRequest {
        serial_id: serial,
        to,
        reason,
        resolved_by,
        now_ms: shared::now_ms(),
    };
    let record = match operator::resolve(&aws.store, &request).await {
        Ok(Ok(record)) => record,
        Ok(Err(refusal)) => {
            return Err(Failure::new(
                exit::REFUSED,
                refusal_message(&request.serial_id, &refusal, request.now_ms),
            ));
        }
        Err(e) => {
            return Err(Failure::unavailable(format!(
                "{e}\nthe resolution may or may not have been written: run `payments-admin transfers show {}` to see",
                request.serial_id
            )));
        }
    };
    if json {
        println!("{}", to_json(&record, request.now_ms));
        return Ok(());
    }
    let from = record
        .resolution
        .as_ref()
        .map_or("?", |r| r.resolved_from.as_str());
    println!(
        "Transfer {} resolved as {} (was {from}) by {} at {} UTC.",
        record.serial_id,
        record.status.as_str(),
        request.resolved_by,
        utc(request.now_ms)
    );
    match to {
        ResolveAs::Succeeded => println!("The serial will never be sent again."),
        ResolveAs::Failed => println!(
            "The serial is free again: the merchant may retry it (with a fresh order if the 5-minute token has expired)."
        ),
    }
    Ok(())
}

/// Why a resolution was refused, in words; nothing was written. `now_ms`
/// is this machine's clock, only for "ends" or "ended".
fn refusal_message(serial: &SerialId, refusal: &ResolveRefusal, now_ms: u64) -> String {
    let why = match refusal {
        ResolveRefusal::NoSuchSerial => format!("there is no transfer with serial_id {serial}"),
        ResolveRefusal::AlreadySucceeded(record) => format!(
            "transfer {serial} already succeeded ({}); a succeeded transfer is never changed",
            settled_by(record)
        ),
        ResolveRefusal::AlreadyFailed(record) => format!(
            "transfer {serial} already failed ({}); its serial is already free for a retry",
            settled_by(record)
        ),
        ResolveRefusal::StillLive {
            lease_expires_at,
            resolvable_from,
        } => format!(
            "transfer {serial} is still in progress: its call to DeBox may still be running. \
             Its lease {} at {} UTC; if it is still in progress at {} UTC ({} minutes after the lease, \
             so that no clock error on this machine can resolve a live call), it can be resolved then",
            if *lease_expires_at > now_ms {
                "ends"
            } else {
                "ended"
            },
            utc(*lease_expires_at),
            utc(*resolvable_from),
            operator::OPERATOR_LEASE_MARGIN_MS / 60_000
        ),
    };
    format!("refused: {why}; nothing was written")
}

/// Who settled a record: an operator, or DeBox's answer.
fn settled_by(record: &TransferRecord) -> String {
    match &record.resolution {
        Some(r) => format!(
            "resolved by {} at {} UTC: {}",
            r.resolved_by,
            utc(r.resolved_at),
            r.reason
        ),
        None => match record.status {
            TransferStatus::Failed => format!("refused by DeBox: {}", outcome_text(record)),
            _ => format!("confirmed by DeBox at {} UTC", utc(record.updated_at)),
        },
    }
}

/// A record as JSON: every field, absent ones `null`; times as Unix ms
/// and RFC 3339.
pub fn to_json(record: &TransferRecord, now_ms: u64) -> Value {
    let time = |ms: Option<u64>| ms.map(rfc3339);
    let resolution = record.resolution.as_ref();
    json!({
        "serial_id": record.serial_id,
        "status": record.status.as_str(),
        "stuck": operator::is_stuck(record, now_ms),
        "resolvable": operator::is_resolvable(record, now_ms),
        "resolvable_from": resolvable_from(record),
        "resolvable_from_utc": time(resolvable_from(record)),
        "amount": record.amount,
        "verify_amount": record.verify_amount,
        "to_user_id": record.to_user_id,
        "caller_arn": record.caller.as_ref().map(|c| c.arn()),
        "caller_account": record.caller.as_ref().map(|c| c.account()),
        "request_id": record.request_id,
        "claim_id": record.claim_id,
        "created_at": record.created_at,
        "created_at_utc": rfc3339(record.created_at),
        "updated_at": record.updated_at,
        "updated_at_utc": rfc3339(record.updated_at),
        "lease_expires_at": record.lease_expires_at,
        "lease_expires_at_utc": rfc3339(record.lease_expires_at),
        "outcome_code": record.outcome_code,
        "outcome_message": record.outcome_message,
        "resolved_by": resolution.map(|r| &r.resolved_by),
        "resolved_at": resolution.map(|r| r.resolved_at),
        "resolved_at_utc": time(resolution.map(|r| r.resolved_at)),
        "resolution_reason": resolution.map(|r| &r.reason),
        "resolved_from": resolution.map(|r| r.resolved_from.as_str()),
    })
}

fn describe_record(record: &TransferRecord, now_ms: u64) -> String {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut pairs = vec![
        ("serial_id", record.serial_id.clone()),
        ("status", status_text(record, now_ms)),
        ("amount", or_dash(&record.amount)),
        ("to_user_id", or_dash(&record.to_user_id)),
        (
            "caller",
            record.caller.as_ref().map_or_else(
                || "-".into(),
                |c| format!("{} (account {})", c.arn(), c.account()),
            ),
        ),
        ("request_id", record.request_id.clone()),
        ("created_at", utc_and_ms(record.created_at)),
        ("updated_at", utc_and_ms(record.updated_at)),
        ("lease_expires_at", utc_and_ms(record.lease_expires_at)),
        (
            "resolvable_from",
            resolvable_from(record).map_or_else(|| "-".into(), utc_and_ms),
        ),
        ("outcome_code", or_dash(&record.outcome_code)),
        ("outcome_message", or_dash(&record.outcome_message)),
    ];
    if let Some(r) = &record.resolution {
        pairs.extend([
            ("resolved_by", r.resolved_by.clone()),
            ("resolved_at", utc_and_ms(r.resolved_at)),
            ("resolved_from", r.resolved_from.as_str().to_string()),
            ("resolution_reason", r.reason.clone()),
        ]);
    }
    pairs.push(("claim_id", record.claim_id.clone()));
    let mut out = fields(
        &pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Vec<_>>(),
    );
    if operator::is_stuck(record, now_ms) {
        let serial = &record.serial_id;
        out.push_str(&format!(
            "\nThis transfer needs a person: check serial {serial} against DeBox's records, then\n  payments-admin transfers resolve {serial} --as succeeded|failed --reason '...'\n",
        ));
        if !operator::is_resolvable(record, now_ms) {
            out.push_str(&format!(
                "Its lease is over, but `resolve` refuses it until {} UTC: {} minutes past the lease, no function can still be calling DeBox, whatever this machine's clock says.\n",
                utc(operator::resolvable_from(record.lease_expires_at)),
                operator::OPERATOR_LEASE_MARGIN_MS / 60_000
            ));
        }
    }
    out
}

/// When an operator may resolve an `in_progress` claim (Unix ms); `None`
/// for a settled or `unknown` record.
fn resolvable_from(record: &TransferRecord) -> Option<u64> {
    (record.status == TransferStatus::InProgress)
        .then(|| operator::resolvable_from(record.lease_expires_at))
}

/// The stored status, whether a dead claim reads as stuck, and, until the
/// operator's margin is over, when it can be resolved.
fn status_text(record: &TransferRecord, now_ms: u64) -> String {
    match record.status {
        TransferStatus::InProgress if operator::is_resolvable(record, now_ms) => {
            "in_progress (lease over: stuck)".into()
        }
        TransferStatus::InProgress if operator::is_stuck(record, now_ms) => format!(
            "in_progress (lease over: stuck; resolvable from {} UTC)",
            utc(operator::resolvable_from(record.lease_expires_at))
        ),
        status => status.as_str().to_string(),
    }
}

fn outcome_text(record: &TransferRecord) -> String {
    match (&record.outcome_code, &record.outcome_message) {
        (Some(code), Some(message)) => format!("{code} {message}"),
        (Some(text), None) | (None, Some(text)) => text.clone(),
        (None, None) => "-".into(),
    }
}

fn describe(status: Option<StatusFilter>) -> String {
    match status {
        None => String::new(),
        Some(StatusFilter::Stuck) => " stuck (unknown, or in progress past the lease)".into(),
        Some(StatusFilter::Is(s)) => format!(" with status {}", s.as_str()),
    }
}

/// Progress on stderr: on a terminal every page, otherwise every page
/// after the first (a one-page scan stays quiet in scripts).
pub fn scan_progress(last: &mut ScanProgress) -> impl FnMut(ScanProgress) + Send + '_ {
    let terminal = std::io::stderr().is_terminal();
    move |seen: ScanProgress| {
        *last = seen;
        if terminal || seen.pages > 1 {
            eprintln!(
                "scanned {} items ({} pages), {} matched…",
                seen.scanned, seen.pages, seen.matched
            );
        }
    }
}

/// Items of `kind` the scan found but could not read.
pub fn warn_unreadable(count: u64, kind: &str) {
    if count > 0 {
        eprintln!(
            "warning: {count} {kind} item(s) could not be read and are not listed; look at them with `aws dynamodb scan`"
        );
    }
}
