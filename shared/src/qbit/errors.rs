//! Qbit Pay's error answers, mapped to the contract.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PROVIDER;
use crate::ApiError;

/// Qbit's documented error body: `{"type", "message", "detail"?}`.
#[derive(Debug, Default, Deserialize)]
struct QbitError {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
    detail: Option<Value>,
}

/// What a non-2xx answer from Qbit means for our caller.
///
/// 400 and 404: the request was invalid (passed on as 400 / 404); 401: our
/// key is wrong (502, the caller cannot fix it); 402: a business failure
/// (402); 403 or 429 with `rate_limit_error`: the concurrency limit (429);
/// any other 403: our key may not do this (502); 5xx and anything else: 502.
pub(crate) fn map_error(status: StatusCode, body: &[u8]) -> ApiError {
    let error: QbitError = serde_json::from_slice(body).unwrap_or_default();
    let kind = error.kind.as_deref().unwrap_or("");
    let said = error.message.as_deref().unwrap_or("no message");
    tracing::warn!(
        provider = PROVIDER,
        status = status.as_u16(),
        kind,
        "provider refused the call"
    );

    let (ours, message) = match status.as_u16() {
        400 => (
            StatusCode::BAD_REQUEST,
            format!("{PROVIDER} rejected the request: {said}"),
        ),
        404 => (
            StatusCode::NOT_FOUND,
            format!("{PROVIDER} found no such object: {said}"),
        ),
        401 => (
            StatusCode::BAD_GATEWAY,
            format!(
                "{PROVIDER} rejected our credentials; check qbit_api_key in the payments secret"
            ),
        ),
        402 => (
            StatusCode::PAYMENT_REQUIRED,
            format!("{PROVIDER} declined the request: {said}"),
        ),
        403 | 429 if kind == "rate_limit_error" || status == StatusCode::TOO_MANY_REQUESTS => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("{PROVIDER} is limiting our request rate; retry after a short wait"),
        ),
        403 => (
            StatusCode::BAD_GATEWAY,
            format!("{PROVIDER} refused access with our key: {said}"),
        ),
        _ => (
            StatusCode::BAD_GATEWAY,
            format!("{PROVIDER} failed with HTTP {}", status.as_u16()),
        ),
    };
    let mut upstream = json!({"provider": "qbit", "status": status.as_u16()});
    if let Some(kind) = error.kind {
        upstream["type"] = json!(kind);
    }
    if let Some(message) = error.message {
        upstream["message"] = json!(message);
    }
    if let Some(detail) = error.detail {
        upstream["detail"] = detail;
    }
    ApiError::new(ours, message).with_detail(json!({ "upstream": upstream }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, body: &str) -> ApiError {
        map_error(StatusCode::from_u16(status).unwrap(), body.as_bytes())
    }

    #[test]
    fn statuses_map_as_the_contract_says() {
        let cases = [
            (
                400,
                r#"{"type":"invalid_request_error","message":"bad amount"}"#,
                400,
            ),
            (
                404,
                r#"{"type":"invalid_request_error","message":"no such charge"}"#,
                404,
            ),
            (
                401,
                r#"{"type":"authentication_error","message":"bad key"}"#,
                502,
            ),
            (
                402,
                r#"{"type":"invalid_request_error","message":"declined"}"#,
                402,
            ),
            (
                403,
                r#"{"type":"rate_limit_error","message":"slow down"}"#,
                429,
            ),
            (429, "", 429),
            (
                403,
                r#"{"type":"invalid_request_error","message":"forbidden"}"#,
                502,
            ),
            (500, r#"{"type":"api_error","message":"boom"}"#, 502),
            (503, "<html>down</html>", 502),
            (418, "", 502),
        ];
        for (status, body, expected) in cases {
            assert_eq!(
                map(status, body).status().as_u16(),
                expected,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn provider_words_are_kept_in_detail() {
        let e = map(
            400,
            r#"{"type":"invalid_request_error","message":"bad amount","detail":{"param":"amount"}}"#,
        );
        assert_eq!(e.message(), "Qbit Pay rejected the request: bad amount");
        assert_eq!(
            e.detail().unwrap(),
            &json!({"upstream": {"provider": "qbit", "status": 400, "type": "invalid_request_error",
                                  "message": "bad amount", "detail": {"param": "amount"}}})
        );
    }
}
