//! A job's alert rule files: build-time checks (spec 11 §3.2) and the runbook-link rewrite
//! applied when they are staged into the server job (§6.1).
//!
//! Only the shape that maand itself relies on, or that Prometheus would reject only after
//! a deploy, is checked here; everything else (PromQL, durations, label values) is left to
//! Prometheus. A rule's `expr` may be a YAML string or number: Prometheus reads it as the
//! scalar's text, and `expr: 1` is a valid (always-firing) query.

use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeSet;

/// Catches at build what Prometheus would only reject after the deploy that loaded the
/// file, and returns the alert names so the caller can check them bucket-wide.
pub fn validate(
    file: &str,
    text: &str,
    runbooks: &BTreeSet<String>,
) -> Result<Vec<String>, String> {
    let path = format!("_prometheus/alerts/{file}");
    if text.trim().is_empty() {
        return Err(format!("{path} is empty"));
    }
    let doc = parse(text).map_err(|e| format!("{path}: {e}"))?;
    let groups = match doc.as_mapping().map(|m| m.get("groups")) {
        Some(Some(Value::Sequence(groups))) if !groups.is_empty() => groups,
        Some(_) => return Err(format!("{path}: groups: must be a non-empty sequence")),
        None if doc.is_null() => return Err(format!("{path} is empty")),
        None => return Err(format!("{path}: must be a mapping with a groups sequence")),
    };
    let mut names = BTreeSet::new();
    let mut alerts = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let position = format!("groups[{g}]");
        let rules =
            check_group(group, &mut names).map_err(|p| format!("{path}: {position}: {p}"))?;
        for (r, rule) in rules.iter().enumerate() {
            let alert = check_rule(rule, runbooks)
                .map_err(|p| format!("{path}: {position}.rules[{r}]: {p}"))?;
            alerts.extend(alert.map(str::to_string));
        }
    }
    Ok(alerts)
}

/// The group's rules, once its name is known to be present and new in `names`.
fn check_group<'a>(group: &'a Value, names: &mut BTreeSet<&'a str>) -> Result<&'a [Value], String> {
    let group = group.as_mapping().ok_or("must be a mapping")?;
    let name = text_field(group, "name").map_err(|()| "name must be a string")?;
    let name = name.ok_or("missing name")?;
    if !names.insert(name) {
        return Err(format!("duplicate group name {name:?}"));
    }
    match group.get("rules") {
        Some(Value::Sequence(rules)) => Ok(rules),
        _ => Err("rules must be a sequence".to_string()),
    }
}

/// The rule's alert name, or `None` for a recording rule.
fn check_rule<'a>(rule: &'a Value, runbooks: &BTreeSet<String>) -> Result<Option<&'a str>, String> {
    let rule = rule.as_mapping().ok_or("must be a mapping")?;
    let alert = text_field(rule, "alert").map_err(|()| "alert must be a string")?;
    let record = text_field(rule, "record").map_err(|()| "record must be a string")?;
    let name = match (alert, record) {
        (Some(_), Some(_)) => return Err("must define either alert or record, not both".into()),
        (None, None) => return Err("must define alert or record".into()),
        (Some(name), None) | (None, Some(name)) => name,
    };
    match rule.get("expr") {
        Some(Value::String(expr)) if !expr.trim().is_empty() => {}
        Some(Value::Number(_)) => {}
        None | Some(Value::Null | Value::String(_)) => {
            return Err(format!("{name:?} missing expr"))
        }
        Some(_) => return Err(format!("{name:?} expr must be a string")),
    }
    let Some(alert) = alert else { return Ok(None) };
    let runbook = runbook(rule)
        .map_err(|()| format!("alert {alert:?} annotations.runbook must be a string"))?;
    match runbook {
        Some(runbook) if !runbooks.contains(runbook) => Err(format!(
            "alert {alert:?} references missing runbook {runbook:?}"
        )),
        _ => Ok(Some(alert)),
    }
}

