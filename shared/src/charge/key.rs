//! The `Idempotency-Key` header (1 to 255 printable ASCII characters), and
//! the fingerprint of the request it was sent with.

use http::HeaderMap;

use crate::ApiError;

pub const HEADER: &str = "idempotency-key";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The header's key, if sent; 400 when it is sent but malformed.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, ApiError> {
        let mut values = headers.get_all(HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        let bad = || {
            ApiError::invalid_field(
                "Idempotency-Key",
                "must be 1 to 255 printable ASCII characters, sent once",
            )
        };
        if values.next().is_some() {
            return Err(bad());
        }
        let key = value.to_str().map_err(|_| bad())?;
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(bad());
        }
        Ok(Some(Self(key.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 of a request's canonical form, as lowercase hex.
pub fn fingerprint(canonical: &[u8]) -> String {
    crate::sha256_hex(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(values: &[&[u8]]) -> Result<Option<IdempotencyKey>, ApiError> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(HEADER, http::HeaderValue::from_bytes(v).unwrap());
        }
        IdempotencyKey::from_headers(&headers)
    }

    #[test]
    fn keys_are_bounded_printable_ascii() {
        assert_eq!(key(&[]).unwrap(), None);
        assert_eq!(
            key(&[b"order-42 retry"]).unwrap().unwrap().as_str(),
            "order-42 retry"
        );
        assert!(key(&["k".repeat(255).as_bytes()]).unwrap().is_some());
        for bad in [
            &b""[..],
            "k".repeat(256).as_bytes(),
            "clé".as_bytes(),
            b"tab\there",
        ] {
            let err = key(&[bad]).unwrap_err();
            assert_eq!(err.detail().unwrap()["field"], "Idempotency-Key");
        }
        assert!(key(&[b"a", b"b"]).is_err(), "sent twice");
    }

    #[test]
    fn fingerprints_are_sha256_hex() {
        // echo -n abc | sha256sum
        assert_eq!(
            fingerprint(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
