//! Renders a 200-line template with 30 `get` calls 10,000 times, as deploy
//! staging does once per allocation (the parsed file is reused from the
//! per-thread cache), and times `check` (a full parse) separately.
//! No criterion: `cargo bench -p maand-template` runs it as is.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use maand_template::{check, render, Context, Dialect, KvSource};

struct Kv(HashMap<(String, String), String>);

impl KvSource for Kv {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<String>, String> {
        Ok(self
            .0
            .get(&(namespace.to_string(), key.to_string()))
            .cloned())
    }

    fn keys(&self, namespace: &str) -> Result<Vec<String>, String> {
        let mut keys: Vec<String> = self
            .0
            .keys()
            .filter(|(n, _)| n == namespace)
            .map(|(_, k)| k.clone())
            .collect();
        keys.sort();
        Ok(keys)
    }
}

/// 200 lines: 30 with a `get`, the rest a realistic mix of plain config
/// text, dot fields, arithmetic, conditionals and a range.
fn template() -> String {
    let mut lines = Vec::new();
    for i in 0..30 {
        lines.push(format!(
            "key_{i} = {{{{ get \"vars/job/api\" \"key_{i}\" }}}}"
        ));
    }
    lines.push("{{- $mem := int (get \"vars/job/api\" \"memory\") }}".to_string());
    lines.push("{{- range $i, $ip := split (get \"maand/worker\" \"peers\") \",\" }}".to_string());
    lines.push("server.{{ add $i 1 }} = {{ $ip }}:2888:3888".to_string());
    lines.push("{{- end }}".to_string());
    while lines.len() < 200 {
        let n = lines.len();
        lines.push(match n % 5 {
            0 => format!("# setting {n}: plain text ${{VAR}} \"$@\" stays as is"),
            1 => format!("listen_{n} = {{{{ .WorkerIP }}}}:{{{{ add 8000 {n} }}}}"),
            2 => format!("heap_{n} = {{{{ div $mem 4 }}}}m"),
            3 => format!("{{{{ if eq .Job \"api\" }}}}role_{n} = primary{{{{ else }}}}role_{n} = replica{{{{ end }}}}"),
            _ => format!("path_{n} = {{{{ .JobPath }}}}/data/{n}"),
        });
    }
    lines.join("\n") + "\n"
}

fn main() {
    let mut kv = HashMap::new();
    for i in 0..30 {
        kv.insert(
            ("vars/job/api".to_string(), format!("key_{i}")),
            format!("value-{i}"),
        );
    }
    kv.insert(("vars/job/api".into(), "memory".into()), "2048".into());
    kv.insert(
        ("maand/worker".into(), "peers".into()),
        "10.0.0.1,10.0.0.2,10.0.0.3".into(),
    );
    let kv = Kv(kv);
    let ctx = Context {
        job: "api".into(),
        worker_ip: "10.0.0.1".into(),
        job_path: "/opt/worker/bkt-1/jobs/api".into(),
        ..Context::default()
    };
    let src = template();
    assert_eq!(src.lines().count(), 200);
    let first = render("conf/app.conf.tpl", &src, Dialect::Deploy, &ctx, &kv);
    let bytes = match first {
        Ok(out) => out.len(),
        Err(e) => panic!("benchmark template failed: {e}"),
    };

    const RUNS: u32 = 10_000;
    let start = Instant::now();
    for _ in 0..RUNS {
        let out = render(
            "conf/app.conf.tpl",
            black_box(&src),
            Dialect::Deploy,
            &ctx,
            &kv,
        );
        black_box(out.is_ok());
    }
    let elapsed = start.elapsed();
    println!(
        "render: 200-line template, 30 get calls, {bytes} output bytes: {RUNS} renders in {:.3} s = {:.1} µs/render ({:.0} renders/s)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / f64::from(RUNS),
        f64::from(RUNS) / elapsed.as_secs_f64()
    );

    const PARSES: u32 = 1_000;
    let start = Instant::now();
    for _ in 0..PARSES {
        black_box(check("conf/app.conf.tpl", black_box(&src), Dialect::Deploy).is_ok());
    }
    let parse = start.elapsed();
    println!(
        "check: the same template parsed {PARSES} times in {:.3} s = {:.1} µs/parse",
        parse.as_secs_f64(),
        parse.as_secs_f64() * 1e6 / f64::from(PARSES)
    );

    // The same file plus a named template recursing 100 deep: past 32 levels
    // the render restarts on a big-stack helper thread, with KV calls
    // relayed to this thread.
    let deep = format!(
        "{{{{ define \"r\" }}}}{{{{ if lt . 100 }}}}{{{{ template \"r\" (add . 1) }}}}{{{{ end }}}}{{{{ end }}}}{{{{ template \"r\" 0 }}}}{src}"
    );
    let start = Instant::now();
    for _ in 0..PARSES {
        let out = render(
            "conf/app.conf.tpl",
            black_box(&deep),
            Dialect::Deploy,
            &ctx,
            &kv,
        );
        black_box(out.is_ok());
    }
    let offloaded = start.elapsed();
    println!(
        "render, same file + templates nested 100 deep (helper thread): {PARSES} renders in {:.3} s = {:.1} µs/render",
        offloaded.as_secs_f64(),
        offloaded.as_secs_f64() * 1e6 / f64::from(PARSES)
    );
}
