//! What both providers' clients share: one HTTP client per container, with
//! timeouts well inside the function's own, and how a transport failure maps
//! to the contract (a timeout is 504, anything else unreadable is 502).

use std::time::Duration;

use http::StatusCode;

use crate::ApiError;

/// Connect and total timeouts for calls to a provider. The defaults leave
/// room inside the functions' 15 s timeout for the store and the answer.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            total: Duration::from_secs(10),
        }
    }
}

/// The one `reqwest` client of a container (rustls; built once, reused, so
/// connections and TLS sessions are kept between invocations).
pub fn http_client(timeouts: Timeouts) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.total)
        .pool_idle_timeout(Duration::from_secs(50))
        // Never follow a redirect: it would carry DeBox's signed headers and a
        // transfer's token to another host. A 3xx is an unreadable answer.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("payments-bundle/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A failure to get any answer from a provider.
pub fn transport_error(provider: &str, error: &reqwest::Error) -> ApiError {
    // reqwest's Display names the URL, never headers, so no credential leaks.
    tracing::warn!(provider, error = %error, timeout = error.is_timeout(), "provider call failed");
    if error.is_timeout() {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!("{provider} did not answer in time"),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("{provider} could not be reached or dropped the connection"),
        )
    }
}

/// A provider answered, but with something we cannot read.
pub fn unreadable(provider: &str, status: StatusCode, what: &str) -> ApiError {
    tracing::warn!(
        provider,
        status = status.as_u16(),
        what,
        "provider answer unreadable"
    );
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!("{provider} sent an answer we could not read ({what})"),
    )
}
