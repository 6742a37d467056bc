//! `bench [calls|coldstart|warm|size|all] [--starts N] [--requests N]
//!  [--functions a,b] [--moto URL]`
//!
//! Measures the six release binaries as Lambda runs them, each beside a
//! floor measured in the same run, and prints Markdown tables (BENCHMARKS.md
//! holds a run's output). Never part of the test run; `scripts/bench.sh`
//! builds what it needs, starts moto and runs `all`.
//!
//! - `calls`: which AWS and provider calls each function makes at init, on
//!   its first request and on each warm one, counted (a proxy in front of
//!   moto, the sandbox's own counts), and whether its floor makes the same.
//! - `coldstart`: `--starts` rounds (default 20); each round starts the
//!   hello-world, then each function and its floor, in turn (interleaved,
//!   so a machine that gets busier slows all of them alike); process start
//!   to first poll (init) and to first answer. Medians.
//! - `warm`: one process per function and per floor, `--requests` (default
//!   1000) requests one at a time after a first, untimed; p50/p99 of the
//!   round trip, and peak RSS after the last.
//! - `size`: the arm64 `bootstrap` and its zip, from
//!   `cargo lambda build --release --arm64 --output-format zip`.
//!
//! The floor: `bench-hello` (a hello-world Lambda) for init; `bench-floor`
//! (the same upstream calls made directly, see its source) for the first
//! answer and warm latency.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bench::process::{self, Cold, Target, Warm};
use bench::stats::{Sample, ms};
use bench::world::World;
use bench::{Function, proxy};
use bytes::Bytes;

const USAGE: &str = "bench [calls|coldstart|warm|size|all] [--starts N] [--requests N] \
[--functions create-charge,list-charges,...] [--moto URL (default $MOTO_ENDPOINT)] [--platform]\n\
       bench profile FUNCTION|floor-FUNCTION|platform-FUNCTION|hello-world [--request]   (under $BENCH_WRAP)";

struct Options {
    command: String,
    starts: usize,
    requests: usize,
    functions: Vec<Function>,
    moto: Option<String>,
    root: PathBuf,
    target_dir: PathBuf,
    /// `profile`: which binary, and whether it also answers one request.
    profile: Option<String>,
    request: bool,
    /// `BENCH_WRAP`: a command (split at spaces) to run every process under.
    wrap: Vec<String>,
    /// `BENCH_BIN_DIR`: where the binaries are, instead of `target/release`.
    bin_dir: Option<PathBuf>,
    /// `--platform`: also cold-start each floor with the clients built the
    /// default way (see bench-floor's `platform`), for the difference.
    platform: bool,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("bench/ is in the workspace")
            .to_path_buf();
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let mut options = Self {
            command: "all".into(),
            starts: 20,
            requests: 1000,
            functions: Function::ALL.to_vec(),
            moto: std::env::var("MOTO_ENDPOINT").ok(),
            root,
            target_dir,
            profile: None,
            request: false,
            wrap: std::env::var("BENCH_WRAP")
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect(),
            bin_dir: std::env::var_os("BENCH_BIN_DIR").map(PathBuf::from),
            platform: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value; {USAGE}"));
            let number = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
            match arg.as_str() {
                "calls" | "coldstart" | "warm" | "size" | "all" => options.command = arg.clone(),
                "profile" => {
                    options.command = arg.clone();
                    options.profile = Some(value()?);
                }
                "--request" => options.request = true,
                "--platform" => options.platform = true,
                "--starts" => options.starts = number(value()?)?.max(1),
                "--requests" => options.requests = number(value()?)?.max(1),
                "--moto" => options.moto = Some(value()?),
                "--functions" => {
                    options.functions = value()?
                        .split(',')
                        .map(|name| {
                            Function::ALL
                                .into_iter()
                                .find(|f| f.name() == name)
                                .ok_or(format!("no function {name}"))
                        })
                        .collect::<Result<_, _>>()?;
                    options.functions.sort();
                }
                "-h" | "--help" => return Err(USAGE.into()),
                other => return Err(format!("unknown argument {other}; {USAGE}")),
            }
        }
        Ok(options)
    }

    fn release(&self, binary: &str) -> PathBuf {
        match &self.bin_dir {
            Some(dir) => dir.join(binary),
            None => self.target_dir.join("release").join(binary),
        }
    }

    fn log(&self, label: &str) -> PathBuf {
        self.target_dir.join("bench").join(format!("{label}.log"))
    }

    fn moto(&self) -> Result<&str, String> {
        self.moto.as_deref().ok_or_else(|| {
            "no moto: set MOTO_ENDPOINT or --moto (scripts/bench.sh starts one)".into()
        })
    }
}

