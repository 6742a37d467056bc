//! The transfer soak: thousands of merchant-pays transfers sent through a
//! fleet of real `debox-transfer` processes sharing moto's table and the
//! DeBox sandbox, with a share of the serials sent again (at once, and
//! after the function's timeout has passed), a background of DeBox faults
//! (500 with no effect, the connection cut after the effect, an unreadable
//! answer, delays short and past the function's budget), and instances
//! killed with SIGKILL every so many attempts, busy or not. What crashed or
//! could be retried is retried later, as a merchant would.
//!
//! At the end every serial is reconciled: DeBox's books (was it received
//! twice? applied?), every answer the merchant got, and the table's record.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sandbox::{Fault, FaultKind};
use serde_json::{Value, json};
use shared::table::LEASE_GRACE_MS;

use super::fleet::{Done, Ending, Fleet, Job, Spec};
use super::{Figure, answer_of, event_template, function_env, write_verdict};
use crate::{MERCHANT, World, contract, now_ms};

/// DeBox's transfer route, where the faults are injected.
const TRANSFER_PATH: &str = "/openapi/payment/transfer";

/// What a run does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `debox-transfer` binary.
    pub binary: PathBuf,
    /// Planned attempts (fresh serials and reuses); retries come on top.
    pub attempts: usize,
    pub instances: usize,
    /// An instance is killed each time this many attempts have been taken.
    pub kill_every: usize,
    /// The function's timeout (Lambda's deadline for each invocation).
    pub timeout: Duration,
    /// Of every 100 planned attempts, how many reuse an earlier serial.
    pub reuse_percent: u32,
    /// Of every 100 DeBox transfer calls, how many meet a fault.
    pub fault_percent: u32,
    /// How many times a merchant retries what crashed or may be retried.
    pub max_retries: u32,
    pub seed: u64,
    pub log_dir: PathBuf,
}

impl Settings {
    /// The soak: 10,000 attempts over 8 instances, a kill every 100.
    pub fn full(binary: PathBuf, log_dir: PathBuf) -> Self {
        Self {
            binary,
            attempts: 10_000,
            instances: 8,
            kill_every: 100,
            timeout: Duration::from_secs(15),
            reuse_percent: 20,
            fault_percent: 5,
            max_retries: 3,
            seed: 11,
            log_dir,
        }
    }

    /// The short variant every test run makes.
    pub fn smoke(binary: PathBuf, log_dir: PathBuf) -> Self {
        Self {
            attempts: 300,
            instances: 4,
            kill_every: 50,
            timeout: Duration::from_secs(8),
            ..Self::full(binary, log_dir)
        }
    }

    /// Past the function's timeout and the lease's grace: a claim left by
    /// a killed instance is over by then.
    fn later(&self) -> Duration {
        self.timeout + Duration::from_millis(LEASE_GRACE_MS + 1_000)
    }
}

/// One serial: its DeBox order and everything that happened to it.
struct Serial {
    serial: String,
    token: String,
    amount: String,
    hundredths: u64,
    seen: Vec<Seen>,
    retries: u32,
}

/// What one attempt got.
#[derive(Debug, Clone)]
enum Seen {
    Answer {
        status: u16,
        /// The `detail.status` of an error (`failed`, `unknown`, ...).
        state: Option<String>,
        /// Why it is not an answer the contract allows, if it is not.
        outside: Option<String>,
    },
    /// Not an API Gateway response at all (a handler error).
    NotAResponse(String),
    Killed,
    TimedOut,
    Crashed,
}

/// What a planned attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fresh,
    ReuseNow,
    ReuseLater,
    Retry,
}