/// Lets an alert carry a short runbook slug in the workspace while the staged file holds a
/// link Alertmanager and the UI can follow. Comments are lost when a file is rewritten,
/// which is why files without runbooks are passed through untouched.
pub fn rewrite_runbook_links(text: &str, job: &str, base: &str) -> Result<String, String> {
    let mut doc = parse(text).map_err(|e| e.to_string())?;
    let base = base.trim_end_matches('/');
    let mut changed = false;
    for rule in alerting_rules(&mut doc) {
        let Ok(Some(slug)) = runbook(rule) else {
            continue;
        };
        let url = Value::from(format!("{base}/consoles/runbooks/{job}/{slug}.html"));
        let Some(Value::Mapping(annotations)) = rule.get_mut("annotations") else {
            continue;
        };
        let author_url = annotations.get("runbook_url").is_some_and(|v| !is_blank(v));
        if author_url {
            annotations.shift_remove("runbook");
        } else if let Some(slot) = annotations.get_mut("runbook_url") {
            *slot = url;
            annotations.shift_remove("runbook");
        } else {
            // The link takes the slug's place so the annotation order stays as written.
            let renamed = annotations.iter().map(|(k, v)| match k.as_str() {
                Some("runbook") => (Value::from("runbook_url"), url.clone()),
                _ => (k.clone(), v.clone()),
            });
            *annotations = renamed.collect();
        }
        changed = true;
    }
    if !changed {
        return Ok(text.to_string());
    }
    serde_yaml_ng::to_string(&doc).map_err(|e| e.to_string())
}

/// Prometheus resolves `<<` merge keys, so rules built from a shared anchor are checked and
/// rewritten as Prometheus will see them.
fn parse(text: &str) -> Result<Value, serde_yaml_ng::Error> {
    let mut doc: Value = serde_yaml_ng::from_str(text)?;
    doc.apply_merge()?;
    Ok(doc)
}

/// `Ok(None)` for an absent, null or empty field: Prometheus treats an empty `alert` or
/// `record` as not set. `Err` for anything but a string.
fn text_field<'a>(map: &'a Mapping, key: &str) -> Result<Option<&'a str>, ()> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str()).filter(|s| !s.is_empty())),
        Some(_) => Err(()),
    }
}

/// The rule's non-empty `annotations.runbook` slug.
fn runbook(rule: &Mapping) -> Result<Option<&str>, ()> {
    match rule.get("annotations") {
        Some(Value::Mapping(annotations)) => text_field(annotations, "runbook"),
        _ => Ok(None),
    }
}

fn is_blank(value: &Value) -> bool {
    value.is_null() || value.as_str() == Some("")
}

