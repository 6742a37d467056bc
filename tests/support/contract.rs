//! Every answer the integration tests receive is checked against the
//! repository's description of the API, `openapi.yaml`: its status must be
//! one the route lists; it must be JSON (`content-type` and body) matching
//! that response's schema (JSON Schema 2020-12, which OpenAPI 3.1 uses,
//! checked by the `jsonschema` crate, formats included); every header the
//! document requires must be there, and every header it describes must
//! match its schema; and an error's `type` must be the one its status fixes.

use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::Answer;

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    })
}

/// Follow a `$ref` inside the document (`#/components/...`).
fn resolve(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => {
            let target = document()
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("openapi.yaml: {pointer} does not exist"));
            resolve(target)
        }
        None => value,
    }
}

/// Panic, saying why, unless `answer` is one the document allows for
/// `method` on `path`.
pub fn check(method: &str, path: &str, answer: &Answer) {
    let operation = &document()["paths"][path][method.to_ascii_lowercase()];
    assert!(operation.is_object(), "openapi.yaml has no {method} {path}");
    let status = answer.status.to_string();
    let response = resolve(&operation["responses"][&status]);
    assert!(
        response.is_object(),
        "openapi.yaml lists no {status} for {method} {path}; the answer was {}",
        answer.text
    );
    let at = format!("{method} {path} {status}");
    if let Some(headers) = response["headers"].as_object() {
        for (name, header) in headers {
            let header = resolve(header);
            match answer.header(name) {
                Some(value) => assert_matches(&at, &header["schema"], &json!(value), name),
                None => assert!(
                    header["required"] != json!(true),
                    "{at}: no {name} header, which openapi.yaml requires"
                ),
            }
        }
    }
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{at}: not JSON"
    );
    let schema = response
        .pointer("/content/application~1json/schema")
        .unwrap_or_else(|| panic!("openapi.yaml: {at} declares no JSON body"));
    let body: Value = serde_json::from_str(&answer.text)
        .unwrap_or_else(|e| panic!("{at}: the body is not JSON ({e}): {}", answer.text));
    assert_matches(&at, schema, &body, "the body");
    if answer.status >= 400 {
        assert_eq!(
            body["type"],
            json!(error_type(answer.status)),
            "{at}: an error's type is fixed by its status"
        );
    }
}

/// The error `type` the API fixes for `status` (openapi.yaml's description;
/// `shared::ErrorType` is the code's side).
fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        429 => "rate_limit_error",
        500.. => "api_error",
        _ => "invalid_request_error",
    }
}

/// Panic unless `value` matches `schema`, one of the document's schemas.
fn assert_matches(at: &str, schema: &Value, value: &Value, what: &str) {
    // The schema, with the document's components beside it so that its
    // `#/components/...` references resolve.
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document()["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("openapi.yaml: the schema of {what} for {at}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{at}: {what} does not match openapi.yaml: {errors:?}\n{value}"
    );
}
