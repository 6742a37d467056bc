//! Metrics in CloudWatch's embedded metric format: one JSON object on its
//! own line of standard output, which CloudWatch Logs turns into a metric.
//! No client, no extra permission, nothing on the request's path but a write.

use serde_json::json;

/// The namespace the template's alarms watch.
pub const NAMESPACE: &str = "PaymentsBundle";

/// One count of `metric` with dimension `Outcome` = `outcome`, carrying
/// each `(name, value)` as a plain property, to find the thing counted from
/// the metric's log line.
fn count_line(
    metric: &str,
    outcome: &str,
    properties: &[(&str, &str)],
    timestamp_ms: u64,
) -> String {
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Outcome"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        "Outcome": outcome,
    });
    line[metric] = json!(1);
    for (name, value) in properties {
        line[*name] = json!(value);
    }
    line.to_string()
}

/// The line for one transfer outcome (`succeeded`, `failed`, `unknown`,
/// `duplicate`): metric `Transfers`, with the serial id.
pub fn transfer_outcome_line(outcome: &str, serial_id: &str, timestamp_ms: u64) -> String {
    count_line(
        "Transfers",
        outcome,
        &[("serial_id", serial_id)],
        timestamp_ms,
    )
}

/// Write one line to standard output, where CloudWatch Logs reads it.
fn emit(line: String) {
    #[cfg(test)]
    captured::push(&line);
    println!("{line}");
}

/// The lines this thread emitted, for the unit tests of the flows that
/// write them (a tokio test runs on its own thread).
#[cfg(test)]
pub(crate) mod captured {
    use std::cell::RefCell;

    thread_local!(static LINES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) });

    pub fn push(line: &str) {
        LINES.with(|lines| lines.borrow_mut().push(line.to_string()));
    }

    /// The `Outcome` of each line emitted since the last call.
    pub fn outcomes() -> Vec<String> {
        LINES.with(|lines| {
            lines
                .borrow_mut()
                .drain(..)
                .map(|line| {
                    let line: serde_json::Value = serde_json::from_str(&line).unwrap();
                    line["Outcome"].as_str().unwrap_or_default().to_string()
                })
                .collect()
        })
    }
}

/// Write the transfer outcome metric.
pub fn transfer_outcome(outcome: &str, serial_id: &str) {
    emit(transfer_outcome_line(outcome, serial_id, crate::now_ms()));
}

/// The line for a handler's panic (a bug, answered 500): metric `Panics`,
/// `Outcome` = `panicked`, with the function's name. Such an invocation is
/// not a Lambda error (it answered), so the template's
/// `FunctionErrorsAlarm` adds this count to Lambda's `Errors`.
pub fn handler_panic_line(function: &str, timestamp_ms: u64) -> String {
    count_line(
        "Panics",
        "panicked",
        &[("function", function)],
        timestamp_ms,
    )
}

/// Write the handler panic metric.
pub fn handler_panic() {
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    emit(handler_panic_line(&function, crate::now_ms()));
}

/// The line for a verified webhook event we could not read: metric
/// `WebhookEvents`, `Outcome` = `unreadable`, with the key of the item that
/// keeps (or would keep) its body, for the operator to find it.
pub fn unreadable_webhook_event_line(item_key: &str, timestamp_ms: u64) -> String {
    count_line(
        "WebhookEvents",
        "unreadable",
        &[("item_key", item_key)],
        timestamp_ms,
    )
}

/// Write the unreadable webhook event metric (the template alarms on it).
pub fn unreadable_webhook_event(item_key: &str) {
    emit(unreadable_webhook_event_line(item_key, crate::now_ms()));
}

/// The line for a signed webhook event that applies to no charge of ours
/// (unknown charge, or another amount or currency than recorded): metric
/// `WebhookEvents`, `Outcome` = `unmatched`, with the event id, which
/// finds its `event#` item.
pub fn unmatched_webhook_event_line(event_id: &str, timestamp_ms: u64) -> String {
    count_line(
        "WebhookEvents",
        "unmatched",
        &[("event_id", event_id)],
        timestamp_ms,
    )
}

/// Write the unmatched webhook event metric (the template alarms on it).
pub fn unmatched_webhook_event(event_id: &str) {
    emit(unmatched_webhook_event_line(event_id, crate::now_ms()));
}

/// The line for a webhook delivery whose signature header was plausible
/// (present, base64) and did not verify: metric `WebhookEvents`, `Outcome`
/// = `signature_refused`. A key out of step with Qbit's, or someone
/// forging events; a missing or garbled header is internet noise, not
/// counted.
pub fn webhook_signature_refused_line(timestamp_ms: u64) -> String {
    count_line("WebhookEvents", "signature_refused", &[], timestamp_ms)
}

/// Write the refused signature metric (the template alarms on it).
pub fn webhook_signature_refused() {
    emit(webhook_signature_refused_line(crate::now_ms()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn the_line_is_an_emf_document() {
        let line: Value =
            serde_json::from_str(&transfer_outcome_line("unknown", "s-1", 1_800_000_000_000))
                .unwrap();
        assert_eq!(line["_aws"]["Timestamp"], 1_800_000_000_000u64);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "PaymentsBundle");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Outcome"]]));
        assert_eq!(directive["Metrics"][0]["Name"], "Transfers");
        // Every dimension and metric named in the directive is a member.
        assert_eq!(line["Outcome"], "unknown");
        assert_eq!(line["Transfers"], 1);
        assert_eq!(line["serial_id"], "s-1");
    }

    #[test]
    fn the_unreadable_event_line_is_an_emf_document() {
        let line: Value = serde_json::from_str(&unreadable_webhook_event_line(
            "unreadable_event#ab12",
            1_800_000_000_000,
        ))
        .unwrap();
        assert_eq!(line["_aws"]["Timestamp"], 1_800_000_000_000u64);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "PaymentsBundle");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Outcome"]]));
        assert_eq!(directive["Metrics"][0]["Name"], "WebhookEvents");
        assert_eq!(line["Outcome"], "unreadable");
        assert_eq!(line["WebhookEvents"], 1);
        assert_eq!(line["item_key"], "unreadable_event#ab12");
    }

    #[test]
    fn the_unmatched_event_line_is_an_emf_document() {
        let line: Value =
            serde_json::from_str(&unmatched_webhook_event_line("evt_1", 1_800_000_000_000))
                .unwrap();
        assert_eq!(
            line,
            serde_json::json!({
                "_aws": {"Timestamp": 1_800_000_000_000u64, "CloudWatchMetrics": [{
                    "Namespace": "PaymentsBundle", "Dimensions": [["Outcome"]],
                    "Metrics": [{"Name": "WebhookEvents", "Unit": "Count"}]}]},
                "Outcome": "unmatched", "WebhookEvents": 1, "event_id": "evt_1"})
        );
    }

    #[test]
    fn the_signature_refused_line_is_an_emf_document() {
        let line: Value =
            serde_json::from_str(&webhook_signature_refused_line(1_800_000_000_000)).unwrap();
        assert_eq!(
            line,
            serde_json::json!({
                "_aws": {"Timestamp": 1_800_000_000_000u64, "CloudWatchMetrics": [{
                    "Namespace": "PaymentsBundle", "Dimensions": [["Outcome"]],
                    "Metrics": [{"Name": "WebhookEvents", "Unit": "Count"}]}]},
                "Outcome": "signature_refused", "WebhookEvents": 1})
        );
    }
}
