//! Qbit Pay's webhook transport, as the sandbox sends it: a body signed with
//! an RSA key (PKCS#1 v1.5, SHA-256, over the exact bytes, base64 in
//! `X-QbitPay-Signature`) and POSTed to the merchant's URL.
//!
//! It signs bytes and delivers a signed body; what an event holds is
//! [`crate::qbit`]'s business. It imports nothing from the sandbox, so qbit
//! can use it without a cycle.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;

/// The header the signature travels in.
pub const SIGNATURE_HEADER: &str = "X-QbitPay-Signature";

/// The key the sandbox signs events with.
pub struct SigningKey {
    pair: RsaKeyPair,
}

impl SigningKey {
    /// From a PKCS#8 PEM ("BEGIN PRIVATE KEY"), or a fresh 2048-bit key.
    pub fn new(pem: Option<&str>) -> Result<Self, String> {
        let pair = match pem {
            Some(pem) => {
                let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
                    .map_err(|e| format!("webhook key: {e}"))?;
                RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
                    .map_err(|e| format!("webhook key: {e}"))?
            }
            None => {
                RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|e| e.to_string())?
            }
        };
        Ok(Self { pair })
    }

    /// base64 of the signature over `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                body,
                &mut signature,
            )
            .expect("signing with a valid RSA key and a buffer of its size");
        STANDARD.encode(signature)
    }

    /// The public half as PEM (SubjectPublicKeyInfo), for the merchant.
    pub fn public_pem(&self) -> String {
        use aws_lc_rs::encoding::AsDer;
        let der = self
            .pair
            .public_key()
            .as_der()
            .expect("an RSA public key encodes");
        let encoded = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }
}

/// POST the JSON `body` with its `signature` to `url`; the status the
/// merchant answered, or 0 when nothing answered.
pub async fn deliver(url: &str, body: &str, signature: &str) -> u16 {
    let result = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body.to_string())
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await;
    match result {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}
