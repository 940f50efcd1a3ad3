//! `maand collect facts` against real workers (spec 09 §6). Workers share the host's
//! `/proc`, so the expected values come from this machine.

use crate::harness::FleetBucket;

/// `("<n> mb", "<n> mhz")` as the probe computes them here, by running the same script
/// locally (`bash`), so the test checks plumbing and file handling exactly.
fn expected() -> (String, String) {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(maand::facts::PROBE_SCRIPT)
        .output()
        .unwrap();
    assert!(out.status.success(), "probe script fails here: {out:?}");
    let f = maand::facts::parse_probe(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert_eq!(f.memory_mb, mem_kb.div_ceil(1024), "memory rounded up");
    (f.memory(), f.cpu())
}

#[test]
fn dry_run_write_keeps_fields_then_up_to_date() {
    let Some(b) = FleetBucket::new("dry_run_write_keeps_fields_then_up_to_date", 2) else {
        return;
    };
    let (h0, h1) = (b.host(0), b.host(1));
    let original = format!(
        r#"[
    {{"rack": "r7", "host": "{h0}", "labels": ["db"], "tags": {{"zone": "a"}}, "memory": "1 gb", "position": 0, "hostname": "node-a"}},
    {{"host": "{h1}", "cpu": "1 mhz", "note": {{"x": [1, 2]}}}}
]"#
    );
    b.write("workspace/workers.json", &original);
    let (mem, cpu) = expected();

    let out = b.maand(&["collect", "facts", "--dry-run", "-c", "2"]).ok();
    assert_eq!(
        out.count_line(&format!(
            r#"would update {h0} memory "1 gb" -> "{mem}" cpu "" -> "{cpu}""#
        )),
        1,
        "{out:#?}"
    );
    assert_eq!(
        out.count_line(&format!(
            r#"would update {h1} memory "" -> "{mem}" cpu "1 mhz" -> "{cpu}""#
        )),
        1
    );
    out.has("dry run: workers.json not modified");
    assert_eq!(b.read("workspace/workers.json"), original);

    let out = b.maand(&["collect", "facts"]).ok();
    assert_eq!(
        out.count_line(&format!(
            r#"update {h0} memory "1 gb" -> "{mem}" cpu "" -> "{cpu}""#
        )),
        1
    );
    out.has("updated 2 worker(s) in workers.json");
    let text = b.read("workspace/workers.json");
    assert_eq!(
        text,
        format!(
            r#"[
  {{
    "host": "{h0}",
    "hostname": "node-a",
    "labels": [
      "db"
    ],
    "memory": "{mem}",
    "cpu": "{cpu}",
    "tags": {{
      "zone": "a"
    }},
    "position": 0,
    "rack": "r7"
  }},
  {{
    "host": "{h1}",
    "memory": "{mem}",
    "cpu": "{cpu}",
    "note": {{
      "x": [
        1,
        2
      ]
    }}
  }}
]
"#
        )
    );

    // The alias, one worker, nothing left to change.
    let out = b.maand(&["worker_facts", "-w", &h1]).ok();
    out.has("workers.json already up to date").lacks("update ");
    assert_eq!(b.read("workspace/workers.json"), text);
}

#[test]
fn one_dead_worker_writes_nothing() {
    let Some(mut b) = FleetBucket::new("one_dead_worker_writes_nothing", 3) else {
        return;
    };
    let before = b.read("workspace/workers.json");
    b.fleet.kill(1).unwrap();
    let dead = b.host(1);
    let out = b.maand(&["collect", "facts", "-c", "3"]).failed();
    out.has("worker facts probe failed:");
    let line = out
        .lines()
        .into_iter()
        .find(|l| l.starts_with(&format!("worker {dead}: ")))
        .unwrap_or_else(|| panic!("no line for {dead}: {out:#?}"));
    assert!(line.contains("Connection refused"), "{line}");
    out.lacks(&format!("worker {}: ", b.host(0)));
    out.lacks("updated");
    assert_eq!(b.read("workspace/workers.json"), before);
}

#[test]
fn filters_and_build() {
    let Some(b) = FleetBucket::new("filters_and_build", 2) else {
        return;
    };
    let (h0, h1) = (b.host(0), b.host(1));
    b.write(
        "workspace/workers.json",
        format!(r#"[{{"host":"{h0}","labels":["DB"]}},{{"host":"{h1}"}}]"#),
    );
    b.maand(&["collect", "facts", "-w", "10.1.1.1"])
        .failed()
        .has("unknown workers: 10.1.1.1");
    b.maand(&["collect", "facts", "-w", &h0, "-l", "db"])
        .failed()
        .has("use either --workers or --labels, not both");
    b.maand(&["collect", "facts", "-l", "nope"])
        .failed()
        .has("no workers matched the requested filters");
    b.maand(&["collect", "facts", "-c", "0"])
        .failed()
        .has("concurrency must be at least 1");

    let (mem, cpu) = expected();
    let out = b.maand(&["collect", "facts", "-l", "db", "--build"]).ok();
    out.has("updated 1 worker(s) in workers.json")
        .has("build: ");
    out.lacks(&format!("update {h1}"));
    let v: serde_json::Value =
        serde_json::from_str(&b.maand(&["cat", "workers", "--output", "json"]).ok().stdout)
            .unwrap();
    let mb: f64 = mem.trim_end_matches(" mb").parse().unwrap();
    let mhz: f64 = cpu.trim_end_matches(" mhz").parse().unwrap();
    assert_eq!(v[0]["worker_ip"], h0.as_str());
    assert_eq!(v[0]["memory_mb"].as_f64(), Some(mb));
    assert_eq!(v[0]["cpu_mhz"].as_f64(), Some(mhz));
    assert_eq!(v[1]["memory_mb"].as_f64(), Some(0.0));
}
