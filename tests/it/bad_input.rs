//! The bad-input catalog: one table of malformed requests across the six
//! routes, each sent to its function's handler as API Gateway would hand
//! it over, against the sandbox and moto. Every row must get its exact 4xx,
//! in `openapi.yaml`'s shape for the function's own route (the support's
//! contract check), naming what was wrong (`detail.field`, or the words of
//! the message where no single field is to blame: a body that is not JSON,
//! a media type, a size, a signature), with no call to Qbit or DeBox (the
//! sandbox's counts) and nothing written to the table (its item count).
//! Rows are quiet; a failing row is named with why.
//!
//! Left out on purpose: webhook bodies that are validly signed but cannot
//! be read as an event. Those are kept whole and acknowledged with 200 by
//! design (README, "Qbit webhooks"); `qbit_webhook.rs` tests them. No route
//! requires an `Idempotency-Key`, so "missing where required" has no row.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bundle_tests::{Answer, Event, Function, MERCHANT, World, contract};
use lambda_http::{Body, Request};
use serde_json::{Value, json};

/// What the error must name.
#[derive(Clone)]
enum Names {
    /// `detail.field`, and the message starts with `<field>: `.
    Field(String),
    /// The message contains these words.
    Message(&'static str),
    /// `detail` is exactly this.
    Detail(Value),
}

struct Row {
    name: String,
    function: Function,
    event: Event,
    /// The body as `lambda_http` gives it for a base64 event: bytes.
    binary: Option<Vec<u8>>,
    status: u16,
    names: Names,
}

impl Row {
    /// The request, built when the row runs, so that its Lambda deadline
    /// (15 s away) is as fresh as a real invocation's.
    fn request(&self) -> Request {
        let mut request = self.event.request("req-bad-input");
        if let Some(bytes) = &self.binary {
            *request.body_mut() = Body::Binary(bytes.clone());
        }
        request
    }
}

/// A function's own route: where its answers are checked in openapi.yaml.
fn route(function: Function) -> (&'static str, &'static str) {
    match function {
        Function::CreateCharge => ("POST", "/charges"),
        Function::ListCharges => ("GET", "/charges"),
        Function::QbitWebhook => ("POST", "/webhooks/qbit"),
        Function::DeboxOrder => ("POST", "/debox/orders"),
        Function::DeboxTransfer => ("POST", "/debox/transfers"),
        Function::VboxBalance => ("GET", "/vbox/balance"),
    }
}

fn short(function: Function) -> &'static str {
    match function {
        Function::CreateCharge => "create-charge",
        Function::ListCharges => "list-charges",
        Function::QbitWebhook => "qbit-webhook",
        Function::DeboxOrder => "debox-order",
        Function::DeboxTransfer => "debox-transfer",
        Function::VboxBalance => "vbox-balance",
    }
}

/// Valid bodies, each broken one way per row.
fn charge() -> Value {
    json!({"amount": 1000, "currency": "USD", "externalOrderId": "order-42"})
}
fn merchant_pays() -> Value {
    json!({"receiver_user_id": "u1", "amount": "10.50"})
}
fn user_pays() -> Value {
    json!({"flow": "user_pays", "payer_user_id": "u2", "amount": "0.01", "pay_info": "tea",
           "redirect_uri": "https://shop.example/back"})
}
fn transfer() -> Value {
    json!({"access_token": "tok_catalog", "serial_id": "sn_catalog_1", "verify_amount": "10.50"})
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut().unwrap().remove(field);
    body
}

/// DeBox amounts (decimal strings) the contract refuses: every edge.
fn points_edges() -> Vec<(String, Value)> {
    let forty = "1234567890".repeat(4);
    let mut edges: Vec<(String, Value)> = [
        "0",
        "0.00",
        "-1",
        "+1",
        "1.",
        ".5",
        "1.001",
        "1e3",
        "1_000",
        "1,00",
        " 1",
        "1 ",
        "NaN",
        "Infinity",
        "\u{661}\u{660}",   // Arabic-Indic "10"
        "\u{ff11}\u{ff10}", // fullwidth "10"
        "",
        "1000000000.01",
        "0x10",
        forty.as_str(),
    ]
    .into_iter()
    .map(|s| (format!("{s:?}"), json!(s)))
    .collect();
    // The right value, the wrong JSON type: a number may already be rounded.
    for raw in ["10", "10.5", "true", "[\"10\"]", "{}"] {
        edges.push((format!("JSON {raw}"), serde_json::from_str(raw).unwrap()));
    }
    edges
}

