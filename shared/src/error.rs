//! The contract's error: every non-2xx answer of every function is one of these.
//!
//! `{"type": "...", "message": "...", "code": "...", "detail": ...}`, where the
//! HTTP status decides `type`. Nothing here may carry a secret: messages are
//! written by us, and provider text only travels in `detail`.

use http::StatusCode;
use serde::Serialize;
use serde_json::Value;

/// The contract's four error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    InvalidRequestError,
    AuthenticationError,
    RateLimitError,
    ApiError,
}

impl ErrorType {
    /// The contract fixes the type by the status class.
    fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => Self::AuthenticationError,
            429 => Self::RateLimitError,
            500.. => Self::ApiError,
            _ => Self::InvalidRequestError,
        }
    }
}

/// An error answer in the contract's shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {message}")]
pub struct ApiError {
    status: StatusCode,
    message: String,
    code: Option<String>,
    detail: Option<Value>,
}

/// The JSON body of an error answer.
#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: ErrorType,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            code: None,
            detail: None,
        }
    }

    /// 400 about one field of the request: `detail.field` names it.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(StatusCode::BAD_REQUEST, format!("{field}: {message}"))
            .with_detail(serde_json::json!({ "field": field }))
    }

    /// 400 about the request as a whole.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 503: our own store or secrets could not be reached.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500: our own deployment is wrong (a missing secret field, say).
    pub fn misconfigured(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn error_type(&self) -> ErrorType {
        ErrorType::for_status(self.status)
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn detail(&self) -> Option<&Value> {
        self.detail.as_ref()
    }

    /// The body as the contract writes it.
    pub fn to_json(&self) -> String {
        let body = ErrorBody {
            kind: self.error_type(),
            message: &self.message,
            code: self.code.as_deref(),
            detail: self.detail.as_ref(),
        };
        serde_json::to_string(&body).expect("an error body of strings and JSON values serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(e: &ApiError) -> Value {
        serde_json::from_str(&e.to_json()).unwrap()
    }

    #[test]
    fn type_follows_the_status_as_the_contract_says() {
        let cases = [
            (400, "invalid_request_error"),
            (402, "invalid_request_error"),
            (404, "invalid_request_error"),
            (409, "invalid_request_error"),
            (413, "invalid_request_error"),
            (415, "invalid_request_error"),
            (401, "authentication_error"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (502, "api_error"),
            (503, "api_error"),
            (504, "api_error"),
        ];
        for (status, kind) in cases {
            let e = ApiError::new(StatusCode::from_u16(status).unwrap(), "m");
            assert_eq!(body(&e)["type"], kind, "status {status}");
        }
    }

    #[test]
    fn optional_members_are_left_out_when_absent() {
        let e = ApiError::invalid_request("bad");
        assert_eq!(
            body(&e),
            json!({"type": "invalid_request_error", "message": "bad"})
        );
    }

    #[test]
    fn field_errors_name_the_field_in_message_and_detail() {
        let e = ApiError::invalid_field("amount", "must be positive").with_code("-2004");
        assert_eq!(
            body(&e),
            json!({
                "type": "invalid_request_error",
                "message": "amount: must be positive",
                "code": "-2004",
                "detail": {"field": "amount"}
            })
        );
    }
}
