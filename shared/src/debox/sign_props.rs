//! The DeBox request signature equals SHA-1 of `app_secret + nonce +
//! timestamp` computed by another implementation (`sha1_smol`), for any
//! input, as 40 lowercase hex digits.

use proptest::prelude::*;

use super::sign::{nonce, signature};

fn independent_sha1(secret: &str, nonce: &str, timestamp: &str) -> String {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(format!("{secret}{nonce}{timestamp}").as_bytes());
    hasher.digest().to_string()
}

proptest! {
    /// Any strings at all (the secret may hold anything Secrets Manager does).
    #[test]
    fn the_signature_is_sha1_of_the_documented_input(
        secret in any::<String>(),
        nonce in any::<String>(),
        timestamp in any::<String>(),
    ) {
        let ours = signature(&secret, &nonce, &timestamp);
        prop_assert_eq!(&ours, &independent_sha1(&secret, &nonce, &timestamp));
        prop_assert_eq!(ours.len(), 40);
        prop_assert!(ours.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{}", ours);
    }

    /// As sent: a real secret, eight digits, Unix milliseconds.
    #[test]
    fn the_signature_of_a_real_call_is_sha1_of_the_documented_input(
        secret in "[A-Za-z0-9_-]{16,64}",
        timestamp in 1_600_000_000_000u64..4_000_000_000_000,
    ) {
        let (nonce, timestamp) = (nonce(), timestamp.to_string());
        prop_assert_eq!(
            signature(&secret, &nonce, &timestamp),
            independent_sha1(&secret, &nonce, &timestamp)
        );
    }
}