struct Catalog {
    rows: Vec<Row>,
    world: Arc<World>,
}

impl Catalog {
    fn add(&mut self, name: String, function: Function, event: Event, status: u16, names: Names) {
        self.rows.push(Row {
            name,
            function,
            event,
            binary: None,
            status,
            names,
        });
    }

    /// A JSON body on the function's own route.
    fn body(&mut self, function: Function, name: &str, body: &Value, field: &str) {
        let (method, path) = route(function);
        let event = Event::new(method, path).json_body(body);
        self.add(
            format!("{}: {name}", short(function)),
            function,
            event,
            400,
            Names::Field(field.into()),
        );
    }

    /// Body bytes as given, with a content type (or none).
    fn raw(
        &mut self,
        function: Function,
        name: &str,
        content_type: Option<&str>,
        body: &str,
        status: u16,
        names: Names,
    ) {
        let (method, path) = route(function);
        let mut event = Event::new(method, path).text_body(body);
        if let Some(content_type) = content_type {
            event = event.header("content-type", content_type);
        }
        self.add(
            format!("{}: {name}", short(function)),
            function,
            event,
            status,
            names,
        );
    }

    /// A body API Gateway handed over base64-encoded (`isBase64Encoded`),
    /// as `lambda_http` gives it once decoded: bytes.
    fn binary_with(
        &mut self,
        function: Function,
        name: &str,
        bytes: Vec<u8>,
        headers: &[(&str, &str)],
        status: u16,
        names: Names,
    ) {
        let (method, path) = route(function);
        let mut event = Event::new(method, path).header("content-type", "application/json");
        for (header, value) in headers {
            event = event.header(header, value);
        }
        self.rows.push(Row {
            name: format!("{}: {name}", short(function)),
            function,
            event,
            binary: Some(bytes),
            status,
            names,
        });
    }

    fn query(&mut self, function: Function, name: &str, raw: &str, names: Names) {
        let (method, path) = route(function);
        self.add(
            format!("{}: {name}", short(function)),
            function,
            Event::new(method, path).query(raw),
            400,
            names,
        );
    }

    /// The function's route with another method (only a function URL or a
    /// route added by hand can deliver it: API Gateway routes by method).
    fn method(&mut self, function: Function, method: &str, body: Option<&Value>) {
        let (_, path) = route(function);
        let mut event = Event::new(method, path);
        if let Some(body) = body {
            event = event.json_body(body);
        }
        self.add(
            format!("{}: method {method}", short(function)),
            function,
            event,
            400,
            Names::Field("method".into()),
        );
    }

