//! `payments-admin`: the operator CLI for the payments table. This file
//! only parses the arguments, calls the command and prints how it ended;
//! the rules live in the flows (`shared::transfer::operator`,
//! `shared::webhook::operator`).

mod aws;
mod charges;
mod cli;
mod events;
mod exit;
mod handle;
mod item;
mod render;
mod transfers;
mod unreadable;

use std::process::ExitCode;

use clap::Parser;

use cli::{Charges, Cli, Command, Events, Transfers};
use exit::Failure;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(table) = cli.table.filter(|t| !t.trim().is_empty()) else {
        return Failure::new(
            exit::USAGE,
            "no table: pass --table NAME or set PAYMENTS_TABLE (the stack's TableName output)",
        )
        .exit();
    };
    let aws = aws::Aws::load(table).await;
    let result = match cli.command {
        Command::Transfers(Transfers::List { status, json }) => {
            transfers::list(&aws, status, json.json).await
        }
        Command::Transfers(Transfers::Show { serial, json }) => {
            transfers::show(&aws, &serial, json.json).await
        }
        Command::Transfers(Transfers::Resolve {
            serial,
            to,
            reason,
            json,
        }) => transfers::resolve(&aws, serial, to, reason, json.json).await,
        Command::Charges(Charges::Show { id, json }) => charges::show(&aws, &id, json.json).await,
        Command::Events(Events::Unmatched { all, json }) => {
            events::unmatched(&aws, all, json.json).await
        }
        Command::Events(Events::Unreadable { all, json }) => {
            unreadable::list(&aws, all, json.json).await
        }
        Command::Events(Events::ReplayFile { key, out, json }) => {
            unreadable::replay_file(&aws, &key, &out, json.json).await
        }
        Command::Events(Events::Handle { key, note, json }) => {
            handle::handle(&aws, key, note, json.json).await
        }
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => failure.exit(),
    }
}
