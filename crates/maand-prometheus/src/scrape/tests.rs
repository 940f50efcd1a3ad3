use super::*;
use serde_json::json;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn check(text: &str, ports: &[&str]) -> Result<Scrape, String> {
    let ports = set(ports);
    let workers = set(&["10.0.0.1", "10.0.0.2"]);
    validate(
        "scrape.yaml",
        text,
        &JobView {
            job: "api",
            ports: &ports,
            workers: &workers,
        },
    )
}

const GOOD: &str = "\
- job_name: maand:job
  metrics_path: /metrics
  static_configs:
    - targets: ['maand:port/api_metrics_port', 'static:9100']
      labels: { team: maand:job }
";

#[test]
fn valid_file_keeps_placeholders() {
    let s = check(GOOD, &["api_metrics_port"]).unwrap();
    assert_eq!(s.job_names, vec!["api"]);
    assert!(s.uses_ports);
    assert_eq!(
        s.configs,
        vec![json!({"job_name": "maand:job", "metrics_path": "/metrics",
            "static_configs": [{"targets": ["maand:port/api_metrics_port", "static:9100"],
                                "labels": {"team": "maand:job"}}]})]
    );
    let literal = check(
        "- job_name: x\n  static_configs: [{targets: ['a:1']}]\n",
        &[],
    )
    .unwrap();
    assert!(!literal.uses_ports);
}

#[test]
fn every_validation_error() {
    let cases: &[(&str, &[&str], &str)] = &[
        ("  \n", &[], "scrape.yaml is empty"),
        ("a: b\n", &[], "scrape.yaml: must be a YAML sequence of scrape configs"),
        ("[]\n", &[], "scrape.yaml: must be a YAML sequence of scrape configs"),
        ("- x\n", &[], "scrape.yaml[0]: must be a mapping"),
        ("- metrics_path: /m\n", &[], "scrape.yaml[0]: missing job_name"),
        ("- job_name: ''\n", &[], "scrape.yaml[0]: missing job_name"),
        (
            "- job_name: a\n  dns_sd_configs: []\n",
            &[],
            "scrape.yaml[0].dns_sd_configs is not supported (use static_configs with maand:port placeholders)",
        ),
        ("- job_name: a\n", &[], "scrape.yaml[0]: static_configs must be a non-empty sequence"),
        ("- job_name: a\n  static_configs: []\n", &[], "scrape.yaml[0]: static_configs must be a non-empty sequence"),
        ("- job_name: a\n  static_configs: [x]\n", &[], "scrape.yaml[0].static_configs[0]: must be a mapping"),
        ("- job_name: a\n  static_configs: [{targets: []}]\n", &[], "scrape.yaml[0].static_configs[0]: targets must be a non-empty sequence"),
        ("- job_name: a\n  static_configs: [{targets: [1]}]\n", &[], "scrape.yaml[0].static_configs[0].targets[0]: must be a string"),
        (
            "- job_name: a\n  static_configs: [{targets: ['a:1'], labels: [x]}]\n",
            &[],
            "scrape.yaml[0].static_configs[0].labels: must be a mapping of strings",
        ),
        (
            "- job_name: a\n  static_configs: [{targets: ['a:1'], labels: {n: [1]}}]\n",
            &[],
            "scrape.yaml[0].static_configs[0].labels.n: must be a string",
        ),
        (
            "- job_name: a\n  static_configs: [{targets: ['a:1']}, {targets: ['maand:port/x']}]\n",
            &["y"],
            "scrape.yaml[0].static_configs[1].targets[0]: port \"x\" is not declared in manifest resources.ports",
        ),
        (
            "- job_name: a\n  static_configs: [{targets: ['maand:port/']}]\n",
            &[],
            "scrape.yaml[0].static_configs[0].targets[0]: \"maand:port/\" has an empty port key",
        ),
        (
            "- job_name: a\n  static_configs: [{targets: ['maand:port/p/10.0.0.1/x']}]\n",
            &["p"],
            "scrape.yaml[0].static_configs[0].targets[0]: \"maand:port/p/10.0.0.1/x\" has more than one /<ip> segment",
        ),
        (
            "- job_name: a\n  static_configs: [{targets: ['maand:port/p/10.0.0.9']}]\n",
            &["p"],
            "scrape.yaml[0].static_configs[0].targets[0]: worker 10.0.0.9 has no allocation of job api",
        ),
        (
            "- job_name: a\n  static_configs: [{targets: ['maand:host']}]\n",
            &[],
            "scrape.yaml[0].static_configs[0].targets[0]: unknown placeholder \"maand:host\" (targets take maand:port/<key>[/<ip>])",
        ),
        (
            "- job_name: a\n  static_configs: [{targets: ['maand:port/_implicit']}]\n",
            &["http"],
            "scrape.yaml[0].static_configs[0].targets[0]: uses maand:port/_implicit but no metrics port is declared in manifest",
        ),
        (
            "- job_name: a\n  static_configs: [{targets: ['maand:port/_implicit']}]\n",
            &["a_metrics_port", "b_metrics_port"],
            "scrape.yaml[0].static_configs[0].targets[0]: ambiguous metrics ports [a_metrics_port, b_metrics_port]; set an explicit port in scrape.yaml",
        ),
    ];
    for (text, ports, want) in cases {
        assert_eq!(check(text, ports).unwrap_err(), *want, "{text}");
    }
    assert!(check("- [", &[]).unwrap_err().starts_with("scrape.yaml: "));
}

