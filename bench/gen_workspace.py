#!/usr/bin/env python3
"""Generate a realistic maand workspace of N workers x M jobs (standard library only).

    gen_workspace.py BUCKET_DIR --workers N --jobs M

Writes BUCKET_DIR/workspace/{workers.json,bucket.conf,bucket.jobs.conf} and
BUCKET_DIR/workspace/jobs/<job>/ (manifest.json, Makefile, vars.toml, a template, a
static file and, for every fifth job, a hook). Run `maand init` in BUCKET_DIR first.

Shape:
- workers carry 2 of 10 group labels (g0..g9) plus a rack label, memory "64 gb", cpu
  "32 ghz", tags zone/rack; so each job (selecting one group) lands on ~1/5 of the workers
  and a worker hosts ~M/5 jobs.
- every job declares two pool ports ({}) and reserves 512 MB / 250 MHz (the bucket.jobs.conf
  overrides a third of them to 768 MB), well within capacity.
- every fifth job has a hook `command_ready`; from the second one on it demands the
  previous hook job's `command_ready`, so deployment_seq runs 0..M/5-1.
"""

import argparse
import json
import os


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bucket")
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--jobs", type=int, default=50)
    a = ap.parse_args()
    ws = os.path.join(a.bucket, "workspace")
    groups = 10

    workers = []
    for i in range(a.workers):
        host = "10.%d.%d.%d" % (i // 65536 % 256, i // 256 % 256, i % 256 + 0)
        g1, g2 = i % groups, (i // groups + i + 1) % groups
        if g2 == g1:
            g2 = (g1 + 1) % groups
        workers.append(
            {
                "host": host,
                "hostname": "node-%05d" % i,
                "labels": ["g%d" % g1, "g%d" % g2, "rack%d" % (i % 20)],
                "memory": "64 gb",
                "cpu": "32 ghz",
                "tags": {"zone": "z%d" % (i % 3), "rack": "r%d" % (i % 20)},
            }
        )
    write(os.path.join(ws, "workers.json"), json.dumps(workers, indent=2) + "\n")
    write(
        os.path.join(ws, "bucket.conf"),
        'port_min = "30000"\nport_max = "39999"\nenvironment = "bench"\nregion = "eu-west"\n',
    )

    names = ["job%02d" % j for j in range(a.jobs)]
    hook_jobs = [n for j, n in enumerate(names) if j % 5 == 0]
    jobs_conf = []
    for j, name in enumerate(names):
        d = os.path.join(ws, "jobs", name)
        manifest = {
            "version": "1.%d.0" % j,
            "selectors": ["g%d" % (j % groups)],
            "max_concurrent_upgrades": 2,
            "restart_policy": "reload",
            "restart_globs": ["Makefile", "conf/*.yml"],
            "resources": {
                "memory": {"min": "256 mb", "max": "1 gb"},
                "cpu": {"min": "100 mhz", "max": "500 mhz"},
                "ports": {"%s_http_port" % name: {}, "%s_metrics_port" % name: {}},
            },
            "health_check": {
                "checks": [{"type": "tcp", "port": "%s_http_port" % name}],
            },
        }
        if name in hook_jobs:
            k = hook_jobs.index(name)
            hook = {"executed_on": ["pre_deploy", "cli"]}
            if k > 0:
                hook["demands"] = {
                    "job": hook_jobs[k - 1],
                    "command": "command_ready",
                    "config": {"min_version": "1.0.0"},
                }
            manifest["commands"] = {"command_ready": hook}
            write(
                os.path.join(d, "_modules", "command_ready.py"),
                "import maand\n\nprint('ready', maand.allocation_ip())\n",
            )
        write(os.path.join(d, "manifest.json"), json.dumps(manifest, indent=2) + "\n")
        write(
            os.path.join(d, "Makefile"),
            "start:\n\tdocker compose up -d\n\nstop:\n\tdocker compose down\n\n"
            "restart: stop start\n\nreload:\n\tdocker compose kill -s HUP\n\nstatus:\n\tdocker compose ps\n",
        )
        write(
            os.path.join(d, "vars.toml"),
            'log_level = "info"\nreplicas = %d\nfeature_x = true\nowner = "team-%d"\n' % (j % 4 + 1, j % 7),
        )
        write(
            os.path.join(d, "conf", "app.yml.tpl"),
            "listen: 0.0.0.0:{{ get \"maand/bucket\" \"%s_http_port\" }}\n"
            "metrics: {{ get \"maand/bucket\" \"%s_metrics_port\" }}\n"
            "memory_mb: {{ get \"maand/job/%s\" \"memory\" }}\n"
            "peers: {{ get \"maand/job/%s\" \"workers\" }}\n" % (name, name, name, name),
        )
        write(os.path.join(d, "conf", "static.yml"), "retries: 3\ntimeout: 5s\n" * 20)
        if j % 3 == 0:
            jobs_conf.append('[%s]\nmemory = "768 mb"\ncpu = "250 mhz"\nlog_level = "debug"\n' % name)
    write(os.path.join(ws, "bucket.jobs.conf"), "\n".join(jobs_conf))


if __name__ == "__main__":
    main()
