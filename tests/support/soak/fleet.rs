//! A fleet of function processes as Lambda runs them: each instance is one
//! real binary under its own Runtime API stand-in (`sandbox::lambda`), given
//! one invocation at a time with the deadline Lambda would set, killed with
//! SIGKILL when its invocation outlives that deadline (as Lambda's timeout
//! does) or when the soak says so, busy or not, and replaced at once.
//!
//! Jobs go into one queue that every instance takes from; each job's end
//! (an answer, a kill, a timeout) comes back on one channel, in the order
//! they happen.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use sandbox::lambda::{Outcome, RuntimeApi};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc};

use crate::now_ms;

/// What every instance runs.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The function's binary (the release build for a full soak).
    pub binary: PathBuf,
    /// Its name, as Lambda's environment gives it.
    pub function: String,
    /// Its environment beyond Lambda's own (`demo::function_env`).
    pub env: Vec<(String, String)>,
    /// The function's timeout: each invocation's deadline is this far away.
    pub timeout: Duration,
    /// Where each instance slot appends its processes' output.
    pub log_dir: PathBuf,
    /// Kill a random instance (after a random pause of up to 30 ms) each
    /// time this many jobs have been taken; `None`: never.
    pub kill_every: Option<usize>,
}

/// One request for the fleet; `id` is the caller's.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: usize,
    pub event: Bytes,
}

/// How a job ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// The function posted this back.
    Answered(Outcome),
    /// The soak killed its instance while it ran.
    Killed,
    /// It outlived its deadline, and its instance was killed.
    TimedOut,
    /// The process went away by itself (a crash).
    Crashed,
}

/// A job's end, and which instance slot ran it.
#[derive(Debug, Clone)]
pub struct Done {
    pub job: usize,
    pub ending: Ending,
    pub slot: usize,
}

/// What the fleet did besides answering.
#[derive(Debug, Clone, Default)]
pub struct FleetStats {
    /// Processes started, the first of each slot included.
    pub started: usize,
    /// Processes the soak killed (busy or not).
    pub killed: usize,
    /// Of those, killed while running a job.
    pub killed_busy: usize,
    /// Invocations that outlived their deadline.
    pub timed_out: usize,
    /// Processes that went away by themselves.
    pub crashed: usize,
}

/// The running fleet.
pub struct Fleet {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    done: mpsc::UnboundedReceiver<Result<Done, String>>,
    workers: Vec<tokio::task::JoinHandle<Result<FleetStats, String>>>,
    later: Arc<AtomicUsize>,
}

