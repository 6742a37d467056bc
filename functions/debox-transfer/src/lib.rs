//! `POST /debox/transfers`: parse the body, prepare DeBox's request, and
//! send it at most once per `serial_id` through the transfer flow
//! (`shared::transfer`, which explains how), recording who asked (the IAM
//! caller API Gateway verified).

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::debox::{Amount, DeboxClient, SerialId, Transfer, TransferToken};
use shared::http::{
    Caller, invocation_deadline, json_body, not_null, request_id, require_method, respond,
};
use shared::now_ms;
use shared::transfer::{EmfReport, TransferStore, run};

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a JSON object with access_token, serial_id and (for merchant-pays orders) verify_amount"
)]
struct TransferBody {
    access_token: TransferToken,
    serial_id: SerialId,
    // `null` is refused (naming it), never read as left out: that would
    // send a merchant-pays transfer to DeBox without its check.
    #[serde(default, deserialize_with = "not_null")]
    verify_amount: Option<Amount>,
}

pub async fn handle<S: TransferStore>(
    store: &S,
    debox: &DeboxClient,
    req: Request,
) -> Response<Body> {
    let request_id = request_id(&req);
    let caller = Caller::of(&req);
    let result = async {
        require_method(&req, "POST /debox/transfers")?;
        let body: TransferBody = json_body(&req)?;
        let transfer = Transfer {
            access_token: body.access_token,
            serial_id: body.serial_id,
            verify_amount: body.verify_amount,
        };
        let deadline = invocation_deadline(&req, now_ms());
        let call = debox.prepare_transfer(&transfer).await?;
        run(
            store,
            &EmfReport,
            &transfer,
            deadline,
            &request_id,
            &caller,
            || debox.send_transfer(call),
        )
        .await
    }
    .await;
    respond(&request_id, result)
}
