//! DeBox's request signature: every open-API call carries `app_id`,
//! `X-API-KEY`, `nonce` (8 random digits), `timestamp` (Unix milliseconds)
//! and `signature` = SHA-1 of `app_secret + nonce + timestamp`, as lowercase
//! hex (the hex case is our assumption).

use rand::Rng;
use sha1::{Digest, Sha1};

/// `SHA1(app_secret + nonce + timestamp)` as lowercase hex.
pub fn signature(app_secret: &str, nonce: &str, timestamp: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(app_secret.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(timestamp.as_bytes());
    crate::lower_hex(&hasher.finalize())
}

/// Eight random digits, from the thread's cryptographically secure RNG
/// (ChaCha, seeded by the OS).
pub fn nonce() -> String {
    format!("{:08}", rand::rng().random_range(0..100_000_000u32))
}

/// Now, in Unix milliseconds, as the `timestamp` header carries it.
pub fn timestamp_ms() -> String {
    crate::now_ms().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors computed independently, with Python's hashlib:
    /// `hashlib.sha1((secret + nonce + timestamp).encode()).hexdigest()`.
    #[test]
    fn matches_independent_vectors() {
        let vectors = [
            (
                "app_secret_123",
                "12345678",
                "1700000000000",
                "29bfe2575c800985b478d5a477c11f2b55ec09a7",
            ),
            (
                "ohpdAP9W55gyXeJ0-secret",
                "00000042",
                "1795255200123",
                "1fdaad0f093f7525881abb14ee557299b0c3d682",
            ),
            (
                "",
                "99999999",
                "0",
                "18f2bd56417f265b9f5ef044edb86b5d53022bf6",
            ),
        ];
        for (secret, nonce, timestamp, expected) in vectors {
            assert_eq!(signature(secret, nonce, timestamp), expected);
        }
    }

    #[test]
    fn nonces_are_eight_digits() {
        for _ in 0..1000 {
            let n = nonce();
            assert_eq!(n.len(), 8, "{n}");
            assert!(n.bytes().all(|b| b.is_ascii_digit()), "{n}");
        }
    }

    #[test]
    fn timestamps_are_milliseconds() {
        let t: u128 = timestamp_ms().parse().unwrap();
        assert!(t > 1_700_000_000_000, "{t}");
    }
}
