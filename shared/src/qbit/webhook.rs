//! Qbit Pay's webhook events: the signature over the raw body, and the
//! event itself.
//!
//! ASSUMED (the seed's "webhooks" page is missing; see providers.md):
//! `X-QbitPay-Signature` holds the base64 of an RSA PKCS#1 v1.5 SHA-256
//! signature over the body bytes exactly as sent; the key is a PEM
//! SubjectPublicKeyInfo; no timestamp is signed, so replays are stopped by
//! recording event ids. Events are
//! `{"id", "object": "event", "type", "createdAt", "data": {"object": <charge>}}`.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;

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

    /// Verify `signature` (the header's value) over `body`, the exact bytes.
    pub fn verify(&self, body: &[u8], signature: Option<&str>) -> Result<(), SignatureError> {
        let signature = signature
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(SignatureError::Missing)?;
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| SignatureError::NotBase64)?;
        // aws-lc-rs compares in constant time, and takes SubjectPublicKeyInfo DER.
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.der)
            .verify(body, &signature)
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
    /// `createdAt` in Unix milliseconds, for ordering.
    pub created_at_ms: u64,
    /// The charge, for the `charge.*` types we know; `None` for other types,
    /// which are recorded and acknowledged but change no charge.
    pub charge: Option<EventCharge>,
}

impl Event {
    /// Parse a verified body. A signed body we cannot read is a 400: Qbit
    /// sent something we do not understand, and retrying will not help.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let bad = |what: &str| {
            ApiError::invalid_request(format!("the event is not one we can read: {what}"))
        };
        let raw: RawEvent = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
        if raw.id.is_empty() || raw.id.len() > 255 {
            return Err(bad("id must be 1 to 255 characters"));
        }
        let created_at_ms = humantime::parse_rfc3339_weak(&raw.created_at)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64)
            .ok_or_else(|| bad("createdAt is not an ISO 8601 time"))?;
        let charge = match rank(&raw.kind) {
            Some(_) => Some(
                serde_json::from_value::<EventCharge>(raw.data.object)
                    .map_err(|e| bad(&format!("data.object: {e}")))?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
    use rustls_pki_types::PrivatePkcs8KeyDer;

    const PRIVATE: &str = include_str!("../../../events/keys/qbit-webhook-test.key.pem");
    const PUBLIC: &str = include_str!("../../../events/keys/qbit-webhook-test.pub.pem");

    fn sign(body: &[u8]) -> String {
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
        let _ = pair.public_key();
        STANDARD.encode(signature)
    }

    #[test]
    fn a_signature_verifies_only_for_the_exact_bytes() {
        let key = WebhookKey::from_pem(PUBLIC).unwrap();
        let body = br#"{"id":"evt_1","type":"charge.succeeded"}"#;
        let signature = sign(body);
        assert_eq!(key.verify(body, Some(&signature)), Ok(()));
        // Same JSON, other bytes: refused.
        assert_eq!(
            key.verify(
                br#"{"id": "evt_1", "type": "charge.succeeded"}"#,
                Some(&signature)
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(key.verify(body, None), Err(SignatureError::Missing));
        assert_eq!(key.verify(body, Some("")), Err(SignatureError::Missing));
        assert_eq!(
            key.verify(body, Some("%%%not base64")),
            Err(SignatureError::NotBase64)
        );
        assert_eq!(
            key.verify(body, Some(&STANDARD.encode([0u8; 256]))),
            Err(SignatureError::Mismatch)
        );
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

        for bad in [
            &br#"{"id":"evt_3"}"#[..],
            br#"{"id":"e","type":"charge.succeeded","createdAt":"yesterday","data":{"object":{}}}"#,
        ] {
            assert_eq!(Event::parse(bad).unwrap_err().status(), 400);
        }
    }
}