/// Every rule mapping with a non-empty string `alert`, wherever the file's shape allows
/// one; anything malformed is skipped because `validate` has already reported it.
fn alerting_rules(doc: &mut Value) -> impl Iterator<Item = &mut Mapping> {
    let groups = doc
        .get_mut("groups")
        .and_then(Value::as_sequence_mut)
        .into_iter()
        .flatten();
    groups
        .filter_map(|group| group.get_mut("rules").and_then(Value::as_sequence_mut))
        .flatten()
        .filter_map(Value::as_mapping_mut)
        .filter(|rule| matches!(text_field(rule, "alert"), Ok(Some(_))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runbooks(slugs: &[&str]) -> BTreeSet<String> {
        slugs.iter().map(|s| s.to_string()).collect()
    }

    fn check(text: &str) -> Result<Vec<String>, String> {
        validate("slo.yaml", text, &runbooks(&["latency"]))
    }

    fn err(text: &str) -> String {
        check(text).unwrap_err()
    }

    const GOOD: &str = "\
groups:
  - name: api
    rules:
      - alert: HighLatency
        expr: latency > 1
        annotations:
          runbook: latency
      - record: job:requests:rate5m
        expr: rate(requests[5m])
  - name: always
    rules:
      - alert: Watchdog
        expr: 1
";

    #[test]
    fn valid_file_returns_alert_names_in_file_order() {
        assert_eq!(check(GOOD).unwrap(), vec!["HighLatency", "Watchdog"]);
    }

    #[test]
    fn empty_group_rules_are_allowed() {
        assert_eq!(
            check("groups:\n  - name: g\n    rules: []\n").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn empty_and_comment_only_files_are_empty() {
        assert_eq!(err(""), "_prometheus/alerts/slo.yaml is empty");
        assert_eq!(err("  \n"), "_prometheus/alerts/slo.yaml is empty");
        assert_eq!(
            err("# nothing yet\n"),
            "_prometheus/alerts/slo.yaml is empty"
        );
    }

    #[test]
    fn yaml_syntax_errors_carry_line_and_column() {
        let e = err("groups:\n  - name: a\n   bad: [\n");
        assert!(e.starts_with("_prometheus/alerts/slo.yaml: "), "{e}");
        assert!(e.contains("line 3 column"), "{e}");
    }

    #[test]
    fn shape_errors_name_the_position() {
        let cases = [
            (
                "- a\n",
                "_prometheus/alerts/slo.yaml: must be a mapping with a groups sequence",
            ),
            (
                "rules: []\n",
                "_prometheus/alerts/slo.yaml: groups: must be a non-empty sequence",
            ),
            (
                "groups: []\n",
                "_prometheus/alerts/slo.yaml: groups: must be a non-empty sequence",
            ),
            (
                "groups: [x]\n",
                "_prometheus/alerts/slo.yaml: groups[0]: must be a mapping",
            ),
            (
                "groups:\n  - rules: []\n",
                "_prometheus/alerts/slo.yaml: groups[0]: missing name",
            ),
            (
                "groups:\n  - name: ''\n    rules: []\n",
                "_prometheus/alerts/slo.yaml: groups[0]: missing name",
            ),
            (
                "groups:\n  - name: [a]\n    rules: []\n",
                "_prometheus/alerts/slo.yaml: groups[0]: name must be a string",
            ),
            (
                "groups:\n  - name: g\n",
                "_prometheus/alerts/slo.yaml: groups[0]: rules must be a sequence",
            ),
            (
                "groups:\n  - name: g\n    rules: [1]\n",
                "_prometheus/alerts/slo.yaml: groups[0].rules[0]: must be a mapping",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), want, "{text}");
        }
    }

    #[test]
    fn duplicate_group_name() {
        let text = "groups:\n  - name: x\n    rules: []\n  - name: x\n    rules: []\n";
        assert_eq!(
            err(text),
            r#"_prometheus/alerts/slo.yaml: groups[1]: duplicate group name "x""#
        );
    }

    #[test]
    fn rule_errors() {
        let rule = |body: &str| {
            format!("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n      - {body}\n")
        };
        let cases = [
            (
                "{alert: B, record: b, expr: up}",
                "groups[0].rules[1]: must define either alert or record, not both",
            ),
            (
                "{expr: up}",
                "groups[0].rules[1]: must define alert or record",
            ),
            (
                "{alert: '', expr: up}",
                "groups[0].rules[1]: must define alert or record",
            ),
            (
                "{alert: 5, expr: up}",
                "groups[0].rules[1]: alert must be a string",
            ),
            (
                "{record: [r], expr: up}",
                "groups[0].rules[1]: record must be a string",
            ),
            (
                "{alert: HighLatency}",
                r#"groups[0].rules[1]: "HighLatency" missing expr"#,
            ),
            (
                "{record: r, expr: ' '}",
                r#"groups[0].rules[1]: "r" missing expr"#,
            ),
            (
                "{alert: B, expr: {a: 1}}",
                r#"groups[0].rules[1]: "B" expr must be a string"#,
            ),
            (
                "{alert: B, expr: up, annotations: {runbook: 3}}",
                r#"groups[0].rules[1]: alert "B" annotations.runbook must be a string"#,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                err(&rule(body)),
                format!("_prometheus/alerts/slo.yaml: {want}"),
                "{body}"
            );
        }
    }

    #[test]
    fn missing_expr_message_matches_spec_for_first_rule() {
        let text = "groups:\n  - name: g\n    rules:\n      - alert: HighLatency\n";
        assert_eq!(
            err(text),
            r#"_prometheus/alerts/slo.yaml: groups[0].rules[0]: "HighLatency" missing expr"#
        );
    }

    #[test]
    fn runbook_must_exist_in_the_job() {
        let text = "groups:\n  - name: g\n    rules:\n      - alert: HighLatency\n        expr: up\n        annotations: {runbook: latency}\n";
        let e = validate("slo.yaml", text, &runbooks(&["other"])).unwrap_err();
        assert_eq!(
            e,
            r#"_prometheus/alerts/slo.yaml: groups[0].rules[0]: alert "HighLatency" references missing runbook "latency""#
        );
        assert_eq!(
            validate("slo.yaml", text, &runbooks(&["latency"])).unwrap(),
            vec!["HighLatency"]
        );
    }

    #[test]
    fn empty_runbook_annotation_is_no_reference() {
        let text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations: {runbook: ''}\n";
        assert_eq!(
            validate("slo.yaml", text, &runbooks(&[])).unwrap(),
            vec!["A"]
        );
    }

    #[test]
    fn files_without_runbooks_pass_through_byte_for_byte() {
        let text = "# keep me\ngroups:\n  - name: g   # odd spacing\n    rules:\n      - alert: A\n        expr: 'up == 0'\n        annotations: {summary: x}\n";
        assert_eq!(
            rewrite_runbook_links(text, "api", "http://10.0.0.1:9090").unwrap(),
            text
        );
    }

    #[test]
    fn rewrite_sets_url_and_keeps_everything_else_in_order() {
        let text = "\
zeta: 1
groups:
  - name: api
    interval: 30s
    limit: 10
    labels:
      team: core
    x-custom: kept
    rules:
      - alert: HighLatency
        expr: |
          histogram_quantile(0.99, rate(latency_bucket[5m]))
            > 1
        for: 5m
        keep_firing_for: 10m
        labels:
          severity: page
        annotations:
          summary: slow
          runbook: latency
          description: look
      - record: job:r
        expr: rate(r[5m])
alpha: two
";
        let want = "\
zeta: 1
groups:
- name: api
  interval: 30s
  limit: 10
  labels:
    team: core
  x-custom: kept
  rules:
  - alert: HighLatency
    expr: |
      histogram_quantile(0.99, rate(latency_bucket[5m]))
        > 1
    for: 5m
    keep_firing_for: 10m
    labels:
      severity: page
    annotations:
      summary: slow
      runbook_url: http://10.0.0.1:9090/consoles/runbooks/api/latency.html
      description: look
  - record: job:r
    expr: rate(r[5m])
alpha: two
";
        assert_eq!(
            rewrite_runbook_links(text, "api", "http://10.0.0.1:9090").unwrap(),
            want
        );
    }

    #[test]
    fn author_runbook_url_wins_and_runbook_is_dropped() {
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      runbook_url: https://wiki/a\n      runbook: latency\n";
        let want = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      runbook_url: https://wiki/a\n";
        assert_eq!(
            rewrite_runbook_links(text, "api", "http://h:1").unwrap(),
            want
        );
    }

    #[test]
    fn blank_author_runbook_url_is_filled_in_place() {
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      runbook_url: ''\n      summary: s\n      runbook: latency\n";
        let want = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      runbook_url: /consoles/runbooks/api/latency.html\n      summary: s\n";
        assert_eq!(rewrite_runbook_links(text, "api", "").unwrap(), want);
    }

    #[test]
    fn path_only_base_gives_path_only_url() {
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      runbook: latency\n";
        let out = rewrite_runbook_links(text, "api", "").unwrap();
        assert!(
            out.contains("      runbook_url: /consoles/runbooks/api/latency.html\n"),
            "{out}"
        );
        assert!(!out.contains("runbook:"), "{out}");
    }

    #[test]
    fn rewritten_file_still_validates() {
        let out = rewrite_runbook_links(GOOD, "api", "http://10.0.0.1:9090").unwrap();
        assert_eq!(check(&out).unwrap(), vec!["HighLatency", "Watchdog"]);
        assert!(out.contains("expr: 1\n"), "{out}");
    }

    #[test]
    fn merge_keys_are_resolved() {
        let text = "\
groups:
- name: g
  rules:
  - alert: A
    expr: up
    annotations: &common
      runbook: latency
  - <<: {expr: up, annotations: *common}
    alert: B
";
        assert_eq!(check(text).unwrap(), vec!["A", "B"]);
        let out = rewrite_runbook_links(text, "api", "").unwrap();
        assert_eq!(
            out.matches("runbook_url: /consoles/runbooks/api/latency.html")
                .count(),
            2,
            "{out}"
        );
    }

    #[test]
    fn rewrite_reports_yaml_errors() {
        assert!(rewrite_runbook_links("groups: [\n", "api", "").is_err());
    }
}
