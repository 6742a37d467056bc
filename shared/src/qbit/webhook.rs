//! Qbit Pay's webhook events: the signature over the raw body, and the
//! event itself.
//!
//! ASSUMED (Qbit's page on webhooks is missing; see `docs/providers.md`):
//! `X-QbitPay-Signature` holds the base64 of an RSA PKCS#1 v1.5 SHA-256
//! signature over the body bytes exactly as sent; the key is a PEM
//! SubjectPublicKeyInfo; no timestamp is signed, so replays are stopped by
//! recording event ids. Events are
//! `{"id", "object": "event", "type", "createdAt", "data": {"object": <charge>}}`,
//! `createdAt` in RFC 3339 (`Z` or any `±hh:mm` offset, with or without a
//! fraction of a second).

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use serde_json::error::Category;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ApiError;

/// The signature header (HTTP header names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "x-qbitpay-signature";

/// Why an event was refused. Logged; the caller only learns it is 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-QbitPay-Signature header is missing")]
    Missing,
    #[error("the X-QbitPay-Signature header is not base64")]
    NotBase64,
    #[error("the signature does not match the body and our public key")]
    Mismatch,
}

impl From<SignatureError> for ApiError {
    fn from(error: SignatureError) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!("{error}; the event was not recorded"),
        )
    }
}

/// The signature header's value, decoded. Read before the key is fetched,
/// so a request without a plausible signature costs no call to Secrets
/// Manager.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature(Vec<u8>);

impl Signature {
    /// From the header's value: missing or blank, or not base64, is refused.
    pub fn from_header(value: Option<&str>) -> Result<Self, SignatureError> {
        let value = value
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(SignatureError::Missing)?;
        STANDARD
            .decode(value)
            .map(Self)
            .map_err(|_| SignatureError::NotBase64)
    }
}

/// Never the bytes: signatures stay out of logs.
impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({} bytes)", self.0.len())
    }
}

/// Qbit's public key, parsed once.
pub struct WebhookKey {
    der: Vec<u8>,
}

impl WebhookKey {
    /// From the PEM in the secret. A bad key is our deployment's fault: 500.
    pub fn from_pem(pem: &str) -> Result<Self, ApiError> {
        let spki = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
            ApiError::misconfigured(
                "qbit_webhook_public_key in the payments secret is not a PEM public key",
            )
        })?;
        Ok(Self {
            der: spki.as_ref().to_vec(),
        })
    }

    /// Verify `signature` over `body`, the exact bytes.
    pub fn verify(&self, body: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        // aws-lc-rs compares in constant time, and takes SubjectPublicKeyInfo DER.
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.der)
            .verify(body, &signature.0)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// A charge as an event carries it: what the store keeps of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCharge {
    pub id: String,
    pub status: String,
    pub paid: bool,
    pub amount: u64,
    pub currency: String,
    pub external_order_id: String,
}

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "createdAt")]
    created_at: String,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: serde_json::Value,
}

/// A verified event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub created_at: String,
    /// `createdAt` as an instant in Unix milliseconds (offset applied,
    /// sub-millisecond fraction cut): what events are ordered by.
    pub created_at_ms: u64,
    /// The charge, for the `charge.*` types we know; `None` for other types,
    /// which are recorded and acknowledged but change no charge.
    pub charge: Option<EventCharge>,
}

/// A verified body we cannot read. `reason` is in our own words and never
/// quotes the body (it is stored and logged; the body may hold anything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event is not one we can read: {reason}")]
pub struct Unreadable {
    pub reason: String,
}

