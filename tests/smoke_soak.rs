//! The soaks' short variants (`bundle_tests::soak`), in every test run: a
//! few hundred transfers through four real `debox-transfer` processes with
//! DeBox faults and kills, and a hundred-odd Qbit deliveries through four
//! real `qbit-webhook` processes with repeats, out-of-order pairs, foreign
//! events and kills; every must-be-zero figure must be zero, and the run
//! must have done what it claims (faults met, instances killed while
//! busy, repeats answered as duplicates). `scripts/soak.sh` runs the full
//! ones; RELIABILITY.md has their figures. A test binary of its own, so
//! cargo runs it after `it`, never beside `it`'s tests.

use bundle_tests::World;
use bundle_tests::built_binary;
use bundle_tests::soak::{transfers, webhooks};

fn log_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(bundle_tests::unique(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_under_faults_and_kills_are_never_sent_twice_and_every_record_holds() {
    let world = World::start().await;
    let settings =
        transfers::Settings::smoke(built_binary("debox-transfer"), log_dir("soak-transfers"));
    let report = transfers::run(&world, &settings).await.unwrap();
    println!("{report}");
    for (figure, value) in report.must_be_zero() {
        assert_eq!(value, 0, "{figure}\n{report}");
    }
    // It did what it says: DeBox applied most, faults were met, instances
    // were killed (some mid-request), serials were sent again.
    assert!(report.applied > settings.attempts / 2, "{report}");
    assert!(report.faults_applied.values().sum::<u64>() > 0, "{report}");
    assert!(
        report.killed >= settings.attempts / settings.kill_every,
        "{report}"
    );
    assert!(
        report.answers.get("409 succeeded").copied().unwrap_or(0) > 0,
        "{report}"
    );
    // The dangerous case was tried: serials whose answer said `unknown`
    // were sent again (and the figures above say none went to DeBox twice).
    assert!(report.unknown_sent_again > 0, "{report}");
    assert_eq!(report.invocations, report.answers.values().sum::<usize>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_with_repeats_and_kills_are_each_recorded_once_and_only_forward() {
    let world = World::start().await;
    let settings =
        webhooks::Settings::smoke(built_binary("qbit-webhook"), log_dir("soak-webhooks"));
    let report = webhooks::run(&world, &settings).await.unwrap();
    println!("{report}");
    for (figure, value) in report.must_be_zero() {
        assert_eq!(value, 0, "{figure}\n{report}");
    }
    assert!(
        report.duplicates_planned > 0 && report.out_of_order_pairs > 0,
        "{report}"
    );
    // Every repeat is answered as a duplicate, unless a kill took the
    // answer of the delivery that recorded it first.
    let duplicates = report.answers.get("200 duplicate").copied().unwrap_or(0);
    assert!(
        duplicates + report.killed_busy >= report.duplicates_planned,
        "{report}"
    );
    // Each event answered as new once, unless the instance was killed
    // after recording it and before answering (its redelivery is a
    // duplicate).
    let new = report.answers.get("200 new").copied().unwrap_or(0);
    assert!(
        new <= report.events && new + report.killed_busy >= report.events,
        "{report}"
    );
    assert!(report.foreign_charges > 0, "{report}");
}
