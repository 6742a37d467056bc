//! `sandbox [--addr 127.0.0.1:8720] [--qbit-api-key KEY]... [--debox-app-id ID]
//!  [--debox-api-key KEY] [--debox-app-secret SECRET] [--debox-merchant USER]
//!  [--debox-merchant-balance POINTS] [--qbit-webhook-key PKCS8_PEM_FILE]
//!  [--qbit-webhook-url URL]`
//!
//! Serves the provider stand-ins until stopped, and prints its URL on the
//! first line of standard output so scripts can find it.

use std::net::SocketAddr;

use sandbox::{Sandbox, SandboxConfig};

const USAGE: &str = "sandbox [--addr 127.0.0.1:8720] [--qbit-api-key KEY]... [--debox-app-id ID] \
[--debox-api-key KEY] [--debox-app-secret SECRET] [--debox-merchant USER] [--debox-merchant-balance POINTS] \
[--qbit-webhook-key PKCS8_PEM_FILE] [--qbit-webhook-url URL]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr: SocketAddr = "127.0.0.1:8720".parse()?;
    let mut config = SandboxConfig::default();
    let mut keys = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or(format!("{name} needs a value; usage: {USAGE}"))
        };
        match arg.as_str() {
            "--addr" => addr = value("--addr")?.parse()?,
            "--qbit-api-key" => keys.push(value("--qbit-api-key")?),
            "--debox-app-id" => config.debox_app.app_id = value("--debox-app-id")?,
            "--debox-api-key" => config.debox_app.api_key = value("--debox-api-key")?,
            "--debox-app-secret" => config.debox_app.app_secret = value("--debox-app-secret")?,
            "--debox-merchant" => config.debox_merchant = value("--debox-merchant")?,
            "--debox-merchant-balance" => {
                let points = value("--debox-merchant-balance")?;
                config.debox_merchant_balance = sandbox::debox::parse_points(&points)
                    .ok_or(format!("bad --debox-merchant-balance {points}"))?;
            }
            "--qbit-webhook-key" => {
                config.qbit_webhook_key_pem =
                    Some(std::fs::read_to_string(value("--qbit-webhook-key")?)?)
            }
            "--qbit-webhook-url" => config.qbit_webhook_url = Some(value("--qbit-webhook-url")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}; usage: {USAGE}").into()),
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