impl Unreadable {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// From serde's error, keeping only where and what kind of fault: its
    /// own message can quote the body (`invalid type: string "..."`). A
    /// missing member is named: serde takes that name from our types.
    fn json(within: &str, error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = error.path().to_string();
        let error = error.into_inner();
        let member = match path.as_str() {
            "." => within.to_string(),
            path if within == "the event" => format!("`{path}`"),
            path => format!("`{within}.{path}`"),
        };
        let what = match error.classify() {
            Category::Data => match error
                .to_string()
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                Some(name) => format!("{member} has no `{name}`"),
                None => format!("{member} is not of the expected type or value"),
            },
            Category::Syntax | Category::Eof | Category::Io => "the body is not JSON".to_string(),
        };
        match error.line() {
            0 => Self::new(what),
            line => Self::new(format!("{what} (line {line}, column {})", error.column())),
        }
    }
}

/// An RFC 3339 time (`Z` or any `±hh:mm` offset, any fraction) as Unix
/// milliseconds, the instant events are ordered by. A fraction below a
/// millisecond is cut, never rounded: `.9999` is `.999`, so no event moves
/// into the next millisecond. A time before 1970 cannot be an event's:
/// refused.
fn unix_ms(text: &str) -> Option<u64> {
    let nanos = OffsetDateTime::parse(text, &Rfc3339)
        .ok()?
        .unix_timestamp_nanos();
    if nanos < 0 {
        return None;
    }
    u64::try_from(nanos / 1_000_000).ok()
}

impl Event {
    /// Parse a verified body. What cannot be read is [`Unreadable`]: the
    /// caller keeps the body for an operator rather than dropping it.
    pub fn parse(body: &[u8]) -> Result<Self, Unreadable> {
        let mut json = serde_json::Deserializer::from_slice(body);
        let raw: RawEvent = serde_path_to_error::deserialize(&mut json)
            .map_err(|e| Unreadable::json("the event", e))?;
        json.end()
            .map_err(|_| Unreadable::new("the body is not JSON: more follows the event"))?;
        if raw.id.is_empty() || raw.id.len() > 255 {
            return Err(Unreadable::new("id must be 1 to 255 characters"));
        }
        let created_at_ms = unix_ms(&raw.created_at).ok_or_else(|| {
            Unreadable::new(
                "createdAt is not an RFC 3339 time (such as 2026-11-21T18:00:00.250+08:00) from 1970 on",
            )
        })?;
        let charge = match rank(&raw.kind) {
            Some(_) => Some(
                serde_path_to_error::deserialize::<_, EventCharge>(raw.data.object)
                    .map_err(|e| Unreadable::json("data.object", e))?,
            ),
            None => None,
        };
        Ok(Self {
            id: raw.id,
            kind: raw.kind,
            created_at: raw.created_at,
            created_at_ms,
            charge,
        })
    }
}

/// How far along its life an event puts a charge. A charge only moves to a
/// higher rank, or to a later event of the same rank; an older or lower-ranked
/// event arriving late is recorded but changes nothing.
pub fn rank(event_type: &str) -> Option<u8> {
    match event_type {
        "charge.pending" => Some(0),
        "charge.failed" => Some(1),
        "charge.succeeded" => Some(2),
        "charge.closed" => Some(3),
        _ => None,
    }
}

/// The repository's test key pair (`events/keys/`, test only), for unit
/// tests that need signed events.
#[cfg(test)]
pub(crate) mod test_key {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use rustls_pki_types::PrivatePkcs8KeyDer;
    use rustls_pki_types::pem::PemObject;

    const PRIVATE: &str = include_str!("../../../events/keys/qbit-webhook-test.key.pem");
    pub const PUBLIC: &str = include_str!("../../../events/keys/qbit-webhook-test.pub.pem");

