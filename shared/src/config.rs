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
    #[error("environment variable {name} is not a valid http(s) URL: {reason}")]
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
    pub fn base_url(&self, name: &'static str, default: &str) -> Result<Url, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_string());
        let bad = |reason: String| ConfigError::BadUrl { name, reason };
        let url = Url::parse(raw.trim_end_matches('/')).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(bad("expected http:// or https:// with a host".into()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
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
        let nested = env(&[("QBIT_BASE_URL", "http://h/prefix/")])
            .qbit_base_url()
            .unwrap();
        assert_eq!(nested.as_str(), "http://h/prefix");
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
        for bad in ["ftp://x", "not a url", "http://h/?q=1"] {
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
