//! Metrics in CloudWatch's embedded metric format: one JSON object on its
//! own line of standard output, which CloudWatch Logs turns into a metric.
//! No client, no extra permission, nothing on the request's path but a write.

use serde_json::json;

/// The namespace the template's alarms watch.
pub const NAMESPACE: &str = "PaymentsBundle";

/// The line for one transfer outcome (`succeeded`, `failed`, `unknown`,
/// `duplicate`): metric `Transfers`, dimension `Outcome`, and the serial id
/// as a plain property, to find the transfer from the metric's log line.
pub fn transfer_outcome_line(outcome: &str, serial_id: &str, timestamp_ms: u64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Outcome"]],
                "Metrics": [{"Name": "Transfers", "Unit": "Count"}],
            }],
        },
        "Outcome": outcome,
        "Transfers": 1,
        "serial_id": serial_id,
    })
    .to_string()
}

/// Write the transfer outcome metric.
pub fn transfer_outcome(outcome: &str, serial_id: &str) {
    println!(
        "{}",
        transfer_outcome_line(outcome, serial_id, crate::now_ms())
    );
}

/// The line for a verified webhook event we could not read: metric
/// `WebhookEvents`, dimension `Outcome` = `unreadable`, and the key of the
/// item that keeps (or would keep) its body, for the operator to find it.
pub fn unreadable_webhook_event_line(item_key: &str, timestamp_ms: u64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Outcome"]],
                "Metrics": [{"Name": "WebhookEvents", "Unit": "Count"}],
            }],
        },
        "Outcome": "unreadable",
        "WebhookEvents": 1,
        "item_key": item_key,
    })
    .to_string()
}

/// Write the unreadable webhook event metric (the template alarms on it).
pub fn unreadable_webhook_event(item_key: &str) {
    println!(
        "{}",
        unreadable_webhook_event_line(item_key, crate::now_ms())
    );
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
}
