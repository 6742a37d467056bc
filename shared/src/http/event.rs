//! API Gateway's event to a `Request`, as `lambda_http::run` does it, but
//! without its panics on a query string a URI may not hold and on a body
//! marked base64 that is not.
//!
//! API Gateway passes `rawQueryString` on as the client sent it, and a
//! client can send `?starting_after="ch_1"` (`"`, `<`, `>` are refused by
//! the `http` crate's URI parser). `lambda_http` builds the request's URI
//! from that string and `expect`s it to parse: the invocation panics before
//! any code of ours runs, and API Gateway answers a bare 500. Found by
//! fuzzing (`fuzz/`, target `api_routes`). Such a query string is
//! re-encoded here first: the parameters read from it are the same (both
//! are read as `application/x-www-form-urlencoded`), so the route answers
//! as it would to the same parameters sent encoded.
//!
//! `lambda_http` also `expect`s a body marked `isBase64Encoded` to decode.
//! API Gateway encodes bodies itself, so only a hand-made invocation sends
//! one that does not; it is answered here, before any handler, with the
//! contract's 400: nothing is read, called or written.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::lambda_runtime::{self, Diagnostic};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::Service;
use lambda_http::{
    Adapter, Body, Error, IntoResponse, LambdaEvent, Request, Response, TransformResponse,
};
use url::form_urlencoded;

use super::panics::CatchPanics;
use super::response::{context_request_id, respond};
use crate::ApiError;

/// The refusal of a body marked base64 that does not decode.
pub const UNDECODABLE_BODY: &str =
    "the request body is marked base64-encoded (isBase64Encoded) but is not valid base64";

/// `lambda_http::run`, with the event's query string made safe first and
/// a panic in `handler` answered as the contract's 500 ([`CatchPanics`]).
pub async fn run<'a, R, S, E>(handler: S) -> Result<(), Error>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: std::fmt::Debug + Into<Diagnostic> + Send + 'a,
{
    lambda_runtime::run(service(handler)).await
}

/// What [`run`] serves: the event repaired (or refused), `lambda_http`'s
/// adapter, and `handler` with its panics caught.
fn service<'a, R, S, E>(handler: S) -> Repaired<'a, S>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: Send + 'a,
{
    Repaired(Adapter::from(CatchPanics::new(handler)))
}

/// The request `lambda_http` makes of `event`, once its query string is
/// safe (what [`run`] hands the functions); the contract's 400 for a body
/// marked base64 that is not (what [`run`] answers without a handler).
pub fn request_from(mut event: LambdaRequest) -> Result<Request, ApiError> {
    repair(&mut event);
    readable_body(&event)?;
    Ok(event.into())
}

/// Refuse a body `lambda_http` would panic decoding.
fn readable_body(event: &LambdaRequest) -> Result<(), ApiError> {
    match event {
        LambdaRequest::ApiGatewayV2(request)
            if request.is_base64_encoded
                && request
                    .body
                    .as_deref()
                    .is_some_and(|body| STANDARD.decode(body).is_err()) =>
        {
            Err(ApiError::invalid_request(UNDECODABLE_BODY))
        }
        _ => Ok(()),
    }
}

/// Re-encode a query string the URI parser would refuse.
fn repair(event: &mut LambdaRequest) {
    if let LambdaRequest::ApiGatewayV2(request) = event
        && let Some(query) = request.raw_query_string.as_mut()
        && http::Uri::try_from(format!("/?{query}")).is_err()
    {
        *query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form_urlencoded::parse(query.as_bytes()))
            .finish();
    }
}

/// The runtime's service: the event repaired, then `lambda_http`'s adapter,
/// or the contract's 400 when the adapter could not build a request.
struct Repaired<'a, S>(Adapter<'a, Response<Body>, CatchPanics<'a, S>>);