/// The binaries one function is compared with.
struct Targets {
    hello: Target,
    function: BTreeMap<Function, Target>,
    floor: BTreeMap<Function, Target>,
    /// The floor with the default way's clients (`--platform`).
    platform: BTreeMap<Function, Target>,
}

/// The processes, with their environment: the functions' (`aws` as the
/// AWS endpoint), each with its table.
async fn targets(options: &Options, world: &mut World, aws: &str) -> Result<Targets, String> {
    let binary = |name: &str| {
        let binary = options.release(name);
        if binary.exists() {
            Ok(binary)
        } else {
            Err(format!(
                "{} is not built: cargo build --release (scripts/bench.sh does it)",
                binary.display()
            ))
        }
    };
    let mut target =
        async |label: String, name: &str, function: Option<Function>, extra: &[(&str, &str)]| {
            let table = match function {
                Some(f) => world.table_for(f, &label).await?,
                None => world.table.clone(),
            };
            let mut env = world.function_env(aws, &table);
            env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            Ok::<_, String>(Target {
                log: options.log(&label),
                label,
                binary: binary(name)?,
                env,
                wrap: options.wrap.clone(),
            })
        };
    let mut targets = Targets {
        hello: target("hello-world".into(), "bench-hello", None, &[]).await?,
        function: BTreeMap::new(),
        floor: BTreeMap::new(),
        platform: BTreeMap::new(),
    };
    for f in &options.functions {
        let function = target(f.name().into(), f.name(), Some(*f), &[]).await?;
        targets.function.insert(*f, function);
        let floor = target(
            format!("floor-{}", f.name()),
            "bench-floor",
            Some(*f),
            &[("BENCH_FLOOR", f.name())],
        )
        .await?;
        targets.floor.insert(*f, floor);
        let platform = target(
            format!("platform-{}", f.name()),
            "bench-floor",
            Some(*f),
            &[
                ("BENCH_FLOOR", f.name()),
                ("BENCH_FLOOR_CLIENTS", "platform"),
            ],
        )
        .await?;
        targets.platform.insert(*f, platform);
    }
    Ok(targets)
}

/// Charges for the webhook's events, recorded by the real `create-charge`
/// (so that each event is applied to its charge, as a real payment's is),
/// before any webhook table is made.
async fn seed_charges(options: &Options, world: &mut World) -> Result<(), String> {
    if !options.functions.contains(&Function::QbitWebhook) {
        return Ok(());
    }
    let label = "seed-create-charge".to_string();
    let target = Target {
        log: options.log(&label),
        binary: options.release("create-charge"),
        env: world.function_env(&world.moto, &world.table),
        label,
        wrap: Vec::new(),
    };
    let events = world
        .events(Function::CreateCharge, bench::world::WEBHOOK_CHARGES)
        .await?;
    process::each(&target, events, |_| {}).await
}

/// A trivial event for the hello-world.
fn hello_event() -> Bytes {
    Bytes::from_static(b"{}")
}

#[tokio::main]
async fn main() {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(why) => {
            eprintln!("{why}");
            std::process::exit(2);
        }
    };
    if let Err(why) = run(&options).await {
        eprintln!("bench: {why}");
        std::process::exit(1);
    }
}

