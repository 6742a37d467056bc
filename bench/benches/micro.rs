//! Micro-benchmarks of the work a request does on our side of the calls:
//! `cargo bench -p bench --bench micro`. Inputs are the repository's own
//! (events/, the test webhook key), so the numbers are for real shapes.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use shared::debox::Amount;
use shared::debox::sign::signature;
use shared::qbit::NewCharge;
use shared::qbit::webhook::{Event, Signature, WebhookKey};

const PRIVATE_KEY: &str = include_str!("../../events/keys/qbit-webhook-test.key.pem");
const PUBLIC_KEY: &str = include_str!("../../events/keys/qbit-webhook-test.pub.pem");
const CREATE_CHARGE: &str = include_str!("../../events/create-charge.json");
const DEBOX_TRANSFER: &str = include_str!("../../events/debox-transfer.json");

const TLS_CA: &str = include_str!("tls/ca.pem");
const TLS_SERVER: &str = include_str!("tls/server.pem");
const TLS_SERVER_KEY: &str = include_str!("tls/server.key");

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

/// A whole TLS 1.3 handshake, both ends in memory, with the functions'
/// crypto (rustls on aws-lc-rs): X25519, a certificate chain verified
/// (an RSA-2048 CA's signature), an ECDSA P-256 handshake signature. Not a
/// function's code but what each of its cold connections costs on AWS
/// (the harness's loopback calls have no TLS), so that the release
/// profile's `opt-level` can be weighed against it. The certificates in
/// benches/tls/ are throwaway test ones, trusted by nothing else.
fn tls_handshake(c: &mut Criterion) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(TLS_CA.as_bytes()).expect("the test CA"))
        .expect("a root");
    let mut client = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Every iteration a full handshake, as a cold start's first connection.
    client.resumption = rustls::client::Resumption::disabled();
    let chain = vec![CertificateDer::from_pem_slice(TLS_SERVER.as_bytes()).expect("the test cert")];
    let key = PrivateKeyDer::from_pem_slice(TLS_SERVER_KEY.as_bytes()).expect("the test key");
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("a server config");
    let (client, server) = (Arc::new(client), Arc::new(server));
    c.bench_function("tls: a full TLS 1.3 handshake, both ends in memory", |b| {
        b.iter(|| handshake(&client, &server))
    });
    // What a function pays: the client's own work only (the server's is
    // AWS's or the provider's).
    c.bench_function("tls: the client's share of that handshake", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| handshake(&client, &server).client)
                .sum()
        })
    });
}

/// Time spent in each end of one handshake.
struct Spent {
    client: Duration,
}

fn handshake(client: &Arc<rustls::ClientConfig>, server: &Arc<rustls::ServerConfig>) -> Spent {
    let started = Instant::now();
    let name = rustls::pki_types::ServerName::try_from("bench.example").expect("a name");
    let mut client = rustls::Connection::from(
        rustls::ClientConnection::new(client.clone(), name).expect("a client"),
    );
    let mut spent = Spent {
        client: started.elapsed(),
    };
    let mut server =
        rustls::Connection::from(rustls::ServerConnection::new(server.clone()).expect("a server"));
    for _ in 0..8 {
        // The client writes, the server reads; the server writes, the client reads.
        let (written, _) = pass(&mut client, &mut server);
        let (_, read) = pass(&mut server, &mut client);
        spent.client += written + read;
        if !client.is_handshaking() && !server.is_handshaking() {
            return spent;
        }
    }
    panic!("the handshake did not finish");
}

/// Everything `from` has to send, read and processed by `to`; the time
/// each side spent on it.
fn pass(from: &mut rustls::Connection, to: &mut rustls::Connection) -> (Duration, Duration) {
    let started = Instant::now();
    let mut bytes = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut bytes).expect("written");
    }
    let writing = started.elapsed();
    let started = Instant::now();
    let mut unread = &bytes[..];
    while !unread.is_empty() {
        to.read_tls(&mut unread).expect("read");
        to.process_new_packets().expect("a good handshake");
    }
    (writing, started.elapsed())
}

criterion_group!(
    micro,
    debox_signing,
    webhook_verification,
    amount_parsing,
    event_parsing,
    request_parsing,
    tls_handshake
);
criterion_main!(micro);
