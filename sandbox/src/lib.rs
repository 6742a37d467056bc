//! A local stand-in for the payment providers, serving their documented APIs
//! over real HTTP on loopback, so the functions can be run and tested with
//! nothing from outside.
//!
//! - Qbit Pay (`/api/v1/...`, `/h5/payment`): see [`qbit`]; the signing and
//!   sending of its webhooks: see [`webhooks`].
//! - DeBox (`/openapi/...`, `/oauth/authorize`): see [`debox`].
//! - Control (`/_sandbox/...`): call counts, fault injection, API keys and
//!   token lifetime; see [`control`].
//!
//! - Lambda's Runtime API, for running the real function binaries as Lambda
//!   would (cold starts, kills): see [`lambda`]; it stands alone.
//!
//! Every provider route passes through [`faults`], which counts the call and
//! applies any fault injected for its path.
//!
//! Each provider and the faults own their state, and each router is built
//! over its own; [`state`] composes them for the control API and the tests.
//! Imports go one way only (no module imports one that imports it back):
//!
//! ```text
//! control  -> state, qbit, debox, faults
//! state    -> config, qbit, debox, faults, webhooks
//! config   -> debox
//! qbit     -> webhooks, lock
//! debox    -> lock
//! faults   -> lock
//! webhooks, lock, lambda: nothing in the sandbox
//! ```
//!
//! and this root declares them all, re-exports what tests name, and starts
//! the server.

pub mod config;
pub mod control;
pub mod debox;
pub mod faults;
pub mod lambda;
mod lock;
pub mod qbit;
pub mod state;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use config::SandboxConfig;
pub use debox::{Debox, DeboxApp, DeboxOrder};
pub use faults::{Calls, Fault, FaultKind, Faults};
pub use qbit::{Charge, QbitPay, SignedEvent};
pub use state::SandboxState;
pub use webhooks::SigningKey;

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    state: Arc<SandboxState>,
    _stop: oneshot::Sender<()>,
}

impl Sandbox {
    /// Serve on `addr` (port 0 picks a free one) until the handle is dropped.
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state =
            SandboxState::new(config, format!("http://{addr}")).map_err(std::io::Error::other)?;
        let state = Arc::new(state);
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(&state);
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
    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// Mark a charge paid (the buyer paying on the hosted page) and
    /// deliver its signed `charge.succeeded` event.
    pub async fn pay(&self, charge_id: &str) -> Option<(SignedEvent, u16)> {
        let qbit = &self.state.qbit;
        let event = qbit.settle_charge(charge_id, "charge.succeeded")?;
        let status = qbit.deliver(&event).await;
        Some((event, status))
    }

    /// Send an event again, exactly as first sent.
    pub async fn redeliver(&self, event_id: &str) -> Option<u16> {
        let qbit = &self.state.qbit;
        let event = qbit.event(event_id)?;
        Some(qbit.deliver(&event).await)
    }
}

/// Each provider's routes over its own state, all behind the fault
/// middleware over the faults' state (and DeBox's count of transfer
/// requests in front of that); the control API over the whole.
fn router(state: &Arc<SandboxState>) -> Router {
    let providers = qbit::routes()
        .with_state(state.qbit.clone())
        .merge(debox::routes().with_state(state.debox.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.faults.clone(),
            faults::apply,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.debox.clone(),
            debox::count_transfer_requests,
        ));
    Router::new()
        .merge(providers)
        .nest("/_sandbox", control::routes().with_state(state.clone()))
}
