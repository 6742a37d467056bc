//! `sandbox [--addr 127.0.0.1:8720] [--qbit-api-key KEY]...`
//!
//! Serves the provider stand-ins until stopped, and prints its URL on the
//! first line of standard output so scripts can find it.

use std::net::SocketAddr;

use sandbox::{Sandbox, SandboxConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr: SocketAddr = "127.0.0.1:8720".parse()?;
    let mut config = SandboxConfig::default();
    let mut keys = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => addr = value("--addr")?.parse()?,
            "--qbit-api-key" => keys.push(value("--qbit-api-key")?),
            "-h" | "--help" => {
                println!("sandbox [--addr 127.0.0.1:8720] [--qbit-api-key KEY]...");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}; see --help").into()),
        }
    }
    if !keys.is_empty() {
        config.qbit_api_keys = keys;
    }
    let sandbox = Sandbox::start(config, addr).await?;
    println!("sandbox listening on {}", sandbox.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
