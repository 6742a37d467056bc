//! Reading DeBox's answers, in both shapes the spec allows (flat, or
//! `{"code", "msg"|"message", "data"}`), and what each documented code
//! means for our caller and for a transfer's state.

use std::collections::HashMap;

use http::StatusCode;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::PROVIDER;
use super::decimal::decimal_string;
use crate::ApiError;

/// The members of a successful answer's payload, each kept as raw JSON so
/// that numbers are never read through a float.
#[derive(Debug)]
pub struct Payload(HashMap<String, Box<RawValue>>);

impl Payload {
    /// A member that must be a JSON string.
    pub fn string(&self, name: &str) -> Result<String, ApiError> {
        self.0
            .get(name)
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .ok_or_else(|| unreadable(&format!("no {name}")))
    }

    /// A member that is money: a JSON number or string, as a decimal string.
    pub fn decimal(&self, name: &str) -> Result<String, ApiError> {
        self.0
            .get(name)
            .and_then(|raw| decimal_string(raw))
            .ok_or_else(|| unreadable(&format!("{name} is not a decimal")))
    }
}

/// How sure we are that a refused call changed nothing at DeBox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certainty {
    /// DeBox definitely did not act (a validation or balance refusal, or
    /// the request never left us): a corrected retry may run.
    NothingHappened,
    /// DeBox may have acted (a system error, a duplicate, a lost or
    /// unreadable answer): never send it again on our own.
    MayHaveHappened,
}

/// A refused or failed call: the contract's error, and how sure we are.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub error: ApiError,
    pub certainty: Certainty,
    /// DeBox refused our credentials: the cached secret must be dropped.
    pub credentials_refused: bool,
}

impl Refusal {
    pub fn uncertain(error: ApiError) -> Self {
        Self {
            error,
            certainty: Certainty::MayHaveHappened,
            credentials_refused: false,
        }
    }

    pub fn certain(error: ApiError) -> Self {
        Self {
            error,
            certainty: Certainty::NothingHappened,
            credentials_refused: false,
        }
    }
}

pub(crate) fn unreadable(what: &str) -> ApiError {
    crate::upstream::unreadable(PROVIDER, StatusCode::OK, what)
}

/// Read an answer: its payload when DeBox accepted the call, else why not.
pub fn read(status: StatusCode, body: &[u8]) -> Result<Payload, Refusal> {
    let top: Option<HashMap<String, Box<RawValue>>> = serde_json::from_slice(body).ok();
    let code = top
        .as_ref()
        .and_then(|t| t.get("code"))
        .map(|raw| code_text(raw));
    let message = top.as_ref().and_then(|t| {
        let raw = t.get("msg").or_else(|| t.get("message"))?;
        serde_json::from_str::<String>(raw.get()).ok()
    });

    match (status.as_u16(), code) {
        // A code other than 1 is an error carrying that code, whatever the status.
        (_, Some(Some(code))) if code != "1" => Err(refusal_for_code(&code, message.as_deref())),
        (200..=299, Some(Some(_)) | None) => {
            let top = top.ok_or_else(|| Refusal::uncertain(unreadable("not a JSON object")))?;
            payload_of(top).map_err(Refusal::uncertain)
        }
        // DeBox refused our app id, key, signature or timestamp (assumed -2001).
        (401, _) => Err(refusal_for_code("-2001", message.as_deref())),
        (500.., _) => Err(Refusal::uncertain(
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("{PROVIDER} failed with HTTP {}", status.as_u16()),
            )
            .with_detail(json!({"upstream": {"provider": "debox", "status": status.as_u16()}})),
        )),
        _ => Err(Refusal::uncertain(unreadable(&format!(
            "HTTP {} without a code",
            status.as_u16()
        )))),
    }
}

