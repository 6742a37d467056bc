//! Building a container's long-lived clients, once, before the first event.
//!
//! Only cheap work happens here: reading the environment and constructing
//! clients. Nothing is fetched over the network until a request needs it.

use std::sync::Arc;

use std::time::Duration;

use crate::config::{self, ConfigError};
use crate::debox::{DeboxClient, UserId};
use crate::qbit::QbitClient;
use crate::secrets::Secrets;
use crate::table::DynamoStore;
use crate::tls::{TlsError, aws_https_client};
use crate::upstream::{ClientBuildError, Timeouts, http_client};
use lambda_http::tracing::subscriber::filter::{LevelFilter, Targets};

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    ProviderClient(#[from] ClientBuildError),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// The AWS SDK configuration as Lambda gives it: credentials and region
/// from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`; `AWS_REGION`), `AWS_ENDPOINT_URL*` for local
/// emulators, and an HTTPS client trusting Amazon's roots only
/// ([`crate::tls`]: no certificate file is read).
///
/// Lambda always sets those variables (so do `sam local`, the local run and
/// the tests); the default chain's other sources (profile files, web
/// identity through STS, ECS, IMDS) never apply there, and building them
/// cost 0.4-0.5 ms of every cold start and as much again at the first call
/// (BENCHMARKS.md). Missing credentials make every AWS call fail, which the
/// functions answer as a 503.
pub async fn aws_config() -> Result<aws_config::SdkConfig, BootError> {
    use aws_config::environment::{
        EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
    };
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(aws_https_client()?)
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .region(EnvironmentVariableRegionProvider::new())
        .load()
        .await)
}

/// Timeouts and retries for our own AWS services (the table, the secret):
/// one that cannot be reached must become a quick 503, well before the
/// function's own timeout and before anything is sent to a provider.
/// 1 s to connect, 2 s an attempt, 3 attempts, 4 s in all
/// (`budget::RECORD_MARGIN_MS` counts on that bound).
fn aws_limits() -> (
    aws_config::timeout::TimeoutConfig,
    aws_config::retry::RetryConfig,
) {
    (
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_attempt_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(4))
            .build(),
        aws_config::retry::RetryConfig::standard().with_max_attempts(3),
    )
}

/// The Secrets Manager client, with [`aws_limits`]: a stalled Secrets
/// Manager is a 503 after 4 s, not a call that hangs until Lambda kills us.
pub fn secrets_client(sdk: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    let (timeouts, retries) = aws_limits();
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// The Secrets Manager cache for `PAYMENTS_SECRET_ID`.
pub fn secrets(
    sdk: &aws_config::SdkConfig,
    env: &config::Env<impl Fn(&str) -> Option<String>>,
) -> Result<Arc<Secrets>, BootError> {
    Ok(Arc::new(Secrets::new(
        secrets_client(sdk),
        env.secret_id()?,
    )))
}

/// Everything a Qbit Pay function needs, from the process environment.
pub fn qbit_client(sdk: &aws_config::SdkConfig) -> Result<QbitClient, BootError> {
    let env = config::process_env();
    let base = env.qbit_base_url()?;
    let secrets = secrets(sdk, &env)?;
    Ok(QbitClient::new(
        http_client(Timeouts::default())?,
        base,
        secrets,
    ))
}

/// A DeBox function's clients, from the process environment.
pub struct Debox {
    pub client: DeboxClient,
    pub merchant: UserId,
    pub app_base: url::Url,
}

pub fn debox(sdk: &aws_config::SdkConfig) -> Result<Debox, BootError> {
    let env = config::process_env();
    let merchant = env.merchant_user_id()?;
    let open_base = env.debox_open_base_url()?;
    let app_base = env.debox_app_base_url()?;
    let secrets = secrets(sdk, &env)?;
    Ok(Debox {
        client: DeboxClient::new(http_client(Timeouts::default())?, open_base, secrets),
        merchant,
        app_base,
    })
}

/// The DynamoDB client, with [`aws_limits`].
pub fn dynamo_client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let (timeouts, retries) = aws_limits();
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The DynamoDB store for `PAYMENTS_TABLE`.
pub fn store(sdk: &aws_config::SdkConfig) -> Result<DynamoStore, BootError> {
    let table = config::process_env().table()?;
    Ok(DynamoStore::new(dynamo_client(sdk), table))
}

/// Log lines as the Lambda runtime sets them up (JSON when the function's
/// log format, `AWS_LAMBDA_LOG_FORMAT`, is JSON; no target, no time: Lambda
/// stamps each line), at the level `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`)
/// asks for, but with [`log_filter`]'s caps: raising the level shows more of
/// our own code, never the runtime's or the HTTP/SDK stack's own tracing,
/// which prints whole events, bodies and headers.
pub fn init_tracing() {
    use lambda_http::tracing::subscriber::{self, layer::SubscriberExt, util::SubscriberInitExt};
    let var = |name| std::env::var(name).ok();
    let requested = requested_level(
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("RUST_LOG").as_deref(),
    );
    let builder = subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(requested)
        .with_writer(std::io::stdout);
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        builder.json().finish().with(log_filter(requested)).init();
    } else {
        builder.finish().with(log_filter(requested)).init();
    }
    tracing::debug!(
        %requested,
        "log levels: our crates at the requested level, the Lambda runtime at most INFO, everything else at most WARN"
    );
}

