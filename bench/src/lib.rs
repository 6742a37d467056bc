//! The benchmark harness's parts: the six functions, the world they run
//! against (the sandbox, moto, the events), one process under the Runtime
//! API stand-in (cold start, warm run, call checkpoints), the counting
//! proxy in front of moto, and the statistics. `src/main.rs` is the
//! `bench` command; `tests/` checks the calls a transfer makes with them.

pub mod process;
pub mod proxy;
pub mod stats;
pub mod world;

/// The six functions, in the order they are measured (create-charge first:
/// the webhook's events are for the charges it made).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Function {
    CreateCharge,
    ListCharges,
    QbitWebhook,
    DeboxOrder,
    DeboxTransfer,
    VboxBalance,
}

impl Function {
    pub const ALL: [Self; 6] = [
        Self::CreateCharge,
        Self::ListCharges,
        Self::QbitWebhook,
        Self::DeboxOrder,
        Self::DeboxTransfer,
        Self::VboxBalance,
    ];

    /// Its package, binary and `events/` file name.
    pub fn name(self) -> &'static str {
        match self {
            Self::CreateCharge => "create-charge",
            Self::ListCharges => "list-charges",
            Self::QbitWebhook => "qbit-webhook",
            Self::DeboxOrder => "debox-order",
            Self::DeboxTransfer => "debox-transfer",
            Self::VboxBalance => "vbox-balance",
        }
    }
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