/// The run's figures.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub planned: usize,
    pub invocations: usize,
    pub kinds: BTreeMap<String, usize>,
    pub serials: usize,
    pub answers: BTreeMap<String, usize>,
    pub killed: usize,
    pub killed_busy: usize,
    pub timed_out: usize,
    pub crashed: usize,
    pub processes_started: usize,
    pub debox_transfer_calls: u64,
    pub faults_applied: BTreeMap<String, u64>,
    pub applied: usize,
    pub records: BTreeMap<String, usize>,
    pub unknown_records: usize,
    pub unknown_applied: usize,
    /// Serials sent again after an answer that said `unknown`.
    pub unknown_sent_again: usize,
    pub received_twice: usize,
    pub ok_not_applied: usize,
    pub failed_record_applied: usize,
    pub succeeded_record_not_applied: usize,
    pub failed_answer_applied: usize,
    pub applied_without_record: usize,
    pub outside_contract: usize,
    pub points_unaccounted: u64,
    pub first_problems: Vec<String>,
    pub elapsed: Duration,
    pub settings: String,
}

impl Report {
    /// Every figure that must be zero.
    pub fn must_be_zero(&self) -> Vec<Figure> {
        vec![
            ("serials DeBox received twice", self.received_twice),
            (
                "200 answers whose transfer was not applied",
                self.ok_not_applied,
            ),
            (
                "records `failed` whose transfer was applied",
                self.failed_record_applied,
            ),
            (
                "records `succeeded` whose transfer was not applied",
                self.succeeded_record_not_applied,
            ),
            (
                "answers saying `failed` whose transfer was applied",
                self.failed_answer_applied,
            ),
            (
                "transfers applied with no record saying succeeded or unknown",
                self.applied_without_record,
            ),
            ("answers outside the contract", self.outside_contract),
            ("processes that crashed by themselves", self.crashed),
            (
                "points moved that no applied order accounts for (hundredths)",
                usize::try_from(self.points_unaccounted).unwrap_or(usize::MAX),
            ),
        ]
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "transfer soak: {}", self.settings)?;
        writeln!(
            f,
            "  {} planned attempts, {} invocations in {:.1} s over {} serials",
            self.planned,
            self.invocations,
            self.elapsed.as_secs_f64(),
            self.serials
        )?;
        writeln!(f, "  attempts by kind: {:?}", self.kinds)?;
        writeln!(f, "  answers: {:?}", self.answers)?;
        writeln!(
            f,
            "  processes: {} started, {} killed ({} while busy), {} timed out, {} crashed",
            self.processes_started, self.killed, self.killed_busy, self.timed_out, self.crashed
        )?;
        writeln!(
            f,
            "  DeBox: {} transfer calls, faults applied {:?}, {} transfers applied",
            self.debox_transfer_calls, self.faults_applied, self.applied
        )?;
        writeln!(f, "  records: {:?}", self.records)?;
        writeln!(
            f,
            "  unknown (or in_progress past its lease): {}, of which DeBox applied {}; {} serials sent again after an unknown answer",
            self.unknown_records, self.unknown_applied, self.unknown_sent_again
        )?;
        write_verdict(f, &self.must_be_zero(), &self.first_problems)
    }
}

