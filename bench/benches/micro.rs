//! Micro-benchmarks of the work a request does on our side of the calls:
//! `cargo bench -p bench --bench micro`. Inputs are the repository's own
//! (events/, the test webhook key), so the numbers are for real shapes.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::debox::Amount;
use shared::debox::sign::signature;
use shared::qbit::NewCharge;
use shared::qbit::webhook::{Event, Signature, WebhookKey};

const PRIVATE_KEY: &str = include_str!("../../events/keys/qbit-webhook-test.key.pem");
const PUBLIC_KEY: &str = include_str!("../../events/keys/qbit-webhook-test.pub.pem");
const CREATE_CHARGE: &str = include_str!("../../events/create-charge.json");
const DEBOX_TRANSFER: &str = include_str!("../../events/debox-transfer.json");

const EVENT: &str = r#"{"id":"evt_8NqZ2bQk1mXr4TfW","object":"event","type":"charge.succeeded","createdAt":"2026-11-21T10:00:00.000Z","data":{"object":{"id":"ch_1f3c9a7e","object":"charge","createdAt":"2026-11-21T09:58:12.000Z","paid":true,"status":"succeeded","amount":1000,"currency":"USD","externalOrderId":"order-42","paymentPageUrl":"https://pay.example/h5/payment?tradeId=abc"}}}"#;

fn debox_signing(c: &mut Criterion) {
    c.bench_function(
        "debox: sign a call (SHA-1 of secret+nonce+timestamp, hex)",
        |b| {
            b.iter(|| {
                signature(
                    black_box("debox_secret_sandbox"),
                    black_box("12345678"),
                    black_box("1795255200123"),
                )
            })
        },
    );
}

fn webhook_verification(c: &mut Criterion) {
    let signed = sandbox::SigningKey::new(Some(PRIVATE_KEY))
        .expect("the test key")
        .sign(EVENT.as_bytes());
    let key = WebhookKey::from_pem(PUBLIC_KEY).expect("the test key");
    c.bench_function("webhook: public key from PEM", |b| {
        b.iter(|| WebhookKey::from_pem(black_box(PUBLIC_KEY)))
    });
    c.bench_function("webhook: signature header + RSA-2048 verify", |b| {
        b.iter(|| {
            let signature = Signature::from_header(Some(black_box(&signed))).expect("base64");
            key.verify(black_box(EVENT.as_bytes()), &signature)
                .expect("a good signature")
        })
    });
}

fn amount_parsing(c: &mut Criterion) {
    c.bench_function("amount: parse \"10.50\"", |b| {
        b.iter(|| black_box("10.50").parse::<Amount>())
    });
    c.bench_function("amount: parse and print \"999999999.99\"", |b| {
        b.iter(|| {
            black_box("999999999.99")
                .parse::<Amount>()
                .map(|a| a.to_string())
        })
    });
}

fn event_parsing(c: &mut Criterion) {
    c.bench_function("webhook: parse a charge.succeeded event", |b| {
        b.iter(|| Event::parse(black_box(EVENT.as_bytes())))
    });
}

fn request_parsing(c: &mut Criterion) {
    c.bench_function("request: API Gateway event + POST /charges body", |b| {
        b.iter(|| {
            let request =
                lambda_http::request::from_str(black_box(CREATE_CHARGE)).expect("an event");
            shared::http::json_body::<NewCharge>(&request).expect("a charge")
        })
    });
    c.bench_function("request: API Gateway event only (debox-transfer)", |b| {
        b.iter(|| lambda_http::request::from_str(black_box(DEBOX_TRANSFER)).expect("an event"))
    });
}

criterion_group!(
    micro,
    debox_signing,
    webhook_verification,
    amount_parsing,
    event_parsing,
    request_parsing
);
criterion_main!(micro);
