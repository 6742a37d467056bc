//! Soaks: many requests to fleets of the real function binaries, with
//! faults and kills, then every answer and record reconciled against the
//! provider's own books. `scripts/soak.sh` runs the full ones (the release
//! binaries); `tests/it/soak.rs` runs a short one in every test run.

pub mod fleet;
pub mod transfers;
pub mod webhooks;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use sandbox::lambda::Outcome;
use serde_json::Value;

use crate::{Answer, World};

/// The functions' environment for `world` (`demo::function_env`, the one
/// list the local run and the tests use).
pub fn function_env(world: &World) -> Vec<(String, String)> {
    let setup = demo::Setup {
        lambda_port: 0,
        sandbox_url: world.sandbox.url(),
        moto_endpoint: crate::moto_endpoint(),
        table: world.table.clone(),
        secret_id: world.secret_id.clone(),
        merchant: crate::MERCHANT.into(),
        events: events_dir(),
        scratch: std::env::temp_dir(),
    };
    demo::function_env(&setup)
        .into_iter()
        .filter_map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// The repository's `events/`.
pub fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// An event file from `events/`, as JSON to change.
pub fn event_template(name: &str) -> Result<Value, String> {
    let path = events_dir().join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// API Gateway's response, as the function posted it back: its status,
/// headers and body, or why it is not one (a handler error, a body that is
/// not a response).
pub fn answer_of(outcome: &Outcome) -> Result<Answer, String> {
    let body: &Bytes = match outcome {
        Outcome::Response(body) => body,
        Outcome::Error(body) => {
            return Err(format!(
                "the function failed: {}",
                String::from_utf8_lossy(body)
            ));
        }
    };
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("not an API Gateway response ({e}): {body:?}"))?;
    let status = value["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| format!("no statusCode: {value}"))?;
    let mut headers = lambda_http::http::HeaderMap::new();
    if let Some(map) = value["headers"].as_object() {
        for (name, v) in map {
            if let (Ok(name), Some(Ok(v))) = (
                lambda_http::http::HeaderName::from_bytes(name.as_bytes()),
                v.as_str().map(lambda_http::http::HeaderValue::from_str),
            ) {
                headers.insert(name, v);
            }
        }
    }
    let text = value["body"].as_str().unwrap_or_default().to_string();
    Ok(Answer {
        status,
        headers,
        text,
    })
}

/// A must-be-zero figure and its value, for the report and the smoke test.
pub type Figure = (&'static str, usize);

/// The end of a soak's report: each must-be-zero figure, then the first
/// problems seen.
pub fn write_verdict(
    f: &mut std::fmt::Formatter<'_>,
    figures: &[Figure],
    problems: &[String],
) -> std::fmt::Result {
    writeln!(f, "  must be zero:")?;
    for (name, value) in figures {
        writeln!(f, "    {name}: {value}")?;
    }
    for problem in problems {
        writeln!(f, "  problem: {problem}")?;
    }
    Ok(())
}
