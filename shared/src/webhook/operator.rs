//! What an operator does with webhook events kept for a person (the
//! `payments-admin` CLI): mark one handled once it has been looked at, an
//! unmatched event (`event#<id>` with `unmatched`) or an unreadable body
//! (`unreadable_event#<sha256>`).
//!
//! Handling is one conditional UpdateItem that adds who (the operator's
//! STS ARN), when and a note, only to an item of that kind not handled yet.
//! Nothing is removed: the item stays the audit of what Qbit sent and what
//! was done about it (an unmatched event keeps no TTL, an unreadable one its
//! 90 days). Listings leave handled items out unless asked.

use std::future::Future;

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use crate::table::{DynamoStore, Item, StoreUnavailable, n, s, update_refused};

/// The prefix of an unreadable body's item key (`super::unreadable_event_key`).
const UNREADABLE_PREFIX: &str = "unreadable_event#";
/// The prefix of an event's item key.
const EVENT_PREFIX: &str = "event#";

/// The key of an `unreadable_event#<sha256 hex>` item, well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableKey(String);

impl UnreadableKey {
    /// `unreadable_event#` and 64 lowercase hex digits, as the webhook
    /// writes it (and `payments-admin events unreadable` lists it).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let digest = text.strip_prefix(UNREADABLE_PREFIX).ok_or_else(|| {
            format!("`{text}` is not an unreadable event's item key (unreadable_event#<64 hex digits>, as `events unreadable` lists it)")
        })?;
        if digest.len() != 64
            || !digest
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(format!(
                "`{text}` is not an unreadable event's item key: after `unreadable_event#` come 64 lowercase hex digits (a SHA-256)"
            ));
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An event kept for a person, as an operator names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptEvent {
    /// An unmatched event, by Qbit's event id (its item is `event#<id>`).
    Unmatched(String),
    /// An unreadable body, by its item key.
    Unreadable(UnreadableKey),
}

impl KeptEvent {
    /// An unreadable event's item key (`unreadable_event#...`), or an
    /// event id (`evt_...`, or its item key `event#evt_...`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with(UNREADABLE_PREFIX) {
            return UnreadableKey::parse(text).map(Self::Unreadable);
        }
        let id = text.strip_prefix(EVENT_PREFIX).unwrap_or(text);
        if id.is_empty() || id.chars().any(char::is_control) {
            return Err(format!(
                "`{text}` is neither an event id (as `events unmatched` lists it) nor an unreadable event's item key"
            ));
        }
        Ok(Self::Unmatched(id.to_string()))
    }

    /// The item's `pk`.
    pub fn item_key(&self) -> String {
        match self {
            Self::Unmatched(id) => format!("{EVENT_PREFIX}{id}"),
            Self::Unreadable(key) => key.as_str().to_string(),
        }
    }

    /// In words: "unmatched event evt_1", "unreadable event unreadable_event#...".
    pub fn describe(&self) -> String {
        match self {
            Self::Unmatched(id) => format!("unmatched event {id}"),
            Self::Unreadable(key) => format!("unreadable event {}", key.as_str()),
        }
    }
}

/// What an operator says about an event they handled: what they found, what
/// they did, a ticket. Never empty: a handled mark nobody can explain later
/// is no record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

/// The longest note kept (a note is a line or two; an item holds 400 KB,
/// an unreadable body up to 350 KB of it).
pub const MAX_NOTE_CHARS: usize = 1_000;

impl Note {
    /// The text, trimmed; refused when empty or whitespace only, over
    /// [`MAX_NOTE_CHARS`], or holding control characters other than a line
    /// break or tab.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                "the note is empty: say what was found and done (a ticket, what Qbit said)",
            );
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err("the note is longer than 1000 characters");
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("the note holds a control character");
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who handled a kept event, when (Unix ms) and their note, as recorded
/// (`handled_by`, `handled_at`, `handled_note`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handling {
    pub handled_by: String,
    pub handled_at: u64,
    pub note: String,
}

/// An operator's mark, as it will be written.
#[derive(Debug, Clone)]
pub struct HandleRequest {
    pub event: KeptEvent,
    pub note: Note,
    /// The operator's IAM identity (STS `GetCallerIdentity`'s ARN), read
    /// before the write.
    pub handled_by: String,
    pub now_ms: u64,
}

