//! `events handle KEY --note TEXT`: the webhook flow's operator side
//! (`shared::webhook::operator`), printed for a person or as JSON.

use serde_json::json;
use shared::webhook::operator::{self, HandleRefusal, HandleRequest, KeptEvent, Note};

use crate::aws::Aws;
use crate::exit::{self, Failure};
use crate::render::{rfc3339, utc};

pub async fn handle(aws: &Aws, event: KeptEvent, note: Note, json: bool) -> Result<(), Failure> {
    // Who is handling it, before anything is written: no identity, no write.
    let handled_by = aws.caller_arn("who is handling it").await?;
    let request = HandleRequest {
        event,
        note,
        handled_by,
        now_ms: shared::now_ms(),
    };
    let what = request.event.describe();
    let handling = match operator::handle(&aws.store, &request).await {
        Ok(Ok(handling)) => handling,
        Ok(Err(refusal)) => return Err(refused(aws, &request.event, &refusal)),
        Err(e) => {
            return Err(Failure::unavailable(format!(
                "{e}\nthe mark may or may not have been written: run `payments-admin events {} --all` to see",
                list_command(&request.event)
            )));
        }
    };
    if json {
        println!(
            "{}",
            json!({
                "item_key": request.event.item_key(),
                "handled_by": handling.handled_by,
                "handled_at": handling.handled_at,
                "handled_at_utc": rfc3339(handling.handled_at),
                "handled_note": handling.note,
            })
        );
        return Ok(());
    }
    println!(
        "Marked {what} handled by {} at {} UTC.",
        handling.handled_by,
        utc(handling.handled_at)
    );
    let kept = match request.event {
        KeptEvent::Unmatched(_) => "for good",
        KeptEvent::Unreadable(_) => "until 90 days after its first delivery",
    };
    println!(
        "It stays on the table {kept}, listed only by `payments-admin events {} --all`.",
        list_command(&request.event)
    );
    Ok(())
}

/// The list an event appears in.
fn list_command(event: &KeptEvent) -> &'static str {
    match event {
        KeptEvent::Unmatched(_) => "unmatched",
        KeptEvent::Unreadable(_) => "unreadable",
    }
}

/// Why a mark was refused, in words, with its exit code; nothing was written.
fn refused(aws: &Aws, event: &KeptEvent, refusal: &HandleRefusal) -> Failure {
    let (code, why) = match refusal {
        HandleRefusal::NoSuchItem => (
            exit::NOT_FOUND,
            format!(
                "there is no {} (no item {} in table {})",
                event.describe(),
                event.item_key(),
                aws.store.table()
            ),
        ),
        HandleRefusal::NotKept => (
            exit::REFUSED,
            match event {
                KeptEvent::Unmatched(id) => format!(
                    "event {id} is not unmatched: it was recorded as an event for one of our charges, \
                     and nothing waits on a person"
                ),
                KeptEvent::Unreadable(key) => {
                    format!("item {} is not an unreadable event", key.as_str())
                }
            },
        ),
        HandleRefusal::AlreadyHandled(h) => (
            exit::REFUSED,
            format!(
                "{} was already handled by {} at {} UTC: {}",
                event.describe(),
                h.handled_by,
                utc(h.handled_at),
                h.note
            ),
        ),
    };
    Failure::new(code, format!("refused: {why}; nothing was written"))
}
