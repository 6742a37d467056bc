//! `demo env ...`: the functions' environment, one `NAME=value` a line (for
//! `cargo lambda watch --env-file`); `demo run ...`: the story, told step
//! by step, exit 1 at the first step that fails. `scripts/local-run.sh`
//! starts everything and calls both:
//!
//! ```text
//! demo env|run --lambda-port 9000 --sandbox http://127.0.0.1:8720 \
//!     --moto http://127.0.0.1:5050 --table T --secret-id S --merchant merchant1 \
//!     [--events events] [--scratch .local/run]
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use demo::{Setup, function_env, run};

fn setup(args: &[String]) -> Result<Setup, String> {
    let mut named = HashMap::new();
    let mut pairs = args.chunks(2);
    for pair in &mut pairs {
        match pair {
            [name, value] if name.starts_with("--") => {
                named.insert(name.trim_start_matches("--").to_string(), value.clone());
            }
            _ => return Err(format!("expected --name value pairs, got {pair:?}")),
        }
    }
    let take = |name: &str| {
        named
            .get(name)
            .cloned()
            .ok_or_else(|| format!("--{name} is required"))
    };
    Ok(Setup {
        lambda_port: take("lambda-port")?
            .parse()
            .map_err(|_| "--lambda-port must be a port number".to_string())?,
        sandbox_url: take("sandbox")?,
        moto_endpoint: take("moto")?,
        table: take("table")?,
        secret_id: take("secret-id")?,
        merchant: take("merchant")?,
        events: PathBuf::from(named.get("events").cloned().unwrap_or("events".into())),
        scratch: PathBuf::from(named.get("scratch").cloned().unwrap_or(".".into())),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!(
            "usage: demo env|run --lambda-port P --sandbox URL --moto URL --table T --secret-id S --merchant M"
        );
        return ExitCode::from(2);
    };
    let setup = match setup(rest) {
        Ok(setup) => setup,
        Err(why) => {
            eprintln!("demo: {why}");
            return ExitCode::from(2);
        }
    };
    match command.as_str() {
        "env" => {
            for line in function_env(&setup) {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        "run" => match run(&setup, &mut |line| println!("{line}")).await {
            Ok(_) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("\nthe demonstration failed: {why}");
                ExitCode::FAILURE
            }
        },
        other => {
            eprintln!("demo: unknown command {other:?} (env or run)");
            ExitCode::from(2)
        }
    }
}