async fn run(options: &Options) -> Result<(), String> {
    std::fs::create_dir_all(options.target_dir.join("bench")).map_err(|e| e.to_string())?;
    let command = options.command.as_str();
    println!(
        "# bench {command}: {} starts, {} warm requests, functions: {}",
        options.starts,
        options.requests,
        options
            .functions
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("machine: {}", machine());
    if let Some(label) = &options.profile {
        return profile(options, label).await;
    }
    if command != "size" {
        let mut world = World::start(options.moto()?, &options.root.join("events")).await?;
        seed_charges(options, &mut world).await?;
        if matches!(command, "calls" | "all") {
            calls(options, &mut world).await?;
        }
        let moto = world.moto.clone();
        let targets = targets(options, &mut world, &moto).await?;
        if matches!(command, "coldstart" | "all") {
            print_cold(options, &coldstart(options, &mut world, &targets).await?);
        }
        if matches!(command, "warm" | "all") {
            print_warm(options, &warm(options, &mut world, &targets).await?);
        }
    }
    if matches!(command, "size" | "all") {
        size(options)?;
    }
    Ok(())
}

/// CPUs, model and load, for the record.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} CPUs ({model}), load average {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// One process, under `BENCH_WRAP` (a profiler): its init, and its first
/// request with `--request`; then it exits by itself.
async fn profile(options: &Options, label: &str) -> Result<(), String> {
    let mut world = World::start(options.moto()?, &options.root.join("events")).await?;
    seed_charges(options, &mut world).await?;
    let moto = world.moto.clone();
    let targets = targets(options, &mut world, &moto).await?;
    let (target, function) = if label == "hello-world" {
        (&targets.hello, None)
    } else {
        let (kind, name) = label
            .split_once('-')
            .filter(|(kind, _)| matches!(*kind, "floor" | "platform"))
            .unwrap_or(("function", label));
        let function = options
            .functions
            .iter()
            .find(|f| f.name() == name)
            .ok_or(format!("no such process {label}"))?;
        let target = match kind {
            "floor" => &targets.floor[function],
            "platform" => &targets.platform[function],
            _ => &targets.function[function],
        };
        (target, Some(*function))
    };
    let request = match (options.request, function) {
        (false, _) => None,
        (true, None) => Some(hello_event()),
        (true, Some(f)) => Some(world.events(f, 1).await?.remove(0)),
    };
    process::profile(target, request).await?;
    println!("{label}: profiled (see BENCH_WRAP's output)");
    Ok(())
}

// ---- calls -----------------------------------------------------------------

/// What one process called at init, on its first request and on the next
/// two: every call, AWS's and the providers', in the order made.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct CallLog {
    init: String,
    first: String,
    warm: Vec<String>,
}

async fn calls(options: &Options, world: &mut World) -> Result<(), String> {
    let sandbox = world.sandbox.clone();
    let proxy = proxy::CountingProxy::start(&world.moto, Arc::new(move || sandbox.state().calls()))
        .await
        .map_err(|e| e.to_string())?;
    let targets = targets(options, world, &proxy.url()).await?;
    println!(
        "\n## Calls, in order (AWS through a counting proxy in front of moto, providers as the sandbox counted them)\n"
    );
    println!(
        "| process | at init | first request (cold) | each warm request | same as its function |"
    );
    println!("|---|---|---|---|---|");
    for f in &options.functions {
        let mut logs = Vec::new();
        for target in [
            &targets.function[f],
            &targets.floor[f],
            &targets.platform[f],
        ] {
            let events = world.events(*f, 3).await?;
            proxy.take();
            let mut log = CallLog::default();
            process::each(target, events, |i| {
                let calls = proxy.take();
                let line = if calls.is_empty() {
                    "none".into()
                } else {
                    calls.join(", ")
                };
                match i {
                    None => log.init = line,
                    Some(0) => log.first = line,
                    Some(_) => log.warm.push(line),
                }
            })
            .await?;
            logs.push((target.label.clone(), log));
        }
        let function = logs[0].1.clone();
        for (label, log) in &logs {
            let warm = if log.warm.windows(2).all(|w| w[0] == w[1]) {
                log.warm.first().cloned().unwrap_or_default()
            } else {
                log.warm.join(" / then ")
            };
            let same = if *log == function {
                "yes"
            } else {
                "NO: not this function's floor"
            };
            println!(
                "| {label} | {} | {} | {warm} | {same} |",
                log.init, log.first
            );
        }
    }
    Ok(())
}

