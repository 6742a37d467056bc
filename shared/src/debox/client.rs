//! The DeBox open-API client: signed calls for orders, transfers and the
//! merchant's balance.

use std::sync::Arc;

use serde::Serialize;
use url::Url;

use http::{HeaderValue, StatusCode};

use super::answer::{Payload, Refusal, read, read_confirmation};
use super::sign::{nonce, signature, timestamp_ms};
use super::{Amount, PROVIDER, SerialId, TransferToken, UserId};
use crate::ApiError;
use crate::secrets::Secrets;
use crate::upstream::{MAX_ANSWER_BYTES, read_capped};

pub struct DeboxClient {
    http: reqwest::Client,
    base: String,
    secrets: Arc<Secrets>,
}

/// What `/openapi/payment/order` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    pub access_token: String,
    pub serial_id: String,
    pub amount: String,
}

/// The merchant's vBOX, as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub total: String,
    pub usable_balance: String,
}

/// A transfer's request to DeBox.
#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    pub access_token: TransferToken,
    pub serial_id: SerialId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_amount: Option<Amount>,
}

/// A signed request, ready to send. Its timestamp was taken when it was
/// signed: DeBox accepts it for 5 minutes, and it is sent within seconds.
pub struct SignedCall {
    request: reqwest::Request,
    path: &'static str,
}

const TRANSFER_PATH: &str = "/openapi/payment/transfer";

/// A secret's value as a header, or a 500 naming the member (a trailing
/// newline pasted into the secret, say).
fn header_value(value: &str, member: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(value).map_err(|_| {
        ApiError::misconfigured(format!(
            "{member} in the payments secret cannot be sent in an HTTP header (a control character or line break?)"
        ))
    })
}

#[derive(Serialize)]
struct OrderRequest<'a> {
    payer_user_id: &'a UserId,
    receiver_user_id: &'a UserId,
    amount: Amount,
}

impl DeboxClient {
    pub fn new(http: reqwest::Client, base: Url, secrets: Arc<Secrets>) -> Self {
        Self {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            secrets,
        }
    }

    /// The app id, for URLs that name it (the authorize page).
    pub async fn app_id(&self) -> Result<String, ApiError> {
        Ok(self.secrets.get().await?.debox_app_id()?.to_string())
    }

    /// Merchant pays: an order paid from `payer` (the merchant) to `receiver`.
    pub async fn create_order(
        &self,
        payer: &UserId,
        receiver: &UserId,
        amount: Amount,
    ) -> Result<Order, ApiError> {
        let body = OrderRequest {
            payer_user_id: payer,
            receiver_user_id: receiver,
            amount,
        };
        let payload = self
            .call("/openapi/payment/order", Some(&body), read)
            .await
            .map_err(|r| r.error)?;
        // The order must be the one asked for: a merchant who copies its
        // amount into verify_amount would otherwise defeat that check.
        let ordered: Option<Amount> = payload.decimal("amount")?.parse().ok();
        if ordered != Some(amount) {
            return Err(super::answer::unreadable(
                "an order for another amount than requested",
            ));
        }
        let serial_id = payload.string("serial_id")?;
        SerialId::parse(&serial_id)
            .map_err(|_| super::answer::unreadable("a serial_id we cannot use"))?;
        let order = Order {
            access_token: payload.string("access_token")?,
            serial_id,
            amount: amount.to_string(),
        };
        tracing::info!(serial_id = %order.serial_id, amount = %order.amount, "debox order created");
        Ok(order)
    }

    /// Sign and build a transfer, without sending it. Everything that can
    /// fail before a byte reaches DeBox (the secret, a member missing from
    /// it, a value that cannot be sent in a header) fails here, before the
    /// transfer is claimed, so such a failure never leaves a claim behind.
    pub async fn prepare_transfer(&self, transfer: &Transfer) -> Result<SignedCall, ApiError> {
        self.sign(TRANSFER_PATH, Some(transfer)).await
    }

    /// Move the points. `Err` says how sure we are that nothing moved.
    pub async fn send_transfer(&self, call: SignedCall) -> Result<(), Refusal> {
        self.send(call, read_confirmation).await
    }

    /// The merchant's vBOX balance.
    pub async fn balance(&self) -> Result<Balance, ApiError> {
        let payload = self
            .call::<(), Payload>("/openapi/payment/assert/vbox", None, read)
            .await
            .map_err(|r| r.error)?;
        Ok(Balance {
            total: payload.decimal("total")?,
            usable_balance: payload.decimal("usable_balance")?,
        })
    }

    /// A signed POST, sent at once.
    async fn call<B: Serialize, T>(
        &self,
        path: &'static str,
        body: Option<&B>,
        reader: fn(StatusCode, &[u8]) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let call = self.sign(path, body).await.map_err(Refusal::certain)?;
        self.send(call, reader).await
    }

    /// A POST to `path` with the five signed headers, built but not sent.
    async fn sign<B: Serialize>(
        &self,
        path: &'static str,
        body: Option<&B>,
    ) -> Result<SignedCall, ApiError> {
        let secrets = self.secrets.get().await?;
        let app_id = header_value(secrets.debox_app_id()?, "debox_app_id")?;
        let mut api_key = header_value(secrets.debox_api_key()?.expose(), "debox_api_key")?;
        api_key.set_sensitive(true);
        let app_secret = secrets.debox_app_secret()?;
        let (nonce, timestamp) = (nonce(), timestamp_ms());
        let signature = signature(app_secret.expose(), &nonce, &timestamp);

        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("app_id", app_id)
            .header("X-API-KEY", api_key)
            .header("nonce", nonce)
            .header("timestamp", timestamp)
            .header("signature", signature);
        if let Some(body) = body {
            request = request.json(body);
        }
        // reqwest's error would name the URL: say what to check instead.
        let request = request.build().map_err(|_| {
            ApiError::misconfigured(format!(
                "the request to {PROVIDER} could not be built; check DEBOX_OPEN_BASE_URL"
            ))
        })?;
        Ok(SignedCall { request, path })
    }

    /// Send a signed call. One that could not even connect is certain to
    /// have done nothing; one that was sent and got no readable answer (lost,
    /// cut, unreadable or over [`MAX_ANSWER_BYTES`]) may have done anything.
    async fn send<T>(
        &self,
        call: SignedCall,
        reader: fn(StatusCode, &[u8]) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let SignedCall { request, path } = call;
        let transport = |e: reqwest::Error| {
            let error = crate::upstream::transport_error(PROVIDER, &e);
            if e.is_connect() {
                Refusal::certain(error)
            } else {
                Refusal::uncertain(error)
            }
        };
        let response = self.http.execute(request).await.map_err(transport)?;
        let status = response.status();
        let bytes = read_capped(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| Refusal::uncertain(e.into_api_error(PROVIDER, status)))?;
        let answer = reader(status, &bytes);
        if let Err(refusal) = &answer {
            tracing::warn!(
                provider = PROVIDER,
                path,
                status = status.as_u16(),
                code = refusal.error.code().unwrap_or(""),
                "provider refused the call"
            );
            if refusal.credentials_refused {
                self.secrets.invalidate().await;
            }
        }
        answer
    }
}