/// Run the soak in `world` (its sandbox and table).
pub async fn run(world: &World, settings: &Settings) -> Result<Report, String> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let state = world.sandbox.state();
    // Enough points for every transfer the run can make.
    let merchant_start = 1_000_000_000_000u64;
    state.set_balance(MERCHANT, merchant_start);
    install_faults(world, settings.fault_percent);

    let template = event_template("debox-transfer.json")?;
    let spec = Spec {
        binary: settings.binary.clone(),
        function: "debox-transfer".into(),
        env: function_env(world),
        timeout: settings.timeout,
        log_dir: settings.log_dir.clone(),
        kill_every: Some(settings.kill_every),
    };
    let mut fleet = Fleet::start(spec, settings.instances).await?;
    let http = reqwest::Client::new();

    let plan: Vec<Kind> = (0..settings.attempts)
        .map(|_| {
            if rng.random_range(0..100) < settings.reuse_percent {
                if rng.random_bool(0.5) {
                    Kind::ReuseNow
                } else {
                    Kind::ReuseLater
                }
            } else {
                Kind::Fresh
            }
        })
        .collect();
    let mut serials: Vec<Serial> = Vec::new();
    // Job id -> (serial index, kind).
    let mut jobs: Vec<(usize, Kind)> = Vec::new();
    let mut next = 0;
    let mut outstanding = 0usize;
    let in_flight_limit = settings.instances * 2;
    let event = |serial: &Serial| -> Bytes {
        let mut event = template.clone();
        event["body"] = json!(
            json!({"access_token": serial.token, "serial_id": serial.serial, "verify_amount": serial.amount})
                .to_string()
        );
        Bytes::from(event.to_string())
    };

    while next < plan.len() || outstanding > 0 {
        while next < plan.len()
            && outstanding.saturating_sub(fleet.waiting_later()) < in_flight_limit
        {
            let mut kind = plan[next];
            next += 1;
            if serials.is_empty() {
                kind = Kind::Fresh;
            }
            let index = match kind {
                Kind::Fresh => {
                    let hundredths = rng.random_range(1..=10_000u64);
                    let (token, serial) = order(&http, world, hundredths).await?;
                    serials.push(Serial {
                        serial,
                        token,
                        amount: format!("{}.{:02}", hundredths / 100, hundredths % 100),
                        hundredths,
                        seen: Vec::new(),
                        retries: 0,
                    });
                    serials.len() - 1
                }
                // One of the last few: likely still being sent.
                Kind::ReuseNow => {
                    let back = rng.random_range(0..serials.len().min(settings.instances));
                    serials.len() - 1 - back
                }
                // Half of them one whose outcome was not a 200 when there
                // is one: the serials a careless merchant would send again.
                _ => {
                    let unsettled: Vec<usize> = (0..serials.len())
                        .filter(|&i| {
                            serials[i].seen.last().is_some_and(|seen| {
                                !matches!(seen, Seen::Answer { status: 200, .. })
                            })
                        })
                        .collect();
                    if !unsettled.is_empty() && rng.random_bool(0.5) {
                        unsettled[rng.random_range(0..unsettled.len())]
                    } else {
                        rng.random_range(0..serials.len())
                    }
                }
            };
            let job = Job {
                id: jobs.len(),
                event: event(&serials[index]),
            };
            jobs.push((index, kind));
            outstanding += 1;
            if kind == Kind::ReuseLater {
                fleet.send_later(job, settings.later());
            } else {
                fleet.send(job);
            }
        }
        let Done { job, ending, .. } = fleet.next_done().await?;
        outstanding -= 1;
        if job % 1_000 == 999 {
            eprintln!(
                "soak: {} of {} planned attempts sent, {} invocations, {:.0} s",
                next,
                plan.len(),
                jobs.len(),
                started.elapsed().as_secs_f64()
            );
        }
        let (index, _) = jobs[job];
        let seen = seen_of(ending);
        let retry = wants_retry(&seen);
        let serial = &mut serials[index];
        serial.seen.push(seen);
        if retry && serial.retries < settings.max_retries {
            serial.retries += 1;
            let job = Job {
                id: jobs.len(),
                event: event(serial),
            };
            jobs.push((index, Kind::Retry));
            outstanding += 1;
            fleet.send_later(job, settings.later());
        }
    }
    let fleet_stats = fleet.stop().await?;
    // A claim a kill left behind lives until its invocation's deadline (a
    // timeout after it started) and the grace: past both, it reads unknown.
    tokio::time::sleep(settings.timeout + Duration::from_millis(LEASE_GRACE_MS)).await;

    let records = records(world).await?;
    let mut report = Report {
        planned: plan.len(),
        invocations: jobs.len(),
        serials: serials.len(),
        killed: fleet_stats.killed,
        killed_busy: fleet_stats.killed_busy,
        timed_out: fleet_stats.timed_out,
        crashed: fleet_stats.crashed,
        processes_started: fleet_stats.started,
        debox_transfer_calls: state.calls_to(&format!("POST {TRANSFER_PATH}")),
        faults_applied: state.faults_applied(),
        settings: format!(
            "{} attempts, {} instances, a kill every {}, timeout {:?}, {}% reused, {}% DeBox faults, seed {}, {}",
            settings.attempts,
            settings.instances,
            settings.kill_every,
            settings.timeout,
            settings.reuse_percent,
            settings.fault_percent,
            settings.seed,
            settings.binary.display()
        ),
        ..Report::default()
    };
    for (_, kind) in &jobs {
        *report.kinds.entry(format!("{kind:?}")).or_default() += 1;
    }
    let mut moved = 0u64;
    for serial in &serials {
        reconcile(serial, world, &records, &mut report, &mut moved);
    }
    report.points_unaccounted = (merchant_start - state.balance(MERCHANT)).abs_diff(moved);
    report.elapsed = started.elapsed();
    Ok(report)
}