/// The level asked for: `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging
/// controls: `TRACE` .. `FATAL`) first, else `RUST_LOG` when it is a plain
/// level, else INFO. `RUST_LOG` directives (`crate=trace`) are not honoured:
/// they could lift the caps.
pub fn requested_level(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    let parse = |raw: &str| match raw.trim() {
        fatal if fatal.eq_ignore_ascii_case("fatal") => Some(LevelFilter::ERROR),
        other => other.parse::<LevelFilter>().ok(),
    };
    aws_lambda_log_level
        .or(rust_log)
        .and_then(parse)
        .unwrap_or(LevelFilter::INFO)
}

/// Crates whose events follow the requested level: ours (a crate's target
/// is its name with `_`). Every other crate is capped.
const OUR_CRATES: [&str; 7] = [
    "shared",
    "create_charge",
    "list_charges",
    "qbit_webhook",
    "debox_order",
    "debox_transfer",
    "vbox_balance",
];

/// `lambda_runtime` (and, by prefix, `lambda_runtime_api_client`) and
/// `lambda_http`: at most INFO. INFO keeps the runtime's per-invocation span,
/// which puts `requestId` on every line; at TRACE it prints each raw
/// invocation event (body and headers: tokens, signatures) and at DEBUG
/// its polling.
const LAMBDA_RUNTIME: [&str; 2] = ["lambda_runtime", "lambda_http"];
const LAMBDA_RUNTIME_CAP: LevelFilter = LevelFilter::INFO;

/// Everything else: at most WARN. The AWS SDK (`aws_smithy_runtime` traces
/// each request and response, DynamoDB items included; `aws_sigv4` the
/// request it signs; `aws_config` logs credential loading at INFO), the
/// HTTP stack (`hyper*`, `h2`, `tower`, `reqwest`, `rustls`: connections,
/// frames; the last two log through `log`, which no logger forwards today)
/// and any crate added later, which we have not read.
const OTHERS_CAP: LevelFilter = LevelFilter::WARN;

/// The filter for `requested`: ours at `requested`, the runtime at
/// `min(requested, INFO)`, everything else at `min(requested, WARN)`.
/// (A target matches a directive it starts with: `lambda_runtime` covers
/// `lambda_runtime_api_client`.)
pub fn log_filter(requested: LevelFilter) -> Targets {
    let runtime = requested.min(LAMBDA_RUNTIME_CAP);
    let ours = OUR_CRATES.iter().map(|c| (*c, requested));
    let lambda = LAMBDA_RUNTIME.iter().map(|c| (*c, runtime));
    Targets::new()
        .with_default(requested.min(OTHERS_CAP))
        .with_targets(ours.chain(lambda))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::tracing::Level;

    #[test]
    fn the_level_comes_from_lambda_then_rust_log_then_info() {
        let level = requested_level;
        assert_eq!(level(Some("TRACE"), Some("error")), LevelFilter::TRACE);
        assert_eq!(level(Some("FATAL"), None), LevelFilter::ERROR);
        assert_eq!(level(None, Some("debug")), LevelFilter::DEBUG);
        assert_eq!(level(None, None), LevelFilter::INFO);
        // Directives are not a level: they could lift a cap.
        assert_eq!(
            level(None, Some("aws_smithy_runtime=trace")),
            LevelFilter::INFO
        );
        assert_eq!(level(Some("loud"), Some("trace")), LevelFilter::INFO);
    }

    #[test]
    fn at_trace_ours_follow_while_the_runtime_and_the_stack_are_capped() {
        let filter = log_filter(LevelFilter::TRACE);
        let on = |target: &str, level: Level| filter.would_enable(target, &level);
        assert!(on("shared::bootstrap", Level::TRACE));
        assert!(on("create_charge", Level::TRACE));
        assert!(on("debox_transfer::handler", Level::DEBUG));
        // The runtime's raw event (TRACE) is off; its requestId span (INFO) on.
        assert!(!on("lambda_runtime::layers::api_response", Level::TRACE));
        assert!(!on("lambda_runtime::runtime", Level::DEBUG));
        assert!(on("lambda_runtime::layers::trace", Level::INFO));
        assert!(!on("lambda_runtime_api_client", Level::DEBUG));
        assert!(!on("lambda_http::request", Level::DEBUG));
        for stack in [
            "aws_smithy_runtime::client::orchestrator",
            "aws_sigv4::http_request::sign",
            "aws_config::profile::credentials",
            "aws_sdk_secretsmanager::operation",
            "hyper_util::client::legacy::pool",
            "h2::codec",
            "tower::buffer",
            "reqwest::connect",
            "rustls::client::hs",
            "some_crate_added_later",
        ] {
            assert!(!on(stack, Level::INFO), "{stack}");
            assert!(on(stack, Level::WARN), "{stack}");
        }
    }

    #[test]
    fn a_quieter_level_quietens_everything() {
        let filter = log_filter(LevelFilter::ERROR);
        let on = |target: &str, level: Level| filter.would_enable(target, &level);
        assert!(!on("shared", Level::WARN));
        assert!(!on("lambda_runtime::layers::trace", Level::INFO));
        assert!(!on("aws_smithy_runtime", Level::WARN));
        assert!(on("lambda_runtime", Level::ERROR));
        assert!(on("shared", Level::ERROR));
    }
}