    /// What every JSON route refuses the same way: media types, sizes,
    /// bodies that are not JSON or not an object. The webhook reads its
    /// signature before the JSON: there, an unsigned body that is not a
    /// JSON object is refused for its missing signature.
    fn envelope(&mut self, function: Function, valid: &Value) {
        let unsigned = |names: Names| match function {
            Function::QbitWebhook => (401, Names::Message("X-QbitPay-Signature header is missing")),
            _ => (400, names),
        };
        let text = valid.to_string();
        let media = Names::Message("Content-Type: application/json");
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/xml"),
            Some("application/jsonx"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("json"),
        ] {
            let name = format!("content-type {content_type:?}");
            self.raw(function, &name, content_type, &text, 415, media.clone());
        }
        let big = format!(
            r#"{{"pad": "{}"}}"#,
            "a".repeat(shared::http::MAX_BODY_BYTES)
        );
        let size = Names::Message("larger than 65536 bytes");
        self.raw(
            function,
            "body over 64 KiB",
            Some("application/json"),
            &big,
            413,
            size.clone(),
        );
        self.raw(
            function,
            "body over 64 KiB, no content type",
            None,
            &big,
            413,
            size,
        );
        let cut = &text[..text.len() / 2];
        let not_json = Names::Message("not valid JSON");
        let invalid: [(&str, &str); 7] = [
            ("truncated JSON", cut),
            ("single quotes", "{'amount': 1}"),
            ("bare keys", "{amount: 1}"),
            ("trailing comma", &format!("{},}}", &text[..text.len() - 1])),
            ("trailing garbage", &format!("{text} x")),
            ("two objects", &format!("{text}{text}")),
            ("a lone brace", "}"),
        ];
        for (name, body) in invalid {
            let (status, names) = unsigned(not_json.clone());
            self.raw(
                function,
                name,
                Some("application/json"),
                body,
                status,
                names,
            );
        }
        let empty = Names::Message("request body is empty");
        self.raw(
            function,
            "empty body",
            Some("application/json"),
            "",
            400,
            empty.clone(),
        );
        self.raw(
            function,
            "blank body",
            Some("application/json"),
            " \n\t",
            400,
            empty,
        );
        let object = Names::Message("must be a JSON object");
        for (name, body) in [
            ("top-level array", "[]"),
            ("top-level string", r#""order-42""#),
            ("top-level number", "1000"),
            ("top-level null", "null"),
            ("top-level true", "true"),
        ] {
            let (status, names) = unsigned(object.clone());
            self.raw(
                function,
                name,
                Some("application/json"),
                body,
                status,
                names,
            );
        }
        let (status, names) = unsigned(not_json);
        let bytes = vec![0xff, 0xfe, b'{', 0x80];
        self.binary_with(
            function,
            "base64 body that is not UTF-8",
            bytes,
            &[],
            status,
            names,
        );
        let (status, names) = unsigned(object);
        let bytes = b"[1, 2]".to_vec();
        self.binary_with(
            function,
            "base64 body that is a JSON array",
            bytes,
            &[],
            status,
            names,
        );
    }
}

fn create_charge_rows(c: &mut Catalog) {
    let f = Function::CreateCharge;
    c.envelope(f, &charge());
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        c.method(f, method, Some(&charge()));
    }
    for field in ["amount", "currency", "externalOrderId"] {
        c.body(
            f,
            &format!("{field} missing"),
            &without(charge(), field),
            field,
        );
        c.body(
            f,
            &format!("{field} null"),
            &with(charge(), field, Value::Null),
            field,
        );
        for (kind, value) in [
            ("array", json!([])),
            ("object", json!({})),
            ("bool", json!(true)),
        ] {
            c.body(
                f,
                &format!("{field} an {kind}"),
                &with(charge(), field, value),
                field,
            );
        }
    }
    // Qbit amounts are JSON integers in minor units, 1 to 10^12.
    for raw in [
        "0",
        "0.00",
        "-1",
        "1.001",
        "1e3",
        "1.0",
        "1000000000001",
        "1234567890123456789012345678901234567890",
    ] {
        let body = format!(r#"{{"amount": {raw}, "currency": "USD", "externalOrderId": "o"}}"#);
        let name = format!("amount {raw}");
        c.raw(
            f,
            &name,
            Some("application/json"),
            &body,
            400,
            Names::Field("amount".into()),
        );
    }
    // Not JSON numbers at all: the body is not JSON.
    for raw in [
        "+1",
        "1.",
        ".5",
        "1_000",
        "1,00",
        "NaN",
        "Infinity",
        "\u{661}\u{660}\u{660}",
        "\u{ff11}\u{ff10}\u{ff10}",
    ] {
        let body = format!(r#"{{"amount": {raw}, "currency": "USD", "externalOrderId": "o"}}"#);
        let name = format!("amount {raw}");
        c.raw(
            f,
            &name,
            Some("application/json"),
            &body,
            400,
            Names::Message("not valid JSON"),
        );
    }
    // The right number as a string: a decimal string is DeBox's kind, not Qbit's.
    for s in ["1000", " 1", "1e3", "\u{661}\u{660}\u{660}", ""] {
        c.body(
            f,
            &format!("amount {s:?}"),
            &with(charge(), "amount", json!(s)),
            "amount",
        );
    }
    for s in [
        "",
        "usd",
        "US",
        "USDT",
        "U1D",
        "\u{dc}SD",
        "\u{ff35}\u{ff33}\u{ff24}",
        "US\u{0}",
    ] {
        c.body(
            f,
            &format!("currency {s:?}"),
            &with(charge(), "currency", json!(s)),
            "currency",
        );
    }
    c.body(
        f,
        "currency a number",
        &with(charge(), "currency", json!(840)),
        "currency",
    );
    let long = "x".repeat(129);
    for s in [
        "",
        "   ",
        "a\nb",
        "a\u{0}b",
        "\u{1b}[31m",
        "tab\there",
        long.as_str(),
    ] {
        let body = with(charge(), "externalOrderId", json!(s));
        let name = format!("externalOrderId {}", describe(s));
        c.body(f, &name, &body, "externalOrderId");
    }
    c.body(
        f,
        "externalOrderId a number",
        &with(charge(), "externalOrderId", json!(42)),
        "externalOrderId",
    );
    for unknown in [
        "extra",
        "Amount",
        "external_order_id",
        "__proto__",
        "metadata",
    ] {
        c.body(
            f,
            &format!("unknown field {unknown}"),
            &with(charge(), unknown, json!(1)),
            unknown,
        );
    }
    let twice = r#"{"amount": 1000, "amount": 1, "currency": "USD", "externalOrderId": "o"}"#;
    c.raw(
        f,
        "amount twice",
        Some("application/json"),
        twice,
        400,
        Names::Field("amount".into()),
    );
    // Idempotency-Key: 1 to 255 printable ASCII characters.
    let key_names = Names::Field("Idempotency-Key".into());
    let long_key = "k".repeat(256);
    for (name, key) in [
        ("empty", ""),
        ("256 characters", long_key.as_str()),
        ("a tab", "key\tone"),
        ("non-ASCII", "cl\u{e9}"),
    ] {
        let event = Event::new("POST", "/charges")
            .header("idempotency-key", key)
            .json_body(&charge());
        c.add(
            format!("create-charge: Idempotency-Key {name}"),
            f,
            event,
            400,
            key_names.clone(),
        );
    }
    // A good key with a bad body: refused before the key is claimed.
    let event = Event::new("POST", "/charges")
        .header("idempotency-key", "catalog-key-1")
        .json_body(&with(charge(), "amount", json!(0)));
    let name = "create-charge: good Idempotency-Key, amount 0".to_string();
    c.add(name, f, event, 400, Names::Field("amount".into()));
}

/// A string for a row's name (control characters and long values shown
/// briefly).
fn describe(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{} characters", s.chars().count())
    } else {
        format!("{s:?}")
    }
}

fn list_charges_rows(c: &mut Catalog) {
    let f = Function::ListCharges;
    for method in ["POST", "PUT", "DELETE"] {
        c.method(f, method, Some(&charge()));
    }
    let limit = || Names::Field("limit".into());
    let forty = "1234567890".repeat(4);
    for raw in [
        "0",
        "101",
        "-1",
        "%2B5",
        "1.5",
        "1.",
        ".5",
        "1e1",
        "",
        "ten",
        "1000",
        "%205",
        "1_0",
        "1%2C0",
        "NaN",
        "Infinity",
        "0x10",
        "5%00",
        "%D9%A1",    // Arabic-Indic 1
        "%EF%BC%91", // fullwidth 1
        forty.as_str(),
    ] {
        c.query(f, &format!("limit={raw}"), &format!("limit={raw}"), limit());
    }
    c.query(f, "limit twice", "limit=1&limit=2", limit());
    let long = "c".repeat(256);
    for field in ["starting_after", "ending_before"] {
        let named = || Names::Field(field.into());
        for (name, raw) in [
            ("empty", ""),
            ("a space", "ch%201"),
            ("256 characters", long.as_str()),
            ("non-ASCII", "ch_%C3%BC"),
            ("a newline", "ch%0A1"),
            ("a NUL", "ch%001"),
        ] {
            c.query(
                f,
                &format!("{field} {name}"),
                &format!("{field}={raw}"),
                named(),
            );
        }
        c.query(
            f,
            &format!("{field} twice"),
            &format!("{field}=a&{field}=b"),
            named(),
        );
    }
    c.query(
        f,
        "starting_after and ending_before",
        "starting_after=a&ending_before=b",
        Names::Detail(json!({"fields": ["starting_after", "ending_before"]})),
    );
    for unknown in ["limt", "cursor", "page", "expand%5B%5D", "Limit"] {
        let decoded = unknown.replace("%5B%5D", "[]");
        c.query(
            f,
            &format!("unknown parameter {decoded}"),
            &format!("{unknown}=1"),
            Names::Field(decoded),
        );
    }
}

fn vbox_balance_rows(c: &mut Catalog) {
    let f = Function::VboxBalance;
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        c.method(f, method, None);
    }
    for unknown in ["x", "limit", "currency"] {
        c.query(
            f,
            &format!("unknown parameter {unknown}"),
            &format!("{unknown}=1"),
            Names::Field(unknown.into()),
        );
    }
}

