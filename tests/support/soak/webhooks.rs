//! The webhook soak: Qbit's signed events delivered to a fleet of real
//! `qbit-webhook` processes sharing moto's table, as Qbit delivers them on
//! a bad day: each charge's events in order or as an out-of-order pair
//! (`charge.closed` before `charge.succeeded`), a share of deliveries
//! repeated (some at once, so two instances take the same event together),
//! events of another merchant's charges among them, instances killed every
//! so many deliveries, and whatever was not acknowledged delivered again
//! later, as Qbit retries.
//!
//! Checked: every event is recorded once (one item, never answered as new
//! twice), no charge ever moves backwards (each charge is read after every
//! answer, and its rank and event time never decrease), each ends at its
//! newest event, and no foreign event is applied or makes a charge.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::fleet::{Done, Ending, Fleet, Job, Spec};
use super::{Figure, answer_of, event_template, function_env, write_verdict};
use crate::{World, contract};

#[derive(Debug, Clone)]
pub struct Settings {
    /// The `qbit-webhook` binary.
    pub binary: PathBuf,
    /// Planned deliveries (Qbit's retries of unacknowledged ones on top).
    pub deliveries: usize,
    pub instances: usize,
    pub kill_every: Option<usize>,
    pub timeout: Duration,
    /// Of every 100 planned deliveries, how many repeat an earlier event.
    pub duplicate_percent: u32,
    /// Of every 100 charges, how many get their two events out of order.
    pub out_of_order_percent: u32,
    /// Of every 100 charges, how many are another merchant's.
    pub foreign_percent: u32,
    pub seed: u64,
    pub log_dir: PathBuf,
}

impl Settings {
    /// The soak: 1,000 deliveries, 30% of them duplicates.
    pub fn full(binary: PathBuf, log_dir: PathBuf) -> Self {
        Self {
            binary,
            deliveries: 1_000,
            instances: 8,
            kill_every: Some(100),
            timeout: Duration::from_secs(15),
            duplicate_percent: 30,
            out_of_order_percent: 30,
            foreign_percent: 5,
            seed: 11,
            log_dir,
        }
    }

    /// The short variant every test run makes.
    pub fn smoke(binary: PathBuf, log_dir: PathBuf) -> Self {
        Self {
            deliveries: 120,
            instances: 4,
            kill_every: Some(40),
            timeout: Duration::from_secs(8),
            foreign_percent: 10,
            ..Self::full(binary, log_dir)
        }
    }
}

/// One signed event and what happened to it.
struct Delivered {
    event_id: String,
    charge: usize,
    body: String,
    signature: String,
    /// Answers saying it was new (`duplicate: false`), and saying duplicate.
    new: usize,
    duplicate: usize,
    acknowledged: bool,
    retries: usize,
    /// The event whose first delivery must end before this one is first
    /// delivered (the pair's order is the order Qbit sends them in).
    after: Option<usize>,
    /// Its first delivery has ended (answered or not).
    ended: bool,
}

/// One charge: ours (recorded) or another merchant's.
struct Charge {
    id: String,
    foreign: bool,
    /// Its events' indexes, oldest first.
    events: Vec<usize>,
    /// The last (rank, event time) read from the table.
    seen: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub planned: usize,
    pub invocations: usize,
    pub events: usize,
    pub charges: usize,
    pub foreign_charges: usize,
    pub out_of_order_pairs: usize,
    pub duplicates_planned: usize,
    pub concurrent_pairs: usize,
    pub redelivered: usize,
    pub answers: BTreeMap<String, usize>,
    pub killed: usize,
    pub killed_busy: usize,
    pub timed_out: usize,
    pub crashed: usize,
    pub processes_started: usize,
    pub recorded_twice: usize,
    pub acknowledged_not_recorded: usize,
    pub never_acknowledged: usize,
    pub moved_backwards: usize,
    pub not_at_newest: usize,
    pub foreign_applied: usize,
    pub outside_contract: usize,
    pub first_problems: Vec<String>,
    pub elapsed: Duration,
    pub settings: String,
}