impl HandleRequest {
    /// The handling this request writes.
    pub fn handling(&self) -> Handling {
        Handling {
            handled_by: self.handled_by.clone(),
            handled_at: self.now_ms,
            note: self.note.as_str().to_string(),
        }
    }
}

/// What the refused write found under the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The kept event, already handled.
    Handled(Handling),
    /// An item that is not an event kept for a person (an event recorded
    /// as ours: applied, or older than its charge's state).
    NotKept,
}

/// Why a mark was refused (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleRefusal {
    /// No item under that key (a mistyped id; an unreadable one expired).
    NoSuchItem,
    /// The item is no event kept for a person: nothing to handle.
    NotKept,
    /// Someone handled it already: who, when, their note.
    AlreadyHandled(Handling),
}

/// The store operation an operator needs for kept events.
pub trait EventAdmin: Send + Sync {
    /// One conditional write: `handled_by`, `handled_at`, `handled_note`,
    /// only on an item of the request's kind (an unmatched event, an
    /// unreadable body) not handled yet. `Ok` is what was written; `Err`
    /// is what the refused condition found (`None`: no item).
    fn write_handled(
        &self,
        request: &HandleRequest,
    ) -> impl Future<Output = Result<Result<Handling, Option<Found>>, StoreUnavailable>> + Send;
}

/// Mark a kept event handled: what was written, or why not (nothing
/// written).
pub async fn handle<S: EventAdmin>(
    store: &S,
    request: &HandleRequest,
) -> Result<Result<Handling, HandleRefusal>, StoreUnavailable> {
    let found = match store.write_handled(request).await? {
        Ok(handling) => {
            tracing::info!(
                item_key = %request.event.item_key(),
                handled_by = %request.handled_by,
                "kept webhook event handled by an operator"
            );
            return Ok(Ok(handling));
        }
        Err(found) => found,
    };
    Ok(match found {
        None => Err(HandleRefusal::NoSuchItem),
        Some(Found::NotKept) => Err(HandleRefusal::NotKept),
        // The store's client resent our own write after a lost reply: the
        // item holds exactly this mark.
        Some(Found::Handled(old)) if old == request.handling() => Ok(old),
        Some(Found::Handled(old)) => Err(HandleRefusal::AlreadyHandled(old)),
    })
}

/// What a refused condition saw in `item`, for a request about `event`.
fn found(item: &Item, event: &KeptEvent) -> Found {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let kept = match event {
        KeptEvent::Unmatched(_) => {
            text("kind").as_deref() == Some("event") && item.contains_key("unmatched")
        }
        KeptEvent::Unreadable(_) => text("kind").as_deref() == Some("unreadable_event"),
    };
    // Of the right kind, the condition failed on `handled_at`.
    match item.get("handled_at") {
        Some(at) if kept => Found::Handled(Handling {
            handled_by: text("handled_by").unwrap_or_default(),
            handled_at: at.as_n().ok().and_then(|n| n.parse().ok()).unwrap_or(0),
            note: text("handled_note").unwrap_or_default(),
        }),
        _ => Found::NotKept,
    }
}

