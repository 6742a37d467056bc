//! `GET /charges`: one page of Qbit Pay charges, newest first, passed on
//! exactly as Qbit sent it.

use lambda_http::{Body, Request, Response};
use shared::ApiError;
use shared::http::{QueryParams, Reply, request_id, require_method, respond};
use shared::qbit::{ListQuery, QbitClient};

pub async fn handle(qbit: &QbitClient, req: Request) -> Response<Body> {
    respond(&request_id(&req), list(qbit, &req).await)
}

async fn list(qbit: &QbitClient, req: &Request) -> Result<Reply, ApiError> {
    require_method(req, "GET /charges")?;
    let params = QueryParams::parse(req, &ListQuery::PARAMETERS)?;
    let query = ListQuery::parse(&params)?;
    Ok(Reply::raw_json(qbit.list_charges(&query).await?))
}