/// A transfer's answer: a success only when DeBox says `code` 1, whatever
/// else the body holds. A 2xx without that code (`{}`, a proxy's page)
/// confirms nothing, so the points may or may not have moved.
pub fn read_confirmation(status: StatusCode, body: &[u8]) -> Result<(), Refusal> {
    let top: Option<HashMap<String, Box<RawValue>>> = serde_json::from_slice(body).ok();
    let code = top
        .as_ref()
        .and_then(|t| t.get("code"))
        .and_then(|raw| code_text(raw));
    if status.is_success() && code.as_deref() == Some("1") {
        return Ok(());
    }
    read(status, body)?;
    Err(Refusal::uncertain(unreadable(
        "no code 1 confirming the transfer",
    )))
}

/// The payload: `data` when the answer is wrapped, else the answer itself.
fn payload_of(mut top: HashMap<String, Box<RawValue>>) -> Result<Payload, ApiError> {
    match top.remove("data") {
        Some(data) if data.get().trim_start().starts_with('{') => serde_json::from_str(data.get())
            .map(Payload)
            .map_err(|_| unreadable("data is not an object")),
        Some(data) if data.get() == "null" => Ok(Payload(top)),
        Some(_) => Err(unreadable("data is not an object")),
        None => Ok(Payload(top)),
    }
}

