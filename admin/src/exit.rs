//! How a command ends: its exit code and what it says on stderr.

use std::process::ExitCode;

/// Success.
pub const OK: u8 = 0;
/// A local file could not be written (`events replay-file`): the table
/// was only read.
pub const LOCAL: u8 = 1;
/// The arguments are wrong (clap's own code for a usage error): nothing
/// was read or written.
pub const USAGE: u8 = 2;
/// A resolution was refused (no such serial, already resolved, still
/// live), or a handled mark (not a kept event, already handled): nothing
/// was written.
pub const REFUSED: u8 = 3;
/// The table or STS could not be reached or refused us (credentials,
/// permissions, throttling, a wrong table name).
pub const UNAVAILABLE: u8 = 4;
/// What was asked for does not exist (`transfers show`, `charges show`,
/// `events replay-file`, `events handle`).
pub const NOT_FOUND: u8 = 5;

/// The exit codes, for `--help`.
pub const HELP: &str = "\
Exit codes:
  0  done
  1  a local file could not be written (events replay-file)
  2  usage error (bad arguments, an empty reason or note, a malformed key): nothing was read or written
  3  refused, nothing was written: resolve (no such serial, already succeeded or failed, still in
     progress); events handle (not an unmatched or unreadable event, already handled)
  4  AWS unavailable (the table or STS: credentials, permissions, network, throttling);
     for resolve and handle: STS failing writes nothing, the table failing mid-write may or may
     not have written: run `transfers show SERIAL` or `events unmatched|unreadable --all` to see
  5  not found (transfers show, charges show, events replay-file, events handle)";

/// A command that did not do what was asked: the message for stderr and
/// the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn unavailable(what: impl std::fmt::Display) -> Self {
        Self::new(
            UNAVAILABLE,
            format!(
                "{what}\ncheck the credentials, region, table name and network, then run it again"
            ),
        )
    }

    pub fn exit(self) -> ExitCode {
        eprintln!("payments-admin: {}", self.message);
        ExitCode::from(self.code)
    }
}

impl From<shared::table::StoreUnavailable> for Failure {
    fn from(e: shared::table::StoreUnavailable) -> Self {
        Self::unavailable(e)
    }
}