// ---- cold starts -------------------------------------------------------------

struct ColdRun {
    hello: Vec<Cold>,
    function: BTreeMap<Function, Vec<Cold>>,
    floor: BTreeMap<Function, Vec<Cold>>,
    platform: BTreeMap<Function, Vec<Cold>>,
}

async fn coldstart(
    options: &Options,
    world: &mut World,
    targets: &Targets,
) -> Result<ColdRun, String> {
    let mut run = ColdRun {
        hello: Vec::new(),
        function: BTreeMap::new(),
        floor: BTreeMap::new(),
        platform: BTreeMap::new(),
    };
    eprintln!("cold starts: {} rounds", options.starts);
    for round in 0..options.starts {
        run.hello
            .push(process::cold_start(&targets.hello, hello_event()).await?);
        for f in &options.functions {
            let event = world.events(*f, 1).await?.remove(0);
            let cold = process::cold_start(&targets.function[f], event).await?;
            run.function.entry(*f).or_default().push(cold);
            let event = world.events(*f, 1).await?.remove(0);
            let cold = process::cold_start(&targets.floor[f], event).await?;
            run.floor.entry(*f).or_default().push(cold);
            if options.platform {
                let event = world.events(*f, 1).await?.remove(0);
                let cold = process::cold_start(&targets.platform[f], event).await?;
                run.platform.entry(*f).or_default().push(cold);
            }
        }
        eprint!("\r  round {}/{}", round + 1, options.starts);
    }
    eprintln!();
    Ok(run)
}

fn inits(colds: &[Cold]) -> Sample {
    Sample::new(colds.iter().map(|c| c.init).collect())
}

fn firsts(colds: &[Cold]) -> Sample {
    Sample::new(colds.iter().map(|c| c.first_answer).collect())
}

/// `a` above `b`: the difference in ms, and the ratio.
fn above(a: Duration, b: Duration) -> (String, String) {
    let ratio = if b.is_zero() {
        "-".into()
    } else {
        format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
    };
    (format!("{:+.2}", ms(a) - ms(b)), ratio)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISS" }
}

