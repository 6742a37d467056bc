//! `payments-admin`, the real binary, run as an operator runs it: a
//! subprocess with moto as its AWS (`AWS_ENDPOINT_URL`, test credentials),
//! against transfers made by the real `debox-transfer` flow and the
//! sandbox. Every refusal is checked to exit non-zero, say why, and leave
//! the item exactly as it was.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_dynamodb::types::AttributeValue;
use bundle_tests::{CALLER_ACCOUNT, CALLER_ARN, Event, Function, MERCHANT, World, now_ms};
use sandbox::{Fault, FaultKind};
use serde_json::{Value, json};
use shared::debox::SerialId;
use shared::http::Caller;
use shared::transfer::operator::OPERATOR_LEASE_MARGIN_MS;
use shared::transfer::{Claim, ClaimOutcome, TransferStore};

const TRANSFER: &str = "POST /openapi/payment/transfer";
const TRANSFER_PATH: &str = "/openapi/payment/transfer";
/// Who moto's STS says we are, with any test credentials.
const MOTO_ARN: &str = "arn:aws:sts::123456789012:user/moto";

type Item = HashMap<String, AttributeValue>;

/// The built `payments-admin`, beside this test binary's directory
/// (`<target>/<profile>/`, wherever `CARGO_TARGET_DIR` puts it).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("payments-admin");
    assert!(
        path.is_file(),
        "{} does not exist: build it first with `cargo build -p payments-admin` \
         (scripts/test.sh builds every binary before the tests)",
        path.display()
    );
    path
}

/// How a run of the CLI ended.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "{self:?}");
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Refused with `code`, saying `message` on stderr, nothing on stdout.
    fn refused(&self, code: i32, message: &str) {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.stderr.contains(message), "{message:?} not in {self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
    }
}