impl Report {
    pub fn must_be_zero(&self) -> Vec<Figure> {
        vec![
            ("events answered as new more than once", self.recorded_twice),
            (
                "events acknowledged but not recorded",
                self.acknowledged_not_recorded,
            ),
            ("events never acknowledged", self.never_acknowledged),
            ("charges seen moving backwards", self.moved_backwards),
            ("charges not at their newest event", self.not_at_newest),
            (
                "foreign events applied or making a charge",
                self.foreign_applied,
            ),
            ("answers outside the contract", self.outside_contract),
            ("processes that crashed by themselves", self.crashed),
        ]
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "webhook soak: {}", self.settings)?;
        writeln!(
            f,
            "  {} planned deliveries ({} repeats, {} of them concurrent pairs), {} invocations in {:.1} s",
            self.planned,
            self.duplicates_planned,
            self.concurrent_pairs,
            self.invocations,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(
            f,
            "  {} events for {} charges ({} foreign, {} delivered as out-of-order pairs); {} redelivered after no acknowledgement",
            self.events,
            self.charges,
            self.foreign_charges,
            self.out_of_order_pairs,
            self.redelivered
        )?;
        writeln!(f, "  answers: {:?}", self.answers)?;
        writeln!(
            f,
            "  processes: {} started, {} killed ({} while busy), {} timed out, {} crashed",
            self.processes_started, self.killed, self.killed_busy, self.timed_out, self.crashed
        )?;
        write_verdict(f, &self.must_be_zero(), &self.first_problems)
    }
}

