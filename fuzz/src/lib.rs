//! What the fuzz targets share: a runtime, the contract's error shape, the
//! repository's webhook test key, clients that can reach nothing
//! (`offline`), and a provider stand-in on loopback (`stub`).

pub mod offline;
pub mod stub;

use std::future::Future;
use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;

/// One runtime per fuzzing process, on this thread: a stub server spawned on
/// it runs while `block_on` waits for a client.
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
        })
        .block_on(future)
}

/// The repository's webhook test key pair (`events/keys/`, test only).
pub const WEBHOOK_PUBLIC_PEM: &str = include_str!("../../events/keys/qbit-webhook-test.pub.pem");
const WEBHOOK_PRIVATE_PEM: &str = include_str!("../../events/keys/qbit-webhook-test.key.pem");

/// The `X-QbitPay-Signature` Qbit would send with `body` (base64 of RSA
/// PKCS#1 v1.5 SHA-256, as the sandbox signs).
pub fn sign_webhook(body: &[u8]) -> String {
    static PAIR: OnceLock<RsaKeyPair> = OnceLock::new();
    let pair = PAIR.get_or_init(|| {
        let der = PrivatePkcs8KeyDer::from_pem_slice(WEBHOOK_PRIVATE_PEM.as_bytes()).unwrap();
        RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap()
    });
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

/// Assert that `body` is an error in the contract's shape for `status`:
/// `{"type", "message", "code"?, "detail"?}`, the type fixed by the status,
/// a `detail.field` (when present) a string. Returns the body.
pub fn assert_contract_error(status: u16, body: &str) -> Value {
    let value: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("a {status} body is not JSON ({e}): {body}"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("a {status} body is not an object: {body}"));
    for key in object.keys() {
        assert!(
            ["type", "message", "code", "detail"].contains(&key.as_str()),
            "member {key} outside the contract: {body}"
        );
    }
    let expected_type = match status {
        401 => "authentication_error",
        429 => "rate_limit_error",
        500.. => "api_error",
        _ => "invalid_request_error",
    };
    assert_eq!(value["type"], expected_type, "{status}: {body}");
    let message = value["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "no message: {body}");
    if let Some(code) = object.get("code") {
        assert!(code.is_string(), "code is not a string: {body}");
    }
    // A field's name as sent: a JSON member may be named "" (`{"": 1}`).
    if let Some(field) = value.get("detail").and_then(|d| d.get("field")) {
        assert!(field.is_string(), "detail.field is not a name: {body}");
    }
    value
}
