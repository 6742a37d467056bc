//! Configuration from the environment, with the contract's names and defaults.
//!
//! Read once at start-up; a missing or malformed variable stops the function
//! with an error naming it, before any request is taken.

use url::Url;

pub const PAYMENTS_SECRET_ID: &str = "PAYMENTS_SECRET_ID";
pub const PAYMENTS_TABLE: &str = "PAYMENTS_TABLE";
pub const QBIT_BASE_URL: &str = "QBIT_BASE_URL";
pub const DEBOX_OPEN_BASE_URL: &str = "DEBOX_OPEN_BASE_URL";
pub const DEBOX_APP_BASE_URL: &str = "DEBOX_APP_BASE_URL";
pub const DEBOX_MERCHANT_USER_ID: &str = "DEBOX_MERCHANT_USER_ID";

pub const DEFAULT_QBIT_BASE_URL: &str = "https://matrix-content-s.ailingual.cn";
pub const DEFAULT_DEBOX_OPEN_BASE_URL: &str = "https://open.debox.pro";
pub const DEFAULT_DEBOX_APP_BASE_URL: &str = "https://app.debox.pro";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is not a usable base URL: {reason}")]
    BadUrl { name: &'static str, reason: String },
    #[error("environment variable {name} {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Reads variables through `lookup`, so tests need not touch the process
/// environment.
pub struct Env<F: Fn(&str) -> Option<String>> {
    lookup: F,
}

/// The process environment.
pub fn process_env() -> Env<impl Fn(&str) -> Option<String>> {
    Env::new(|name| std::env::var(name).ok())
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// A set, non-empty variable.
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    /// A base URL, or its default; always without a trailing slash, so
    /// `base + "/api/v1/..."` is right either way.
    ///
    /// `https://` only, except plain `http://` to a loopback host (the
    /// sandbox of a local run or a test): provider calls carry our API keys
    /// and the buyers' tokens, which must never cross a network in clear.
    pub fn base_url(&self, name: &'static str, default: &str) -> Result<Url, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_string());
        let bad = |reason: String| ConfigError::BadUrl { name, reason };
        let url = Url::parse(raw.trim_end_matches('/')).map_err(|e| bad(e.to_string()))?;
        let Some(host) = url.host() else {
            return Err(bad("expected https:// with a host".into()));
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(bad(
                    "plain http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); use https://"
                        .into(),
                ));
            }
            _ => return Err(bad("expected https:// with a host".into())),
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a base URL takes no query or fragment".into()));
        }
        Ok(url)
    }

    pub fn secret_id(&self) -> Result<String, ConfigError> {
        self.required(PAYMENTS_SECRET_ID)
    }

    pub fn qbit_base_url(&self) -> Result<Url, ConfigError> {
        self.base_url(QBIT_BASE_URL, DEFAULT_QBIT_BASE_URL)
    }

    pub fn debox_open_base_url(&self) -> Result<Url, ConfigError> {
        self.base_url(DEBOX_OPEN_BASE_URL, DEFAULT_DEBOX_OPEN_BASE_URL)
    }

    pub fn debox_app_base_url(&self) -> Result<Url, ConfigError> {
        self.base_url(DEBOX_APP_BASE_URL, DEFAULT_DEBOX_APP_BASE_URL)
    }

    pub fn table(&self) -> Result<String, ConfigError> {
        self.required(PAYMENTS_TABLE)
    }

    pub fn merchant_user_id(&self) -> Result<crate::debox::UserId, ConfigError> {
        let raw = self.required(DEBOX_MERCHANT_USER_ID)?;
        crate::debox::UserId::parse(&raw).map_err(|reason| ConfigError::Invalid {
            name: DEBOX_MERCHANT_USER_ID,
            reason,
        })
    }
}

/// A host that never leaves this machine: 127.0.0.0/8, ::1 or `localhost`
/// (the `url` crate has already lower-cased a domain).
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => *name == "localhost",
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String> + use<>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::new(move |name| map.get(name).cloned())
    }

    #[test]
    fn missing_required_variable_is_named() {
        let err = env(&[]).secret_id().unwrap_err();
        assert_eq!(err, ConfigError::Missing("PAYMENTS_SECRET_ID"));
        assert_eq!(
            err.to_string(),
            "environment variable PAYMENTS_SECRET_ID is required but not set"
        );
        assert_eq!(env(&[("PAYMENTS_SECRET_ID", "  ")]).secret_id(), Err(err));
    }

    #[test]
    fn base_url_defaults_and_loses_trailing_slash() {
        assert_eq!(
            env(&[]).qbit_base_url().unwrap().as_str(),
            "https://matrix-content-s.ailingual.cn/"
        );
        let url = env(&[("QBIT_BASE_URL", "http://127.0.0.1:8720/")])
            .qbit_base_url()
            .unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8720/");
        let nested = env(&[("QBIT_BASE_URL", "https://h/prefix/")])
            .qbit_base_url()
            .unwrap();
        assert_eq!(nested.as_str(), "https://h/prefix");
    }

    #[test]
    fn plain_http_is_refused_unless_the_host_is_loopback() {
        for name in [QBIT_BASE_URL, DEBOX_OPEN_BASE_URL, DEBOX_APP_BASE_URL] {
            let read = |value: &str| {
                let env = env(&[(name, value)]);
                match name {
                    QBIT_BASE_URL => env.qbit_base_url(),
                    DEBOX_OPEN_BASE_URL => env.debox_open_base_url(),
                    _ => env.debox_app_base_url(),
                }
            };
            for refused in [
                "http://example.com",
                "http://10.0.0.1:8720",
                "http://localhost.example.com",
                "http://[::2]/",
            ] {
                let err = read(refused).unwrap_err();
                assert_eq!(
                    err.to_string(),
                    format!(
                        "environment variable {name} is not a usable base URL: plain http:// is only \
                         allowed to a loopback host (127.0.0.0/8, ::1, localhost); use https://"
                    ),
                    "{refused}"
                );
            }
            for allowed in [
                "http://127.0.0.1:8720",
                "http://localhost:1",
                "http://LOCALHOST:1/p",
                "http://127.9.0.1",
                "http://[::1]:80",
                "https://example.com",
            ] {
                assert!(read(allowed).is_ok(), "{allowed}");
            }
        }
    }

    #[test]
    fn merchant_user_id_is_required_and_checked() {
        assert_eq!(
            env(&[]).merchant_user_id().unwrap_err(),
            ConfigError::Missing("DEBOX_MERCHANT_USER_ID")
        );
        let err = env(&[("DEBOX_MERCHANT_USER_ID", "has space")])
            .merchant_user_id()
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable DEBOX_MERCHANT_USER_ID must be"),
            "{err}"
        );
        assert_eq!(
            env(&[("DEBOX_MERCHANT_USER_ID", "rqg6g4j1")])
                .merchant_user_id()
                .unwrap()
                .as_str(),
            "rqg6g4j1"
        );
        assert_eq!(
            env(&[]).table().unwrap_err(),
            ConfigError::Missing("PAYMENTS_TABLE")
        );
    }

    #[test]
    fn malformed_base_url_is_named() {
        for bad in [
            "ftp://x",
            "not a url",
            "https://h/?q=1",
            "https://h/#f",
            "file:///etc",
        ] {
            let err = env(&[("QBIT_BASE_URL", bad)]).qbit_base_url().unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::BadUrl {
                        name: "QBIT_BASE_URL",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}
