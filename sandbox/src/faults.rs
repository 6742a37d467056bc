//! Fault injection: every provider call is counted, then any fault waiting
//! for its path is applied.
//!
//! The counts and the pending faults are this module's own state
//! ([`Faults`]), behind its own lock, so the middleware needs nothing from
//! the providers or the sandbox that composes them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::lock::lock;

/// What to do to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Wait, then answer as usual.
    Delay { ms: u64 },
    /// Answer this status with an `api_error` body, without any effect.
    Status { status: u16 },
    /// Answer 200 with a body that is not JSON, without any effect.
    Garbage,
    /// Apply the call's effect, then drop the connection before the answer
    /// is complete.
    DropAfter,
    /// Never answer.
    Hang,
    /// Apply the call's effect, then answer with its JSON object padded by
    /// a `padding` member of `bytes` bytes, streamed without a length (a
    /// client must stop reading at its own cap). With `status`: answer that
    /// status with a padded `api_error` body instead, without any effect.
    Oversized {
        bytes: usize,
        #[serde(default)]
        status: Option<u16>,
    },
}

impl FaultKind {
    /// Its `kind` on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Delay { .. } => "delay",
            Self::Status { .. } => "status",
            Self::Garbage => "garbage",
            Self::DropAfter => "drop_after",
            Self::Hang => "hang",
            Self::Oversized { .. } => "oversized",
        }
    }
}

/// A fault for the calls to one path (`/api/v1/charges`), optionally one
/// method, for the next `times` calls (every call when absent). With
/// `one_in`: each matching call meets it with a chance of one in `one_in`
/// (a soak's background of faults); a call that escapes it is checked
/// against the faults after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub path: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(flatten)]
    pub kind: FaultKind,
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(default)]
    pub one_in: Option<u32>,
}

impl Fault {
    pub fn new(path: &str, kind: FaultKind) -> Self {
        Self {
            path: path.into(),
            method: None,
            kind,
            times: None,
            one_in: None,
        }
    }

    pub fn one_in(mut self, n: u32) -> Self {
        self.one_in = Some(n);
        self
    }

    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.path == path
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// How many calls each route received, keyed `"METHOD /path"`.
pub type Calls = BTreeMap<String, u64>;

/// The calls counted and the faults waiting, for every provider route.
#[derive(Default)]
pub struct Faults {
    book: Mutex<Book>,
}

#[derive(Default)]
struct Book {
    calls: Calls,
    /// In the order injected; the first that matches a call applies.
    pending: Vec<Fault>,
    /// Faults applied so far, by kind (`"drop_after"`).
    applied: BTreeMap<String, u64>,
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        lock(&self.book)
    }

    /// Calls received so far.
    pub fn calls(&self) -> Calls {
        self.lock().calls.clone()
    }

    /// Calls received on one route, such as `"POST /api/v1/charges"`.
    pub fn calls_to(&self, route: &str) -> u64 {
        self.lock().calls.get(route).copied().unwrap_or(0)
    }

    pub fn inject(&self, fault: Fault) {
        self.lock().pending.push(fault);
    }

    pub fn clear(&self) {
        self.lock().pending.clear();
    }

    /// How many faults have been applied, by kind (`"status"`, `"delay"`).
    pub fn applied(&self) -> BTreeMap<String, u64> {
        self.lock().applied.clone()
    }

    /// Count a call, and take the first fault matching it (using up one of
    /// its `times`).
    fn count_and_take(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut book = self.lock();
        *book.calls.entry(format!("{method} {path}")).or_default() += 1;
        let index = book.pending.iter().position(|f| {
            f.matches(method, path)
                && f.one_in
                    .is_none_or(|n| rand::random_range(0..n.max(1)) == 0)
        })?;
        let kind = book.pending[index].kind.clone();
        *book.applied.entry(kind.name().to_string()).or_default() += 1;
        match &mut book.pending[index].times {
            Some(1) => {
                book.pending.remove(index);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(kind)
    }
}

/// Count the call, take the first matching fault (using up one of its
/// `times`), and apply it.
pub async fn apply(State(faults): State<Arc<Faults>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let fault = faults.count_and_take(&method, &path);
    match fault {
        None => next.run(request).await,
        Some(FaultKind::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(request).await
        }
        Some(FaultKind::Status { status }) => refusal(status),
        Some(FaultKind::Garbage) => {
            (StatusCode::OK, "<html>502 upstream hiccup</html>").into_response()
        }
        Some(FaultKind::DropAfter) => {
            let response = next.run(request).await;
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            // A body that fails at once: the server aborts the connection
            // after the headers, so the client never gets a whole answer.
            let failing = futures_util::stream::once(async {
                Err::<axum::body::Bytes, _>(std::io::Error::other("injected connection drop"))
            });
            Response::from_parts(parts, Body::from_stream(failing))
        }
        Some(FaultKind::Hang) => std::future::pending().await,
        Some(FaultKind::Oversized { bytes, status }) => {
            let response = match status {
                None => next.run(request).await,
                Some(status) => refusal(status),
            };
            let (mut parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let mut value: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or_else(|_| serde_json::json!({}));
            if let Some(map) = value.as_object_mut() {
                map.insert("padding".into(), "x".repeat(bytes).into());
            }
            let padded = serde_json::to_vec(&value).unwrap_or_default();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> = padded
                .chunks(64 * 1024)
                .map(|c| Ok(axum::body::Bytes::copy_from_slice(c)))
                .collect();
            Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)))
        }
    }
}

/// `status` with an `api_error` body, as an injected refusal.
fn refusal(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({"type": "api_error", "message": "injected fault"});
    (status, axum::Json(body)).into_response()
}
