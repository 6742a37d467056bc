//! The one place a result becomes an HTTP response.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::ApiError;

/// A successful answer: a status, a JSON body and any extra headers.
#[derive(Debug, Clone)]
pub struct Reply {
    status: StatusCode,
    body: String,
    headers: HeaderMap,
}

impl Reply {
    /// 200 with `value` serialised as JSON.
    pub fn json<T: Serialize>(value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_string(value)
            .map_err(|e| ApiError::misconfigured(format!("could not serialise the answer: {e}")))?;
        Ok(Self::raw_json(body))
    }

    /// 200 with a body that already is JSON (a provider's, kept byte for byte).
    pub fn raw_json(body: String) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            headers: HeaderMap::new(),
        }
    }

    /// A kept answer, replayed as it was first given (any status).
    pub fn stored(status: StatusCode, body: String) -> Self {
        Self {
            status,
            body,
            headers: HeaderMap::new(),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn body(&self) -> &str {
        &self.body
    }
}

/// The Lambda request id, which every answer carries as `x-request-id`.
pub fn request_id(req: &Request) -> String {
    req.lambda_context_ref()
        .map_or_else(|| "unknown".to_string(), context_request_id)
}

/// The invocation's request id, `unknown` when the context has none.
pub(super) fn context_request_id(context: &lambda_http::Context) -> String {
    Some(context.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The functions' timeout in the SAM template: the deadline assumed when
/// the invocation does not give a believable one.
pub const FUNCTION_TIMEOUT_MS: u64 = 15_000;

/// When this invocation ends (Unix ms), as Lambda's runtime says. A deadline
/// that is missing, or already past when the invocation starts, cannot come
/// from Lambda (`cargo lambda watch` sends a constant 600000, that is, 1970):
/// then the function's own timeout is assumed, never more.
pub fn invocation_deadline(req: &Request, now_ms: u64) -> u64 {
    req.lambda_context_ref()
        .map(|ctx| ctx.deadline)
        .filter(|deadline| *deadline > now_ms)
        .map_or(now_ms + FUNCTION_TIMEOUT_MS, |deadline| {
            deadline.min(now_ms + 15 * 60 * 1000)
        })
}

/// Turn a handler's result into the response API Gateway sends back.
pub fn respond(request_id: &str, result: Result<Reply, ApiError>) -> Response<Body> {
    let (status, body, extra) = match result {
        Ok(reply) => (reply.status, reply.body, reply.headers),
        Err(error) => {
            log_error(&error);
            (error.status(), error.to_json(), HeaderMap::new())
        }
    };
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.extend(extra);
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), value);
    }
    response
}

/// A field name as it may be logged: the client chose it when it is an
/// unknown member or parameter, so only a short name of the characters our
/// names use (a token pasted as a key is neither); anything else is `?`.
fn loggable_field(field: &str) -> &str {
    let plain = field.len() <= 24
        && field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if plain { field } else { "?" }
}

/// Errors are logged by status, code and the field at fault; a server error
/// (ours to fix) by its message too, which is ours. A 4xx's message is not
/// logged: it may quote what the client sent (serde names the value it could
/// not read: a token pasted in the wrong field, say), and the client has it
/// in the answer. `reason`, not `message`: that name is the line's own, and
/// a second one would hide it.
fn log_error(error: &ApiError) {
    let status = error.status().as_u16();
    let code = error.code().unwrap_or("");
    if error.status().is_server_error() {
        tracing::error!(status, code, reason = error.message(), "request failed");
    } else {
        let field = error.detail().and_then(|d| d.get("field"));
        let field = field.and_then(|f| f.as_str()).unwrap_or("");
        tracing::info!(
            status,
            code,
            field = loggable_field(field),
            "request refused"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4xx names the field it logs only when the name is one of ours in
    /// shape: a token pasted as a JSON key is logged as `?`.
    #[test]
    fn only_a_plain_short_field_name_is_logged() {
        assert_eq!(loggable_field("externalOrderId"), "externalOrderId");
        assert_eq!(loggable_field("Idempotency-Key"), "Idempotency-Key");
        assert_eq!(loggable_field(""), "");
        assert_eq!(loggable_field("eyJhbGciOiJIUzI1NiIsInR5cCI6"), "?");
        assert_eq!(loggable_field("a\"b"), "?");
        assert_eq!(loggable_field("ünknown"), "?");
    }
    use serde_json::{Value, json};

    #[test]
    fn a_deadline_in_the_past_or_missing_means_the_function_timeout() {
        let now = 1_800_000_000_000;
        let with = |deadline: u64| {
            let mut ctx = lambda_http::Context::default();
            ctx.deadline = deadline;
            let req: Request = http::Request::builder().body(Body::Empty).unwrap();
            invocation_deadline(&req.with_lambda_context(ctx), now)
        };
        assert_eq!(with(now + 9_000), now + 9_000);
        assert_eq!(
            with(600_000),
            now + FUNCTION_TIMEOUT_MS,
            "cargo lambda watch's constant"
        );
        assert_eq!(with(0), now + FUNCTION_TIMEOUT_MS);
        let no_context: Request = http::Request::builder().body(Body::Empty).unwrap();
        assert_eq!(
            invocation_deadline(&no_context, now),
            now + FUNCTION_TIMEOUT_MS
        );
    }

    #[test]
    fn errors_carry_the_contract_body_and_request_id() {
        let res = respond("req-1", Err(ApiError::unavailable("store down")));
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()["x-request-id"], "req-1");
        assert_eq!(res.headers()["content-type"], "application/json");
        let Body::Text(text) = res.body() else {
            panic!("text body")
        };
        let body: Value = serde_json::from_str(text).unwrap();
        assert_eq!(body, json!({"type": "api_error", "message": "store down"}));
    }

    #[test]
    fn replies_keep_their_body_and_extra_headers() {
        let reply = Reply::raw_json(r#"{"a":1.50}"#.into()).with_header(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
        let res = respond("req-2", Ok(reply));
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["idempotent-replayed"], "true");
        assert_eq!(res.headers()["x-request-id"], "req-2");
        let Body::Text(text) = res.body() else {
            panic!("text body")
        };
        assert_eq!(text, r#"{"a":1.50}"#);
    }
}
