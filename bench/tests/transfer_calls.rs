//! The transfer path's calls, counted: the real `debox-transfer` binary,
//! run as Lambda runs it (under the Runtime API stand-in), against moto
//! (through the counting proxy) and the provider sandbox. A transfer makes
//! exactly one conditional write before the DeBox call and one after it,
//! reads nothing, and reads the secret only on its first request.
//!
//! Needs moto (`MOTO_ENDPOINT`, as `scripts/test.sh` sets it) and the
//! binary built (`cargo build -p debox-transfer`; `scripts/test.sh` builds
//! every binary first). `BENCH_TRANSFER_BINARY` runs another build of it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bench::Function;
use bench::process::{self, Target};
use bench::proxy::CountingProxy;
use bench::world::{MERCHANT, World};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("BENCH_TRANSFER_BINARY") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let binary = target.join("debug").join("debox-transfer");
    assert!(
        binary.exists(),
        "{} is not built: cargo build -p debox-transfer (scripts/test.sh builds it)",
        binary.display()
    );
    binary
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_writes_once_before_and_once_after_the_debox_call_and_reads_nothing() {
    let moto = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto");
    let mut world = World::start(&moto, &workspace_root().join("events"))
        .await
        .unwrap();
    let sandbox = world.sandbox.clone();
    let proxy = CountingProxy::start(&moto, Arc::new(move || sandbox.state().calls()))
        .await
        .unwrap();
    let target = Target {
        label: "debox-transfer".into(),
        binary: binary(),
        env: world.function_env(&proxy.url(), &world.table),
        log: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("transfer-calls.log"),
        wrap: Vec::new(),
    };
    let events = world.events(Function::DeboxTransfer, 3).await.unwrap();
    let balance = world.sandbox.state().balance(MERCHANT);
    proxy.take();

    let mut seen: Vec<Vec<String>> = Vec::new();
    process::each(&target, events, |_| seen.push(proxy.take()))
        .await
        .unwrap();

    let transfer = [
        "conditional PutItem",
        "POST /openapi/payment/transfer",
        "conditional UpdateItem",
    ];
    let first: Vec<&str> = ["GetSecretValue"].into_iter().chain(transfer).collect();
    assert_eq!(
        seen,
        vec![
            vec![],          // init: no call at all
            first,           // cold: the secret, then the transfer
            transfer.into(), // warm: the transfer only
            transfer.into(),
        ],
        "calls at init, then per request, in order"
    );
    // Each of the three 200s moved its 10.50 points, once.
    assert_eq!(balance - world.sandbox.state().balance(MERCHANT), 3 * 1050);
}
