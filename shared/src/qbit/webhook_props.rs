//! Webhook verification accepts exactly the signed bytes: any one-byte
//! change to the body (a flip, an insertion or a deletion, anywhere) and
//! any change to the signature is refused. Signed with the repository's
//! test key pair, as the sandbox signs (RSA PKCS#1 v1.5, SHA-256, base64).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use proptest::sample::Index;

use super::webhook::test_key::{PUBLIC, sign};
use super::webhook::{Signature, SignatureError, WebhookKey};

/// One change to a byte string. Positions and bytes lean towards the
/// cases a lenient verifier would let through: the ends, whitespace, and
/// bytes that are not UTF-8.
#[derive(Debug, Clone)]
enum Change {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
}

fn a_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        Just(b' '),
        Just(b'\n'),
        Just(b'\r'),
        Just(b'\t'),
        Just(0u8),
        0x80u8..=0xff,
    ]
}

fn a_change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<Index>(), 1u8..=255).prop_map(|(at, mask)| Change::Flip(at, mask)),
        (any::<Index>(), a_byte()).prop_map(|(at, byte)| Change::Insert(at, byte)),
        any::<Index>().prop_map(Change::Delete),
    ]
}

/// Where a change lands: index 0 and the last position are drawn as often
/// as the rest together, since leniency lives at the ends.
fn position(at: &Index, len: usize) -> usize {
    match at.index(4) {
        0 => 0,
        1 => len.saturating_sub(1),
        _ => at.index(len.max(1)),
    }
}

/// `bytes` with `change` applied; `None` when it cannot apply (deleting
/// from nothing). Always different from `bytes` otherwise.
fn changed(bytes: &[u8], change: &Change) -> Option<Vec<u8>> {
    let mut out = bytes.to_vec();
    match change {
        Change::Flip(at, mask) => {
            if bytes.is_empty() {
                return None;
            }
            out[position(at, bytes.len())] ^= mask;
        }
        Change::Insert(at, byte) => {
            let at = if at.index(4) == 1 {
                bytes.len()
            } else {
                position(at, bytes.len() + 1)
            };
            out.insert(at, *byte);
        }
        Change::Delete(at) => {
            if bytes.is_empty() {
                return None;
            }
            out.remove(position(at, bytes.len()));
        }
    }
    Some(out)
}

/// Bodies: arbitrary bytes (not always UTF-8), and event-like JSON.
fn a_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        ("[a-z_]{1,12}", "[ -~]{0,40}", 0u64..1_000_000).prop_map(|(id, text, amount)| {
            format!(
                r#"{{"id":"evt_{id}","type":"charge.succeeded","note":"{}","data":{{"object":{{"amount":{amount}}}}}}}"#,
                text.replace(['"', '\\'], "")
            )
            .into_bytes()
        }),
    ]
}

fn key() -> WebhookKey {
    WebhookKey::from_pem(PUBLIC).unwrap()
}

proptest! {
    // RSA signing is the slow part: 64 bodies, each checked against many changes.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The exact bytes verify; each one-byte change to them does not.
    #[test]
    fn only_the_exact_signed_bytes_verify(
        body in a_body(),
        changes in proptest::collection::vec(a_change(), 1..24),
    ) {
        let key = key();
        let header = sign(&body);
        let signature = Signature::from_header(Some(&header)).unwrap();
        prop_assert_eq!(key.verify(&body, &signature), Ok(()));
        for change in &changes {
            if let Some(other) = changed(&body, change) {
                prop_assert_ne!(&other, &body);
                prop_assert_eq!(
                    key.verify(&other, &signature),
                    Err(SignatureError::Mismatch),
                    "{:?} verified after {:?}", String::from_utf8_lossy(&other), change
                );
            }
        }
    }

    /// Any change to the signature's bytes, or to one character of its
    /// header, is refused; never a pass.
    #[test]
    fn any_change_to_the_signature_is_refused(
        body in a_body(),
        changes in proptest::collection::vec(a_change(), 1..24),
        edits in proptest::collection::vec((any::<Index>(), any::<char>()), 1..16),
    ) {
        let key = key();
        let header = sign(&body);
        let bytes = STANDARD.decode(&header).unwrap();
        for change in &changes {
            let other = changed(&bytes, change).unwrap();
            let forged = Signature::from_header(Some(&STANDARD.encode(&other))).unwrap();
            prop_assert_eq!(key.verify(&body, &forged), Err(SignatureError::Mismatch), "{:?}", change);
        }
        // One character of the header replaced by another.
        let chars: Vec<char> = header.chars().collect();
        for (at, replacement) in &edits {
            let at = at.index(chars.len());
            if chars[at] == *replacement {
                continue;
            }
            let mut edited = chars.clone();
            edited[at] = *replacement;
            let edited: String = edited.into_iter().collect();
            let verdict = Signature::from_header(Some(&edited)).and_then(|s| key.verify(&body, &s));
            prop_assert!(verdict.is_err(), "{:?} verified", edited);
        }
    }
}
