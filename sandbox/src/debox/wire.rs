//! DeBox's rules that need no state: how points are written, how a call is
//! signed, how long tokens live. Pure functions, so the routes, the control
//! API and `main`'s argument parsing share them.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use rand::distr::Alphanumeric;
use sha1::{Digest, Sha1};

/// Tokens and codes live 5 minutes.
pub const TOKEN_LIFETIME_MS: u64 = 5 * 60 * 1000;
/// The largest clock difference a signed call may have.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// `SHA1(app_secret + nonce + timestamp)`, lowercase hex.
pub fn signature(app_secret: &str, nonce: &str, timestamp: &str) -> String {
    let digest = Sha1::digest(format!("{app_secret}{nonce}{timestamp}").as_bytes());
    digest.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Points with at most two decimals, as hundredths.
pub fn parse_points(s: &str) -> Option<u64> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 12
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
        || s.ends_with('.')
    {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<u64>().ok()?;
    Some(whole.parse::<u64>().ok()? * 100 + cents)
}

pub fn format_points(hundredths: u64) -> String {
    match hundredths % 100 {
        0 => format!("{}", hundredths / 100),
        c if c % 10 == 0 => format!("{}.{}", hundredths / 100, c / 10),
        c => format!("{}.{c:02}", hundredths / 100),
    }
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub(super) fn random(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_and_print() {
        assert_eq!(parse_points("10.5"), Some(1050));
        assert_eq!(parse_points("0.01"), Some(1));
        assert_eq!(parse_points("7"), Some(700));
        for bad in ["1.001", "-1", "1e3", ".5", "5.", "", "1,0"] {
            assert_eq!(parse_points(bad), None, "{bad}");
        }
        assert_eq!(format_points(1050), "10.5");
        assert_eq!(format_points(700), "7");
        assert_eq!(format_points(1), "0.01");
    }
}
