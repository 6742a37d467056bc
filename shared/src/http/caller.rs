//! Who asked: the IAM identity API Gateway verified before the request
//! reached us (every merchant route is SigV4-authorized, `template.yaml`).
//! Recorded on every record a merchant request writes and named in the
//! money log lines, so an operator can tell who moved money.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Recorded when a request carries no IAM identity: only possible on a
/// local run (`cargo lambda watch` has no authorizer) or on a route
/// deployed without the IAM authorizer, which the template checks forbid.
pub const UNAUTHENTICATED: &str = "unauthenticated";

/// The caller's IAM identity, as API Gateway's authorizer gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    arn: String,
    account: String,
}

impl Caller {
    /// The identity in `requestContext.authorizer.iam`, or
    /// [`Caller::unauthenticated`] when there is none.
    pub fn of(req: &Request) -> Self {
        let iam = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context
                .authorizer
                .as_ref()
                .and_then(|authorizer| authorizer.iam.as_ref()),
            _ => None,
        };
        match iam.and_then(|iam| Some((iam.user_arn.as_deref()?, iam.account_id.as_deref()))) {
            Some((arn, account)) if !arn.is_empty() => Self {
                arn: arn.to_string(),
                account: account.unwrap_or(UNAUTHENTICATED).to_string(),
            },
            _ => Self::unauthenticated(),
        }
    }

    /// No IAM identity: both fields read [`UNAUTHENTICATED`].
    pub fn unauthenticated() -> Self {
        Self {
            arn: UNAUTHENTICATED.to_string(),
            account: UNAUTHENTICATED.to_string(),
        }
    }

    /// An identity from its parts (tests, and records read back).
    pub fn new(arn: impl Into<String>, account: impl Into<String>) -> Self {
        Self {
            arn: arn.into(),
            account: account.into(),
        }
    }

    /// The user or role ARN (`userArn`).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The AWS account id (`accountId`).
    pub fn account(&self) -> &str {
        &self.account
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(authorizer: serde_json::Value) -> Request {
        let mut event = json!({
            "version": "2.0", "routeKey": "POST /charges", "rawPath": "/charges",
            "rawQueryString": "", "headers": {},
            "requestContext": {"accountId": "123456789012", "apiId": "api",
                "http": {"method": "POST", "path": "/charges", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "POST /charges", "stage": "$default",
                "time": "21/Nov/2026:10:00:00 +0000", "timeEpoch": 0},
            "isBase64Encoded": false
        });
        if !authorizer.is_null() {
            event["requestContext"]["authorizer"] = authorizer;
        }
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn the_iam_identity_is_read_from_the_request_context() {
        let req = request(json!({"iam": {
            "accessKey": "AKIA", "accountId": "123456789012", "callerId": "AIDA",
            "userArn": "arn:aws:iam::123456789012:user/merchant-backend", "userId": "AIDA"}}));
        assert_eq!(
            Caller::of(&req),
            Caller::new(
                "arn:aws:iam::123456789012:user/merchant-backend",
                "123456789012"
            )
        );
    }

    #[test]
    fn no_identity_reads_as_unauthenticated() {
        assert_eq!(
            Caller::of(&request(serde_json::Value::Null)),
            Caller::unauthenticated()
        );
        let no_arn = request(json!({"iam": {"accountId": "123456789012"}}));
        assert_eq!(Caller::of(&no_arn), Caller::unauthenticated());
    }
}