#[test]
fn implicit_key_resolution_order() {
    let ok = |ports: &[&str]| {
        check(
            "- job_name: a\n  static_configs: [{targets: ['maand:port/_implicit/10.0.0.1']}]\n",
            ports,
        )
    };
    ok(&["api_metrics_port", "metrics_port", "x_metrics_port"]).unwrap();
    ok(&["metrics_port", "x_metrics_port", "y_metrics_port"]).unwrap();
    ok(&["x_metrics_port", "http"]).unwrap();
    let ports: BTreeMap<String, Option<u16>> = [
        ("api_metrics_port".to_string(), Some(1)),
        ("metrics_port".to_string(), Some(2)),
    ]
    .into();
    let active = vec!["10.0.0.1".to_string()];
    let live = Live {
        job: "api",
        ports: &ports,
        active: &active,
    };
    let configs =
        vec![json!({"job_name": "a", "static_configs": [{"targets": ["maand:port/_implicit"]}]})];
    let out = expand(&configs, &live, &mut vec![]).unwrap().unwrap();
    assert_eq!(
        out[0]["static_configs"][0]["targets"],
        json!(["10.0.0.1:1"])
    );
}

fn live_ports() -> BTreeMap<String, Option<u16>> {
    [
        ("api_metrics_port".to_string(), Some(9100)),
        ("unassigned".to_string(), None),
    ]
    .into()
}

#[test]
fn expansion_over_active_allocations() {
    let ports = live_ports();
    let active = vec![
        "10.0.0.2".to_string(),
        "10.0.0.1".to_string(),
        "fd00::1".to_string(),
    ];
    let live = Live {
        job: "api",
        ports: &ports,
        active: &active,
    };
    let configs = check(GOOD, &["api_metrics_port"]).unwrap().configs;
    let mut warnings = vec![];
    let out = expand(&configs, &live, &mut warnings).unwrap().unwrap();
    assert_eq!(
        out,
        vec![json!({"job_name": "api", "metrics_path": "/metrics",
            "static_configs": [{"targets": ["10.0.0.2:9100", "10.0.0.1:9100", "[fd00::1]:9100", "static:9100"],
                                "labels": {"team": "api"}}]})]
    );
    assert!(warnings.is_empty());
}

#[test]
fn pinned_inactive_worker_is_dropped_and_empty_job_skipped() {
    let ports = live_ports();
    let active = vec!["10.0.0.1".to_string()];
    let live = Live {
        job: "api",
        ports: &ports,
        active: &active,
    };
    let pinned = vec![json!({"job_name": "a", "static_configs": [
        {"targets": ["maand:port/api_metrics_port/10.0.0.1", "maand:port/api_metrics_port/10.0.0.2"]}]})];
    let mut warnings = vec![];
    let out = expand(&pinned, &live, &mut warnings).unwrap().unwrap();
    assert_eq!(
        out[0]["static_configs"][0]["targets"],
        json!(["10.0.0.1:9100"])
    );
    assert_eq!(
        warnings,
        vec!["prometheus: job api target maand:port/api_metrics_port/10.0.0.2 dropped: the allocation on 10.0.0.2 is not active"]
    );
    let none = Live {
        job: "api",
        ports: &ports,
        active: &[],
    };
    let all = vec![json!({"job_name": "a", "static_configs": [
        {"targets": ["x:1"]}, {"targets": ["maand:port/api_metrics_port"]}]})];
    assert_eq!(expand(&all, &none, &mut vec![]).unwrap(), None);
}

#[test]
fn unassigned_port_is_an_error() {
    let ports = live_ports();
    let active = vec!["10.0.0.1".to_string()];
    let live = Live {
        job: "api",
        ports: &ports,
        active: &active,
    };
    let configs =
        vec![json!({"job_name": "a", "static_configs": [{"targets": ["maand:port/unassigned"]}]})];
    assert_eq!(
        expand(&configs, &live, &mut vec![]).unwrap_err(),
        "job api: port \"unassigned\" has no assigned number (run maand build)"
    );
}

#[test]
fn fragment_is_indented_sorted_yaml() {
    assert_eq!(fragment(&[]), "");
    let configs = vec![
        json!({"job_name": "api", "static_configs": [{"targets": ["10.0.0.1:1"], "labels": {"b": "2", "a": "1"}}], "metrics_path": "/m"}),
    ];
    let f = fragment(&configs);
    assert_eq!(
        f,
        "\n  - job_name: api\n    metrics_path: /m\n    static_configs:\n    - labels:\n        a: '1'\n        b: '2'\n      targets:\n      - 10.0.0.1:1"
    );
    // Under an indented `scrape_configs:` it joins the list.
    let doc = format!(
        "scrape_configs:\n  - job_name: own\n    static_configs: [{{targets: ['x:1']}}]\n{f}\n"
    );
    let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&doc).unwrap();
    let list = parsed["scrape_configs"].as_sequence().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["static_configs"][0]["labels"]["a"], "1");
}
