//! Where the functions take their AWS credentials and region from: Lambda's
//! environment variables only (`shared::bootstrap::aws_config`), never a
//! profile file, web identity, ECS or IMDS. The real `vbox-balance` binary,
//! run as Lambda runs it (the Runtime API stand-in), against the sandbox
//! and moto: with the variables it answers; without them it answers the
//! contract's 503 and calls nothing, even when a profile file beside it
//! holds working credentials.

use std::path::{Path, PathBuf};

use bundle_tests::{World, unique, workspace_root};
use serde_json::{Value, json};

const BALANCE: &str = "POST /openapi/payment/assert/vbox";

/// One `GET /vbox/balance` to a fresh `vbox-balance` process whose
/// environment is the local run's, less `unset`, with `HOME` at `home`.
async fn balance_with(world: &World, home: &Path, unset: &[&str]) -> Value {
    let event = std::fs::read_to_string(workspace_root().join("events/vbox-balance.json")).unwrap();
    bundle_tests::invoke_binary(world, "vbox-balance", event, unset, home).await
}

/// A home directory whose `~/.aws` holds working credentials for moto (the
/// ones the local run gives in the environment) and a region.
fn home_with_a_profile() -> PathBuf {
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique("aws-home"));
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        "[default]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .unwrap();
    std::fs::write(home.join(".aws/config"), "[default]\nregion = us-east-1\n").unwrap();
    home
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_come_from_the_environment_and_only_from_it() {
    let world = World::start().await;
    let home = home_with_a_profile();
    let calls = || world.sandbox.state().calls_to(BALANCE);

    // Lambda's variables: the secret is read and DeBox asked.
    let answered = balance_with(&world, &home, &[]).await;
    assert_eq!(answered["statusCode"], 200, "{answered}");
    assert_eq!(calls(), 1);

    // Without them, the profile file's working credentials are not used:
    // the secret cannot be read, which is the contract's 503, and DeBox is
    // never called.
    let refused = balance_with(
        &world,
        &home,
        &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ],
    )
    .await;
    assert_eq!(refused["statusCode"], 503, "{refused}");
    let body: Value = serde_json::from_str(refused["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({
            "type": "api_error",
            "message": "the payments secret could not be read; try again shortly"
        })
    );
    assert_eq!(calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_region_comes_from_the_environment_and_only_from_it() {
    let world = World::start().await;
    let home = home_with_a_profile();
    let calls = || world.sandbox.state().calls_to(BALANCE);

    let refused = balance_with(&world, &home, &["AWS_REGION", "AWS_DEFAULT_REGION"]).await;
    assert_eq!(refused["statusCode"], 503, "{refused}");
    let body: Value = serde_json::from_str(refused["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["message"],
        "the payments secret could not be read; try again shortly"
    );
    assert_eq!(calls(), 0);
}