fn debox_order_rows(c: &mut Catalog) {
    let f = Function::DeboxOrder;
    c.envelope(f, &merchant_pays());
    for method in ["GET", "PUT", "DELETE"] {
        c.method(f, method, Some(&merchant_pays()));
    }
    let long_id = "u".repeat(65);
    let bad_ids: [(&str, Value); 9] = [
        ("empty", json!("")),
        ("a space", json!("u 1")),
        ("65 characters", json!(long_id)),
        ("non-ASCII", json!("\u{fc}1")),
        ("CJK", json!("\u{7528}\u{6237}")),
        ("a NUL", json!("u\u{0}1")),
        ("a number", json!(1)),
        ("null", Value::Null),
        ("the merchant itself", json!(MERCHANT)),
    ];
    for (name, value) in bad_ids.iter().cloned() {
        let body = with(merchant_pays(), "receiver_user_id", value);
        c.body(
            f,
            &format!("receiver_user_id {name}"),
            &body,
            "receiver_user_id",
        );
    }
    for (name, value) in bad_ids {
        let body = with(user_pays(), "payer_user_id", value);
        c.body(
            f,
            &format!("user pays, payer_user_id {name}"),
            &body,
            "payer_user_id",
        );
    }
    for field in ["receiver_user_id", "amount"] {
        c.body(
            f,
            &format!("{field} missing"),
            &without(merchant_pays(), field),
            field,
        );
    }
    for field in ["payer_user_id", "amount", "pay_info", "redirect_uri"] {
        let body = without(user_pays(), field);
        c.body(f, &format!("user pays, {field} missing"), &body, field);
    }
    for (name, value) in points_edges() {
        let body = with(merchant_pays(), "amount", value.clone());
        c.body(f, &format!("amount {name}"), &body, "amount");
        let body = with(user_pays(), "amount", value);
        c.body(f, &format!("user pays, amount {name}"), &body, "amount");
    }
    for (name, value) in [
        ("\"other\"", json!("other")),
        ("\"USER_PAYS\"", json!("USER_PAYS")),
        ("\"\"", json!("")),
        ("a number", json!(1)),
        ("null", Value::Null),
        ("an array", json!(["user_pays"])),
    ] {
        c.body(
            f,
            &format!("flow {name}"),
            &with(merchant_pays(), "flow", value),
            "flow",
        );
    }
    let long_info = "i".repeat(257);
    for (name, value) in [
        ("empty", json!("")),
        ("blank", json!("   ")),
        ("a CR LF", json!("tea\r\n")),
        ("a NUL", json!("tea\u{0}")),
        ("257 characters", json!(long_info)),
        ("a number", json!(5)),
        ("null", Value::Null),
    ] {
        let body = with(user_pays(), "pay_info", value);
        c.body(f, &format!("user pays, pay_info {name}"), &body, "pay_info");
    }
    let long_uri = format!("https://shop.example/{}", "p".repeat(2048));
    for (name, value) in [
        ("http", json!("http://shop.example/back")),
        ("relative", json!("/back")),
        ("no scheme", json!("shop.example/back")),
        ("javascript:", json!("javascript:alert(1)")),
        ("data:", json!("data:text/html,hi")),
        ("ftp", json!("ftp://shop.example/back")),
        ("https without a host", json!("https://")),
        ("a space", json!("https://shop example/back")),
        ("a NUL", json!("https://shop.example/\u{0}")),
        ("over 2048 characters", json!(long_uri)),
        ("empty", json!("")),
        ("a number", json!(1)),
        ("null", Value::Null),
    ] {
        let body = with(user_pays(), "redirect_uri", value);
        c.body(
            f,
            &format!("user pays, redirect_uri {name}"),
            &body,
            "redirect_uri",
        );
    }
    c.body(
        f,
        "unknown field memo",
        &with(merchant_pays(), "memo", json!("x")),
        "memo",
    );
    let body = with(merchant_pays(), "pay_info", json!("tea"));
    c.body(f, "merchant pays with pay_info", &body, "pay_info");
    let body = with(user_pays(), "receiver_user_id", json!("u1"));
    c.body(
        f,
        "user pays with receiver_user_id",
        &body,
        "receiver_user_id",
    );
}

