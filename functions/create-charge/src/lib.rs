//! `POST /charges`: create a Qbit Pay charge and hand back the access token
//! the buyer's browser needs to open its hosted payment page.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use shared::ApiError;
use shared::http::{Reply, json_body, request_id, respond};
use shared::qbit::{NewCharge, QbitClient};

#[derive(Serialize)]
struct Created<'a> {
    charge: &'a RawValue,
    #[serde(rename = "accessToken")]
    access_token: &'a str,
}

pub async fn handle(qbit: &QbitClient, req: Request) -> Response<Body> {
    respond(&request_id(&req), create(qbit, &req).await)
}

async fn create(qbit: &QbitClient, req: &Request) -> Result<Reply, ApiError> {
    let charge: NewCharge = json_body(req)?;
    // The token first: if it cannot be had, no charge is left behind.
    let token = qbit.access_token().await?;
    let created = qbit.create_charge(&charge).await?;
    Reply::json(&Created {
        charge: &created,
        access_token: token.as_str(),
    })
}
