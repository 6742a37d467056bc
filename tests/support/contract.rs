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
    if let Err(why) = conformance(method, path, answer) {
        panic!("{why}");
    }
}

/// Why `answer` is not one the document allows for `method` on `path`, if
/// it is not (the soaks count these instead of stopping at the first).
pub fn conformance(method: &str, path: &str, answer: &Answer) -> Result<(), String> {
    let operation = &document()["paths"][path][method.to_ascii_lowercase()];
    if !operation.is_object() {
        return Err(format!("openapi.yaml has no {method} {path}"));
    }
    let status = answer.status.to_string();
    let response = resolve(&operation["responses"][&status]);
    if !response.is_object() {
        return Err(format!(
            "openapi.yaml lists no {status} for {method} {path}; the answer was {}",
            answer.text
        ));
    }
    let at = format!("{method} {path} {status}");
    if let Some(headers) = response["headers"].as_object() {
        for (name, header) in headers {
            let header = resolve(header);
            match answer.header(name) {
                Some(value) => matches(&at, &header["schema"], &json!(value), name)?,
                None if header["required"] == json!(true) => {
                    return Err(format!(
                        "{at}: no {name} header, which openapi.yaml requires"
                    ));
                }
                None => {}
            }
        }
    }
    if answer.header("content-type") != Some("application/json") {
        return Err(format!("{at}: not JSON"));
    }
    let schema = response
        .pointer("/content/application~1json/schema")
        .ok_or_else(|| format!("openapi.yaml: {at} declares no JSON body"))?;
    let body: Value = serde_json::from_str(&answer.text)
        .map_err(|e| format!("{at}: the body is not JSON ({e}): {}", answer.text))?;
    matches(&at, schema, &body, "the body")?;
    if answer.status >= 400 && body["type"] != json!(error_type(answer.status)) {
        return Err(format!(
            "{at}: an error's type is fixed by its status, {} is not {}",
            body["type"],
            error_type(answer.status)
        ));
    }
    Ok(())
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

/// Whether `value` matches `schema`, one of the document's schemas.
fn matches(at: &str, schema: &Value, value: &Value, what: &str) -> Result<(), String> {
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
        .map_err(|e| format!("openapi.yaml: the schema of {what} for {at}: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{at}: {what} does not match openapi.yaml: {errors:?}\n{value}"
        ))
    }
}
