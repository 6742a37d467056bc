//! DeBox's request values, parsed at the edge. Their bounds are our
//! assumptions (DeBox states none): see `debox/mod.rs`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value that is 1..=`max` printable ASCII characters without spaces.
fn visible_ascii(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())
}

macro_rules! visible_ascii_id {
    ($(#[$doc:meta])* $name:ident, $max:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                if visible_ascii(&s, $max) {
                    Ok(Self(s))
                } else {
                    Err(format!(concat!("must be ", $what, ": 1 to {} printable ASCII characters without spaces"), $max))
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl $name {
            pub fn parse(s: &str) -> Result<Self, String> {
                Self::try_from(s.to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

visible_ascii_id!(
    /// A DeBox user id, such as `ii0k2v5n`.
    UserId, 64, "a DeBox user id"
);
visible_ascii_id!(
    /// An order's serial id, the key that makes a transfer idempotent.
    SerialId, 128, "a serial id"
);

/// The one-time token (merchant pays) or code (user pays) that authorises a
/// transfer. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransferToken(String);

impl TryFrom<String> for TransferToken {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if visible_ascii(&s, 4096) {
            Ok(Self(s))
        } else {
            Err(
                "must be the access_token (or code) DeBox issued: 1 to 4096 printable ASCII characters",
            )
        }
    }
}

impl From<TransferToken> for String {
    fn from(t: TransferToken) -> String {
        t.0
    }
}

impl TransferToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TransferToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransferToken([redacted])")
    }
}

/// The text DeBox shows the paying user: 1 to 256 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PayInfo(String);

impl TryFrom<String> for PayInfo {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.trim().is_empty() || s.chars().count() > 256 || s.chars().any(char::is_control) {
            Err("must be 1 to 256 characters, not blank, without control characters")
        } else {
            Ok(Self(s))
        }
    }
}

impl From<PayInfo> for String {
    fn from(p: PayInfo) -> String {
        p.0
    }
}

impl PayInfo {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where DeBox sends the user after consent: an absolute https URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

impl TryFrom<String> for RedirectUri {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let bad = "must be an absolute https URL (on the app's domain white list at DeBox), at most 2048 characters";
        if s.len() > 2048 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad);
        }
        match url::Url::parse(&s) {
            Ok(url) if url.scheme() == "https" && url.host_str().is_some_and(|h| !h.is_empty()) => {
                Ok(Self(s))
            }
            _ => Err(bad),
        }
    }
}

impl From<RedirectUri> for String {
    fn from(r: RedirectUri) -> String {
        r.0
    }
}

impl RedirectUri {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_printable_ascii_and_bounded() {
        assert!(UserId::parse("ii0k2v5n").is_ok());
        assert!(SerialId::parse("SN-2026-11-21:0001").is_ok());
        for bad in ["", "a b", "ü", "tab\t"] {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
            assert!(SerialId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UserId::parse(&"u".repeat(65)).is_err());
        assert!(SerialId::parse(&"s".repeat(129)).is_err());
    }

    #[test]
    fn redirect_uri_must_be_absolute_https() {
        assert!(RedirectUri::try_from("https://docs.debox.pro/demo/a.html".to_string()).is_ok());
        for bad in [
            "http://shop.example/cb",
            "/cb",
            "https://",
            "javascript:alert(1)",
            "https://a b.example/",
            "ftp://x.example",
            "shop.example/cb",
        ] {
            assert!(RedirectUri::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = TransferToken::try_from("secret-token".to_string()).unwrap();
        assert!(!format!("{t:?}").contains("secret-token"));
    }
}
