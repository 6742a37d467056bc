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
            return Err(ApiError::invalid_field(
                unknown,
                format!(
                    "is not a known query parameter; expected one of {}",
                    allowed.join(", ")
                ),
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
