//! A webhook delivery, header and body, through the flow the qbit-webhook
//! function runs (`shared::webhook::receive`: the header, the key, the
//! signature over the exact bytes, the event parsed, recorded once or kept
//! whole), on the memory store with create-charge's record of `ch_1`
//! (1000 USD).
//!
//! Input: the first byte's low bit says whether the body is signed with the
//! repository's test key (the rest of the input is the body) or sent with a
//! header from the input (the bytes up to the first NUL; the body follows).

#![no_main]

use libfuzzer_sys::fuzz_target;
use payments_fuzz::{WEBHOOK_PUBLIC_PEM, block_on, sign_webhook};
use shared::ApiError;
use shared::http::Reply;
use shared::qbit::webhook::{Event, WebhookKey, rank};
use shared::webhook::{MemoryEvents, Recorded, receive};

fn deliver(store: &MemoryEvents, body: &[u8], header: Option<&str>) -> Result<Reply, ApiError> {
    block_on(receive(store, body, header, || async {
        WebhookKey::from_pem(WEBHOOK_PUBLIC_PEM)
    }))
}

fn store() -> MemoryEvents {
    let store = MemoryEvents::default();
    store.recorded_charge("ch_1", 1000, "USD");
    store
}

/// A signed body: acknowledged, recorded (or kept) once; the second
/// delivery is a duplicate that changes nothing.
fn signed(body: &[u8]) {
    let store = store();
    let header = sign_webhook(body);
    let first = deliver(&store, body, Some(&header)).expect("a signed body is acknowledged");
    assert_eq!(first.status(), 200);
    assert_eq!(first.body(), r#"{"duplicate":false,"received":true}"#);
    let after_first = store.charge("ch_1");

    match Event::parse(body) {
        Ok(event) => {
            assert!(!event.id.is_empty() && event.id.len() <= 255);
            assert_eq!(event.charge.is_some(), rank(&event.kind).is_some());
            let recorded = store.event(&event.id).expect("the event is recorded");
            let charge = after_first.clone().unwrap();
            match recorded {
                Recorded::New { applied: true } => {
                    let about = event.charge.as_ref().unwrap();
                    assert_eq!((about.id.as_str(), about.amount), ("ch_1", 1000));
                    assert_eq!(about.currency, "USD");
                    assert_eq!(charge.last_event_id.as_deref(), Some(event.id.as_str()));
                    assert_eq!(charge.last_event_at_ms, Some(event.created_at_ms));
                    assert_eq!(Some(charge.rank), rank(&event.kind));
                }
                Recorded::New { applied: false } | Recorded::Unmatched(_) => {
                    assert_eq!(charge.last_event_id, None, "the charge moved");
                    assert_eq!(charge.status, "pending");
                }
                Recorded::Duplicate => panic!("a first delivery taken for a duplicate"),
            }
            assert_eq!(store.unreadable(body), None);
        }
        Err(why) => {
            assert_eq!(store.unreadable(body), Some((body.to_vec(), 1)));
            // Our words, which are stored and logged: never the body's.
            assert!(
                why.reason
                    .bytes()
                    .all(|b| b.is_ascii_graphic() || b == b' '),
                "reason quotes the body: {:?}",
                why.reason
            );
            assert_eq!(after_first.as_ref().unwrap().last_event_id, None);
        }
    }

    let again = deliver(&store, body, Some(&header)).expect("a redelivery is acknowledged");
    assert_eq!(again.body(), r#"{"duplicate":true,"received":true}"#);
    assert_eq!(
        store.charge("ch_1"),
        after_first,
        "a redelivery changed the charge"
    );
}

/// Any other header: refused with 401 and nothing recorded, unless it is
/// the very signature Qbit would send (PKCS#1 v1.5 is deterministic).
fn unsigned(header: &str, body: &[u8]) {
    let store = store();
    match deliver(&store, body, Some(header)) {
        Ok(_) => {
            let trimmed = header.trim();
            assert_eq!(trimmed, sign_webhook(body), "a forged signature verified");
        }
        Err(error) => {
            assert_eq!(error.status(), 401, "{}", error.message());
            assert_eq!(store.unreadable(body), None);
            if let Ok(event) = Event::parse(body) {
                assert_eq!(store.event(&event.id), None);
            }
            assert_eq!(
                store.charge("ch_1").unwrap().last_event_id,
                None,
                "a refused event moved the charge"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        signed(rest);
    } else {
        let (header, body) = match rest.iter().position(|&b| b == 0) {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[][..]),
        };
        unsigned(&String::from_utf8_lossy(header), body);
    }
});