fn print_cold(options: &Options, run: &ColdRun) {
    println!(
        "\n## Cold starts (ms, medians of {} starts each, interleaved)\n",
        options.starts
    );
    println!("Raw spread (process start to first poll = init; to first answer = first):\n");
    println!("```");
    println!("{:<22} init  {}", "hello-world", inits(&run.hello).spread());
    println!(
        "{:<22} first {}",
        "hello-world",
        firsts(&run.hello).spread()
    );
    for f in &options.functions {
        for (label, colds) in [
            (f.name().to_string(), run.function.get(f)),
            (format!("floor-{}", f.name()), run.floor.get(f)),
            (format!("platform-{}", f.name()), run.platform.get(f)),
        ] {
            let Some(colds) = colds else { continue };
            println!("{label:<22} init  {}", inits(colds).spread());
            println!("{label:<22} first {}", firsts(colds).spread());
        }
    }
    println!("```\n");
    let hello = inits(&run.hello).median();
    println!(
        "| function | init | hello-world init | init above it | ratio | first answer | floor's first answer | above it | ratio | floor's init | targets: init ≤ 5 and ≤ +4; first ≤ 20 and ≤ +8 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for f in &options.functions {
        let init = inits(&run.function[f]).median();
        let first = firsts(&run.function[f]).median();
        let floor_first = firsts(&run.floor[f]).median();
        let floor_init = inits(&run.floor[f]).median();
        let (init_diff, init_ratio) = above(init, hello);
        let (first_diff, first_ratio) = above(first, floor_first);
        let targets = format!(
            "init {} / {}; first {} / {}",
            verdict(ms(init) <= 5.0),
            verdict(ms(init) - ms(hello) <= 4.0),
            verdict(ms(first) <= 20.0),
            verdict(ms(first) - ms(floor_first) <= 8.0)
        );
        println!(
            "| {} | {:.2} | {:.2} | {init_diff} | {init_ratio} | {:.2} | {:.2} | {first_diff} | {first_ratio} | {:.2} | {targets} |",
            f.name(),
            ms(init),
            ms(hello),
            ms(first),
            ms(floor_first),
            ms(floor_init)
        );
    }
    if run.platform.is_empty() {
        return;
    }
    println!(
        "\n`--platform`: each floor again, its clients built the default way (the platform's certificate store, the default credentials chain; see bench-floor's `platform`), against the floor with the functions' clients:\n"
    );
    println!(
        "| calls of | platform init | floor init | saved | platform first answer | floor first answer | saved |"
    );
    println!("|---|---|---|---|---|---|---|");
    for f in &options.functions {
        let (platform, floor) = (&run.platform[f], &run.floor[f]);
        let (pi, fi) = (inits(platform).median(), inits(floor).median());
        let (pf, ff) = (firsts(platform).median(), firsts(floor).median());
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            f.name(),
            ms(pi),
            ms(fi),
            ms(pi) - ms(fi),
            ms(pf),
            ms(ff),
            ms(pf) - ms(ff)
        );
    }
}

// ---- warm ------------------------------------------------------------------

struct WarmRun {
    hello: Warm,
    function: BTreeMap<Function, Result<Warm, String>>,
    floor: BTreeMap<Function, Result<Warm, String>>,
}