fn debox_transfer_rows(c: &mut Catalog) {
    let f = Function::DeboxTransfer;
    c.envelope(f, &transfer());
    for method in ["GET", "PUT", "DELETE"] {
        c.method(f, method, Some(&transfer()));
    }
    for field in ["access_token", "serial_id"] {
        c.body(
            f,
            &format!("{field} missing"),
            &without(transfer(), field),
            field,
        );
        c.body(
            f,
            &format!("{field} null"),
            &with(transfer(), field, Value::Null),
            field,
        );
    }
    // Refused, never read as "left out": that would reach DeBox unchecked.
    let body = with(transfer(), "verify_amount", Value::Null);
    c.body(f, "verify_amount null", &body, "verify_amount");
    let long_token = "t".repeat(4097);
    for (name, value) in [
        ("empty", json!("")),
        ("a space", json!("tok en")),
        ("non-ASCII", json!("t\u{f6}k")),
        ("a NUL", json!("tok\u{0}")),
        ("4097 characters", json!(long_token)),
        ("a number", json!(123)),
        ("an object", json!({"token": "x"})),
    ] {
        let body = with(transfer(), "access_token", value);
        c.body(f, &format!("access_token {name}"), &body, "access_token");
    }
    let long_serial = "s".repeat(129);
    for (name, value) in [
        ("empty", json!("")),
        ("a space", json!("sn 1")),
        ("a tab", json!("sn\t1")),
        ("non-ASCII", json!("sn-\u{fc}")),
        ("129 characters", json!(long_serial)),
        ("a number", json!(1)),
        ("an array", json!(["sn_1"])),
    ] {
        let body = with(transfer(), "serial_id", value);
        c.body(f, &format!("serial_id {name}"), &body, "serial_id");
    }
    for (name, value) in points_edges() {
        let body = with(transfer(), "verify_amount", value);
        c.body(f, &format!("verify_amount {name}"), &body, "verify_amount");
    }
    for unknown in ["amount", "verifyAmount", "__proto__"] {
        let body = with(transfer(), unknown, json!("10.50"));
        c.body(f, &format!("unknown field {unknown}"), &body, unknown);
    }
}

