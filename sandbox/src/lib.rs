//! A local stand-in for the payment providers, serving their documented APIs
//! over real HTTP on loopback, so the functions can be run and tested with
//! nothing from outside.
//!
//! - Qbit Pay (`/api/v1/...`, `/h5/payment`): see [`qbit`]; its signed
//!   webhook events: see [`webhooks`].
//! - DeBox (`/openapi/...`, `/oauth/authorize`): see [`debox`].
//! - Control (`/_sandbox/...`): call counts, fault injection, API keys and
//!   token lifetime; see [`control`].
//!
//! Every provider route passes through [`faults`], which counts the call and
//! applies any fault injected for its path.

pub mod control;
pub mod debox;
pub mod faults;
pub mod qbit;
pub mod state;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use debox::DeboxApp;
pub use faults::{Fault, FaultKind};
pub use state::{Calls, SandboxConfig, State};
pub use webhooks::SignedEvent;

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    state: Arc<State>,
    _stop: oneshot::Sender<()>,
}

impl Sandbox {
    /// Serve on `addr` (port 0 picks a free one) until the handle is dropped.
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = State::new(config, format!("http://{addr}")).map_err(std::io::Error::other)?;
        let state = Arc::new(state);
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            state,
            _stop: stop,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The state, for tests that set it up or read it without HTTP.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Mark a charge paid (the buyer paying on the hosted page) and
    /// deliver its signed `charge.succeeded` event.
    pub async fn pay(&self, charge_id: &str) -> Option<(SignedEvent, u16)> {
        let event = self.state.settle_charge(charge_id, "charge.succeeded")?;
        let status = self.state.deliver(&event).await;
        Some((event, status))
    }

    /// Send an event again, exactly as first sent.
    pub async fn redeliver(&self, event_id: &str) -> Option<u16> {
        let event = self.state.event(event_id)?;
        Some(self.state.deliver(&event).await)
    }
}

fn router(state: Arc<State>) -> Router {
    let providers =
        qbit::routes()
            .merge(debox::routes())
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                faults::apply,
            ));
    Router::new()
        .merge(providers)
        .nest("/_sandbox", control::routes())
        .with_state(state)
}
