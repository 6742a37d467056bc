//! One function process under the Runtime API stand-in, as Lambda runs it:
//! started with Lambda's environment, timed from just before `spawn` to its
//! first poll (init) and to its first answer, then given warm requests one
//! at a time, and killed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sandbox::lambda::{Outcome, RuntimeApi};
use serde_json::Value;
use tokio::process::{Child, Command};

/// How long a process may take to poll or answer before the run gives up
/// on it (the functions' own timeout).
const LIMIT: Duration = Duration::from_secs(15);

/// A binary to run, and what it is called in the report.
#[derive(Debug, Clone)]
pub struct Target {
    pub label: String,
    pub binary: PathBuf,
    /// Its environment beyond Lambda's own.
    pub env: Vec<(String, String)>,
    /// Where its standard output and error go (appended).
    pub log: PathBuf,
    /// A command to run it under (`valgrind --tool=callgrind ...`), if any.
    pub wrap: Vec<String>,
}

/// One cold start.
#[derive(Debug, Clone, Copy)]
pub struct Cold {
    /// Process start to the first poll of the Runtime API.
    pub init: Duration,
    /// Process start to the first answer posted back.
    pub first_answer: Duration,
}

/// A warm run.
#[derive(Debug, Clone)]
pub struct Warm {
    /// Each answered request's round trip through the stand-in, after the
    /// first.
    pub latencies: Vec<Duration>,
    /// The process's peak resident set (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// Requests not answered with a 200 (left out of `latencies`), and the
    /// first one's answer.
    pub failed: usize,
    pub first_failure: Option<String>,
}

/// A warm run gives up after this many requests not answered with a 200.
const MAX_FAILED: usize = 10;

/// A process under its own stand-in.
struct Running {
    api: Arc<RuntimeApi>,
    child: Child,
    started: Instant,
}

/// Unix ms, for the invocation's deadline.
fn deadline() -> u64 {
    crate::now_ms() + LIMIT.as_millis() as u64
}

impl Running {
    async fn start(
        target: &Target,
        first: Option<Bytes>,
    ) -> Result<(Self, Option<Waiting>), String> {
        let api = Arc::new(
            RuntimeApi::start(&target.label)
                .await
                .map_err(|e| e.to_string())?,
        );
        // The first event waits for the first poll, as Lambda's does.
        let waiting = first.map(|event| {
            let api = api.clone();
            tokio::spawn(async move {
                let outcome = api.invoke(event, deadline()).await;
                (outcome, Instant::now())
            })
        });
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&target.log)
            .map_err(|e| format!("{}: {e}", target.log.display()))?;
        let mut command = match target.wrap.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&target.binary);
                command
            }
            None => Command::new(&target.binary),
        };
        command
            .env_clear()
            // What Lambda's provided.al2023 runtime sets besides AWS_LAMBDA_*.
            .env("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env(
                "LAMBDA_TASK_ROOT",
                target.binary.parent().unwrap_or(Path::new("/")),
            )
            .envs(api.lambda_env(&target.label))
            .envs(target.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .kill_on_drop(true);
        let started = Instant::now();
        let child = command
            .spawn()
            .map_err(|e| format!("{}: {e}", target.binary.display()))?;
        Ok((
            Self {
                api,
                child,
                started,
            },
            waiting,
        ))
    }

    /// When the `n`th poll came, or why it never will.
    async fn poll(&mut self, n: usize, target: &Target) -> Result<Instant, String> {
        tokio::select! {
            at = self.api.poll(n) => Ok(at),
            status = self.child.wait() => Err(format!(
                "{} exited ({status:?}) before poll {n}; see {}{}",
                target.label,
                target.log.display(),
                self.api.init_error().map(|e| format!(": {}", String::from_utf8_lossy(&e))).unwrap_or_default()
            )),
            _ = tokio::time::sleep(LIMIT) => Err(format!("{} did not poll within {LIMIT:?}", target.label)),
        }
    }

    /// Hand over `event`, wait for the answer, check it is a 200.
    async fn invoke(&self, event: Bytes, target: &Target) -> Result<(), String> {
        let outcome = tokio::time::timeout(LIMIT, self.api.invoke(event, deadline()))
            .await
            .map_err(|_| format!("{} did not answer within {LIMIT:?}", target.label))?;
        check(outcome.map_err(|e| e.to_string())?, target)
    }

    /// Peak and current resident set, from `/proc`.
    fn peak_rss_kib(&self) -> Result<u64, String> {
        let pid = self.child.id().ok_or("the process is gone")?;
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmHWM in /proc/PID/status".to_string())
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// Stop the stand-in and let the process end on its own (its next poll
    /// fails), as a profiler needs it to: it writes its data at exit.
    async fn end(self, limit: Duration) -> Result<(), String> {
        let Self { api, mut child, .. } = self;
        drop(api);
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => status.map(|_| ()).map_err(|e| e.to_string()),
            Err(_) => {
                let _ = child.kill().await;
                Err(format!(
                    "the process did not end within {limit:?} of losing its Runtime API"
                ))
            }
        }
    }
}

type Waiting = tokio::task::JoinHandle<(Result<Outcome, sandbox::lambda::Gone>, Instant)>;