impl<'a, S, R, E> Service<LambdaEvent<LambdaRequest>> for Repaired<'a, S>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: Send + 'a,
{
    // `lambda_http` does not export the adapter's answer type by name.
    type Response = <Adapter<'a, Response<Body>, CatchPanics<'a, S>> as Service<
        LambdaEvent<LambdaRequest>,
    >>::Response;
    type Error = E;
    type Future = TransformResponse<'a, Response<Body>, E>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        repair(&mut event.payload);
        if let Err(refusal) = readable_body(&event.payload) {
            let answer = respond(&context_request_id(&event.context), Err(refusal));
            return TransformResponse::Response(
                event.payload.request_origin(),
                Box::pin(std::future::ready(answer)),
            );
        }
        self.0.call(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::QueryParams;
    use serde_json::json;

    fn event(raw_query: &str) -> LambdaRequest {
        serde_json::from_value(event_json(raw_query)).unwrap()
    }

    fn event_json(raw_query: &str) -> serde_json::Value {
        json!({
            "version": "2.0", "routeKey": "GET /charges", "rawPath": "/charges",
            "rawQueryString": raw_query, "headers": {"host": "api.example.com"},
            "requestContext": {"accountId": "123456789012", "apiId": "api",
                "http": {"method": "GET", "path": "/charges", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "GET /charges", "stage": "$default",
                "time": "21/Nov/2026:10:00:00 +0000", "timeEpoch": 0},
            "isBase64Encoded": false
        })
    }

    /// The query strings the fuzzer found: `lambda_http` alone panics on
    /// each ("failed to build request: InvalidUriChar").
    #[test]
    fn a_query_string_no_uri_may_hold_is_read_not_panicked_on() {
        for (raw, name, value) in [
            (r#"starting_after="ch_1""#, "starting_after", r#""ch_1""#),
            ("limit=<5>", "limit", "<5>"),
            ("limit=1 0", "limit", "1 0"),
            ("ending_before=a%20b&x=\"", "ending_before", "a b"),
        ] {
            let req = request_from(event(raw)).unwrap();
            let params = QueryParams::parse(&req, &[name, "x"]).unwrap();
            assert_eq!(params.get(name).unwrap(), Some(value), "{raw}");
        }
    }

    /// What the functions serve answers a handler's panic with the
    /// contract's 500 in API Gateway's shape, and serves the next event.
    #[tokio::test]
    async fn a_panicking_handler_is_answered_as_the_contracts_500() {
        let mut served = service(lambda_http::service_fn(|req: Request| async move {
            if req.uri().query() == Some("bug=1") {
                panic!("a bug");
            }
            Ok::<_, Error>(Response::new(Body::from("fine")))
        }));
        let mut answer = async |query: &str| {
            let event = LambdaEvent::new(event(query), lambda_runtime::Context::default());
            serde_json::to_value(served.call(event).await.unwrap()).unwrap()
        };
        let bug = answer("bug=1").await;
        assert_eq!(bug["statusCode"], 500, "{bug}");
        let body: serde_json::Value = serde_json::from_str(bug["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"type": "api_error", "message": crate::http::BUG_MESSAGE})
        );
        let fine = answer("").await;
        assert_eq!(fine["statusCode"], 200, "{fine}");
        assert_eq!(fine["body"], "fine");
    }

    /// A POST to `/charges` whose body is `body`, marked base64 or not.
    fn post(body: &str, base64: bool) -> LambdaRequest {
        let mut event = event_json("");
        event["requestContext"]["http"]["method"] = json!("POST");
        event["headers"]["content-type"] = json!("application/json");
        event["body"] = json!(body);
        event["isBase64Encoded"] = json!(base64);
        serde_json::from_value(event).unwrap()
    }

    /// A body marked base64 that is not is the contract's 400 from what the
    /// functions serve, without calling the handler (`lambda_http` alone
    /// panics: "failed to decode aws base64 encoded body"); a valid one
    /// reaches the handler decoded.
    #[tokio::test]
    async fn a_body_marked_base64_that_is_not_is_refused_before_the_handler() {
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = bodies.clone();
        let mut served = service(lambda_http::service_fn(move |req: Request| {
            seen.lock().unwrap().push(req.body().to_vec());
            async { Ok::<_, Error>(Response::new(Body::from("fine"))) }
        }));
        let mut context = lambda_runtime::Context::default();
        context.request_id = "req-b64".into();
        for undecodable in ["{\"amount\": 1000}", "%%%", "YWJj=ZGVm", "YWJjZA"] {
            let event = LambdaEvent::new(post(undecodable, true), context.clone());
            let answer = serde_json::to_value(served.call(event).await.unwrap()).unwrap();
            assert_eq!(answer["statusCode"], 400, "{undecodable}: {answer}");
            assert_eq!(answer["headers"]["x-request-id"], "req-b64", "{answer}");
            assert_eq!(answer["headers"]["content-type"], "application/json");
            let body: serde_json::Value =
                serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
            assert_eq!(
                body,
                json!({"type": "invalid_request_error", "message": UNDECODABLE_BODY})
            );
            assert!(
                request_from(post(undecodable, true)).is_err(),
                "{undecodable}"
            );
        }
        assert!(bodies.lock().unwrap().is_empty(), "the handler was called");

        for (sent, base64) in [("e30=", true), ("{}", false), ("", true)] {
            let event = LambdaEvent::new(post(sent, base64), context.clone());
            let answer = serde_json::to_value(served.call(event).await.unwrap()).unwrap();
            assert_eq!(answer["statusCode"], 200, "{sent}: {answer}");
        }
        assert_eq!(
            *bodies.lock().unwrap(),
            [b"{}".to_vec(), b"{}".to_vec(), vec![]]
        );
    }

    /// Exactly the bodies `lambda_http` panics on are refused: the check
    /// is its decoder's (whitespace, the URL-safe alphabet, missing or
    /// extra padding, a non-canonical last digit, the empty body).
    #[test]
    fn the_bodies_refused_are_those_lambda_http_panics_on() {
        let mut accepted = Vec::new();
        for body in [
            "",
            "e30=",
            "e30=\n",
            " e30=",
            "e3-_",
            "e30",
            "YWJjZA",
            "YWJjZA==",
            "YWJjZB==",
            "YWJjZA===",
            "%%%",
            "{}",
        ] {
            let panics = std::panic::catch_unwind(|| Body::from_maybe_encoded(true, body)).is_err();
            let refused = readable_body(&post(body, true)).is_err();
            assert_eq!(refused, panics, "{body:?}");
            if !refused {
                accepted.push(body);
            }
        }
        assert_eq!(accepted, ["", "e30=", "YWJjZA=="]);
        assert!(readable_body(&post("%%%", false)).is_ok());
    }

    #[test]
    fn a_valid_query_string_is_left_as_sent() {
        let req = request_from(event("limit=10&starting_after=ch_%7E1")).unwrap();
        assert_eq!(req.uri().query(), Some("limit=10&starting_after=ch_%7E1"));
    }
}
