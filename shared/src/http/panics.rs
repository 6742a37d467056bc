//! A bug answers the contract's 500, not Lambda's.
//!
//! Without this, a handler that panics is caught by `lambda_runtime`, which
//! reports an invocation error: API Gateway then answers its own bare
//! `{"message":"Internal Server Error"}`, outside the contract. Here the
//! panic is caught around the handler instead (the release profile keeps
//! `panic = "unwind"` for it, see BENCHMARKS.md), and the caller gets the
//! contract's 500 `api_error` with the request id, and a `Panics` metric
//! is written (Lambda counts no error for an invocation that answered;
//! the template's `FunctionErrorsAlarm` adds this). The container lives on:
//! our handlers hold no lock a panic could poison (the caches use tokio's
//! mutexes), and a money path's record stays as a crash leaves it (a
//! transfer's claim, a charge's key) for the same retry rules.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use http::StatusCode;
use lambda_http::tower::Service;
use lambda_http::{Body, IntoResponse, Request, Response};

use super::response::{request_id, respond};
use crate::ApiError;

/// The message of the 500 a panic becomes. It promises nothing about what
/// the request did: a retry with the same Idempotency-Key or serial is
/// what finds out, safely.
pub const BUG_MESSAGE: &str = "the function failed unexpectedly; retry with the same Idempotency-Key or serial to learn the outcome";

/// `S`, with its panics answered as the contract's 500.
pub struct CatchPanics<'a, S> {
    inner: S,
    lifetime: PhantomData<&'a ()>,
}

impl<S> CatchPanics<'_, S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            lifetime: PhantomData,
        }
    }
}

fn bug_answer(request_id: &str) -> Response<Body> {
    tracing::error!("the handler panicked (a bug); answered 500");
    // Lambda counts no error for an invocation that answered: this count
    // is what raises FunctionErrorsAlarm (a transfer may be left unknown).
    crate::metrics::handler_panic();
    respond(
        request_id,
        Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            BUG_MESSAGE,
        )),
    )
}

impl<'a, S, R> Service<Request> for CatchPanics<'a, S>
where
    S: Service<Request, Response = R>,
    S::Future: Send + 'a,
    S::Error: Send + 'a,
    R: IntoResponse,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send + 'a>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let id = request_id(&request);
        // The handler's synchronous part may panic before it has a future.
        let called = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request)));
        Box::pin(async move {
            let Ok(future) = called else {
                return Ok(bug_answer(&id));
            };
            // The answer becomes its response future before any await, so
            // `R` itself need not be `Send`.
            let answered = match AssertUnwindSafe(future).catch_unwind().await {
                Ok(Ok(answer)) => answer.into_response(),
                Ok(Err(error)) => return Err(error),
                Err(_) => return Ok(bug_answer(&id)),
            };
            Ok(answered.await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::service_fn;
    use serde_json::{Value, json};

    fn request() -> Request {
        Request::new(Body::Empty)
    }

    fn body_of(answer: &Response<Body>) -> Value {
        match answer.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("not a text body: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_panic_is_the_contracts_500_and_the_next_request_is_served() {
        let mut service = CatchPanics::new(service_fn(|req: Request| async move {
            if req.uri().path() == "/bug" {
                panic!("a bug");
            }
            Ok::<_, lambda_http::Error>(Response::new(Body::from("fine")))
        }));

        let mut bug = request();
        *bug.uri_mut() = "/bug".parse().unwrap();
        crate::metrics::captured::outcomes();
        let answer = service.call(bug).await.unwrap();
        assert_eq!(answer.status(), 500);
        assert_eq!(crate::metrics::captured::outcomes(), ["panicked"]);
        assert_eq!(
            body_of(&answer),
            json!({"type": "api_error", "message": BUG_MESSAGE})
        );
        assert_eq!(answer.headers()["content-type"], "application/json");

        let answer = service.call(request()).await.unwrap();
        assert_eq!(answer.status(), 200);
        assert!(crate::metrics::captured::outcomes().is_empty());
        assert_eq!(answer.body(), &Body::from("fine"));
    }

    #[tokio::test]
    async fn a_panic_before_the_handlers_future_is_the_same_500() {
        let mut service = CatchPanics::new(service_fn(
            |_: Request| -> std::future::Ready<Result<Response<Body>, lambda_http::Error>> {
                panic!("a bug before any await")
            },
        ));
        let answer = service.call(request()).await.unwrap();
        assert_eq!(answer.status(), 500);
        assert_eq!(body_of(&answer)["message"], BUG_MESSAGE);
    }
}