async fn warm(options: &Options, world: &mut World, targets: &Targets) -> Result<WarmRun, String> {
    let n = options.requests;
    eprintln!("warm: {n} requests per process, each function in lockstep with its floor");
    let hello = process::warm(
        vec![process::WarmLoad {
            target: targets.hello.clone(),
            first: hello_event(),
            events: vec![hello_event(); n],
        }],
        async |_, _: &Bytes| Ok(()),
    )
    .await?
    .remove(0);
    let mut run = WarmRun {
        hello,
        function: BTreeMap::new(),
        floor: BTreeMap::new(),
    };
    for f in &options.functions {
        eprintln!("  {}", f.name());
        let mut loads = Vec::new();
        for target in [&targets.function[f], &targets.floor[f]] {
            let mut events = world.events(*f, n + 1).await?;
            let first = events.remove(0);
            loads.push(process::WarmLoad {
                target: target.clone(),
                first,
                events,
            });
        }
        let tables: Vec<String> = loads
            .iter()
            .map(|load| {
                load.target
                    .env
                    .iter()
                    .find(|(k, _)| k == "PAYMENTS_TABLE")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect();
        let world = &*world;
        let after = async |n: usize, event: &Bytes| {
            if *f == Function::QbitWebhook {
                world.forget_event(&tables[n], event).await?;
            }
            Ok(())
        };
        let (function, floor) = match process::warm(loads, after).await {
            Ok(mut warms) => {
                let floor = warms.pop().expect("two loads");
                (Ok(warms.pop().expect("two loads")), Ok(floor))
            }
            Err(why) => {
                eprintln!("    failed: {why}");
                (Err(why.clone()), Err(why))
            }
        };
        run.function.insert(*f, function);
        run.floor.insert(*f, floor);
    }
    Ok(run)
}

fn latencies(warm: &Warm) -> Sample {
    Sample::new(warm.latencies.clone())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A warm run's raw line: its spread and peak RSS, or why it failed.
fn warm_line(label: &str, warm: &Result<Warm, String>) -> String {
    match warm {
        Ok(warm) => format!(
            "{label:<22} {}  peak RSS {:.1} MiB{}",
            latencies(warm).spread(),
            mib(warm.peak_rss_kib),
            match &warm.first_failure {
                Some(why) => format!(
                    "  ({} not answered with a 200, the first: {why})",
                    warm.failed
                ),
                None => String::new(),
            }
        ),
        Err(why) => format!("{label:<22} failed: {why}"),
    }
}

fn print_warm(options: &Options, run: &WarmRun) {
    println!(
        "\n## Warm requests (ms, {} requests one at a time per process, after a first untimed one; each function in lockstep with its floor)\n",
        options.requests
    );
    println!("Raw spread (round trip through the Runtime API stand-in):\n");
    println!("```");
    println!("{}", warm_line("hello-world", &Ok(run.hello.clone())));
    for f in &options.functions {
        println!("{}", warm_line(f.name(), &run.function[f]));
        println!(
            "{}",
            warm_line(&format!("floor-{}", f.name()), &run.floor[f])
        );
    }
    println!("```\n");
    println!(
        "| function | p50 | floor p50 | above it | p99 | floor p99 | above it | peak RSS (MiB) | floor's peak RSS | targets: +0.3 at p50, +1 at p99, RSS ≤ 16 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for f in &options.functions {
        let (Ok(own), Ok(floor)) = (&run.function[f], &run.floor[f]) else {
            println!("| {} | failed (see above) |||||||||", f.name());
            continue;
        };
        let (own_latencies, floor_latencies) = (latencies(own), latencies(floor));
        let (p50, fp50) = (own_latencies.median(), floor_latencies.median());
        let (p99, fp99) = (
            own_latencies.percentile(99.0),
            floor_latencies.percentile(99.0),
        );
        let rss = mib(own.peak_rss_kib);
        let targets = format!(
            "{} / {} / {}",
            verdict(ms(p50) - ms(fp50) <= 0.3),
            verdict(ms(p99) - ms(fp99) <= 1.0),
            verdict(rss <= 16.0)
        );
        println!(
            "| {} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {} | {rss:.1} | {:.1} | {targets} |",
            f.name(),
            ms(p50),
            ms(fp50),
            above(p50, fp50).0,
            ms(p99),
            ms(fp99),
            above(p99, fp99).0,
            mib(floor.peak_rss_kib)
        );
    }
}

// ---- size ------------------------------------------------------------------

fn size(options: &Options) -> Result<(), String> {
    let arm = options
        .target_dir
        .join("aarch64-unknown-linux-gnu")
        .join("release");
    let lambda = options.target_dir.join("lambda");
    println!("\n## Size (arm64, `cargo lambda build --release --arm64 --output-format zip`)\n");
    println!("| binary | bootstrap (bytes) | MiB | zip (bytes) | MB | target: zip ≤ 3 MB |");
    println!("|---|---|---|---|---|---|");
    let names: Vec<&str> = options
        .functions
        .iter()
        .map(|f| f.name())
        .chain(["bench-hello", "bench-floor"])
        .collect();
    let mut missing = Vec::new();
    for name in names {
        let bootstrap = std::fs::metadata(arm.join(name)).map(|m| m.len());
        let zip = std::fs::metadata(lambda.join(name).join("bootstrap.zip")).map(|m| m.len());
        match (bootstrap, zip) {
            (Ok(bootstrap), Ok(zip)) => println!(
                "| {name} | {bootstrap} | {:.2} | {zip} | {:.2} | {} |",
                bootstrap as f64 / 1048576.0,
                zip as f64 / 1e6,
                verdict(zip <= 3_000_000)
            ),
            _ => missing.push(name),
        }
    }
    if !missing.is_empty() {
        println!(
            "\nnot built for arm64: {} (scripts/bench.sh runs cargo lambda build --release --arm64 --output-format zip)",
            missing.join(", ")
        );
    }
    Ok(())
}
