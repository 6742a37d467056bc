//! The commands and their help, in an operator's words.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use shared::debox::SerialId;
use shared::transfer::operator::{Reason, ResolveAs, StatusFilter};

use crate::exit;

// The help below says "10 minutes" past the lease before `resolve` takes an
// `in_progress` transfer: it must change with the margin.
const _: () = assert!(shared::transfer::operator::OPERATOR_LEASE_MARGIN_MS == 10 * 60 * 1000);

#[derive(Debug, Parser)]
#[command(
    name = "payments-admin",
    version,
    about = "Look after the payments table: DeBox transfers that need a person, charges, unmatched webhook events.",
    long_about = "Look after the payments table: DeBox transfers that need a person, charges, unmatched webhook events.\n\n\
It uses the AWS SDK's usual configuration: credentials and region from the environment, \
~/.aws (AWS_PROFILE) or an instance role, and AWS_ENDPOINT_URL for a local emulator (moto). \
It reads with Scan and GetItem; only `transfers resolve` writes (one conditional UpdateItem) \
and it first asks STS who you are, to record it.\n\n\
Human output is a table; with --json, stdout holds only JSON (progress and errors go to stderr).",
    after_help = exit::HELP
)]
pub struct Cli {
    /// The payments table (the stack's TableName output).
    #[arg(long, env = "PAYMENTS_TABLE", global = true, value_name = "NAME")]
    pub table: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// DeBox transfers: find the ones that need a person, look at one, settle one by hand.
    #[command(subcommand)]
    Transfers(Transfers),
    /// Qbit charges as create-charge recorded them and webhooks updated them.
    #[command(subcommand)]
    Charges(Charges),
    /// Qbit webhook events kept for a person.
    #[command(subcommand)]
    Events(Events),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON on stdout instead of a table (progress and errors stay on stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Transfers {
    /// List transfers, oldest first: serial, status, amount, recipient, when, DeBox's answer, who asked.
    #[command(
        long_about = "List transfers, oldest first: serial, status, amount, recipient, when it was asked, \
DeBox's answer (code and message) and who asked (the caller's IAM ARN).\n\n\
`--status stuck` lists what needs a person: every `unknown` transfer (DeBox may or may not have moved \
the points, and nothing will send it again) and every `in_progress` one whose lease is over (the \
function died mid-call; 5 s of grace for clock skew). Check each against DeBox's records, then run \
`transfers resolve`: it takes an `in_progress` one only 10 minutes after its lease (the status column \
says from when).\n\n\
The whole table is scanned, page by page; progress goes to stderr."
    )]
    List {
        /// Only transfers in this state (`stuck`: unknown, or in progress past its lease).
        #[arg(long, value_name = "STATUS", value_parser = status_parser())]
        status: Option<StatusFilter>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Show everything recorded about one transfer.
    Show {
        /// The transfer's serial_id (DeBox's order serial).
        #[arg(value_parser = serial)]
        serial: SerialId,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Settle an `unknown` (or dead `in_progress`) transfer by hand, once DeBox's records say what happened.
    #[command(
        long_about = "Settle an `unknown` transfer by hand, or an `in_progress` one whose lease ended more \
than 10 minutes ago (the function died mid-call; the margin is for this machine's clock, which may be \
off: no function runs 10 minutes past its lease), once DeBox's records (their merchant console or support) say what happened.\n\n\
  --as succeeded  DeBox moved the points. The serial is never sent again.\n\
  --as failed     DeBox did not. The serial is free again: the merchant may retry it, exactly as \
after a refusal from DeBox (with a fresh order if the 5-minute token has expired).\n\n\
One conditional write records the new status, your reason, who you are (STS GetCallerIdentity, \
asked first: if STS cannot answer, nothing is written) and when. It is refused, and nothing is \
written, for a serial with no transfer, one already succeeded or failed (resolved or answered by \
DeBox), or one in progress less than 10 minutes past its lease (the message says from when it can \
be resolved)."
    )]
    Resolve {
        /// The transfer's serial_id.
        #[arg(value_parser = serial)]
        serial: SerialId,
        /// What DeBox's records show: `succeeded` (the points moved) or `failed` (they did not).
        #[arg(long = "as", value_name = "OUTCOME", value_parser = resolve_parser())]
        to: ResolveAs,
        /// Why: what DeBox's records show, a ticket number. Required, not blank.
        #[arg(long, value_name = "TEXT", value_parser = reason)]
        reason: Reason,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum Charges {
    /// Show a charge's record (`charge#<ID>`): status, amount, currency, order, who created it, the last event applied.
    Show {
        /// Qbit's charge id.
        id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
pub enum Events {
    /// List signed webhook events that changed nothing, kept for a person, oldest first.
    #[command(
        long_about = "List signed webhook events that changed nothing and are kept for a person, oldest first: \
events for a charge this bundle never created (`unknown_charge`: perhaps another merchant's, on a \
shared signing key) and events whose amount or currency differ from the recorded charge \
(`amount_mismatch`, `currency_mismatch`). Qbit was answered 200, so it will not send them again. \
Each row: event id, type, charge id, reason, detail, when it was received.\n\n\
The whole table is scanned, page by page; progress goes to stderr."
    )]
    Unmatched {
        #[command(flatten)]
        json: JsonFlag,
    },
}

fn status_parser() -> impl TypedValueParser<Value = StatusFilter> {
    PossibleValuesParser::new(["unknown", "in_progress", "failed", "succeeded", "stuck"])
        .map(|s| StatusFilter::parse(&s).expect("one of the possible values"))
}

fn resolve_parser() -> impl TypedValueParser<Value = ResolveAs> {
    PossibleValuesParser::new(["succeeded", "failed"])
        .map(|s| ResolveAs::parse(&s).expect("one of the possible values"))
}

fn serial(text: &str) -> Result<SerialId, String> {
    SerialId::parse(text)
}

fn reason(text: &str) -> Result<Reason, String> {
    Reason::parse(text).map_err(str::to_string)
}
