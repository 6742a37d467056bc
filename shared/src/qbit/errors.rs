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

/// How a failed call to Qbit ended, for a caller that must know whether
/// Qbit may have acted on it: an idempotency key keeps only the answers of a
/// charge call Qbit may have executed (as Stripe does), and gives the key
/// back when the call provably never reached Qbit's charge logic.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// Nothing reached Qbit's logic: our own secret could not be had, no
    /// connection could be opened, or Qbit refused the call at the door
    /// (401, 403, 429: credentials, permission, rate limit).
    NotReached(ApiError),
    /// Qbit may have acted: it answered with its verdict (400, 402, 404,
    /// 5xx, any other status, an unreadable 2xx), or the answer was lost,
    /// cut, too large or late.
    MayHaveActed(ApiError),
}

impl CallError {
    pub fn error(&self) -> &ApiError {
        match self {
            Self::NotReached(error) | Self::MayHaveActed(error) => error,
        }
    }

    pub fn into_api_error(self) -> ApiError {
        match self {
            Self::NotReached(error) | Self::MayHaveActed(error) => error,
        }
    }
}

/// Whether Qbit refused the call before its logic ran. ASSUMED: Qbit, like
/// the Ping++ family it comes from, checks credentials, permissions and its
/// rate limit before it looks at the request.
pub(crate) fn refused_at_the_door(status: StatusCode) -> bool {
    matches!(status.as_u16(), 401 | 403 | 429)
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
    tracing::warn!(
        provider = PROVIDER,
        status = status.as_u16(),
        kind,
        "provider refused the call"
    );

    // Our words only: the message is logged (a 5xx's) and Qbit's may quote
    // what we sent; its words travel in `detail.upstream`, as error.rs says.
    let (ours, message) = match status.as_u16() {
        400 => (
            StatusCode::BAD_REQUEST,
            format!("{PROVIDER} rejected the request; its reason is in detail.upstream"),
        ),
        404 => (
            StatusCode::NOT_FOUND,
            format!("{PROVIDER} found no such object; its reason is in detail.upstream"),
        ),
        401 => (
            StatusCode::BAD_GATEWAY,
            format!(
                "{PROVIDER} rejected our credentials; check qbit_api_key in the payments secret"
            ),
        ),
        402 => (
            StatusCode::PAYMENT_REQUIRED,
            format!("{PROVIDER} declined the request; its reason is in detail.upstream"),
        ),
        403 | 429 if kind == "rate_limit_error" || status == StatusCode::TOO_MANY_REQUESTS => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("{PROVIDER} is limiting our request rate; retry after a short wait"),
        ),
        403 => (
            StatusCode::BAD_GATEWAY,
            format!("{PROVIDER} refused access with our key; its reason is in detail.upstream"),
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
    fn only_credential_permission_and_rate_refusals_are_at_the_door() {
        for (status, door) in [
            (401, true),
            (403, true),
            (429, true),
            (400, false),
            (402, false),
            (404, false),
            (409, false),
            (500, false),
            (502, false),
            (503, false),
            (302, false),
        ] {
            assert_eq!(
                refused_at_the_door(StatusCode::from_u16(status).unwrap()),
                door,
                "{status}"
            );
        }
    }

    #[test]
    fn provider_words_are_kept_in_detail() {
        let e = map(
            400,
            r#"{"type":"invalid_request_error","message":"bad amount","detail":{"param":"amount"}}"#,
        );
        assert_eq!(
            e.message(),
            "Qbit Pay rejected the request; its reason is in detail.upstream"
        );
        assert_eq!(
            e.detail().unwrap(),
            &json!({"upstream": {"provider": "qbit", "status": 400, "type": "invalid_request_error",
                                  "message": "bad amount", "detail": {"param": "amount"}}})
        );
    }
}
