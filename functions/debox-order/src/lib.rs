//! `POST /debox/orders`: start a DeBox payment.
//!
//! - Merchant pays (the default): a signed order from the merchant to
//!   `receiver_user_id`; answers DeBox's `access_token`, `serial_id` and
//!   `amount`, to be spent with `POST /debox/transfers`.
//! - User pays (`"flow": "user_pays"`): the URL of DeBox's authorize page
//!   for the user's browser; no call to DeBox is made.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::ApiError;
use shared::bootstrap::Debox;
use shared::debox::authorize::{UserPays, authorize_url};
use shared::debox::{Amount, PayInfo, RedirectUri, UserId};
use shared::http::{Reply, json_body, not_null, parse_json, request_id, require_method, respond};

/// Only the flow, to choose how to read the rest.
#[derive(Deserialize)]
struct FlowOnly {
    // `null` is a wrong type, not the default flow.
    #[serde(default, deserialize_with = "not_null")]
    flow: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum MerchantFlow {
    MerchantPays,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum UserFlow {
    UserPays,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a JSON object with receiver_user_id and amount"
)]
struct MerchantPaysBody {
    #[serde(default, rename = "flow")]
    _flow: Option<MerchantFlow>,
    receiver_user_id: UserId,
    amount: Amount,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a JSON object with flow, payer_user_id, amount, pay_info and redirect_uri"
)]
struct UserPaysBody {
    #[serde(rename = "flow")]
    _flow: UserFlow,
    payer_user_id: UserId,
    amount: Amount,
    pay_info: PayInfo,
    redirect_uri: RedirectUri,
}

pub async fn handle(debox: &Debox, req: Request) -> Response<Body> {
    respond(&request_id(&req), order(debox, &req).await)
}

async fn order(debox: &Debox, req: &Request) -> Result<Reply, ApiError> {
    require_method(req, "POST /debox/orders")?;
    let FlowOnly { flow } = json_body(req)?;
    let body = req.body().as_ref();
    match flow.as_ref().and_then(|f| f.as_str()) {
        None if flow.is_none() => merchant_pays(debox, parse_json(body)?).await,
        Some("merchant_pays") => merchant_pays(debox, parse_json(body)?).await,
        Some("user_pays") => user_pays(debox, parse_json(body)?).await,
        _ => Err(ApiError::invalid_field(
            "flow",
            "must be \"merchant_pays\" (the default) or \"user_pays\"",
        )),
    }
}

async fn merchant_pays(debox: &Debox, body: MerchantPaysBody) -> Result<Reply, ApiError> {
    if body.receiver_user_id == debox.merchant {
        return Err(ApiError::invalid_field(
            "receiver_user_id",
            "must not be the merchant itself",
        ));
    }
    let order = debox
        .client
        .create_order(&debox.merchant, &body.receiver_user_id, body.amount)
        .await?;
    Reply::json(&order)
}

async fn user_pays(debox: &Debox, body: UserPaysBody) -> Result<Reply, ApiError> {
    if body.payer_user_id == debox.merchant {
        return Err(ApiError::invalid_field(
            "payer_user_id",
            "must not be the merchant itself",
        ));
    }
    let app_id = debox.client.app_id().await?;
    let url = authorize_url(
        debox.app_base.as_str(),
        &UserPays {
            app_id: &app_id,
            amount: body.amount,
            payer: &body.payer_user_id,
            merchant: &debox.merchant,
            pay_info: &body.pay_info,
            redirect_uri: &body.redirect_uri,
        },
    );
    Reply::json(&json!({ "authorize_url": url }))
}