fn webhook_rows(c: &mut Catalog) {
    let f = Function::QbitWebhook;
    let world = c.world.clone();
    let key = world.sandbox.state().webhook_key.clone();
    let event = json!({"id": "evt_catalog", "object": "event", "type": "charge.succeeded",
        "createdAt": "2026-11-21T18:00:00.250+08:00",
        "data": {"object": {"id": "ch_catalog", "object": "charge", "paid": true,
            "status": "succeeded", "amount": 1000, "currency": "USD", "externalOrderId": "o"}}})
    .to_string();
    let signature = key.sign(event.as_bytes());
    c.envelope(f, &serde_json::from_str(&event).unwrap());
    for method in ["GET", "PUT", "DELETE"] {
        let e = Event::new(method, "/webhooks/qbit")
            .header("content-type", "application/json")
            .header("x-qbitpay-signature", &signature)
            .text_body(&event);
        let name = format!("qbit-webhook: signed, method {method}");
        c.add(name, f, e, 400, Names::Field("method".into()));
    }
    // Signed, but refused before the signature: the media type and size.
    let e = Event::new("POST", "/webhooks/qbit")
        .header("content-type", "text/plain")
        .header("x-qbitpay-signature", &signature)
        .text_body(&event);
    let media = Names::Message("Content-Type: application/json");
    c.add("qbit-webhook: signed, text/plain".into(), f, e, 415, media);
    let missing = Names::Message("X-QbitPay-Signature header is missing");
    let not_base64 = Names::Message("X-QbitPay-Signature header is not base64");
    let mismatch = Names::Message("signature does not match");
    let other_key = sandbox::webhooks::SigningKey::new(None).unwrap();
    let changed = event.replacen("1000", "1001", 1);
    let signed_other = key.sign(b"{\"id\":\"evt_other\"}");
    let cases: Vec<(&str, Option<String>, String, Names)> = vec![
        ("no signature header", None, event.clone(), missing.clone()),
        (
            "empty signature",
            Some(String::new()),
            event.clone(),
            missing.clone(),
        ),
        (
            "blank signature",
            Some("   ".into()),
            event.clone(),
            missing.clone(),
        ),
        (
            "signature not base64",
            Some("!!!".into()),
            event.clone(),
            not_base64.clone(),
        ),
        (
            "signature with a space",
            Some("abc def".into()),
            event.clone(),
            not_base64.clone(),
        ),
        (
            "signature in base64url",
            Some(signature.replace('+', "-").replace('/', "_") + "-_"),
            event.clone(),
            not_base64.clone(),
        ),
        (
            "signature cut short",
            Some(signature[..10].into()),
            event.clone(),
            not_base64.clone(),
        ),
        (
            "two signatures joined by a comma",
            Some(format!("{signature},{signature}")),
            event.clone(),
            not_base64.clone(),
        ),
        (
            "signature of zeros",
            Some("AAAA".into()),
            event.clone(),
            mismatch.clone(),
        ),
        (
            "signature of another body",
            Some(signed_other),
            event.clone(),
            mismatch.clone(),
        ),
        (
            "signed by another key",
            Some(other_key.sign(event.as_bytes())),
            event.clone(),
            mismatch.clone(),
        ),
        (
            "one byte changed",
            Some(signature.clone()),
            changed,
            mismatch.clone(),
        ),
        (
            "a newline added",
            Some(signature.clone()),
            format!("{event}\n"),
            mismatch.clone(),
        ),
        (
            "a space in front",
            Some(signature.clone()),
            format!(" {event}"),
            mismatch.clone(),
        ),
        (
            "malformed JSON, unsigned",
            None,
            "{\"id\":".into(),
            missing.clone(),
        ),
        (
            "malformed JSON, forged",
            Some("AAAA".into()),
            "{\"id\":".into(),
            mismatch.clone(),
        ),
        ("an array, unsigned", None, "[]".into(), missing.clone()),
    ];
    for (name, header, body, names) in cases {
        let mut e = Event::new("POST", "/webhooks/qbit")
            .header("content-type", "application/json")
            .text_body(&body);
        if let Some(header) = header {
            e = e.header("x-qbitpay-signature", &header);
        }
        c.add(format!("qbit-webhook: {name}"), f, e, 401, names);
    }
    // Base64 from API Gateway (isBase64Encoded), decoded, then refused.
    c.binary_with(
        f,
        "base64 body, forged signature",
        event.clone().into_bytes(),
        &[("x-qbitpay-signature", "AAAA")],
        401,
        mismatch,
    );
    c.binary_with(
        f,
        "base64 body, no signature",
        vec![0xff, 0x00, 0x01],
        &[],
        401,
        missing,
    );
    // The signature of the base64 text is not the signature of the body.
    let encoded = STANDARD.encode(&event);
    let signed_text = key.sign(encoded.as_bytes());
    c.binary_with(
        f,
        "base64 body signed as its base64 text",
        event.into_bytes(),
        &[("x-qbitpay-signature", &signed_text)],
        401,
        Names::Message("signature does not match"),
    );
}

