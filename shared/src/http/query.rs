//! Query strings: only the parameters a route knows, each at most once.

use lambda_http::{Request, RequestExt};

use crate::ApiError;

/// The query parameters of a request, checked against the names a route allows.
#[derive(Debug)]
pub struct QueryParams(lambda_http::aws_lambda_events::query_map::QueryMap);

impl QueryParams {
    /// 400 for a parameter the route does not know (a typo such as `limt`
    /// would otherwise be silently ignored).
    pub fn parse(req: &Request, allowed: &[&str]) -> Result<Self, ApiError> {
        let map = req.query_string_parameters();
        let mut names: Vec<&str> = map.iter().map(|(name, _)| name).collect();
        names.sort_unstable();
        if let Some(unknown) = names.iter().find(|n| !allowed.contains(n)) {
            let expected = match allowed {
                [] => "this route takes no query parameters".to_string(),
                _ => format!("expected one of {}", allowed.join(", ")),
            };
            // `?=1`: a value without a name, so no field to name (found by
            // fuzzing: it read ": is not a known query parameter").
            if unknown.is_empty() {
                return Err(ApiError::invalid_request(format!(
                    "the query string has a value without a parameter name; {expected}"
                )));
            }
            return Err(ApiError::invalid_field(
                unknown,
                format!("is not a known query parameter; {expected}"),
            ));
        }
        Ok(Self(map))
    }

    /// The parameter's value, if given; 400 when it is given more than once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.0.all(name) {
            None => Ok(None),
            Some(values) if values.len() == 1 => Ok(Some(values[0])),
            Some(_) => Err(ApiError::invalid_field(name, "is given more than once")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(raw_query: &str) -> Request {
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "GET /charges", "rawPath": "/charges",
            "rawQueryString": raw_query, "headers": {},
            "requestContext": {"accountId": "123456789012", "apiId": "api",
                "http": {"method": "GET", "path": "/charges", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "GET /charges", "stage": "$default",
                "time": "21/Nov/2026:10:00:00 +0000", "timeEpoch": 0},
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    fn refusal(raw_query: &str, allowed: &[&str]) -> ApiError {
        QueryParams::parse(&request(raw_query), allowed).unwrap_err()
    }

    #[test]
    fn an_unknown_parameter_is_named() {
        let e = refusal("limt=5", &["limit", "starting_after"]);
        assert_eq!(e.detail().unwrap()["field"], "limt");
        assert_eq!(
            e.message(),
            "limt: is not a known query parameter; expected one of limit, starting_after"
        );
        let none = refusal("x=1", &[]);
        assert_eq!(
            none.message(),
            "x: is not a known query parameter; this route takes no query parameters"
        );
    }

    /// The fuzzer's input: a value without a name answered with an empty
    /// `detail.field` and a message starting ": is not".
    #[test]
    fn a_value_without_a_name_is_refused_without_an_empty_field() {
        for query in ["=1", "limit=5&=x"] {
            let e = refusal(query, &["limit"]);
            assert_eq!(e.status(), 400, "{query}");
            assert_eq!(e.detail(), None, "{query}");
            assert_eq!(
                e.message(),
                "the query string has a value without a parameter name; expected one of limit"
            );
        }
    }
}
