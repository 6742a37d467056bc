//! The commands and their help, in an operator's words.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use shared::debox::SerialId;
use shared::transfer::operator::{Reason, ResolveAs, StatusFilter};
use shared::webhook::operator::{KeptEvent, Note, UnreadableKey};

use crate::exit;

// The help below says "10 minutes" past the lease before `resolve` takes an
// `in_progress` transfer: it must change with the margin.
const _: () = assert!(shared::transfer::operator::OPERATOR_LEASE_MARGIN_MS == 10 * 60 * 1000);

#[derive(Debug, Parser)]
#[command(
    name = "payments-admin",
    version,
    about = "Look after the payments table: DeBox transfers that need a person, charges, webhook events kept for a person.",
    long_about = "Look after the payments table: DeBox transfers that need a person, charges, webhook events kept for a person.\n\n\
It uses the AWS SDK's usual configuration: credentials and region from the environment, \
~/.aws (AWS_PROFILE) or an instance role, and AWS_ENDPOINT_URL for a local emulator (moto). \
It reads with Scan and GetItem; only `transfers resolve` and `events handle` write (one conditional \
UpdateItem each), and they first ask STS who you are, to record it.\n\n\
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
    /// Qbit webhook events kept for a person: unmatched ones, unreadable bodies; replay one, mark one handled.
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
shared signing key), events whose amount or currency differ from the recorded charge \
(`amount_mismatch`, `currency_mismatch`) and money events of a type this bundle does not apply \
(`unhandled_type`: a refund, a dispute). Qbit was answered 200, so it will not send them again. \
Each row: event id, type, charge id, reason, detail, when it was received.\n\n\
Only events nobody has handled yet (`events handle`); `--all` lists handled ones too, with who \
handled them, when and their note.\n\n\
The whole table is scanned, page by page; progress goes to stderr."
    )]
    Unmatched {
        /// Handled events too (with who handled them, when, and the note).
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List signed webhook bodies the code could not read, kept for a person, oldest first.
    #[command(
        long_about = "List signed webhook bodies the code could not read (`unreadable_event#<sha256>` \
items), kept byte for byte with the signature they came with, oldest first: a payment may be \
waiting on one. Qbit was answered 200, so it will not send them again. Each row: the item key \
(for `events replay-file` and `events handle`), why it could not be read, how many times it was \
delivered, when first and last. They expire 90 days after the first delivery.\n\n\
With --json: `item_key`, `reason`, `deliveries`, the times (Unix ms and `*_utc`), `expires_at` \
(Unix seconds), `signature`, the body as `body_base64` and, when it is UTF-8, as `body_text` \
(else null), and the `handled_*` fields (null until handled).\n\n\
Only bodies nobody has handled yet; `--all` lists handled ones too.\n\n\
The whole table is scanned, page by page; progress goes to stderr."
    )]
    Unreadable {
        /// Handled bodies too (with who handled them, when, and the note).
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Write an unreadable body to DIR/body.json, byte for byte, and print the `curl` that replays it.
    #[command(
        long_about = "Write an unreadable event's body to DIR/body.json exactly as Qbit sent it (DIR is \
created if need be; an existing body.json is replaced), and print the signature it came with and \
the `curl` command that replays it to the webhook, once the code reads it. Put the stack's \
WebhookUrl output in place of <WebhookUrl>. Nothing is written to the table."
    )]
    ReplayFile {
        /// The item key, `unreadable_event#<sha256>`, as `events unreadable` lists it.
        #[arg(value_name = "ITEM_KEY", value_parser = unreadable_key)]
        key: UnreadableKey,
        /// The directory to write body.json into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Mark an unmatched or unreadable event handled, with a note: it leaves the default lists.
    #[command(
        long_about = "Mark a kept event handled, once you have looked at it and done what it needed: an \
unmatched event (KEY: its event id, as `events unmatched` lists it) or an unreadable body (KEY: \
its item key, `unreadable_event#<sha256>`).\n\n\
One conditional write records who you are (STS GetCallerIdentity, asked first: if STS cannot \
answer, nothing is written), when, and your note. Nothing is deleted: the event stays on the \
table as the audit of what Qbit sent (an unmatched event for good, an unreadable body until its \
90 days are over), listed only with `--all`. It is refused, and nothing is written, for a key \
with no item (exit 5), an event that is not kept for a person (it was recorded as ours) or one \
already handled (the message says by whom and when) (exit 3)."
    )]
    Handle {
        /// An unmatched event's id, or an unreadable event's item key (`unreadable_event#...`).
        #[arg(value_name = "KEY", value_parser = kept_event)]
        key: KeptEvent,
        /// What you found and did: what Qbit or the merchant said, a ticket. Required, not blank.
        #[arg(long, value_name = "TEXT", value_parser = note)]
        note: Note,
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

fn note(text: &str) -> Result<Note, String> {
    Note::parse(text).map_err(str::to_string)
}

fn kept_event(text: &str) -> Result<KeptEvent, String> {
    KeptEvent::parse(text)
}

fn unreadable_key(text: &str) -> Result<UnreadableKey, String> {
    UnreadableKey::parse(text)
}
