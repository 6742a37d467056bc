//! The route's method. API Gateway only routes a function its own method
//! (the template's route keys), but a function URL, `cargo lambda watch`
//! or a route added by hand hands it any: without this check a `GET` with
//! a JSON body would create a charge, and a `POST` would list them.

use lambda_http::Request;

use crate::ApiError;

/// 400 naming the method unless the request's is `route`'s (`"POST /charges"`),
/// before anything else is read.
pub fn require_method(req: &Request, route: &str) -> Result<(), ApiError> {
    let expected = route.split(' ').next().unwrap_or_default();
    if req.method().as_str() == expected {
        return Ok(());
    }
    Err(ApiError::invalid_field(
        "method",
        format!("{} is not served here; send {route}", req.method()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

    fn with(method: &str) -> Request {
        http::Request::builder()
            .method(method)
            .uri("/charges")
            .body(Body::Empty)
            .unwrap()
    }

    #[test]
    fn only_the_routes_method_passes() {
        assert!(require_method(&with("POST"), "POST /charges").is_ok());
        for other in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
            let e = require_method(&with(other), "POST /charges").unwrap_err();
            assert_eq!(e.status(), 400, "{other}");
            assert_eq!(e.detail().unwrap()["field"], "method");
            assert_eq!(
                e.message(),
                format!("method: {other} is not served here; send POST /charges")
            );
        }
        assert!(require_method(&with("GET"), "GET /vbox/balance").is_ok());
        assert!(require_method(&with("POST"), "GET /vbox/balance").is_err());
    }
}
