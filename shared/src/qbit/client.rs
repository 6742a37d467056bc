//! The Qbit Pay client: one per container, holding the HTTP client, the
//! secret cache and the access-token cache.

use std::sync::Arc;

use http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use super::errors::{CallError, map_error, refused_at_the_door};
use super::token::TokenCache;
use super::types::{ChargeList, ListQuery, NewCharge};
use super::{AccessToken, PROVIDER};
use crate::ApiError;
use crate::secrets::Secrets;
use crate::upstream::{MAX_ANSWER_BYTES, read_capped, transport_error, unreadable};

pub struct QbitClient {
    http: reqwest::Client,
    base: String,
    secrets: Arc<Secrets>,
    token: TokenCache,
}

/// A charge call with our key, built and not yet sent.
pub struct PreparedCharge(reqwest::Request);

/// The one member of a charge we rely on; the rest passes through as sent.
#[derive(Deserialize)]
struct ChargeShape<'a> {
    #[serde(borrow)]
    id: &'a str,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(rename = "accessToken")]
    access_token: String,
}

impl QbitClient {
    pub fn new(http: reqwest::Client, base: Url, secrets: Arc<Secrets>) -> Self {
        Self {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            secrets,
            token: TokenCache::default(),
        }
    }

    /// An access token for the hosted payment page, reused until shortly
    /// before it expires.
    pub async fn access_token(&self) -> Result<AccessToken, ApiError> {
        self.token
            .get_or_fetch(|| async {
                let body = self
                    .call(self.http.get(self.url("/api/v1/accessToken")))
                    .await
                    .map_err(CallError::into_api_error)?;
                let answer: TokenAnswer = serde_json::from_slice(&body)
                    .map_err(|_| unreadable(PROVIDER, StatusCode::OK, "no accessToken"))?;
                Ok(AccessToken::new(answer.access_token))
            })
            .await
    }

    /// Create a charge; Qbit's charge object is returned byte for byte. The
    /// error says whether Qbit may have created it.
    pub async fn create_charge(&self, charge: &NewCharge) -> Result<Box<RawValue>, CallError> {
        let call = self
            .prepare_charge(charge)
            .await
            .map_err(CallError::NotReached)?;
        self.send_charge(call).await
    }

    /// A charge call with our key, built but not sent: reading the secret
    /// and building the request happen here, so a caller can time the call
    /// itself and know that nothing was sent when this fails.
    pub async fn prepare_charge(&self, charge: &NewCharge) -> Result<PreparedCharge, ApiError> {
        let request = self.http.post(self.url("/api/v1/charges")).json(charge);
        self.prepare(request).await.map(PreparedCharge)
    }

    /// Send a prepared charge call.
    pub async fn send_charge(&self, call: PreparedCharge) -> Result<Box<RawValue>, CallError> {
        let body = self.send(call.0).await?;
        // Qbit answered 2xx: whatever the body, a charge may exist.
        let unreadable = |what| CallError::MayHaveActed(unreadable(PROVIDER, StatusCode::OK, what));
        let raw: Box<RawValue> =
            serde_json::from_slice(&body).map_err(|_| unreadable("charge is not JSON"))?;
        let shape: ChargeShape =
            serde_json::from_str(raw.get()).map_err(|_| unreadable("charge has no id"))?;
        tracing::info!(charge_id = shape.id, "qbit answered with the charge");
        Ok(raw)
    }

    /// One page of charges; Qbit's list object is returned byte for byte.
    pub async fn list_charges(&self, query: &ListQuery) -> Result<String, ApiError> {
        let request = self
            .http
            .get(self.url("/api/v1/charges"))
            .query(&query.to_pairs());
        let body = self
            .call(request)
            .await
            .map_err(CallError::into_api_error)?;
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| unreadable(PROVIDER, StatusCode::OK, "list is not UTF-8"))?;
        match serde_json::from_str::<ChargeList>(&text) {
            Ok(list) if list.object == "list" => {
                tracing::info!(count = list.data.len(), "charges listed");
                Ok(text)
            }
            _ => Err(unreadable(PROVIDER, StatusCode::OK, "not a list object")),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Prepare, then send at once.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<bytes::Bytes, CallError> {
        // Our own secret failing: the call was never sent.
        let request = self.prepare(request).await.map_err(CallError::NotReached)?;
        self.send(request).await
    }

    /// The request with Basic auth (our key from the secret), built.
    async fn prepare(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Request, ApiError> {
        let secrets = self.secrets.get().await?;
        let key = secrets.qbit_api_key()?;
        request
            .basic_auth(key.expose(), Some(""))
            .build()
            // reqwest's error would name the URL: say what to check instead.
            .map_err(|_| {
                ApiError::misconfigured(format!(
                    "the request to {PROVIDER} could not be built; check QBIT_BASE_URL"
                ))
            })
    }

    /// Send a built request; a 2xx body (at most [`MAX_ANSWER_BYTES`]), or
    /// the contract's error with whether Qbit may have acted on the call.
    async fn send(&self, request: reqwest::Request) -> Result<bytes::Bytes, CallError> {
        let response = self.http.execute(request).await.map_err(|e| {
            let error = transport_error(PROVIDER, &e);
            // No connection (connect timeouts included): nothing reached Qbit.
            if e.is_connect() {
                CallError::NotReached(error)
            } else {
                CallError::MayHaveActed(error)
            }
        })?;
        let status = response.status();
        // The status alone says whether Qbit refused at the door; a body
        // lost or too large after it changes nothing about that.
        let at_the_door = refused_at_the_door(status);
        let body = read_capped(response, MAX_ANSWER_BYTES).await.map_err(|e| {
            let error = e.into_api_error(PROVIDER, status);
            if at_the_door {
                CallError::NotReached(error)
            } else {
                CallError::MayHaveActed(error)
            }
        })?;
        if status.is_success() {
            return Ok(body);
        }
        if status == StatusCode::UNAUTHORIZED {
            // Our key was refused: it may have been rotated. Fetch the secret
            // again on the next call, and drop a token got with the old key.
            self.secrets.invalidate().await;
            self.token.invalidate();
        }
        let error = map_error(status, &body);
        Err(if at_the_door {
            CallError::NotReached(error)
        } else {
            CallError::MayHaveActed(error)
        })
    }
}
