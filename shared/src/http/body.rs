//! JSON request bodies: size, media type, then strict deserialisation into a
//! typed value whose errors name the offending field.

use lambda_http::{Body, Request};
use serde::de::DeserializeOwned;

use crate::ApiError;
use http::StatusCode;

/// The contract's bound on a request body (after base64 decoding).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Parse the request body as JSON into `T`.
///
/// 413 when too large, 415 unless `Content-Type` is `application/json`
/// (parameters such as `charset=utf-8` allowed), 400 for anything `T`
/// refuses: malformed JSON, a missing, unknown or mistyped field, a bad value.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    parse_json(raw_json_body(req)?)
}

/// The body's bytes exactly as sent (API Gateway's base64 already decoded),
/// after the size and media-type checks; 400 when empty.
pub fn raw_json_body(req: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    if !is_json(req.headers().get(http::header::CONTENT_TYPE)) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with Content-Type: application/json",
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_request(
            "request body is empty; send a JSON object",
        ));
    }
    Ok(bytes)
}

fn is_json(content_type: Option<&http::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let media_type = value.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/json")
}

/// Deserialise a JSON object in `bytes` into `T`, turning serde's error into
/// a 400 that names the field (by its path) whenever there is one.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde's derived structs also accept an array of the fields in order;
    // our bodies are objects only.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(ApiError::invalid_request(
            "request body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        describe(path, e.into_inner())
    })?;
    de.end().map_err(|e| describe(".".into(), e))?;
    Ok(value)
}

/// For an optional member (`#[serde(default, deserialize_with = "not_null")]`):
/// left out is `None`, but an explicit `null` is refused as a wrong type,
/// naming the member, as the contract says. serde's own `Option` reads
/// `null` as left out, which would send a transfer whose `verify_amount`
/// was `null` to DeBox as one without it.
pub fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct Present<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Present<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a value (to send none, leave the member out)")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Err(E::invalid_type(serde::de::Unexpected::Unit, &self))
        }
        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Option<T>, D2::Error> {
            T::deserialize(d).map(Some)
        }
    }
    deserializer.deserialize_option(Present(std::marker::PhantomData))
}

fn describe(path: String, error: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    if matches!(
        error.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        return ApiError::invalid_request(format!("request body is not valid JSON: {error}"));
    }
    // serde reports "line 1 column 9" after the message; the field path says more.
    let message = strip_position(&error.to_string());
    if path != "." {
        return ApiError::invalid_field(&path, message);
    }
    // At the top level serde names a missing or unknown field in backticks.
    if let Some(field) = backticked(&message) {
        if message.starts_with("missing field") {
            return ApiError::invalid_field(field, "is required");
        }
        if message.starts_with("unknown field") {
            let allowed = message.split_once(", expected ").map(|(_, rest)| rest);
            let hint = allowed
                .map(|a| format!("; expected {a}"))
                .unwrap_or_default();
            return ApiError::invalid_field(field, format!("is not a known field{hint}"));
        }
        if message.starts_with("duplicate field") {
            return ApiError::invalid_field(field, "appears more than once");
        }
    }
    ApiError::invalid_request(format!("request body: {message}"))
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::{Value, json};

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, expecting = "a JSON object with n and s")]
    #[allow(dead_code)]
    struct Sample {
        n: u32,
        s: String,
    }

    fn request(content_type: Option<&str>, body: Body) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/x");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(body).unwrap()
    }

    fn error_of(content_type: Option<&str>, body: &str) -> Value {
        let req = request(content_type, Body::Text(body.into()));
        let err = json_body::<Sample>(&req).unwrap_err();
        let mut v: Value = serde_json::from_str(&err.to_json()).unwrap();
        v["status"] = json!(err.status().as_u16());
        v
    }

    #[test]
    fn accepts_json_with_charset_in_any_case() {
        for ct in ["application/json", "Application/JSON; charset=utf-8"] {
            let req = request(Some(ct), Body::Text(r#"{"n": 1, "s": "x"}"#.into()));
            assert_eq!(json_body::<Sample>(&req).unwrap().n, 1);
        }
    }

    #[test]
    fn binary_bodies_are_read_the_same() {
        let req = request(
            Some("application/json"),
            Body::Binary(br#"{"n": 2, "s": "y"}"#.to_vec()),
        );
        assert_eq!(json_body::<Sample>(&req).unwrap().n, 2);
    }

    #[test]
    fn media_type_other_than_json_is_415() {
        for ct in [None, Some("text/plain"), Some("application/jsonx")] {
            assert_eq!(error_of(ct, r#"{"n":1,"s":"x"}"#)["status"], 415, "{ct:?}");
        }
    }

    #[test]
    fn body_over_64_kib_is_413() {
        let big = format!(r#"{{"n": 1, "s": "{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        let e = error_of(Some("application/json"), &big);
        assert_eq!(e["status"], 413);
        assert_eq!(e["type"], "invalid_request_error");
    }

    #[test]
    fn errors_name_the_field() {
        let ct = Some("application/json");
        let missing = error_of(ct, r#"{"n": 1}"#);
        assert_eq!(missing["detail"]["field"], "s");
        assert_eq!(missing["message"], "s: is required");

        let unknown = error_of(ct, r#"{"n": 1, "s": "x", "extra": true}"#);
        assert_eq!(unknown["detail"]["field"], "extra");
        assert_eq!(unknown["status"], 400);

        let mistyped = error_of(ct, r#"{"n": "1", "s": "x"}"#);
        assert_eq!(mistyped["detail"]["field"], "n");
        assert!(
            mistyped["message"]
                .as_str()
                .unwrap()
                .starts_with("n: invalid type: string")
        );

        let twice = error_of(ct, r#"{"n": 1, "n": 2, "s": "x"}"#);
        assert_eq!(twice["detail"]["field"], "n");
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WithOptional {
        #[serde(default, deserialize_with = "not_null")]
        o: Option<String>,
    }

    #[test]
    fn an_optional_member_may_be_left_out_but_not_null() {
        let left_out: WithOptional = parse_json(b"{}").unwrap();
        assert_eq!(left_out.o, None);
        let given: WithOptional = parse_json(br#"{"o": "x"}"#).unwrap();
        assert_eq!(given.o.as_deref(), Some("x"));
        let null = parse_json::<WithOptional>(br#"{"o": null}"#).unwrap_err();
        assert_eq!(null.status(), 400);
        assert_eq!(null.detail().unwrap()["field"], "o");
        assert_eq!(
            null.message(),
            "o: invalid type: null, expected a value (to send none, leave the member out)"
        );
        let mistyped = parse_json::<WithOptional>(br#"{"o": 1}"#).unwrap_err();
        assert_eq!(mistyped.detail().unwrap()["field"], "o");
    }

    #[test]
    fn malformed_empty_and_non_object_bodies_are_400() {
        let ct = Some("application/json");
        for body in [
            "{",
            "",
            "  ",
            r#"{"n":1,"s":"x"} trailing"#,
            "[]",
            r#"[1, "x"]"#,
            "null",
            "7",
        ] {
            let e = error_of(ct, body);
            assert_eq!(e["status"], 400, "{body:?}");
            assert_eq!(e["type"], "invalid_request_error");
        }
        assert_eq!(
            error_of(ct, r#"[1, "x"]"#)["message"],
            "request body must be a JSON object"
        );
        assert!(
            error_of(ct, "{")["message"]
                .as_str()
                .unwrap()
                .starts_with("request body is not valid JSON")
        );
    }
}