/// The sandbox's call counts and the table's size: both must stay put.
async fn footprint(world: &World) -> (Value, usize) {
    (world.calls(), world.item_count().await)
}

/// The handler's answer, with the world's clients built as a container
/// builds them (`World::invoke`, but checked below against the function's
/// own route, so that a wrong method can be a row).
async fn answer(world: &World, function: Function, request: Request) -> Answer {
    let response = match function {
        Function::CreateCharge => {
            create_charge::handle(&world.qbit(), &world.store(), request).await
        }
        Function::ListCharges => list_charges::handle(&world.qbit(), request).await,
        Function::QbitWebhook => {
            qbit_webhook::handle(&world.secrets(), &world.store(), request).await
        }
        Function::DeboxOrder => debox_order::handle(&world.debox(), request).await,
        Function::DeboxTransfer => {
            let debox = world.debox();
            debox_transfer::handle(&world.store(), &debox.client, request).await
        }
        Function::VboxBalance => vbox_balance::handle(&world.debox(), request).await,
    };
    Answer::of(response)
}

/// One row: why it failed, if it did.
async fn check(world: &World, row: Row) -> Result<(), String> {
    let before = footprint(world).await;
    let answer = answer(world, row.function, row.request()).await;
    let after = footprint(world).await;
    if answer.status != row.status {
        return Err(format!(
            "status {} (expected {}): {}",
            answer.status, row.status, answer.text
        ));
    }
    let (method, path) = route(row.function);
    contract::conformance(method, path, &answer)?;
    let body = answer.json();
    let message = body["message"].as_str().unwrap_or_default();
    match &row.names {
        Names::Field(field) => {
            if body["detail"]["field"] != json!(field)
                || !message.starts_with(&format!("{field}: "))
            {
                return Err(format!("does not name {field}: {}", answer.text));
            }
        }
        Names::Message(words) => {
            if !message.contains(words) {
                return Err(format!(
                    "the message does not say {words:?}: {}",
                    answer.text
                ));
            }
        }
        Names::Detail(detail) => {
            if body["detail"] != *detail {
                return Err(format!("detail is not {detail}: {}", answer.text));
            }
        }
    }
    if after.0 != before.0 {
        return Err(format!(
            "the providers were called: {} -> {}",
            before.0, after.0
        ));
    }
    if after.1 != before.1 {
        return Err(format!(
            "the table went from {} to {} items",
            before.1, after.1
        ));
    }
    Ok(())
}