/// A background of DeBox faults on the transfer route, `percent` of calls
/// in all: a 500 with no effect, the connection cut after the effect, an
/// unreadable 200 with no effect (a fifth of the faults each), a short
/// delay and a delay past any function's budget (a tenth each).
fn install_faults(world: &World, percent: u32) {
    if percent == 0 {
        return;
    }
    // One in `n` of the calls for each fault: five faults of weights
    // 2, 2, 2, 1, 1 (in eighths of `percent`).
    let one_in = |eighths: u32| (800 / (percent * eighths)).max(1);
    let state = world.sandbox.state();
    for (kind, eighths) in [
        (FaultKind::Status { status: 500 }, 2),
        (FaultKind::DropAfter, 2),
        (FaultKind::Garbage, 2),
        (FaultKind::Delay { ms: 300 }, 1),
        (FaultKind::Delay { ms: 20_000 }, 1),
    ] {
        state.inject(Fault::new(TRANSFER_PATH, kind).one_in(one_in(eighths)));
    }
}

/// A merchant-pays order at DeBox (the sandbox) for `hundredths`: its
/// transfer token and serial.
async fn order(
    http: &reqwest::Client,
    world: &World,
    hundredths: u64,
) -> Result<(String, String), String> {
    let app = sandbox::SandboxConfig::default().debox_app;
    let nonce = format!("{:08}", rand::random_range(0..100_000_000u32));
    let timestamp = now_ms().to_string();
    let signature = sandbox::debox::signature(&app.app_secret, &nonce, &timestamp);
    let amount = format!("{}.{:02}", hundredths / 100, hundredths % 100);
    let answer: Value = http
        .post(format!("{}/openapi/payment/order", world.sandbox.url()))
        .header("app_id", &app.app_id)
        .header("X-API-KEY", &app.api_key)
        .header("nonce", nonce)
        .header("timestamp", timestamp)
        .header("signature", signature)
        .json(&json!({"payer_user_id": MERCHANT, "receiver_user_id": "u1", "amount": amount}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    match (
        answer["access_token"].as_str(),
        answer["serial_id"].as_str(),
    ) {
        (Some(token), Some(serial)) => Ok((token.to_string(), serial.to_string())),
        _ => Err(format!("the sandbox made no order: {answer}")),
    }
}

fn seen_of(ending: Ending) -> Seen {
    match ending {
        Ending::Answered(outcome) => match answer_of(&outcome) {
            Ok(answer) => {
                let state = serde_json::from_str::<Value>(&answer.text)
                    .ok()
                    .and_then(|b| b["detail"]["status"].as_str().map(String::from));
                Seen::Answer {
                    status: answer.status,
                    state,
                    outside: contract::conformance("POST", "/debox/transfers", &answer).err(),
                }
            }
            Err(why) => Seen::NotAResponse(why),
        },
        Ending::Killed => Seen::Killed,
        Ending::TimedOut => Seen::TimedOut,
        Ending::Crashed => Seen::Crashed,
    }
}

/// What a merchant retries later: what never answered, what says nothing
/// was sent or that it is being sent right now, a 500, and (a careless
/// merchant, the one the bundle must survive) a 502 or 504 that says the
/// outcome is unknown.
fn wants_retry(seen: &Seen) -> bool {
    match seen {
        Seen::Killed | Seen::TimedOut | Seen::Crashed => true,
        Seen::Answer { status, state, .. } => match status {
            409 => state.as_deref() == Some("in_progress"),
            500 | 502 | 503 | 504 => true,
            _ => false,
        },
        Seen::NotAResponse(_) => false,
    }
}

/// The table's transfer records: serial -> (status, lease_expires_at).
async fn records(world: &World) -> Result<BTreeMap<String, (String, u64)>, String> {
    let mut records = BTreeMap::new();
    let mut start = None;
    loop {
        let page = world
            .dynamo
            .scan()
            .table_name(&world.table)
            .filter_expression("begins_with(pk, :transfer)")
            .expression_attribute_values(":transfer", AttributeValue::S("transfer#".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("moto did not scan the table: {e:?}"))?;
        for item in page.items() {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            let number = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
            };
            if let (Some(pk), Some(status)) = (text("pk"), text("status")) {
                let serial = pk.trim_start_matches("transfer#").to_string();
                records.insert(serial, (status, number("lease_expires_at").unwrap_or(0)));
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(records);
        }
    }
}

/// Hold one serial's answers and record against DeBox's books.
fn reconcile(
    serial: &Serial,
    world: &World,
    records: &BTreeMap<String, (String, u64)>,
    report: &mut Report,
    moved: &mut u64,
) {
    let state = world.sandbox.state();
    let requests = state.debox_transfer_requests(&serial.serial);
    let applied = state
        .debox_order(&serial.serial)
        .is_some_and(|o| o.transferred);
    let problem = |report: &mut Report, what: String| {
        if report.first_problems.len() < 20 {
            report
                .first_problems
                .push(format!("{}: {what}", serial.serial));
        }
    };
    if applied {
        report.applied += 1;
        *moved += serial.hundredths;
    }
    if requests > 1 {
        report.received_twice += 1;
        problem(report, format!("DeBox received {requests} requests"));
    }
    let first_unknown = serial.seen.iter().position(
        |seen| matches!(seen, Seen::Answer { state: Some(state), .. } if state == "unknown"),
    );
    if first_unknown.is_some_and(|at| at + 1 < serial.seen.len()) {
        report.unknown_sent_again += 1;
    }
    for seen in &serial.seen {
        let label = match seen {
            Seen::Answer { status, state, .. } => match state {
                Some(state) => format!("{status} {state}"),
                None => status.to_string(),
            },
            Seen::NotAResponse(_) => "not a response".into(),
            Seen::Killed => "killed".into(),
            Seen::TimedOut => "timed out".into(),
            Seen::Crashed => "crashed".into(),
        };
        *report.answers.entry(label).or_default() += 1;
        match seen {
            Seen::Answer {
                status, outside, ..
            } => {
                if *status == 200 && !applied {
                    report.ok_not_applied += 1;
                    problem(report, "answered 200, not applied".into());
                }
                if let Some(why) = outside {
                    report.outside_contract += 1;
                    problem(report, why.clone());
                }
            }
            Seen::NotAResponse(why) => {
                report.outside_contract += 1;
                problem(report, why.clone());
            }
            _ => {}
        }
        if let Seen::Answer {
            state: Some(state), ..
        } = seen
            && state == "failed"
            && applied
        {
            report.failed_answer_applied += 1;
            problem(report, "answered failed, but applied".into());
        }
    }
    let now = now_ms();
    let status = records.get(&serial.serial).map(|(status, lease)| {
        if status == "in_progress" && lease + LEASE_GRACE_MS <= now {
            "in_progress past its lease".to_string()
        } else {
            status.clone()
        }
    });
    let label = status.clone().unwrap_or_else(|| "none".into());
    *report.records.entry(label).or_default() += 1;
    match status.as_deref() {
        Some("succeeded") if !applied => {
            report.succeeded_record_not_applied += 1;
            problem(report, "recorded succeeded, not applied".into());
        }
        Some("failed") if applied => {
            report.failed_record_applied += 1;
            problem(report, "recorded failed, but applied".into());
        }
        Some("unknown" | "in_progress past its lease") => {
            report.unknown_records += 1;
            if applied {
                report.unknown_applied += 1;
            }
        }
        Some("succeeded" | "failed") => {}
        other if applied => {
            report.applied_without_record += 1;
            problem(report, format!("applied, recorded {other:?}"));
        }
        _ => {}
    }
}
