//! A stand-in for Lambda's Runtime API, so that the real function binaries
//! can be started, timed and killed as Lambda would run them: the process
//! polls `GET /2018-06-01/runtime/invocation/next`, gets one event with its
//! request id and deadline, and posts the answer (or an error) back.
//!
//! One stand-in serves one process, one invocation at a time, as Lambda
//! does. It records when each poll arrived, which is how a cold start
//! (process start to first poll) is measured. Loopback only.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

/// What the function posted back for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `/invocation/{id}/response`: the handler's answer.
    Response(Bytes),
    /// `/invocation/{id}/error`: the handler failed (a panic, an `Err`).
    Error(Bytes),
}

/// An invocation could not complete: the process went away (killed, or the
/// stand-in was dropped) before it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the function process went away before it answered")
    }
}

impl std::error::Error for Gone {}

struct Invocation {
    id: String,
    event: Bytes,
    deadline_ms: u64,
    answer: oneshot::Sender<Outcome>,
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    polls: watch::Sender<Vec<Instant>>,
    init_error: Mutex<Option<Bytes>>,
    function_arn: String,
}

/// A running Runtime API stand-in. Dropping it stops the server.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    send: mpsc::Sender<Invocation>,
    next_id: std::sync::atomic::AtomicU64,
    _stop: oneshot::Sender<()>,
}

impl RuntimeApi {
    /// Listen on a free loopback port.
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (send, receive) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(receive),
            answers: Mutex::new(HashMap::new()),
            polls: watch::Sender::new(Vec::new()),
            init_error: Mutex::new(None),
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
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
            send,
            next_id: std::sync::atomic::AtomicU64::new(1),
            _stop: stop,
        })
    }

    /// The value for the process's `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The environment Lambda gives every function process, pointing at
    /// this stand-in.
    pub fn lambda_env(&self, function_name: &str) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_string()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "standin".to_string()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// When the `n`th poll (0-based) arrived, waiting for it. The first
    /// poll marks the end of the function's init.
    pub async fn poll(&self, n: usize) -> Instant {
        let mut polls = self.shared.polls.subscribe();
        let seen = polls
            .wait_for(|polls| polls.len() > n)
            .await
            .expect("the stand-in owns the sender");
        seen[n]
    }

    /// How many polls have arrived so far.
    pub fn polls(&self) -> usize {
        self.shared.polls.borrow().len()
    }

    /// What the process reported to `/init/error`, if anything.
    pub fn init_error(&self) -> Option<Bytes> {
        self.shared.init_error.lock().unwrap().clone()
    }

    /// Hand `event` to the process's next poll, with `deadline_ms` (Unix
    /// ms) as Lambda's deadline, and wait for what it posts back. Waits
    /// forever for a process that never answers: callers bound it (a
    /// timeout, or the process's exit).
    pub async fn invoke(&self, event: impl Into<Bytes>, deadline_ms: u64) -> Result<Outcome, Gone> {
        let n = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        let invocation = Invocation {
            id: format!("standin-{n:08}"),
            event: event.into(),
            deadline_ms,
            answer,
        };
        self.send.send(invocation).await.map_err(|_| Gone)?;
        answered.await.map_err(|_| Gone)
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.polls.send_modify(|polls| polls.push(Instant::now()));
    let Some(invocation) = shared.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    shared
        .answers
        .lock()
        .unwrap()
        .insert(invocation.id.clone(), invocation.answer);
    let mut headers = HeaderMap::new();
    let header = |value: &str| HeaderValue::from_str(value).expect("ASCII header values");
    headers.insert("lambda-runtime-aws-request-id", header(&invocation.id));
    headers.insert(
        "lambda-runtime-deadline-ms",
        header(&invocation.deadline_ms.to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header(&shared.function_arn),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        header("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    headers.insert("content-type", header("application/json"));
    (StatusCode::OK, headers, invocation.event).into_response()
}

fn answer(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.answers.lock().unwrap().remove(id) {
        Some(waiting) => {
            // The invoker may have given up (a timeout); nothing to tell it then.
            let _ = waiting.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, Outcome::Response(body))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, Outcome::Error(body))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(body);
    StatusCode::ACCEPTED
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process's loop, by hand: poll, read the headers, answer.
    #[tokio::test]
    async fn an_invocation_goes_to_the_next_poll_and_its_answer_comes_back() {
        let api = RuntimeApi::start("f").await.unwrap();
        let base = format!("http://{}/2018-06-01/runtime", api.address());
        let http = reqwest::Client::new();
        let process = {
            let (http, base) = (http.clone(), base.clone());
            tokio::spawn(async move {
                let next = http
                    .get(format!("{base}/invocation/next"))
                    .send()
                    .await
                    .unwrap();
                let id = next.headers()["lambda-runtime-aws-request-id"]
                    .to_str()
                    .unwrap()
                    .to_string();
                let deadline = next.headers()["lambda-runtime-deadline-ms"]
                    .to_str()
                    .unwrap()
                    .to_string();
                let event = next.text().await.unwrap();
                let posted = http
                    .post(format!("{base}/invocation/{id}/response"))
                    .body(format!("{event}@{deadline}"))
                    .send()
                    .await
                    .unwrap();
                (posted.status().as_u16(), id)
            })
        };
        let outcome = api.invoke(r#"{"hello":1}"#, 42).await.unwrap();
        assert_eq!(outcome, Outcome::Response(Bytes::from(r#"{"hello":1}@42"#)));
        assert_eq!(
            process.await.unwrap(),
            (202, "standin-00000001".to_string())
        );
        assert_eq!(api.polls(), 1);

        // An error post, and an answer for an id nobody asked for.
        let failing = {
            let (http, base) = (http.clone(), base.clone());
            tokio::spawn(async move {
                let next = http
                    .get(format!("{base}/invocation/next"))
                    .send()
                    .await
                    .unwrap();
                let id = next.headers()["lambda-runtime-aws-request-id"]
                    .to_str()
                    .unwrap()
                    .to_string();
                let stray = http
                    .post(format!("{base}/invocation/nobody/response"))
                    .send()
                    .await
                    .unwrap();
                http.post(format!("{base}/invocation/{id}/error"))
                    .body("boom")
                    .send()
                    .await
                    .unwrap();
                stray.status().as_u16()
            })
        };
        assert_eq!(
            api.invoke("{}", 1).await.unwrap(),
            Outcome::Error(Bytes::from("boom"))
        );
        assert_eq!(failing.await.unwrap(), 400);
        assert_eq!(api.polls(), 2);
        api.poll(1).await;
    }
}