/// Run the CLI as an operator would, with only the environment it needs
/// (no profile, no instance metadata): moto's endpoint, test credentials,
/// a region and the world's table, plus `extra`.
async fn admin_with(world: &World, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let mut command = std::process::Command::new(binary());
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", env!("CARGO_TARGET_TMPDIR"))
        .env("AWS_ENDPOINT_URL", bundle_tests::moto_endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PAYMENTS_TABLE", &world.table);
    for (name, value) in extra {
        command.env(name, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("payments-admin runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

async fn admin(world: &World, args: &[&str]) -> Run {
    admin_with(world, args, &[]).await
}

/// A merchant-pays order for 10.50 points to u1.
async fn order(world: &World) -> Value {
    let request = Event::new("POST", "/debox/orders")
        .json_body(&json!({"receiver_user_id": "u1", "amount": "10.50"}))
        .request("req-order");
    let answer = world.invoke(Function::DeboxOrder, request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

async fn transfer(world: &World, order: &Value, request_id: &str) -> bundle_tests::Answer {
    let body = json!({"access_token": order["access_token"], "serial_id": order["serial_id"], "verify_amount": "10.50"});
    let request = Event::new("POST", "/debox/transfers")
        .json_body(&body)
        .request(request_id);
    world.invoke(Function::DeboxTransfer, request).await
}

/// An order whose transfer ended `unknown` through the real flow: DeBox
/// answered `fault` (a 500 does nothing; a dropped connection moves the
/// points first). Its serial.
async fn unknown_transfer(world: &World, fault: FaultKind) -> (Value, String) {
    let order = order(world).await;
    world
        .sandbox
        .state()
        .inject(Fault::new(TRANSFER_PATH, fault).times(1));
    let answer = transfer(world, &order, "req-unknown").await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert_eq!(answer.json()["detail"]["status"], "unknown");
    let serial = order["serial_id"].as_str().unwrap().to_string();
    (order, serial)
}

async fn item(world: &World, serial: &str) -> Item {
    world.item(&format!("transfer#{serial}")).await.unwrap()
}

fn text(item: &Item, name: &str) -> Value {
    item.get(name)
        .map_or(Value::Null, |v| json!(v.as_s().unwrap()))
}

fn number(item: &Item, name: &str) -> u64 {
    item[name].as_n().unwrap().parse().unwrap()
}

/// Unix ms as RFC 3339 UTC with milliseconds, computed here independently
/// of the CLI (days to a civil date, Howard Hinnant's algorithm).
fn rfc3339(ms: u64) -> String {
    let (days, rest) = ((ms / 86_400_000) as i64, ms % 86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// What the CLI must print for a transfer item, every field.
fn expected_json(item: &Item, stuck: bool, resolvable: bool) -> Value {
    let time = |name: &str| item.get(name).map(|_| number(item, name));
    let utc = |name: &str| time(name).map(rfc3339);
    // An operator may resolve an `in_progress` claim from this instant on.
    let resolvable_from = (text(item, "status") == "in_progress")
        .then(|| number(item, "lease_expires_at") + OPERATOR_LEASE_MARGIN_MS);
    json!({
        "serial_id": text(item, "serial_id"),
        "status": text(item, "status"),
        "stuck": stuck,
        "resolvable": resolvable,
        "resolvable_from": resolvable_from,
        "resolvable_from_utc": resolvable_from.map(rfc3339),
        "amount": text(item, "amount"),
        "verify_amount": text(item, "verify_amount"),
        "to_user_id": text(item, "to_user_id"),
        "caller_arn": text(item, "caller_arn"),
        "caller_account": text(item, "caller_account"),
        "request_id": text(item, "request_id"),
        "claim_id": text(item, "claim_id"),
        "created_at": time("created_at"),
        "created_at_utc": utc("created_at"),
        "updated_at": time("updated_at"),
        "updated_at_utc": utc("updated_at"),
        "lease_expires_at": time("lease_expires_at"),
        "lease_expires_at_utc": utc("lease_expires_at"),
        "outcome_code": text(item, "outcome_code"),
        "outcome_message": text(item, "outcome_message"),
        "resolved_by": text(item, "resolved_by"),
        "resolved_at": time("resolved_at"),
        "resolved_at_utc": utc("resolved_at"),
        "resolution_reason": text(item, "resolution_reason"),
        "resolved_from": text(item, "resolved_from"),
    })
}

/// The item after a resolution: the item before, with exactly the
/// resolution's attributes set.
fn assert_resolved(before: &Item, after: &Item, status: &str, reason: &str, from: &str) {
    let at = number(after, "resolved_at");
    assert!(at <= now_ms() && at + 60_000 > now_ms(), "{at}");
    let mut expected = before.clone();
    for (name, value) in [
        ("status", AttributeValue::S(status.into())),
        ("resolution_reason", AttributeValue::S(reason.into())),
        ("resolved_by", AttributeValue::S(MOTO_ARN.into())),
        ("resolved_from", AttributeValue::S(from.into())),
        ("resolved_at", AttributeValue::N(at.to_string())),
        ("updated_at", AttributeValue::N(at.to_string())),
    ] {
        expected.insert(name.to_string(), value);
    }
    assert_eq!(after, &expected);
}

#[tokio::test]
async fn an_unknown_transfer_is_listed_resolved_failed_and_then_sent() {
    let world = World::start().await;
    let (order, serial) = unknown_transfer(&world, FaultKind::Status { status: 500 }).await;
    let unknown = item(&world, &serial).await;
    assert_eq!(text(&unknown, "status"), "unknown");
    assert_eq!(text(&unknown, "caller_arn"), CALLER_ARN);
    let listed = json!([expected_json(&unknown, true, true)]);

    // Listed by its status and as stuck, with every field; not as anything else.
    let by_status = admin(
        &world,
        &["transfers", "list", "--status", "unknown", "--json"],
    )
    .await;
    assert_eq!(by_status.json(), listed);
    assert_eq!(
        by_status.stderr, "",
        "a one-page scan is quiet off a terminal"
    );
    assert_eq!(
        admin(
            &world,
            &["transfers", "list", "--status", "stuck", "--json"]
        )
        .await
        .json(),
        listed
    );
    for other in ["in_progress", "failed", "succeeded"] {
        let run = admin(&world, &["transfers", "list", "--status", other, "--json"]).await;
        assert_eq!(run.json(), json!([]), "{other}");
    }
    assert_eq!(
        listed[0]["amount"], "10.5",
        "the amount the merchant asked to verify"
    );
    assert_eq!(listed[0]["caller_account"], CALLER_ACCOUNT);

    // For a person: a table with the serial, the status, DeBox's answer, who asked.
    let table = admin(&world, &["transfers", "list", "--status", "stuck"]).await;
    assert_eq!(table.code, 0, "{table:?}");
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines[0].starts_with("SERIAL")
            && lines[0].contains("OUTCOME")
            && lines[0].ends_with("CALLER"),
        "{table:?}"
    );
    assert!(
        lines[1].starts_with(&serial) && lines[1].contains("unknown") && lines[1].contains("10.5"),
        "{table:?}"
    );
    assert!(lines[1].ends_with(CALLER_ARN), "{table:?}");
    assert_eq!(
        lines[2],
        "1 transfer(s) stuck (unknown, or in progress past the lease)."
    );

    // Shown, alone.
    let shown = admin(&world, &["transfers", "show", &serial, "--json"]).await;
    assert_eq!(shown.json(), listed[0]);
    let human = admin(&world, &["transfers", "show", &serial]).await;
    assert!(
        human.stdout.contains(&format!(
            "caller            {CALLER_ARN} (account {CALLER_ACCOUNT})"
        )),
        "{human:?}"
    );
    assert!(
        human.stdout.contains("This transfer needs a person"),
        "{human:?}"
    );

    // DeBox says it was not made: resolved as failed, recorded exactly.
    let reason = "DeBox support: serial not found in their ledger (ticket 4711)";
    let resolved = admin(
        &world,
        &[
            "transfers",
            "resolve",
            &serial,
            "--as",
            "failed",
            "--reason",
            reason,
        ],
    )
    .await;
    assert_eq!(resolved.code, 0, "{resolved:?}");
    assert!(
        resolved
            .stdout
            .contains("resolved as failed (was unknown) by arn:aws:sts::123456789012:user/moto")
            && resolved.stdout.contains("The serial is free again"),
        "{resolved:?}"
    );
    let after = item(&world, &serial).await;
    assert_resolved(&unknown, &after, "failed", reason, "unknown");
    assert_eq!(
        admin(
            &world,
            &["transfers", "list", "--status", "stuck", "--json"]
        )
        .await
        .json(),
        json!([])
    );

    // The serial is free: the same transfer is sent, and moves the points once.
    assert_eq!(
        world.sandbox.state().balance("u1"),
        0,
        "the 500 moved nothing"
    );
    let retry = transfer(&world, &order, "req-retry").await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(world.sandbox.state().calls_to(TRANSFER), 2);
    assert_eq!(world.sandbox.state().balance("u1"), 1050);
    assert_eq!(text(&item(&world, &serial).await, "status"), "succeeded");

    // The retry's claim replaced the record; who resolved it, and why, is
    // still on the table.
    let at = number(&after, "resolved_at");
    let audit = world
        .item(&format!("transfer_resolution#{serial}#{at}"))
        .await
        .expect("the resolution's audit item outlives the record it changed");
    let expected: Item = [
        (
            "pk",
            AttributeValue::S(format!("transfer_resolution#{serial}#{at}")),
        ),
        ("kind", AttributeValue::S("transfer_resolution".into())),
        ("serial_id", AttributeValue::S(serial.clone())),
        ("status", AttributeValue::S("failed".into())),
        ("resolution_reason", AttributeValue::S(reason.into())),
        ("resolved_by", AttributeValue::S(MOTO_ARN.into())),
        ("resolved_at", AttributeValue::N(at.to_string())),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    assert_eq!(audit, expected);
}

#[tokio::test]
async fn a_transfer_resolved_as_succeeded_is_never_sent_again() {
    let world = World::start().await;
    // The connection dropped after DeBox moved the points.
    let (order, serial) = unknown_transfer(&world, FaultKind::DropAfter).await;
    assert_eq!(world.sandbox.state().balance("u1"), 1050);
    let before = item(&world, &serial).await;

    let reason = "DeBox console shows it paid";
    let run = admin(
        &world,
        &[
            "transfers",
            "resolve",
            &serial,
            "--as",
            "succeeded",
            "--reason",
            reason,
            "--json",
        ],
    )
    .await;
    let after = item(&world, &serial).await;
    assert_resolved(&before, &after, "succeeded", reason, "unknown");
    let printed = run.json();
    assert_eq!(printed, expected_json(&after, false, false));
    assert_eq!(printed["resolved_by"], MOTO_ARN);

    let calls = world.sandbox.state().calls_to(TRANSFER);
    let again = transfer(&world, &order, "req-again").await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(
        again.json()["detail"],
        json!({"serial_id": serial, "status": "succeeded"})
    );
    assert_eq!(
        world.sandbox.state().calls_to(TRANSFER),
        calls,
        "DeBox not called"
    );
    assert_eq!(world.sandbox.state().balance("u1"), 1050);
    assert_eq!(item(&world, &serial).await, after);
}

/// A claim seeded through the store, as a function that took it would.
async fn claim(world: &World, serial: &str, lease_expires_at: u64) {
    let claim = Claim {
        serial_id: SerialId::parse(serial).unwrap(),
        claim_id: format!("claim-{serial}"),
        lease_expires_at,
        verify_amount: Some("3".parse().unwrap()),
        request_id: "req-seeded".into(),
        caller: Caller::new(CALLER_ARN, CALLER_ACCOUNT),
        now_ms: lease_expires_at - 15_000,
    };
    assert_eq!(
        world.store().claim(&claim).await.unwrap(),
        ClaimOutcome::Claimed
    );
}

#[tokio::test]
async fn every_refusal_exits_non_zero_says_why_and_writes_nothing() {
    let world = World::start().await;
    // unknown (then resolved failed), succeeded, failed by DeBox, live.
    let (_, resolved) = unknown_transfer(&world, FaultKind::Status { status: 500 }).await;
    let resolve = |serial: &str, to: &str, reason: &str| {
        let args: Vec<String> = [
            "transfers",
            "resolve",
            serial,
            "--as",
            to,
            "--reason",
            reason,
        ]
        .map(String::from)
        .to_vec();
        let world = &world;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            admin(world, &args).await
        }
    };
    // Blank reasons are usage errors: nothing is asked of AWS.
    let unknown_before = item(&world, &resolved).await;
    for blank in ["", "   "] {
        resolve(&resolved, "failed", blank)
            .await
            .refused(2, "the reason is empty");
    }
    let no_reason = admin(
        &world,
        &["transfers", "resolve", &resolved, "--as", "failed"],
    )
    .await;
    no_reason.refused(2, "--reason <TEXT>");
    resolve(&resolved, "paid", "x")
        .await
        .refused(2, "invalid value 'paid' for '--as <OUTCOME>'");
    assert_eq!(item(&world, &resolved).await, unknown_before);

    assert_eq!(resolve(&resolved, "failed", "first").await.code, 0);
    let resolved_item = item(&world, &resolved).await;

    let done = order(&world).await;
    assert_eq!(transfer(&world, &done, "req-done").await.status, 200);
    let done = done["serial_id"].as_str().unwrap().to_string();

    let refused_order = order(&world).await;
    world.sandbox.state().set_balance(MERCHANT, 0);
    assert_eq!(
        transfer(&world, &refused_order, "req-short").await.status,
        402
    );
    let refused = refused_order["serial_id"].as_str().unwrap().to_string();

    let live_lease = now_ms() + 120_000;
    claim(&world, "s-live", live_lease).await;
    // Over by the functions' grace, so listed as stuck, but within the
    // operator's margin: this machine's clock may be minutes fast, and the
    // call may still be running.
    let recent_lease = now_ms() - 60_000;
    claim(&world, "s-recent", recent_lease).await;
    let recent = item(&world, "s-recent").await;
    assert_eq!(
        admin(
            &world,
            &["transfers", "list", "--status", "stuck", "--json"]
        )
        .await
        .json(),
        json!([expected_json(&recent, true, false)])
    );
    let seconds = |ms: u64| rfc3339(ms)[..19].replace('T', " ");
    let recent_from = seconds(recent_lease + OPERATOR_LEASE_MARGIN_MS);
    let human = admin(&world, &["transfers", "list", "--status", "stuck"]).await;
    assert!(
        human.stdout.contains(&format!(
            "in_progress (lease over: stuck; resolvable from {recent_from} UTC)"
        )),
        "{human:?}"
    );
    let shown = admin(&world, &["transfers", "show", "s-recent"]).await;
    assert!(
        shown
            .stdout
            .contains(&format!("`resolve` refuses it until {recent_from} UTC")),
        "{shown:?}"
    );

    let count = world.item_count().await;
    let cases: Vec<(String, &str, String)> = vec![
        (
            "s-none".into(),
            "failed",
            "refused: there is no transfer with serial_id s-none; nothing was written".into(),
        ),
        (
            resolved.clone(),
            "succeeded",
            format!("refused: transfer {resolved} already failed (resolved by {MOTO_ARN} at "),
        ),
        (
            done.clone(),
            "failed",
            format!("refused: transfer {done} already succeeded (confirmed by DeBox at "),
        ),
        (
            refused.clone(),
            "succeeded",
            format!("refused: transfer {refused} already failed (refused by DeBox: -7048 "),
        ),
        (
            "s-live".into(),
            "failed",
            format!(
                "refused: transfer s-live is still in progress: its call to DeBox may still be running. Its lease ends at {} UTC",
                seconds(live_lease)
            ),
        ),
        (
            "s-recent".into(),
            "failed",
            format!(
                "refused: transfer s-recent is still in progress: its call to DeBox may still be running. \
                 Its lease ended at {} UTC; if it is still in progress at {recent_from} UTC (10 minutes after the lease",
                seconds(recent_lease)
            ),
        ),
    ];
    for (serial, to, message) in cases {
        let before = world.item(&format!("transfer#{serial}")).await;
        let run = resolve(&serial, to, "operator says so").await;
        run.refused(3, &message);
        assert!(run.stderr.contains("nothing was written"), "{run:?}");
        assert_eq!(
            world.item(&format!("transfer#{serial}")).await,
            before,
            "{serial} unchanged"
        );
    }
    assert_eq!(world.item_count().await, count, "no item was created");
    assert_eq!(item(&world, &resolved).await, resolved_item);

    // Not found: exit 5.
    admin(&world, &["transfers", "show", "s-none"])
        .await
        .refused(5, "no transfer with serial_id s-none in table");
    admin(&world, &["charges", "show", "ch_missing", "--json"])
        .await
        .refused(5, "no charge ch_missing in table");
}

#[tokio::test]
async fn without_sts_nothing_is_resolved() {
    let world = World::start().await;
    let (_, serial) = unknown_transfer(&world, FaultKind::Status { status: 500 }).await;
    let before = item(&world, &serial).await;
    let nowhere = bundle_tests::closed_address();
    let run = admin_with(
        &world,
        &[
            "transfers",
            "resolve",
            &serial,
            "--as",
            "failed",
            "--reason",
            "checked",
        ],
        &[("AWS_ENDPOINT_URL_STS", &nowhere)],
    )
    .await;
    run.refused(
        4,
        "STS GetCallerIdentity failed, so who is resolving cannot be recorded; nothing was written",
    );
    assert_eq!(item(&world, &serial).await, before);

    // A table that does not exist: unavailable, exit 4.
    admin(&world, &["--table", "no-such-table", "transfers", "list"])
        .await
        .refused(4, "the payments table is unavailable");
}

#[tokio::test]
async fn an_in_progress_claim_past_its_lease_is_stuck_and_resolvable() {
    let world = World::start().await;
    // Dead past the operator's margin, not only the functions' grace.
    claim(
        &world,
        "s-dead",
        now_ms() - OPERATOR_LEASE_MARGIN_MS - 1_000,
    )
    .await;
    claim(&world, "s-live", now_ms() + 120_000).await;
    let dead = item(&world, "s-dead").await;

    let stuck = admin(
        &world,
        &["transfers", "list", "--status", "stuck", "--json"],
    )
    .await;
    assert_eq!(stuck.json(), json!([expected_json(&dead, true, true)]));
    assert_eq!(stuck.json()[0]["status"], "in_progress");
    let in_progress = admin(
        &world,
        &["transfers", "list", "--status", "in_progress", "--json"],
    )
    .await
    .json();
    let serials: Vec<&str> = in_progress
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["serial_id"].as_str().unwrap())
        .collect();
    assert_eq!(serials, ["s-dead", "s-live"], "oldest first");
    assert_eq!(in_progress[1]["stuck"], false);
    let human = admin(&world, &["transfers", "list"]).await;
    assert!(
        human.stdout.contains("in_progress (lease over: stuck)"),
        "{human:?}"
    );

    let run = admin(
        &world,
        &[
            "transfers",
            "resolve",
            "s-dead",
            "--as",
            "failed",
            "--reason",
            "never reached DeBox",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_resolved(
        &dead,
        &item(&world, "s-dead").await,
        "failed",
        "never reached DeBox",
        "in_progress",
    );
}

#[tokio::test]
async fn unmatched_events_and_charges_are_shown() {
    let world = World::start().await;
    let put = |item: Value| {
        let world = &world;
        async move {
            let mut request = world.dynamo.put_item().table_name(&world.table);
            for (name, value) in item.as_object().unwrap() {
                let value = match value {
                    Value::String(s) => AttributeValue::S(s.clone()),
                    Value::Number(n) => AttributeValue::N(n.to_string()),
                    Value::Bool(b) => AttributeValue::Bool(*b),
                    other => panic!("{other}"),
                };
                request = request.item(name, value);
            }
            request.send().await.unwrap();
        }
    };
    let body = r#"{"id":"evt_other","type":"charge.succeeded"}"#;
    put(
        json!({"pk": "event#evt_other", "kind": "event", "event_id": "evt_other",
        "event_type": "charge.succeeded", "created_at": "2026-11-21T10:00:00Z",
        "created_at_ms": 1_795_255_200_000u64, "received_at": 1_795_255_201_000u64,
        "applied": false, "unmatched": "unknown_charge",
        "unmatched_detail": "no charge ch_elsewhere was created here", "charge_id": "ch_elsewhere",
        "event_amount": 1000, "event_currency": "USD", "body": body}),
    )
    .await;
    // Matched events and other items are not listed.
    put(
        json!({"pk": "event#evt_ok", "kind": "event", "event_id": "evt_ok",
        "event_type": "charge.succeeded", "received_at": 1_795_255_100_000u64, "applied": true,
        "charge_id": "ch_1"}),
    )
    .await;
    put(
        json!({"pk": "charge#ch_1", "kind": "charge", "charge_id": "ch_1", "status": "succeeded",
        "paid": true, "amount": 1000, "currency": "USD", "external_order_id": "order-1",
        "created_at": 1_795_255_000_000u64, "caller_arn": CALLER_ARN,
        "caller_account": CALLER_ACCOUNT, "last_event_id": "evt_ok", "note": "extra"}),
    )
    .await;

    let listed = admin(&world, &["events", "unmatched", "--json"])
        .await
        .json();
    assert_eq!(
        listed,
        json!([{"kind": "event", "event_id": "evt_other", "event_type": "charge.succeeded",
            "created_at": "2026-11-21T10:00:00Z", "created_at_ms": 1_795_255_200_000u64,
            "received_at": 1_795_255_201_000u64, "received_at_utc": "2026-11-21T10:00:01.000Z",
            "applied": false, "unmatched": "unknown_charge",
            "unmatched_detail": "no charge ch_elsewhere was created here",
            "charge_id": "ch_elsewhere", "event_amount": 1000, "event_currency": "USD",
            "body": body}])
    );
    let table = admin(&world, &["events", "unmatched"]).await;
    assert_eq!(table.code, 0, "{table:?}");
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].starts_with("EVENT") && lines[0].ends_with("RECEIVED (UTC)"));
    assert!(
        lines[1].starts_with("evt_other")
            && lines[1].contains("unknown_charge")
            && lines[1].contains("ch_elsewhere")
            && lines[1].ends_with("2026-11-21 10:00:01"),
        "{table:?}"
    );
    assert_eq!(lines.len(), 3, "{table:?}");

    let charge = admin(&world, &["charges", "show", "ch_1", "--json"])
        .await
        .json();
    assert_eq!(charge["amount"], 1000);
    assert_eq!(charge["paid"], true);
    assert_eq!(charge["caller_arn"], CALLER_ARN);
    assert_eq!(charge["note"], "extra");
    let human = admin(&world, &["charges", "show", "ch_1"]).await;
    let names: Vec<&str> = human
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "charge_id",
            "status",
            "paid",
            "amount",
            "currency",
            "external_order_id",
            "created_at",
            "caller_arn",
            "caller_account",
            "last_event_id",
            "kind",
            "note"
        ]
    );
    assert!(
        human
            .stdout
            .contains("created_at         2026-11-21 09:56:40 UTC (1795255000000)"),
        "{human:?}"
    );
}

/// End to end: another merchant's genuine signed event, delivered to the
/// real webhook, changes no charge and is what `events unmatched` lists;
/// `charges show` says no such charge was recorded here.
#[tokio::test]
async fn a_foreign_event_delivered_to_the_webhook_is_listed_as_unmatched() {
    let world = World::start().await;
    let charge = world.charge_at_qbit(500, "their-order").await;
    let event = world
        .sandbox
        .state()
        .settle_charge(&charge, "charge.succeeded")
        .unwrap();
    let request = Event::new("POST", "/webhooks/qbit")
        .without_caller()
        .header(shared::qbit::webhook::SIGNATURE_HEADER, &event.signature)
        .header("content-type", "application/json")
        .text_body(&event.body)
        .request("req-webhook");
    let answer = world.invoke(Function::QbitWebhook, request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(world.item(&format!("charge#{charge}")).await, None);

    let listed = admin(&world, &["events", "unmatched", "--json"])
        .await
        .json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["event_id"], json!(event.id));
    assert_eq!(listed[0]["charge_id"], json!(charge));
    assert_eq!(listed[0]["unmatched"], "unknown_charge");
    assert_eq!(listed[0]["event_amount"], 500);
    assert_eq!(listed[0]["body"], json!(event.body));

    admin(&world, &["charges", "show", &charge])
        .await
        .refused(5, &format!("no charge {charge} in table"));
}

/// Deliver `body` signed with `signature` to the real webhook; its answer.
async fn webhook(world: &World, body: &str, signature: &str) -> bundle_tests::Answer {
    let request = Event::new("POST", "/webhooks/qbit")
        .without_caller()
        .header(shared::qbit::webhook::SIGNATURE_HEADER, signature)
        .header("content-type", "application/json")
        .text_body(body)
        .request("req-webhook");
    world.invoke(Function::QbitWebhook, request).await
}

/// The item after an operator marked it handled: the item before, with
/// exactly `handled_by` (moto's STS ARN), `handled_at` (now) and
/// `handled_note` added.
fn assert_handled(before: &Item, after: &Item, note: &str) -> u64 {
    let at = number(after, "handled_at");
    assert!(at <= now_ms() && at + 60_000 > now_ms(), "{at}");
    let mut expected = before.clone();
    for (name, value) in [
        ("handled_by", AttributeValue::S(MOTO_ARN.into())),
        ("handled_at", AttributeValue::N(at.to_string())),
        ("handled_note", AttributeValue::S(note.into())),
    ] {
        expected.insert(name.to_string(), value);
    }
    assert_eq!(after, &expected);
    at
}

/// A fresh directory for files the CLI writes.
fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(bundle_tests::unique(name));
    assert!(!dir.exists());
    dir
}

/// End to end: a signed body the webhook cannot read is listed by `events
/// unreadable`, written byte for byte by `events replay-file`, replays
/// through the real webhook with the printed signature, and, once marked
/// handled, leaves the default list and stays on the table with its TTL.
#[tokio::test]
async fn an_unreadable_event_is_listed_written_for_a_replay_and_handled() {
    use base64::Engine;
    let world = World::start().await;
    // Awkward for a shell or an editor (quotes, a tab, a non-ASCII letter), and signed.
    let body = "{\"hello\": \"wörld\",\t\"it's\": 1}";
    let signature = world.sandbox.state().webhook_key.sign(body.as_bytes());
    let answer = webhook(&world, body, &signature).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, r#"{"duplicate":false,"received":true}"#);
    let key = shared::webhook::unreadable_event_key(body.as_bytes());
    let kept = world.item(&key).await.expect("kept");
    let time = |name: &str| number(&kept, name);
    let expected = json!({
        "item_key": key,
        "reason": "the event has no `id` (line 1, column 30)",
        "deliveries": 1,
        "first_received_at": time("first_received_at"),
        "first_received_at_utc": rfc3339(time("first_received_at")),
        "last_received_at": time("last_received_at"),
        "last_received_at_utc": rfc3339(time("last_received_at")),
        "expires_at": time("expires_at"),
        "expires_at_utc": rfc3339(time("expires_at") * 1000),
        "signature": signature,
        "body_base64": base64::engine::general_purpose::STANDARD.encode(body),
        "body_text": body,
        "handled_by": null,
        "handled_at": null,
        "handled_at_utc": null,
        "handled_note": null,
    });
    let listed = admin(&world, &["events", "unreadable", "--json"]).await;
    assert_eq!(listed.json(), json!([expected]));
    assert_eq!(listed.stderr, "");
    assert_eq!(
        time("expires_at"),
        time("first_received_at") / 1000 + 90 * 24 * 3600
    );

    let human = admin(&world, &["events", "unreadable"]).await;
    assert_eq!(human.code, 0, "{human:?}");
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ITEM KEY") && lines[0].ends_with("LAST RECEIVED (UTC)"),
        "{human:?}"
    );
    let received = rfc3339(time("first_received_at"))[..19].replace('T', " ");
    let cells: Vec<&str> = lines[1]
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells[..3],
        [
            key.as_str(),
            "the event has no `id` (line 1, column 30)",
            "1"
        ],
        "{human:?}"
    );
    assert!(cells[3] == received && cells.len() == 5, "{human:?}");
    assert_eq!(lines.len(), 3, "{human:?}");

    // Written for a replay: the exact bytes, the signature, the curl.
    let dir = out_dir("replay");
    let dir_text = dir.to_str().unwrap();
    let written = admin(
        &world,
        &["events", "replay-file", &key, "--out", dir_text, "--json"],
    )
    .await
    .json();
    let path = dir.join("body.json");
    assert_eq!(std::fs::read(&path).unwrap(), body.as_bytes());
    let curl = format!(
        "curl -X POST '<WebhookUrl>' -H 'content-type: application/json' \
         -H 'X-QbitPay-Signature: {signature}' --data-binary @{}",
        path.display()
    );
    assert_eq!(
        written,
        json!({"item_key": key, "path": path.display().to_string(), "bytes": body.len(),
               "signature": signature, "curl": curl})
    );
    let human = admin(&world, &["events", "replay-file", &key, "--out", dir_text]).await;
    assert_eq!(human.code, 0, "{human:?}");
    assert!(
        human.stdout.contains(&format!("Signature: {signature}\n"))
            && human.stdout.contains(&format!("  {curl}\n")),
        "{human:?}"
    );

    // Replayed as the command says: the same bytes, the printed signature.
    let bytes = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let printed = written["signature"].as_str().unwrap();
    let replayed = webhook(&world, &bytes, printed).await;
    assert_eq!(replayed.status, 200, "{}", replayed.text);
    // Still unreadable by this code: the same item, delivered twice.
    assert_eq!(replayed.text, r#"{"duplicate":true,"received":true}"#);
    let before = world.item(&key).await.unwrap();
    assert_eq!(number(&before, "deliveries"), 2);
    assert_eq!(world.item_count().await, 1);

    // Handled: recorded exactly, nothing else changed (the TTL stays).
    let note = "replayed after the fix; recorded as evt_123 (ticket 88)";
    let run = admin(&world, &["events", "handle", &key, "--note", note]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let after = world.item(&key).await.unwrap();
    let at = assert_handled(&before, &after, note);
    assert!(
        run.stdout.starts_with(&format!(
            "Marked unreadable event {key} handled by {MOTO_ARN} at "
        )),
        "{run:?}"
    );

    // Out of the default list, in `--all` with who, when and why.
    let listed = admin(&world, &["events", "unreadable", "--json"]).await;
    assert_eq!(listed.json(), json!([]));
    let all = admin(&world, &["events", "unreadable", "--all", "--json"])
        .await
        .json();
    let mut expected = expected;
    for (name, value) in [
        ("deliveries", json!(2)),
        (
            "last_received_at",
            json!(number(&after, "last_received_at")),
        ),
        (
            "last_received_at_utc",
            json!(rfc3339(number(&after, "last_received_at"))),
        ),
        ("handled_by", json!(MOTO_ARN)),
        ("handled_at", json!(at)),
        ("handled_at_utc", json!(rfc3339(at))),
        ("handled_note", json!(note)),
    ] {
        expected[name] = value;
    }
    assert_eq!(all, json!([expected]));
    let human = admin(&world, &["events", "unreadable", "--all"]).await;
    assert!(
        human.stdout.lines().next().unwrap().ends_with("NOTE")
            && human.stdout.lines().nth(1).unwrap().contains(MOTO_ARN),
        "{human:?}"
    );
    let none = admin(&world, &["events", "unreadable"]).await;
    assert_eq!(none.stdout, "No unreadable events to handle.\n");

    // Handled once: a second mark is refused, says by whom, writes nothing.
    let again = admin(&world, &["events", "handle", &key, "--note", "me too"]).await;
    again.refused(
        3,
        &format!(
            "refused: unreadable event {key} was already handled by {MOTO_ARN} at {} UTC: {note}; nothing was written",
            rfc3339(at)[..19].replace('T', " ")
        ),
    );
    assert_eq!(world.item(&key).await.unwrap(), after);

    // No such body: exit 5, no file.
    let missing = shared::webhook::unreadable_event_key(b"never delivered");
    let nowhere = out_dir("missing");
    admin(
        &world,
        &[
            "events",
            "replay-file",
            &missing,
            "--out",
            nowhere.to_str().unwrap(),
        ],
    )
    .await
    .refused(5, &format!("no unreadable event {missing} in table"));
    assert!(!nowhere.exists());
    admin(&world, &["events", "handle", &missing, "--note", "x"])
        .await
        .refused(
            5,
            &format!("refused: there is no unreadable event {missing} (no item {missing} in table"),
        );
    admin(
        &world,
        &["events", "replay-file", "event#evt_1", "--out", "x"],
    )
    .await
    .refused(2, "is not an unreadable event's item key");
    assert_eq!(world.item_count().await, 1, "no item was created");
}

/// End to end: another merchant's event, unmatched through the real
/// webhook, is marked handled (exactly who, when, the note; no TTL added),
/// leaves `events unmatched` and shows in `--all`; every refusal exits
/// non-zero and writes nothing.
#[tokio::test]
async fn an_unmatched_event_is_handled_once_and_every_refusal_writes_nothing() {
    let world = World::start().await;
    let foreign = world.charge_at_qbit(500, "their-order").await;
    let event = world
        .sandbox
        .state()
        .settle_charge(&foreign, "charge.succeeded")
        .unwrap();
    assert_eq!(
        webhook(&world, &event.body, &event.signature).await.status,
        200
    );
    // And one of ours, applied: recorded, not kept for a person.
    let ours = world.create_charge(700, "USD", "our-order").await;
    let applied = world
        .sandbox
        .state()
        .settle_charge(&ours, "charge.succeeded")
        .unwrap();
    assert_eq!(
        webhook(&world, &applied.body, &applied.signature)
            .await
            .status,
        200
    );

    let key = format!("event#{}", event.id);
    let before = world.item(&key).await.unwrap();
    assert_eq!(text(&before, "unmatched"), "unknown_charge");
    let listed = admin(&world, &["events", "unmatched", "--json"])
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // Usage errors and STS failing: nothing asked of the table, nothing written.
    for blank in ["", "  "] {
        admin(&world, &["events", "handle", &event.id, "--note", blank])
            .await
            .refused(2, "the note is empty");
    }
    admin(&world, &["events", "handle", &event.id])
        .await
        .refused(2, "--note <TEXT>");
    admin_with(
        &world,
        &["events", "handle", &event.id, "--note", "checked"],
        &[("AWS_ENDPOINT_URL_STS", &bundle_tests::closed_address())],
    )
    .await
    .refused(
        4,
        "STS GetCallerIdentity failed, so who is handling it cannot be recorded; nothing was written",
    );
    assert_eq!(world.item(&key).await.unwrap(), before);

    let note = "not ours: Qbit support says another merchant's charge (ticket 12)";
    let run = admin(
        &world,
        &["events", "handle", &event.id, "--note", note, "--json"],
    )
    .await;
    let after = world.item(&key).await.unwrap();
    let at = assert_handled(&before, &after, note);
    assert!(!after.contains_key("expires_at"), "kept for good");
    assert_eq!(
        run.json(),
        json!({"item_key": key, "handled_by": MOTO_ARN, "handled_at": at,
               "handled_at_utc": rfc3339(at), "handled_note": note})
    );

    assert_eq!(
        admin(&world, &["events", "unmatched", "--json"])
            .await
            .json(),
        json!([])
    );
    let all = admin(&world, &["events", "unmatched", "--all", "--json"])
        .await
        .json();
    let mut expected = listed[0].clone();
    for (name, value) in [
        ("handled_by", json!(MOTO_ARN)),
        ("handled_at", json!(at)),
        ("handled_at_utc", json!(rfc3339(at))),
        ("handled_note", json!(note)),
    ] {
        expected[name] = value;
    }
    assert_eq!(all, json!([expected]));
    let human = admin(&world, &["events", "unmatched", "--all"]).await;
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert!(
        lines[0].contains("  RECEIVED (UTC)  ")
            && lines[0].contains("  HANDLED (UTC)  ")
            && lines[0].contains("  HANDLED BY  ")
            && lines[0].ends_with("  NOTE")
            && lines[1].starts_with(&event.id)
            && lines[1].contains(&format!("  {MOTO_ARN}  not ours: Qbit")),
        "{human:?}"
    );
    let none = admin(&world, &["events", "unmatched"]).await;
    assert_eq!(none.stdout, "No unmatched events to handle.\n");

    // Refusals: exit 3 or 5, say why, write nothing.
    let count = world.item_count().await;
    let handled_at = rfc3339(at)[..19].replace('T', " ");
    let cases = [
        (
            event.id.clone(),
            3,
            format!(
                "refused: unmatched event {} was already handled by {MOTO_ARN} at {handled_at} UTC: {note}; nothing was written",
                event.id
            ),
        ),
        (
            applied.id.clone(),
            3,
            format!(
                "refused: event {} is not unmatched: it was recorded as an event for one of our charges",
                applied.id
            ),
        ),
        (
            "evt_nowhere".to_string(),
            5,
            "refused: there is no unmatched event evt_nowhere (no item event#evt_nowhere in table"
                .to_string(),
        ),
    ];
    for (id, code, message) in cases {
        let item_key = format!("event#{id}");
        let before = world.item(&item_key).await;
        admin(&world, &["events", "handle", &id, "--note", "again"])
            .await
            .refused(code, &message);
        assert_eq!(world.item(&item_key).await, before, "{id} unchanged");
    }
    // The event's item key names it too.
    admin(&world, &["events", "handle", &key, "--note", "again"])
        .await
        .refused(3, "was already handled by");
    assert_eq!(world.item_count().await, count, "no item was created");
    assert_eq!(world.item(&key).await.unwrap(), after);
}

/// An unreadable body marked handled, then delivered by Qbit again (the
/// fix did not reach it, or Qbit resent it): it is listed again.
#[tokio::test]
async fn a_handled_unreadable_event_delivered_again_is_listed_again() {
    let world = World::start().await;
    let body = r#"{"not": "an event"}"#;
    let signature = world.sandbox.state().webhook_key.sign(body.as_bytes());
    assert_eq!(webhook(&world, body, &signature).await.status, 200);
    let key = shared::webhook::unreadable_event_key(body.as_bytes());
    let handled = admin(&world, &["events", "handle", &key, "--note", "replayed"]).await;
    assert_eq!(handled.code, 0, "{handled:?}");
    let listed = admin(&world, &["events", "unreadable", "--json"]).await;
    assert_eq!(listed.json(), json!([]));

    // Delivered again, a moment later (times are in ms).
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(webhook(&world, body, &signature).await.status, 200);
    let listed = admin(&world, &["events", "unreadable", "--json"])
        .await
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["item_key"], json!(key));
    assert_eq!(listed[0]["deliveries"], 2);
    assert_eq!(listed[0]["handled_note"], "replayed");
}
