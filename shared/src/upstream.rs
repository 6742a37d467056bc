//! What both providers' clients share: one HTTP client per container, with
//! timeouts well inside the function's own, answers read up to a size cap,
//! and how a transport failure maps to the contract (a timeout is 504,
//! anything else unreadable is 502).

use std::time::Duration;

use http::StatusCode;

use crate::ApiError;
use crate::tls::{TlsError, provider_tls};

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

/// Why a provider client could not be built (at init, never per request).
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The one `reqwest` client of a container (rustls over Mozilla's roots,
/// [`crate::tls::provider_tls`]; built once, reused, so connections and
/// TLS sessions are kept between invocations).
pub fn http_client(timeouts: Timeouts) -> Result<reqwest::Client, ClientBuildError> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(provider_tls()?)
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.total)
        .pool_idle_timeout(Duration::from_secs(50))
        // Never follow a redirect: it would carry DeBox's signed headers and a
        // transfer's token to another host. A 3xx is an unreadable answer.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("payments-bundle/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// The most we read of any provider's answer. The largest real answer in
/// the contract is a 100-item charge list, far below this; anything bigger
/// is not an answer we can trust, and reading it would cost the function's
/// memory and time.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Why no whole answer could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection failed or timed out before the answer was whole.
    Transport(reqwest::Error),
    /// The answer is larger than [`MAX_ANSWER_BYTES`]; the rest was not read.
    TooLarge,
}

impl ReadError {
    /// The contract's error: a lost answer as [`transport_error`] maps it, a
    /// too-large one as unreadable (502).
    pub fn into_api_error(self, provider: &str, status: StatusCode) -> ApiError {
        match self {
            Self::Transport(e) => transport_error(provider, &e),
            Self::TooLarge => unreadable(provider, status, "the answer is larger than 1 MiB"),
        }
    }
}

/// The answer's body, read chunk by chunk and given up on as soon as it
/// passes `cap` bytes (a declared length over the cap is refused unread).
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<bytes::Bytes, ReadError> {
    if response
        .content_length()
        .is_some_and(|declared| declared > cap as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A failure to get any answer from a provider.
pub fn transport_error(provider: &str, error: &reqwest::Error) -> ApiError {
    // reqwest's Display names the URL, never headers, so no credential leaks.
    tracing::warn!(provider, error = %error, timeout = error.is_timeout(), "provider call failed");
    if error.is_timeout() {
        timed_out(provider)
    } else {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("{provider} could not be reached or dropped the connection"),
        )
    }
}

/// 504: no answer from `provider` in time (reqwest's timeout, or a call we
/// cut at its time budget).
pub fn timed_out(provider: &str) -> ApiError {
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        format!("{provider} did not answer in time"),
    )
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