/// An answer is right when it is the API Gateway response of a 200.
fn check(outcome: Outcome, target: &Target) -> Result<(), String> {
    let (Outcome::Response(body) | Outcome::Error(body)) = &outcome;
    let status = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["statusCode"].as_u64());
    match (&outcome, status) {
        (Outcome::Response(_), Some(200)) => Ok(()),
        _ => Err(format!(
            "{} answered {outcome:?}, not a 200; see {}",
            target.label,
            target.log.display()
        )),
    }
}

/// Start `target`, time its first poll and its answer to `event`, kill it.
pub async fn cold_start(target: &Target, event: Bytes) -> Result<Cold, String> {
    let (mut running, waiting) = Running::start(target, Some(event)).await?;
    let polled = running.poll(0, target).await;
    let result = async {
        let polled = polled?;
        let waiting = waiting.expect("an event was given");
        let (outcome, answered) = tokio::time::timeout(LIMIT, waiting)
            .await
            .map_err(|_| format!("{} did not answer within {LIMIT:?}", target.label))?
            .map_err(|e| e.to_string())?;
        check(outcome.map_err(|e| e.to_string())?, target)?;
        Ok(Cold {
            init: polled - running.started,
            first_answer: answered - running.started,
        })
    }
    .await;
    running.stop().await;
    result
}

/// One process of a warm run: what it runs and the events it is given.
pub struct WarmLoad {
    pub target: Target,
    /// Answered cold, not timed.
    pub first: Bytes,
    pub events: Vec<Bytes>,
}

/// Start every load's process, answer each one's `first` (not timed), then
/// take the events in lockstep: the first load's `i`th, the second's `i`th,
/// and so on, so that a slow moment of the machine or of moto falls on all
/// of them alike. Each round trip is timed; `after` is called with the
/// load's index and event once it is answered (outside the timing). Each
/// process's peak RSS is read after its last request.
pub async fn warm(
    loads: Vec<WarmLoad>,
    mut after: impl AsyncFnMut(usize, &Bytes) -> Result<(), String>,
) -> Result<Vec<Warm>, String> {
    let mut running = Vec::new();
    for load in &loads {
        running.push(Running::start(&load.target, None).await?.0);
    }
    let result = async {
        let mut warms = Vec::new();
        for (load, process) in loads.iter().zip(running.iter_mut()) {
            process.poll(0, &load.target).await?;
            process.invoke(load.first.clone(), &load.target).await?;
            warms.push(Warm {
                latencies: Vec::with_capacity(load.events.len()),
                peak_rss_kib: 0,
                failed: 0,
                first_failure: None,
            });
        }
        let rounds = loads.iter().map(|l| l.events.len()).max().unwrap_or(0);
        for i in 0..rounds {
            for (n, load) in loads.iter().enumerate() {
                let Some(event) = load.events.get(i) else {
                    continue;
                };
                let sent = Instant::now();
                let answered = running[n].invoke(event.clone(), &load.target).await;
                let elapsed = sent.elapsed();
                after(n, event).await?;
                let warm = &mut warms[n];
                match answered {
                    Ok(()) => warm.latencies.push(elapsed),
                    Err(why) if warm.failed < MAX_FAILED => {
                        warm.failed += 1;
                        warm.first_failure.get_or_insert(why);
                    }
                    Err(why) => {
                        return Err(format!(
                            "{}: {} requests failed; the last: {why}",
                            load.target.label,
                            warm.failed + 1
                        ));
                    }
                }
            }
        }
        for (warm, process) in warms.iter_mut().zip(&running) {
            warm.peak_rss_kib = process.peak_rss_kib()?;
        }
        Ok(warms)
    }
    .await;
    for process in running {
        process.stop().await;
    }
    result
}

/// Start `target` and hand it `events` one at a time, calling `between`
/// once its init is over (with `None`) and after each answer (with the
/// event's index): the call counter's checkpoints.
pub async fn each(
    target: &Target,
    events: Vec<Bytes>,
    mut between: impl FnMut(Option<usize>),
) -> Result<(), String> {
    let (mut running, _) = Running::start(target, None).await?;
    let result = async {
        running.poll(0, target).await?;
        between(None);
        for (i, event) in events.into_iter().enumerate() {
            running.invoke(event, target).await?;
            between(Some(i));
        }
        Ok(())
    }
    .await;
    running.stop().await;
    result
}

/// Start `target` (under its `wrap`, a profiler), let it finish its init
/// (and answer `request`, if given), then take its Runtime API away so it
/// exits by itself. Waits as long as a profiler needs, not [`LIMIT`].
pub async fn profile(target: &Target, request: Option<Bytes>) -> Result<(), String> {
    let slow = Duration::from_secs(300);
    let (mut running, _) = Running::start(target, None).await?;
    tokio::select! {
        _ = running.api.poll(0) => {}
        status = running.child.wait() => return Err(format!("{} exited ({status:?}) during init", target.label)),
        _ = tokio::time::sleep(slow) => return Err(format!("{} did not poll within {slow:?}", target.label)),
    }
    if let Some(event) = request {
        let outcome = tokio::time::timeout(
            slow,
            running
                .api
                .invoke(event, crate::now_ms() + slow.as_millis() as u64),
        )
        .await
        .map_err(|_| format!("{} did not answer within {slow:?}", target.label))?
        .map_err(|e| e.to_string())?;
        check(outcome, target)?;
    }
    running.end(slow).await
}
