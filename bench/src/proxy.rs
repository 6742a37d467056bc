//! A counting proxy in front of moto: every AWS call a process makes passes
//! through it and is noted by its operation (`X-Amz-Target`, such as
//! `DynamoDB_20120810.PutItem` -> `PutItem`; `conditional PutItem` when it
//! carries a condition), with the provider calls the sandbox counted since
//! the previous one put before it, so the log is the calls in the order
//! they were made. The harness uses it to say which calls each function
//! and each floor makes; timings go to moto directly, without the hop.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The provider calls counted so far, by route (`POST /api/v1/charges`).
pub type Providers = Arc<dyn Fn() -> BTreeMap<String, u64> + Send + Sync>;

struct Shared {
    upstream: String,
    http: reqwest::Client,
    providers: Providers,
    log: Mutex<Log>,
}

#[derive(Default)]
struct Log {
    seen: Vec<String>,
    /// The provider counts as of the last entry.
    providers: BTreeMap<String, u64>,
}

impl Log {
    /// Note the provider calls made since the last entry, by route.
    fn catch_up(&mut self, now: BTreeMap<String, u64>) {
        for (route, count) in &now {
            let new = count - self.providers.get(route).copied().unwrap_or(0);
            self.seen.extend((0..new).map(|_| route.clone()));
        }
        self.providers = now;
    }
}

/// A running proxy; dropping it stops it.
pub struct CountingProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

impl CountingProxy {
    /// Forward to `upstream` (moto's `http://host:port`), reading provider
    /// calls from `providers`.
    pub async fn start(upstream: &str, providers: Providers) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            log: Mutex::new(Log {
                seen: Vec::new(),
                providers: providers(),
            }),
            providers,
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            _stop: stop,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The calls made since the last `take`, in order.
    pub fn take(&self) -> Vec<String> {
        let mut log = self.shared.log.lock().unwrap();
        log.catch_up((self.shared.providers)());
        std::mem::take(&mut log.seen)
    }
}

/// `DynamoDB_20120810.PutItem` -> `PutItem`; `secretsmanager.GetSecretValue`
/// -> `GetSecretValue`.
fn operation(target: &str) -> String {
    target.rsplit('.').next().unwrap_or(target).to_string()
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(operation)
        .unwrap_or_else(|| format!("{} {}", parts.method, parts.uri.path()));
    let conditional = body
        .windows(b"ConditionExpression".len())
        .any(|w| w == b"ConditionExpression");
    {
        let mut log = shared.log.lock().unwrap();
        log.catch_up((shared.providers)());
        log.seen.push(if conditional {
            format!("conditional {target}")
        } else {
            target
        });
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut headers = parts.headers.clone();
    headers.remove(http::header::HOST);
    let answer = shared
        .http
        .request(parts.method, format!("{}{path}", shared.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(answer) = answer else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
        .headers_mut()
        .remove(http::header::TRANSFER_ENCODING);
    response
}
