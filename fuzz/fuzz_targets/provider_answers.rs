//! Hostile provider answers, read by the real Qbit and DeBox clients
//! (`payments_fuzz::stub`, a stand-in on loopback, answers each call with
//! the input's status and body), and DeBox's answer reading called
//! directly. Checked: a success only when the answer says so, and exactly
//! what it says; every refusal an error in the contract's shape with a
//! provider's status; a transfer taken as "nothing happened" only on a code
//! DeBox documents as a refusal; Qbit's call "not reached" only on 401,
//! 403, 429.
//!
//! Input: byte 0 chooses the call, bytes 1 and 2 the HTTP status (200
//! unless byte 1's high bit is set), the rest is the body.

#![no_main]

use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use payments_fuzz::stub::{answer_with, stub};
use payments_fuzz::{assert_contract_error, block_on};
use serde_json::Value;
use shared::ApiError;
use shared::debox::answer::{read, read_confirmation};
use shared::debox::{Amount, Certainty, SerialId, Transfer, TransferToken, UserId};
use shared::qbit::{CallError, ListQuery, NewCharge, PageLimit};

/// DeBox codes that mean DeBox refused and did nothing (`debox/answer.rs`).
const CERTAIN_REFUSALS: [&str; 9] = [
    "-2001", "-2004", "-2006", "-2010", "-2011", "-2012", "-2013", "-2015", "-7048",
];

/// Statuses a provider's answer may become: never a 500 (our deployment),
/// a 503 (our store or secret) or a 2xx.
fn assert_provider_error(error: &ApiError) {
    let status = error.status().as_u16();
    assert!(
        [400, 402, 404, 409, 429, 502, 504].contains(&status),
        "a provider's answer became {status}: {}",
        error.message()
    );
    assert_contract_error(status, &error.to_json());
}

/// The body's top-level member `name`, as JSON (duplicates: the last, as
/// the clients read them). Read from the body made UTF-8: serde skips a
/// member it ignores without checking its UTF-8, so the clients accept
/// `{"accessToken":"t","x":"<invalid UTF-8>"}` (harmless: that member is
/// never used), which `Value` alone would refuse.
fn member(body: &[u8], name: &str) -> Option<Value> {
    serde_json::from_str::<Value>(&String::from_utf8_lossy(body))
        .ok()?
        .get(name)
        .cloned()
}

fn is_code_one(body: &[u8]) -> bool {
    matches!(member(body, "code"), Some(code) if code == 1 || code == "1")
}

fn plain_decimal(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

fn qbit_call(call: u8, status: u16, body: &[u8]) {
    let qbit = stub().qbit();
    let ok = (200..300).contains(&status);
    match call {
        0 => match block_on(qbit.access_token()) {
            Ok(token) => {
                assert!(ok, "a token from HTTP {status}");
                assert_eq!(
                    member(body, "accessToken"),
                    Some(Value::from(token.as_str()))
                );
            }
            Err(error) => assert_provider_error(&error),
        },
        1 => {
            let charge: NewCharge = serde_json::from_str(
                r#"{"amount": 1000, "currency": "USD", "externalOrderId": "o-1"}"#,
            )
            .unwrap();
            match block_on(qbit.create_charge(&charge)) {
                Ok(raw) => {
                    assert!(ok, "a charge from HTTP {status}");
                    assert_eq!(raw.get().as_bytes(), body.trim_ascii());
                    let id = serde_json::from_str::<Value>(raw.get()).unwrap()["id"].clone();
                    assert!(id.is_string(), "a charge without an id: {}", raw.get());
                }
                Err(error) => {
                    let at_the_door = matches!(status, 401 | 403 | 429);
                    assert_eq!(
                        matches!(error, CallError::NotReached(_)),
                        at_the_door,
                        "HTTP {status}: {error:?}"
                    );
                    assert_provider_error(error.error());
                }
            }
        }
        _ => {
            let query = ListQuery {
                limit: PageLimit::DEFAULT,
                cursor: None,
            };
            match block_on(qbit.list_charges(&query)) {
                Ok(text) => {
                    assert!(ok, "a list from HTTP {status}");
                    assert_eq!(text.as_bytes(), body, "the list is passed on byte for byte");
                    assert_eq!(member(body, "object"), Some(Value::from("list")));
                    assert!(member(body, "data").is_some_and(|d| d.is_array()));
                }
                Err(error) => assert_provider_error(&error),
            }
        }
    }
}

fn debox_call(call: u8, status: u16, body: &[u8]) {
    let debox = stub().debox();
    let ok = (200..300).contains(&status);
    match call {
        3 => {
            let (payer, receiver) = (
                UserId::parse("merchant01").unwrap(),
                UserId::parse("u1").unwrap(),
            );
            let amount: Amount = "10.5".parse().unwrap();
            match block_on(debox.create_order(&payer, &receiver, amount)) {
                Ok(order) => {
                    assert!(ok, "an order from HTTP {status}");
                    assert_eq!(order.amount, "10.5");
                    assert!(SerialId::parse(&order.serial_id).is_ok());
                }
                Err(error) => assert_provider_error(&error),
            }
        }
        4 => match block_on(debox.balance()) {
            Ok(balance) => {
                assert!(ok, "a balance from HTTP {status}");
                assert!(plain_decimal(&balance.total), "{}", balance.total);
                assert!(
                    plain_decimal(&balance.usable_balance),
                    "{}",
                    balance.usable_balance
                );
            }
            Err(error) => assert_provider_error(&error),
        },
        _ => {
            let transfer = Transfer {
                access_token: TransferToken::try_from("tok".to_string()).unwrap(),
                serial_id: SerialId::parse("s-1").unwrap(),
                verify_amount: None,
            };
            let call = block_on(debox.prepare_transfer(&transfer)).expect("a signed call");
            match block_on(debox.send_transfer(call)) {
                Ok(()) => {
                    assert!(
                        ok && is_code_one(body),
                        "a transfer confirmed by HTTP {status}"
                    );
                }
                Err(refusal) => {
                    assert_provider_error(&refusal.error);
                    if refusal.certainty == Certainty::NothingHappened {
                        let code = refusal.error.code().unwrap_or_default();
                        assert!(
                            CERTAIN_REFUSALS.contains(&code),
                            "HTTP {status} code {code:?} taken as nothing happened"
                        );
                    }
                }
            }
        }
    }
}

/// DeBox's answer reading, without the network.
fn debox_reading(status: u16, body: &[u8]) {
    let status = StatusCode::from_u16(status).unwrap();
    match read(status, body) {
        Ok(payload) => {
            assert!(status.is_success());
            for name in [
                "access_token",
                "serial_id",
                "amount",
                "total",
                "usable_balance",
            ] {
                if let Ok(decimal) = payload.decimal(name) {
                    assert!(plain_decimal(&decimal), "{decimal}");
                }
                let _ = payload.string(name);
            }
        }
        Err(refusal) => {
            assert_provider_error(&refusal.error);
            assert_eq!(
                refusal.credentials_refused,
                refusal.error.code() == Some("-2001")
            );
        }
    }
    if read_confirmation(status, body).is_ok() {
        assert!(status.is_success() && is_code_one(body));
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (call, status_bytes, body) = (data[0] % 6, [data[1], data[2]], &data[3..]);
    let status = if status_bytes[0] & 0x80 == 0 {
        200
    } else {
        200 + u16::from_be_bytes([status_bytes[0] & 0x7f, status_bytes[1]]) % 400
    };
    debox_reading(status, body);
    answer_with(status, body);
    if call < 3 {
        qbit_call(call, status, body);
    } else {
        debox_call(call, status, body);
    }
});