impl Fleet {
    /// Start `instances` processes of `spec`.
    pub async fn start(spec: Spec, instances: usize) -> Result<Self, String> {
        std::fs::create_dir_all(&spec.log_dir)
            .map_err(|e| format!("{}: {e}", spec.log_dir.display()))?;
        let (jobs, queue) = mpsc::unbounded_channel();
        let (report, done) = mpsc::unbounded_channel();
        let queue = Arc::new(Mutex::new(queue));
        let spec = Arc::new(spec);
        let taken = Arc::new(AtomicUsize::new(0));
        let mut kills = Vec::new();
        let mut receivers = Vec::new();
        for _ in 0..instances {
            let (kill, killed) = mpsc::unbounded_channel();
            kills.push(kill);
            receivers.push(killed);
        }
        let kills = Arc::new(kills);
        let mut workers = Vec::new();
        for (slot, killed) in receivers.into_iter().enumerate() {
            let first = Instance::start(&spec, slot).await?;
            let worker = Worker {
                slot,
                spec: spec.clone(),
                queue: queue.clone(),
                report: report.clone(),
                killed,
                kills: kills.clone(),
                taken: taken.clone(),
            };
            workers.push(tokio::spawn(worker.run(first)));
        }
        Ok(Self {
            jobs: Some(jobs),
            done,
            workers,
            later: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Queue `job` now.
    pub fn send(&self, job: Job) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
    }

    /// Queue `job` once `delay` has passed.
    pub fn send_later(&self, job: Job, delay: Duration) {
        let Some(jobs) = self.jobs.clone() else {
            return;
        };
        let later = self.later.clone();
        later.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = jobs.send(job);
            later.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Jobs waiting for their time ([`Fleet::send_later`]), not yet queued.
    pub fn waiting_later(&self) -> usize {
        self.later.load(Ordering::SeqCst)
    }

    /// The next job to end, or why an instance could not be replaced.
    pub async fn next_done(&mut self) -> Result<Done, String> {
        self.done
            .recv()
            .await
            .unwrap_or_else(|| Err("every instance stopped".into()))
    }

    /// Stop every instance; what the fleet did.
    pub async fn stop(mut self) -> Result<FleetStats, String> {
        drop(self.jobs.take());
        let mut total = FleetStats::default();
        for worker in self.workers.drain(..) {
            let stats = worker.await.map_err(|e| e.to_string())??;
            total.started += stats.started;
            total.killed += stats.killed;
            total.killed_busy += stats.killed_busy;
            total.timed_out += stats.timed_out;
            total.crashed += stats.crashed;
        }
        Ok(total)
    }
}

/// One process under its own stand-in.
struct Instance {
    api: RuntimeApi,
    child: Child,
}

impl Instance {
    async fn start(spec: &Spec, slot: usize) -> Result<Self, String> {
        let api = RuntimeApi::start(&spec.function)
            .await
            .map_err(|e| e.to_string())?;
        let path = spec.log_dir.join(format!("{}-{slot}.log", spec.function));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let child = Command::new(&spec.binary)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin")
            .env("TZ", ":UTC")
            .envs(api.lambda_env(&spec.function))
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{}: {e}", spec.binary.display()))?;
        Ok(Self { api, child })
    }

    /// SIGKILL, and wait for the process to be gone.
    async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

struct Worker {
    slot: usize,
    spec: Arc<Spec>,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    report: mpsc::UnboundedSender<Result<Done, String>>,
    killed: mpsc::UnboundedReceiver<()>,
    kills: Arc<Vec<mpsc::UnboundedSender<()>>>,
    taken: Arc<AtomicUsize>,
}

impl Worker {
    async fn run(mut self, first: Instance) -> Result<FleetStats, String> {
        let mut stats = FleetStats {
            started: 1,
            ..FleetStats::default()
        };
        let mut instance = first;
        loop {
            let queue = self.queue.clone();
            let job = tokio::select! {
                job = async { queue.lock().await.recv().await } => job,
                Some(()) = self.killed.recv() => {
                    instance.kill().await;
                    stats.killed += 1;
                    instance = self.start_again(&mut stats).await?;
                    continue;
                }
            };
            let Some(job) = job else {
                instance.kill().await;
                return Ok(stats);
            };
            self.maybe_kill_someone();
            let deadline = now_ms() + self.spec.timeout.as_millis() as u64;
            // Lambda stops the invocation at its deadline; a little slack
            // for this machine's scheduling.
            let limit = tokio::time::sleep(self.spec.timeout + Duration::from_millis(250));
            // `biased`: an answer already posted wins over a kill that
            // arrives at the same moment (it happened first).
            let ending = tokio::select! {
                biased;
                outcome = instance.api.invoke(job.event.clone(), deadline) => match outcome {
                    Ok(outcome) => Ending::Answered(outcome),
                    Err(_) => Ending::Crashed,
                },
                status = instance.child.wait() => {
                    let _ = status;
                    Ending::Crashed
                }
                _ = limit => Ending::TimedOut,
                Some(()) = self.killed.recv() => Ending::Killed,
            };
            let dead = match ending {
                Ending::Answered(_) => false,
                Ending::Killed => {
                    stats.killed += 1;
                    stats.killed_busy += 1;
                    true
                }
                Ending::TimedOut => {
                    stats.timed_out += 1;
                    true
                }
                Ending::Crashed => {
                    stats.crashed += 1;
                    true
                }
            };
            // The process is gone before the job is reported, so a retry
            // never overlaps it.
            if dead {
                instance.kill().await;
            }
            let _ = self.report.send(Ok(Done {
                job: job.id,
                ending,
                slot: self.slot,
            }));
            if dead {
                instance = self.start_again(&mut stats).await?;
            }
        }
    }

    /// A new process for this slot; if it cannot start, the soak hears why
    /// (and stops) rather than waiting for this slot forever.
    async fn start_again(&self, stats: &mut FleetStats) -> Result<Instance, String> {
        stats.started += 1;
        match Instance::start(&self.spec, self.slot).await {
            Ok(instance) => Ok(instance),
            Err(why) => {
                let why = format!("instance {} could not be started again: {why}", self.slot);
                let _ = self.report.send(Err(why.clone()));
                Err(why)
            }
        }
    }

    /// Every `kill_every` jobs taken: a random instance is killed a moment
    /// later, whatever it is doing then.
    fn maybe_kill_someone(&self) {
        let taken = self.taken.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(every) = self.spec.kill_every else {
            return;
        };
        if !taken.is_multiple_of(every) {
            return;
        }
        let victim = rand::random_range(0..self.kills.len());
        let pause = Duration::from_millis(rand::random_range(0..30));
        let kill = self.kills[victim].clone();
        tokio::spawn(async move {
            tokio::time::sleep(pause).await;
            let _ = kill.send(());
        });
    }
}