impl EventAdmin for DynamoStore {
    async fn write_handled(
        &self,
        request: &HandleRequest,
    ) -> Result<Result<Handling, Option<Found>>, StoreUnavailable> {
        let kind = match &request.event {
            KeptEvent::Unmatched(_) => "#kind = :kind AND attribute_exists(unmatched)",
            KeptEvent::Unreadable(_) => "#kind = :kind",
        };
        let kind_value = match &request.event {
            KeptEvent::Unmatched(_) => "event",
            KeptEvent::Unreadable(_) => "unreadable_event",
        };
        // Only the three attributes: the body, the reason and the TTL (or
        // its absence) stay as the webhook wrote them.
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(request.event.item_key()))
            .update_expression("SET handled_by = :by, handled_at = :at, handled_note = :note")
            .condition_expression(format!("{kind} AND attribute_not_exists(handled_at)"))
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":kind", s(kind_value))
            .expression_attribute_values(":by", s(&request.handled_by))
            .expression_attribute_values(":at", n(request.now_ms))
            .expression_attribute_values(":note", s(request.note.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(request.handling())),
            Err(e) => Ok(Err(update_refused(e)?
                .filter(|old| !old.is_empty())
                .map(|old| found(&old, &request.event)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use std::sync::Mutex;

    const KEY: &str =
        "unreadable_event#0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn keys_name_an_unmatched_event_or_an_unreadable_body() {
        assert_eq!(
            KeptEvent::parse("evt_1"),
            Ok(KeptEvent::Unmatched("evt_1".into()))
        );
        assert_eq!(
            KeptEvent::parse("event#evt_1").unwrap().item_key(),
            "event#evt_1"
        );
        assert_eq!(KeptEvent::parse(KEY).unwrap().item_key(), KEY);
        for bad in [
            "",
            "  ",
            "event#",
            "evt\u{7}",
            "unreadable_event#abc",
            &KEY.to_uppercase()
                .replacen("UNREADABLE_EVENT", "unreadable_event", 1),
            &format!("{KEY}0"),
        ] {
            assert!(KeptEvent::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UnreadableKey::parse("event#evt_1").is_err());
        // Every key the webhook writes.
        let written = super::super::unreadable_event_key(b"{}");
        assert_eq!(UnreadableKey::parse(&written).unwrap().as_str(), written);
        assert_eq!(UnreadableKey::parse(KEY).unwrap().as_str(), KEY);
    }

    #[test]
    fn a_note_is_never_blank() {
        for blank in ["", "   ", "\n\t "] {
            assert!(Note::parse(blank).is_err(), "{blank:?}");
        }
        assert_eq!(Note::parse("  ticket 42 ").unwrap().as_str(), "ticket 42");
        assert!(Note::parse("a\u{7}b").is_err());
        assert!(Note::parse(&"x".repeat(MAX_NOTE_CHARS + 1)).is_err());
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_refused_condition_reads_as_handled_only_on_a_kept_event() {
        let unmatched = KeptEvent::parse("evt_1").unwrap();
        let handled = [
            ("kind", s("event")),
            ("unmatched", s("unknown_charge")),
            ("handled_by", s("arn:aws:sts::1:user/ops")),
            ("handled_at", n(7)),
            ("handled_note", s("not ours")),
        ];
        assert_eq!(
            found(&item(&handled), &unmatched),
            Found::Handled(Handling {
                handled_by: "arn:aws:sts::1:user/ops".into(),
                handled_at: 7,
                note: "not ours".into(),
            })
        );
        let applied = [
            ("kind", s("event")),
            ("applied", AttributeValue::Bool(true)),
        ];
        assert_eq!(found(&item(&applied), &unmatched), Found::NotKept);
        let unreadable = KeptEvent::parse(KEY).unwrap();
        assert_eq!(found(&item(&handled), &unreadable), Found::NotKept);
    }

    /// Answers the one write with what it is given.
    struct Fixed(Mutex<Option<Result<Handling, Option<Found>>>>);

    impl EventAdmin for Fixed {
        async fn write_handled(
            &self,
            _: &HandleRequest,
        ) -> Result<Result<Handling, Option<Found>>, StoreUnavailable> {
            Ok(self.0.lock().unwrap().take().expect("one call"))
        }
    }

    #[tokio::test]
    async fn refusals_say_why_and_a_resent_mark_is_ours() {
        let request = HandleRequest {
            event: KeptEvent::parse("evt_1").unwrap(),
            note: Note::parse("not ours: another merchant's charge").unwrap(),
            handled_by: "arn:aws:sts::1:assumed-role/ops/alice".into(),
            now_ms: 1_000,
        };
        let ask = |answer| {
            let request = &request;
            async move {
                handle(&Fixed(Mutex::new(Some(answer))), request)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(ask(Err(None)).await, Err(HandleRefusal::NoSuchItem));
        assert_eq!(
            ask(Err(Some(Found::NotKept))).await,
            Err(HandleRefusal::NotKept)
        );
        let other = Handling {
            handled_by: "arn:aws:sts::1:user/bob".into(),
            handled_at: 5,
            note: "done".into(),
        };
        assert_eq!(
            ask(Err(Some(Found::Handled(other.clone())))).await,
            Err(HandleRefusal::AlreadyHandled(other))
        );
        assert_eq!(
            ask(Err(Some(Found::Handled(request.handling())))).await,
            Ok(request.handling())
        );
        assert_eq!(ask(Ok(request.handling())).await, Ok(request.handling()));
    }
}