/// Run the soak in `world` (its sandbox, holding the webhook key, and table).
pub async fn run(world: &World, settings: &Settings) -> Result<Report, String> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let state = world.sandbox.state();
    let mut report = Report::default();

    // Each charge gets two events (succeeded, then closed); the rest of
    // the deliveries repeat earlier ones.
    let repeats = settings.deliveries * settings.duplicate_percent as usize / 100;
    let charge_count = (settings.deliveries - repeats).div_ceil(2);
    let mut charges = Vec::new();
    let mut events: Vec<Delivered> = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    for n in 0..charge_count {
        // Every so many charges, one is another merchant's.
        let foreign = settings.foreign_percent > 0
            && (n + 1) % (100 / settings.foreign_percent.min(100) as usize) == 0;
        let amount = rng.random_range(100..100_000u64);
        let order_id = format!("soak-{n}");
        let id = world.charge_at_qbit(amount, &order_id).await;
        if !foreign {
            world.record_charge(&id, amount, "USD", &order_id).await;
        }
        let mut mine = Vec::new();
        for kind in ["charge.succeeded", "charge.closed"] {
            let event = state
                .settle_charge(&id, kind)
                .ok_or("the sandbox lost a charge")?;
            mine.push(events.len());
            events.push(Delivered {
                event_id: event.id,
                charge: charges.len(),
                body: event.body,
                signature: event.signature,
                new: 0,
                duplicate: 0,
                acknowledged: false,
                retries: 0,
                after: None,
                ended: false,
            });
            // Qbit stamps events to the millisecond: keep them apart.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut sequence = mine.clone();
        if rng.random_range(0..100) < settings.out_of_order_percent {
            sequence.reverse();
            report.out_of_order_pairs += 1;
        }
        events[sequence[1]].after = Some(sequence[0]);
        order.extend(sequence);
        report.foreign_charges += usize::from(foreign);
        charges.push(Charge {
            id,
            foreign,
            events: mine,
            seen: None,
        });
    }
    // Pairs stay in their order; the charges are shuffled among themselves.
    let mut pairs: Vec<[usize; 2]> = order.chunks(2).map(|c| [c[0], c[1]]).collect();
    pairs.shuffle(&mut rng);
    let mut plan: Vec<(usize, bool)> = pairs
        .into_iter()
        .flatten()
        .map(|event| (event, false))
        .collect();
    // Repeats: each after its event's first delivery, some right beside it
    // (two instances take the same event together).
    for _ in 0..repeats {
        let at = rng.random_range(1..=plan.len());
        let earlier: Vec<usize> = plan[..at]
            .iter()
            .filter(|(_, repeat)| !repeat)
            .map(|(e, _)| *e)
            .collect();
        let Some(&event) = earlier.get(rng.random_range(0..earlier.len().max(1))) else {
            continue;
        };
        let concurrent = rng.random_bool(0.5);
        if concurrent {
            let first = plan.iter().position(|(e, _)| *e == event).unwrap_or(0);
            plan.insert(first + 1, (event, true));
            report.concurrent_pairs += 1;
        } else {
            plan.insert(at, (event, true));
        }
        report.duplicates_planned += 1;
    }

    let template = event_template("qbit-webhook.json")?;
    let event_of = |delivered: &Delivered| -> Bytes {
        let mut event = template.clone();
        event["body"] = json!(delivered.body);
        event["headers"]["x-qbitpay-signature"] = json!(delivered.signature);
        Bytes::from(event.to_string())
    };
    let spec = Spec {
        binary: settings.binary.clone(),
        function: "qbit-webhook".into(),
        env: function_env(world),
        timeout: settings.timeout,
        log_dir: settings.log_dir.clone(),
        kill_every: settings.kill_every,
    };
    let mut fleet = Fleet::start(spec, settings.instances).await?;
    let mut jobs: Vec<usize> = Vec::new();
    let mut next = 0;
    let mut outstanding = 0usize;
    let limit = settings.instances * 2;
    // Second events waiting for their pair's first to end, by that first.
    let mut parked: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    while next < plan.len() || outstanding > 0 {
        while next < plan.len() && outstanding.saturating_sub(fleet.waiting_later()) < limit {
            let (event, _) = plan[next];
            next += 1;
            // A repeat of a parked event waits with it, so a pair is never
            // reordered by its repeat.
            if let Some(first) = events[event].after
                && !events[first].ended
            {
                parked.entry(first).or_default().push(event);
                continue;
            }
            fleet.send(Job {
                id: jobs.len(),
                event: event_of(&events[event]),
            });
            jobs.push(event);
            outstanding += 1;
        }
        let Done { job, ending, .. } = fleet.next_done().await?;
        outstanding -= 1;
        let index = jobs[job];
        let label = note(&mut events[index], ending, &mut report);
        *report.answers.entry(label).or_default() += 1;
        if !events[index].ended {
            events[index].ended = true;
            for second in parked.remove(&index).unwrap_or_default() {
                fleet.send(Job {
                    id: jobs.len(),
                    event: event_of(&events[second]),
                });
                jobs.push(second);
                outstanding += 1;
            }
        }
        if !events[index].acknowledged && events[index].retries < 5 {
            // Qbit delivers again later what was not acknowledged.
            events[index].retries += 1;
            report.redelivered += 1;
            fleet.send_later(
                Job {
                    id: jobs.len(),
                    event: event_of(&events[index]),
                },
                Duration::from_millis(rng.random_range(200..2_000)),
            );
            jobs.push(index);
            outstanding += 1;
        }
        let charge = events[index].charge;
        observe(world, &mut charges[charge], &mut report).await?;
    }
    let stats = fleet.stop().await?;
    report.killed = stats.killed;
    report.killed_busy = stats.killed_busy;
    report.timed_out = stats.timed_out;
    report.crashed = stats.crashed;
    report.processes_started = stats.started;
    report.planned = plan.len();
    report.invocations = jobs.len();
    report.events = events.len();
    report.charges = charges.len();

    let items = event_items(world).await?;
    for event in &events {
        let problem = |report: &mut Report, what: &str| {
            if report.first_problems.len() < 20 {
                report
                    .first_problems
                    .push(format!("{}: {what}", event.event_id));
            }
        };
        if event.new > 1 {
            report.recorded_twice += 1;
            problem(&mut report, "answered as new more than once");
        }
        if !event.acknowledged {
            report.never_acknowledged += 1;
            problem(&mut report, "never acknowledged");
        } else if !items.contains_key(&event.event_id) {
            report.acknowledged_not_recorded += 1;
            problem(&mut report, "acknowledged, no event item");
        }
        if charges[event.charge].foreign
            && items.get(&event.event_id).is_some_and(|applied| *applied)
        {
            report.foreign_applied += 1;
            problem(&mut report, "a foreign event applied");
        }
    }
    for charge in &charges {
        let item = world.item(&format!("charge#{}", charge.id)).await;
        if charge.foreign {
            if item.is_some() {
                report.foreign_applied += 1;
                report
                    .first_problems
                    .push(format!("{}: a foreign charge was made", charge.id));
            }
            continue;
        }
        let newest = charge.events.last().map(|e| events[*e].event_id.clone());
        let last = item
            .as_ref()
            .and_then(|i| i.get("last_event_id"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        if last != newest {
            report.not_at_newest += 1;
            report.first_problems.push(format!(
                "{}: at {last:?}, its newest event is {newest:?}",
                charge.id
            ));
        }
    }
    report.elapsed = started.elapsed();
    report.settings = format!(
        "{} deliveries, {} instances, a kill every {}, timeout {:?}, {}% repeats, {}% out-of-order pairs, {}% foreign charges, seed {}, {}",
        settings.deliveries,
        settings.instances,
        settings
            .kill_every
            .map_or("never".to_string(), |n| n.to_string()),
        settings.timeout,
        settings.duplicate_percent,
        settings.out_of_order_percent,
        settings.foreign_percent,
        settings.seed,
        settings.binary.display()
    );
    Ok(report)
}

/// Note one delivery's end on its event; a label for the tally.
fn note(event: &mut Delivered, ending: Ending, report: &mut Report) -> String {
    let outcome = match ending {
        Ending::Answered(outcome) => outcome,
        Ending::Killed => return "killed".into(),
        Ending::TimedOut => return "timed out".into(),
        Ending::Crashed => return "crashed".into(),
    };
    let answer = match answer_of(&outcome) {
        Ok(answer) => answer,
        Err(why) => {
            report.outside_contract += 1;
            report.first_problems.push(why);
            return "not a response".into();
        }
    };
    if let Err(why) = contract::conformance("POST", "/webhooks/qbit", &answer) {
        report.outside_contract += 1;
        if report.first_problems.len() < 20 {
            report.first_problems.push(why);
        }
    }
    if answer.status != 200 {
        return answer.status.to_string();
    }
    event.acknowledged = true;
    let body: Value = serde_json::from_str(&answer.text).unwrap_or_default();
    match body["duplicate"].as_bool() {
        Some(false) => {
            event.new += 1;
            "200 new".into()
        }
        Some(true) => {
            event.duplicate += 1;
            "200 duplicate".into()
        }
        None => {
            report.outside_contract += 1;
            report.first_problems.push(format!(
                "{}: a 200 that says neither new nor duplicate",
                event.event_id
            ));
            "200 without duplicate".into()
        }
    }
}

/// Read the charge now: its (rank, event time) must never be lower than
/// the last time it was read.
async fn observe(world: &World, charge: &mut Charge, report: &mut Report) -> Result<(), String> {
    if charge.foreign {
        return Ok(());
    }
    let Some(item) = world.item(&format!("charge#{}", charge.id)).await else {
        report.moved_backwards += 1;
        report
            .first_problems
            .push(format!("{}: its record is gone", charge.id));
        return Ok(());
    };
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let now = (number("status_rank"), number("last_event_at_ms"));
    if let Some(before) = charge.seen
        && now < before
    {
        report.moved_backwards += 1;
        report.first_problems.push(format!(
            "{}: moved from {before:?} back to {now:?}",
            charge.id
        ));
    }
    charge.seen = Some(now);
    Ok(())
}

/// The table's event items: event id -> applied.
async fn event_items(world: &World) -> Result<BTreeMap<String, bool>, String> {
    let mut items = BTreeMap::new();
    let mut start = None;
    loop {
        let page = world
            .dynamo
            .scan()
            .table_name(&world.table)
            .filter_expression("begins_with(pk, :event)")
            .expression_attribute_values(":event", AttributeValue::S("event#".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("moto did not scan the table: {e:?}"))?;
        for item in page.items() {
            if let Some(Ok(pk)) = item.get("pk").map(|v| v.as_s()) {
                let applied = item
                    .get("applied")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(false);
                items.insert(pk.trim_start_matches("event#").to_string(), applied);
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(items);
        }
    }
}