fn catalog(world: Arc<World>) -> Vec<Row> {
    let mut c = Catalog {
        rows: Vec::new(),
        world,
    };
    create_charge_rows(&mut c);
    list_charges_rows(&mut c);
    webhook_rows(&mut c);
    debox_order_rows(&mut c);
    debox_transfer_rows(&mut c);
    vbox_balance_rows(&mut c);
    c.rows
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_input_is_a_named_4xx_with_no_call_and_no_write() {
    let world = Arc::new(World::start().await);
    let rows = catalog(world.clone());
    let mut per_route = std::collections::BTreeMap::<&str, usize>::new();
    for row in &rows {
        *per_route.entry(short(row.function)).or_default() += 1;
    }
    let total = rows.len();
    let mut failures = Vec::new();
    for row in rows {
        let name = row.name.clone();
        let world = world.clone();
        // Each row in its own task, so that a panic (in a handler or a
        // check) is that row's failure, named, and the rest still run.
        match tokio::spawn(async move { check(&world, row).await }).await {
            Ok(Ok(())) => {}
            Ok(Err(why)) => failures.push(format!("{name}: {why}")),
            Err(panic) => failures.push(format!("{name}: panicked: {panic}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 150, "the catalog has {total} rows: {per_route:?}");
    assert_eq!(per_route.len(), 6, "every route has rows: {per_route:?}");
    println!("bad-input catalog: {total} rows, {per_route:?}");

    // The detectors work: valid requests do call the providers and write.
    let (calls, items) = footprint(&world).await;
    let ok = Event::new("POST", "/charges").json_body(&charge());
    let created = answer(&world, Function::CreateCharge, ok.request("req-control")).await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_ne!(world.calls(), calls, "a charge calls Qbit");
    assert_eq!(world.item_count().await, items + 1, "a charge is recorded");
    let (calls, _) = footprint(&world).await;
    let ok = Event::new("POST", "/debox/orders").json_body(&merchant_pays());
    let ordered = answer(&world, Function::DeboxOrder, ok.request("req-control")).await;
    assert_eq!(ordered.status, 200, "{}", ordered.text);
    assert_ne!(world.calls(), calls, "an order calls DeBox");
}

/// A body marked base64 (`isBase64Encoded`) that is not base64 is no
/// catalog row, because it never reaches a handler: `lambda_http` would
/// panic building the request (API Gateway's own bare 500), so what the
/// functions serve (`shared::http::run`) answers it first with the
/// contract's 400. API Gateway encodes bodies itself; only a hand-made
/// invocation sends one. The real binaries of the two money paths, run as
/// Lambda runs them: nothing is called or written, and the process answers
/// the next invocation (each is a fresh process; the container's survival
/// is `shared`'s unit test).
#[tokio::test(flavor = "multi_thread")]
async fn a_body_marked_base64_that_is_not_is_the_contracts_400_from_the_binaries() {
    let world = World::start().await;
    let home = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(bundle_tests::unique("base64-body"));
    for function in ["create-charge", "debox-transfer"] {
        for body in ["{\"amount\": 1000}", "%%%", "YWJj=ZGVm"] {
            let path = bundle_tests::workspace_root().join(format!("events/{function}.json"));
            let mut event: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            event["body"] = json!(body);
            event["isBase64Encoded"] = json!(true);
            let answer =
                bundle_tests::invoke_binary(&world, function, event.to_string(), &[], &home).await;
            assert_eq!(answer["statusCode"], 400, "{function} {body}: {answer}");
            let refusal: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
            assert_eq!(
                refusal,
                json!({"type": "invalid_request_error", "message": shared::http::UNDECODABLE_BODY}),
                "{function} {body}"
            );
            assert_eq!(answer["headers"]["content-type"], "application/json");
            // The stand-in's id for a fresh process's first invocation.
            assert_eq!(answer["headers"]["x-request-id"], "standin-00000001");
        }
    }
    assert_eq!(world.calls(), json!({}));
    assert_eq!(world.item_count().await, 0);
}
