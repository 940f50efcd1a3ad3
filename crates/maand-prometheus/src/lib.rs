//! Prometheus integration (spec chapter 11 and the metrics push of chapter 10 §8).
//!
//! Everything here is pure decision and formatting code over strings and bytes: the
//! `maand` crate reads the catalog, calls in here, and writes the results to KV or to a
//! staging tree. Keeping the rules of `_prometheus/` out of the catalog and staging code
//! lets them be tested exhaustively without a bucket. The one piece of IO is [`push`],
//! the remote-write client, because its retry policy is part of the contract.

pub mod alerts;
pub mod cert_rules;
pub mod content;
pub mod dashboards;
mod page;
pub mod push;
pub mod remote_write;
pub mod runbooks;
pub mod scrape;

/// The `{{ ruleFiles }}` block (spec 05 §4, 11 §6.5): every assembled rule file relative
/// to `prometheus.yml`. `alert_files` are (job, file name) pairs in job, then name order.
pub fn rule_files(server_exists: bool, alert_files: &[(String, String)]) -> String {
    if !server_exists && alert_files.is_empty() {
        return String::new();
    }
    let mut out = String::from("rule_files:\n");
    if server_exists {
        out.push_str("  - rules/maand/certs.yaml\n");
    }
    for (job, file) in alert_files {
        out.push_str(&format!("  - rules/{job}/{file}\n"));
    }
    out
}
