//! `GET /vbox/balance`: the merchant's vBOX, as decimal strings.

use lambda_http::{Body, Request, Response};
use shared::ApiError;
use shared::bootstrap::Debox;
use shared::http::{QueryParams, Reply, request_id, require_method, respond};

pub async fn handle(debox: &Debox, req: Request) -> Response<Body> {
    respond(&request_id(&req), balance(debox, &req).await)
}

async fn balance(debox: &Debox, req: &Request) -> Result<Reply, ApiError> {
    require_method(req, "GET /vbox/balance")?;
    QueryParams::parse(req, &[])?;
    Reply::json(&debox.client.balance().await?)
}
