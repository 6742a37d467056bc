//! The integration tests, in one binary (the AWS SDK, the six functions and
//! the sandbox are linked once): the functions' handlers and the real
//! binaries against the provider sandbox and moto, over real HTTP. Shared
//! set-up is the `bundle_tests` library (`tests/support/`).
//!
//! Run them with `scripts/test.sh`, which starts moto; one concern alone
//! with, for example, `cargo test -p bundle-tests --test it debox_transfer::`
//! once `MOTO_ENDPOINT` is set.

mod admin;
mod aws_environment;
mod bad_input;
mod binaries;
mod create_charge;
mod create_charge_idempotency;
mod debox_order;
mod debox_transfer;
mod list_charges;
mod log_hygiene;
mod log_levels;
mod mutants_kill;
mod qbit_upstream;
mod qbit_webhook;
mod sandbox_debox;
mod vbox_balance;
