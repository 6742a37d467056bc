//! `soak`: the full soaks, run by `scripts/soak.sh` (which starts moto,
//! builds the release binaries and passes them here). Prints each report
//! and exits non-zero when any must-be-zero figure is not zero.
//!
//! ```text
//! soak transfers --binary target/release/debox-transfer [--attempts 10000] [--instances 8] [--kill-every 100]
//! soak webhooks  --binary target/release/qbit-webhook   [--deliveries 1000] [--instances 8]
//! ```

use std::path::PathBuf;
use std::time::Duration;

use bundle_tests::World;
use bundle_tests::soak::{Figure, transfers, webhooks};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Soak the real function binaries with faults and kills, then reconcile")]
struct Cli {
    #[command(subcommand)]
    soak: Soak,
}

#[derive(Subcommand)]
enum Soak {
    /// Transfers through debox-transfer, reconciled with DeBox's books.
    Transfers {
        #[arg(long)]
        binary: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        attempts: usize,
        #[arg(long, default_value_t = 8)]
        instances: usize,
        #[arg(long, default_value_t = 100)]
        kill_every: usize,
        /// The function's timeout, in seconds (the template's is 15).
        #[arg(long, default_value_t = 15)]
        timeout: u64,
        #[arg(long, default_value_t = 11)]
        seed: u64,
        #[arg(long, default_value = "target/soak")]
        logs: PathBuf,
    },
    /// Qbit events through qbit-webhook, checked against the table.
    Webhooks {
        #[arg(long)]
        binary: PathBuf,
        #[arg(long, default_value_t = 1_000)]
        deliveries: usize,
        #[arg(long, default_value_t = 8)]
        instances: usize,
        #[arg(long, default_value_t = 100)]
        kill_every: usize,
        #[arg(long, default_value_t = 11)]
        seed: u64,
        #[arg(long, default_value = "target/soak")]
        logs: PathBuf,
    },
}

fn verdict(figures: &[Figure]) -> bool {
    figures.iter().all(|(_, value)| *value == 0)
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let world = World::start().await;
    let result = match cli.soak {
        Soak::Transfers {
            binary,
            attempts,
            instances,
            kill_every,
            timeout,
            seed,
            logs,
        } => {
            let settings = transfers::Settings {
                attempts,
                instances,
                kill_every,
                timeout: Duration::from_secs(timeout),
                seed,
                ..transfers::Settings::full(binary, logs)
            };
            transfers::run(&world, &settings)
                .await
                .map(|report| (report.to_string(), verdict(&report.must_be_zero())))
        }
        Soak::Webhooks {
            binary,
            deliveries,
            instances,
            kill_every,
            seed,
            logs,
        } => {
            let settings = webhooks::Settings {
                deliveries,
                instances,
                kill_every: Some(kill_every),
                seed,
                ..webhooks::Settings::full(binary, logs)
            };
            webhooks::run(&world, &settings)
                .await
                .map(|report| (report.to_string(), verdict(&report.must_be_zero())))
        }
    };
    match result {
        Ok((report, true)) => print!("{report}"),
        Ok((report, false)) => {
            print!("{report}");
            eprintln!("soak: a must-be-zero figure is not zero");
            std::process::exit(1);
        }
        Err(why) => {
            eprintln!("soak: {why}");
            std::process::exit(2);
        }
    }
}
