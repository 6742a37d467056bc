//! Every answer the integration tests receive is checked against the
//! repository's description of the API, `openapi.yaml`: its status must be
//! one the route lists, its body must match that response's schema (JSON
//! Schema 2020-12, which OpenAPI 3.1 uses, checked by the `jsonschema`
//! crate), and it must carry every header the document requires.

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
    if let Some(headers) = response["headers"].as_object() {
        for (name, header) in headers {
            if resolve(header)["required"] == json!(true) {
                assert!(
                    answer.header(name).is_some(),
                    "{method} {path} {status}: no {name} header, which openapi.yaml requires"
                );
            }
        }
    }
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return;
    };
    // The response's schema, with the document's components beside it so
    // that its `#/components/...` references resolve.
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document()["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("openapi.yaml: the schema for {method} {path} {status}: {e}"));
    let body: Value = serde_json::from_str(&answer.text).unwrap_or_else(|e| {
        panic!(
            "{method} {path} {status}: the body is not JSON ({e}): {}",
            answer.text
        )
    });
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: the body does not match openapi.yaml: {errors:?}\n{}",
        answer.text
    );
}