/// A code as text: `1`, `"1"`, `-7048` and `"-7048"` alike. `Some(None)`
/// for a code that is neither a number nor a numeric string.
fn code_text(raw: &RawValue) -> Option<String> {
    let text = match serde_json::from_str::<String>(raw.get()) {
        Ok(s) => s,
        Err(_) => raw.get().trim().to_string(),
    };
    let digits = text.strip_prefix('-').unwrap_or(&text);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// What a DeBox code means: our status, message and certainty.
pub fn refusal_for_code(code: &str, said: Option<&str>) -> Refusal {
    use Certainty::*;
    let (status, meaning, certainty) = match code {
        "-2001" => (
            StatusCode::BAD_GATEWAY,
            "rejected our credentials; check debox_app_id, debox_api_key and debox_app_secret in the payments secret",
            NothingHappened,
        ),
        "-2004" => (
            StatusCode::BAD_REQUEST,
            "refused a parameter as invalid",
            NothingHappened,
        ),
        "-2006" => (
            StatusCode::BAD_REQUEST,
            "refused the transaction parameters (for a transfer: serial_id, or a verify_amount that is not the ordered amount)",
            NothingHappened,
        ),
        "-2010" => (
            StatusCode::PAYMENT_REQUIRED,
            "says the code has expired; ask the user to authorise again",
            NothingHappened,
        ),
        "-2011" => (
            StatusCode::BAD_REQUEST,
            "refused the code as invalid",
            NothingHappened,
        ),
        "-2012" => (
            StatusCode::BAD_GATEWAY,
            "could not refresh the access token",
            NothingHappened,
        ),
        "-2013" => (
            StatusCode::PAYMENT_REQUIRED,
            "says the access token has expired (tokens live 5 minutes); create a new order",
            NothingHappened,
        ),
        "-2015" => (
            StatusCode::BAD_REQUEST,
            "refused the access token",
            NothingHappened,
        ),
        "-2016" => (
            StatusCode::CONFLICT,
            "says this transfer was already requested",
            MayHaveHappened,
        ),
        "-7048" => (
            StatusCode::PAYMENT_REQUIRED,
            "says the balance is insufficient",
            NothingHappened,
        ),
        "-2014" | "-2028" | "-2030" | "-7052" => (
            StatusCode::BAD_GATEWAY,
            "had a system error",
            MayHaveHappened,
        ),
        _ => (
            StatusCode::BAD_GATEWAY,
            "answered with an undocumented code",
            MayHaveHappened,
        ),
    };
    let mut upstream = json!({"provider": "debox", "code": code});
    if let Some(said) = said {
        upstream["message"] = Value::String(said.to_string());
    }
    Refusal {
        error: ApiError::new(status, format!("{PROVIDER} {meaning}"))
            .with_code(code)
            .with_detail(json!({ "upstream": upstream })),
        certainty,
        credentials_refused: code == "-2001",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Payload {
        read(StatusCode::OK, body.as_bytes()).unwrap()
    }

    fn refused(status: u16, body: &str) -> Refusal {
        read(StatusCode::from_u16(status).unwrap(), body.as_bytes()).unwrap_err()
    }

    #[test]
    fn flat_and_wrapped_answers_read_alike() {
        let flat = ok(r#"{"access_token": "t", "serial_id": "s", "amount": "10"}"#);
        let wrapped = ok(
            r#"{"code": 1, "msg": "success", "data": {"access_token": "t", "serial_id": "s", "amount": 10}}"#,
        );
        let string_code = ok(
            r#"{"code": "1", "message": "ok", "data": {"access_token": "t", "serial_id": "s", "amount": "10"}}"#,
        );
        for p in [flat, wrapped, string_code] {
            assert_eq!(p.string("access_token").unwrap(), "t");
            assert_eq!(p.decimal("amount").unwrap(), "10");
        }
        // The transfer's own answer: code 1, no data.
        assert!(
            read(
                StatusCode::OK,
                br#"{"code": 1, "msg": "", "source": "debox"}"#
            )
            .is_ok()
        );
    }

    #[test]
    fn every_documented_code_maps_to_the_contract() {
        let cases = [
            ("-2001", 502, Certainty::NothingHappened),
            ("-2004", 400, Certainty::NothingHappened),
            ("-2006", 400, Certainty::NothingHappened),
            ("-2010", 402, Certainty::NothingHappened),
            ("-2011", 400, Certainty::NothingHappened),
            ("-2012", 502, Certainty::NothingHappened),
            ("-2013", 402, Certainty::NothingHappened),
            ("-2014", 502, Certainty::MayHaveHappened),
            ("-2015", 400, Certainty::NothingHappened),
            ("-2016", 409, Certainty::MayHaveHappened),
            ("-2028", 502, Certainty::MayHaveHappened),
            ("-2030", 502, Certainty::MayHaveHappened),
            ("-7048", 402, Certainty::NothingHappened),
            ("-7052", 502, Certainty::MayHaveHappened),
            ("-9999", 502, Certainty::MayHaveHappened),
        ];
        for (code, status, certainty) in cases {
            for body in [
                format!(r#"{{"code": {code}, "msg": "m"}}"#),
                format!(r#"{{"code": "{code}", "message": "m"}}"#),
            ] {
                let r = refused(200, &body);
                assert_eq!(r.error.status().as_u16(), status, "{body}");
                assert_eq!(r.error.code(), Some(code), "{body}");
                assert_eq!(r.certainty, certainty, "{body}");
                assert_eq!(r.error.detail().unwrap()["upstream"]["message"], "m");
            }
        }
        assert!(refused(200, r#"{"code": -2001}"#).credentials_refused);
    }

    #[test]
    fn a_transfer_succeeds_only_on_code_one() {
        let ok = |body: &str| read_confirmation(StatusCode::OK, body.as_bytes());
        assert!(ok(r#"{"code": 1, "msg": "", "source": "debox"}"#).is_ok());
        assert!(ok(r#"{"code": "1", "data": true}"#).is_ok());
        assert!(ok(r#"{"code": 1, "data": "ok"}"#).is_ok());
        for body in [
            "{}",
            r#"{"msg": "system busy"}"#,
            "<html>",
            r#"{"code": "ok"}"#,
        ] {
            let r = ok(body).unwrap_err();
            assert_eq!(
                (r.error.status().as_u16(), r.certainty),
                (502, Certainty::MayHaveHappened),
                "{body}"
            );
        }
        let short = ok(r#"{"code": -7048}"#).unwrap_err();
        assert_eq!(
            (short.error.code(), short.certainty),
            (Some("-7048"), Certainty::NothingHappened)
        );
        let moved = read_confirmation(StatusCode::FOUND, b"").unwrap_err();
        assert_eq!(
            moved.certainty,
            Certainty::MayHaveHappened,
            "a redirect confirms nothing"
        );
    }

    #[test]
    fn transport_level_failures() {
        let auth = refused(401, "");
        assert_eq!(
            (auth.error.status().as_u16(), auth.error.code()),
            (502, Some("-2001"))
        );
        assert!(auth.credentials_refused);
        let down = refused(500, "<html>");
        assert_eq!(
            (down.error.status().as_u16(), down.certainty),
            (502, Certainty::MayHaveHappened)
        );
        let garbage = refused(200, "<html>");
        assert_eq!(
            (garbage.error.status().as_u16(), garbage.certainty),
            (502, Certainty::MayHaveHappened)
        );
        let odd_code = refused(200, r#"{"code": "ok"}"#);
        assert_eq!(odd_code.error.status().as_u16(), 502);
    }

    // Mutation testing (scripts/mutants.sh): each test below pins a
    // difference a weaker assertion let through.

    /// A 5xx is DeBox failing, said so with its status; not an answer we
    /// could not read (same 502, other words and detail).
    #[test]
    fn a_5xx_says_debox_failed_with_its_status() {
        let down = refused(503, r#"{"msg": "busy"}"#);
        assert_eq!(down.error.message(), "DeBox failed with HTTP 503");
        assert_eq!(
            down.error.detail(),
            Some(&json!({"upstream": {"provider": "debox", "status": 503}}))
        );
        assert_eq!(down.error.code(), None);
        assert!(!down.credentials_refused);
    }

    /// A code that is not a number is no code: the answer is unreadable,
    /// and no made-up code reaches the caller.
    #[test]
    fn a_code_that_is_not_a_number_is_no_code() {
        for body in [r#"{"code": "ok"}"#, r#"{"code": "-"}"#, r#"{"code": ""}"#] {
            let odd = refused(200, body);
            assert_eq!(odd.error.code(), None, "{body}");
            assert_eq!(
                odd.error.message(),
                "DeBox sent an answer we could not read (HTTP 200 without a code)",
                "{body}"
            );
            assert_eq!(odd.certainty, Certainty::MayHaveHappened, "{body}");
        }
    }

    /// `data: null` is an answer without a payload of its own (its members
    /// are read flat); any other `data` that is not an object is unreadable.
    #[test]
    fn data_that_is_null_reads_flat_and_any_other_non_object_is_unreadable() {
        let flat = ok(r#"{"code": 1, "data": null, "total": "12.5"}"#);
        assert_eq!(flat.decimal("total").unwrap(), "12.5");
        for body in [
            r#"{"code": 1, "data": [1]}"#,
            r#"{"code": 1, "data": "ok"}"#,
            r#"{"code": 1, "data": true}"#,
        ] {
            let r = refused(200, body);
            assert_eq!(
                (r.error.message(), r.certainty),
                (
                    "DeBox sent an answer we could not read (data is not an object)",
                    Certainty::MayHaveHappened
                ),
                "{body}"
            );
        }
    }

    /// A system error and an undocumented code share status and certainty;
    /// the words tell the operator which it was.
    #[test]
    fn system_errors_and_undocumented_codes_say_which() {
        for code in ["-2014", "-2028", "-2030", "-7052"] {
            let r = refusal_for_code(code, None);
            assert_eq!(r.error.message(), "DeBox had a system error", "{code}");
            assert_eq!(
                r.error.detail(),
                Some(&json!({"upstream": {"provider": "debox", "code": code}}))
            );
        }
        let odd = refusal_for_code("-1", None);
        assert_eq!(
            odd.error.message(),
            "DeBox answered with an undocumented code"
        );
    }
}