    /// The base64 signature of `body`, as Qbit sends it.
    pub fn sign(body: &[u8]) -> String {
        let der = PrivatePkcs8KeyDer::from_pem_slice(PRIVATE.as_bytes()).unwrap();
        let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            body,
            &mut signature,
        )
        .unwrap();
        STANDARD.encode(signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::qbit::webhook::test_key::{PUBLIC, sign};

    #[test]
    fn a_signature_verifies_only_for_the_exact_bytes() {
        let key = WebhookKey::from_pem(PUBLIC).unwrap();
        let body = br#"{"id":"evt_1","type":"charge.succeeded"}"#;
        let signature = Signature::from_header(Some(&sign(body))).unwrap();
        assert_eq!(key.verify(body, &signature), Ok(()));
        // Same JSON, other bytes: refused.
        assert_eq!(
            key.verify(
                br#"{"id": "evt_1", "type": "charge.succeeded"}"#,
                &signature
            ),
            Err(SignatureError::Mismatch)
        );
        let zeros = Signature::from_header(Some(&STANDARD.encode([0u8; 256]))).unwrap();
        assert_eq!(key.verify(body, &zeros), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_header_is_read_before_any_key_is_needed() {
        assert_eq!(Signature::from_header(None), Err(SignatureError::Missing));
        assert_eq!(
            Signature::from_header(Some("")),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            Signature::from_header(Some("  ")),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            Signature::from_header(Some("%%%not base64")),
            Err(SignatureError::NotBase64)
        );
        let signature = Signature::from_header(Some(" AAEC ")).unwrap();
        assert_eq!(format!("{signature:?}"), "Signature(3 bytes)");
    }

    #[test]
    fn a_bad_key_is_a_deployment_error() {
        let err = WebhookKey::from_pem("not a key").err().unwrap();
        assert_eq!(err.status(), 500);
    }

    #[test]
    fn events_parse_with_their_time_and_charge() {
        let body = br#"{"id":"evt_1","object":"event","type":"charge.succeeded","createdAt":"2026-11-21T10:00:00.250Z",
            "data":{"object":{"id":"ch_1","object":"charge","paid":true,"status":"succeeded","amount":1000,
            "currency":"USD","externalOrderId":"o-1","paymentPageUrl":"https://x"}}}"#;
        let event = Event::parse(body).unwrap();
        assert_eq!(event.created_at_ms, 1_795_255_200_250);
        assert_eq!(event.charge.unwrap().amount, 1000);

        let other = br#"{"id":"evt_2","type":"payout.paid","createdAt":"2026-11-21T10:00:00Z","data":{"object":{"x":1}}}"#;
        assert_eq!(Event::parse(other).unwrap().charge, None);

        // What cannot be read says why in our words, never quoting the body.
        for (bad, reason) in [
            (&br#"{"hello":"world"}"#[..], "the event has no `id` (line 1, column 17)"),
            (br#"{"id":"evt_3"}"#, "the event has no `type` (line 1, column 14)"),
            (br#"{"id":"secret-ish","#, "the body is not JSON (line 1, column 19)"),
            (br#"{"id":"e","type":"x","createdAt":"x","data":{"object":{}}} tail"#, "the body is not JSON: more follows the event"),
            (
                br#"{"id":["secret-ish"],"type":"x","createdAt":"x","data":{"object":{}}}"#,
                "`id` is not of the expected type or value (line 1, column 6)",
            ),
            (
                br#"{"id":"e","type":"charge.succeeded","createdAt":"yesterday","data":{"object":{}}}"#,
                "createdAt is not an RFC 3339 time (such as 2026-11-21T18:00:00.250+08:00) from 1970 on",
            ),
            (
                br#"{"id":"e","type":"charge.succeeded","createdAt":"2026-11-21T10:00:00Z","data":{"object":{"id":"c"}}}"#,
                "data.object has no `status`",
            ),
            (
                br#"{"id":"e","type":"charge.succeeded","createdAt":"2026-11-21T10:00:00Z","data":{"object":
                    {"id":"c","status":"succeeded","paid":true,"amount":"secret-ish","currency":"USD","externalOrderId":"o"}}}"#,
                "`data.object.amount` is not of the expected type or value",
            ),
        ] {
            let error = Event::parse(bad).unwrap_err();
            assert_eq!(error.reason, reason, "{}", String::from_utf8_lossy(bad));
        }
    }

    /// An event id is 1 to 255 characters: the key of its record.
    #[test]
    fn event_ids_are_1_to_255_characters() {
        let parse = |id: &str| {
            let body = serde_json::json!({"id": id, "type": "payout.paid",
                "createdAt": "2026-11-21T10:00:00Z", "data": {"object": {}}});
            Event::parse(body.to_string().as_bytes()).map(|e| e.id)
        };
        let longest = "e".repeat(255);
        assert_eq!(parse("e"), Ok("e".to_string()));
        assert_eq!(parse(&longest), Ok(longest.clone()));
        for bad in [String::new(), "e".repeat(256)] {
            assert_eq!(
                parse(&bad),
                Err(Unreadable::new("id must be 1 to 255 characters")),
                "{} characters",
                bad.len()
            );
        }
    }

    /// The ranks the forward-only rule compares, exactly.
    #[test]
    fn charge_event_ranks_are_pending_failed_succeeded_closed() {
        assert_eq!(rank("charge.pending"), Some(0));
        assert_eq!(rank("charge.failed"), Some(1));
        assert_eq!(rank("charge.succeeded"), Some(2));
        assert_eq!(rank("charge.closed"), Some(3));
        assert_eq!(rank("charge.refunded"), None);
        assert_eq!(rank("payout.paid"), None);
    }

    /// `createdAt` in Unix ms, through a whole event.
    fn created_at_ms(created_at: &str) -> Option<u64> {
        let body = serde_json::json!({"id": "evt_t", "type": "payout.paid", "createdAt": created_at,
                                      "data": {"object": {}}});
        Event::parse(body.to_string().as_bytes())
            .ok()
            .map(|e| e.created_at_ms)
    }

    #[test]
    fn event_times_are_read_with_their_offset_to_the_millisecond() {
        // 2026-11-21T10:00:00Z
        const AT: u64 = 1_795_255_200_000;
        for (text, ms) in [
            ("2026-11-21T10:00:00Z", AT),
            ("2026-11-21T10:00:00.2Z", AT + 200),
            ("2026-11-21T10:00:00.250Z", AT + 250),
            // Below a millisecond is cut, never rounded up.
            ("2026-11-21T10:00:00.123456789Z", AT + 123),
            ("2026-11-21T18:00:00+08:00", AT),
            ("2026-11-21T18:00:00.2+08:00", AT + 200),
            ("2026-11-21T18:00:00.250+08:00", AT + 250),
            ("2026-11-21T18:00:00.123456789+08:00", AT + 123),
            ("2026-11-21T04:30:00-05:30", AT),
            ("2026-11-21T04:30:00.250-05:30", AT + 250),
            ("2026-11-21T04:30:00.123456789-05:30", AT + 123),
            // RFC 3339 allows lower case, and a space for the `T`.
            ("2026-11-21t10:00:00.250z", AT + 250),
            ("2026-11-21 10:00:00.250Z", AT + 250),
            ("1970-01-01T00:00:00Z", 0),
        ] {
            assert_eq!(created_at_ms(text), Some(ms), "{text}");
        }
        // One instant, three ways: one key.
        assert_eq!(
            created_at_ms("2026-11-21T10:00:00.5Z"),
            created_at_ms("2026-11-21T18:00:00.500+08:00")
        );
        assert_eq!(
            created_at_ms("2026-11-21T10:00:00.5Z"),
            created_at_ms("2026-11-21T04:30:00.5-05:30")
        );
    }

    #[test]
    fn event_times_that_are_not_rfc_3339_after_the_epoch_are_refused() {
        for text in [
            "yesterday",
            "",
            "2026-11-21",
            "2026-11-21T10:00:00",
            "2026-11-21T10:00:00+0800",
            "2026-11-21T25:00:00Z",
            "2026-02-30T10:00:00Z",
            "2026-11-21T10:00:00.Z",
            "1969-12-31T23:59:59.999Z",
            // Half a millisecond before 1970 must not be cut to 0.
            "1969-12-31T23:59:59.9995Z",
            "1970-01-01T08:00:00+08:01",
        ] {
            assert_eq!(created_at_ms(text), None, "{text}");
        }
    }
}
