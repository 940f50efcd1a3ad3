#!/usr/bin/env bash
# Benchmark certificate issuance in `maand build` (release binary): a generated workspace
# of 10 workers x 5 jobs = 50 allocations, each job declaring 2 per-allocation certs
# (100 RSA leaves). Measures `maand init` (CA), the first build (every leaf issued), an
# unchanged rebuild (every leaf reused) and a forced renewal (certs_renewal_buffer >=
# certs_ttl: every leaf reissued), for production keys (4096) and MAAND_TEST=1 (2048).
#
#   crates/maand/tests/certs/bench.sh [RUNS]     (default RUNS=1; MAAND_BIN=path skips the build)
#
# Prints a Markdown table on stdout (wall and CPU seconds; CPU is what a busy machine
# cannot distort).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
if [ -n "${MAAND_BIN:-}" ]; then
  MAAND=$MAAND_BIN
else
  cargo build --release -p maand >&2
  target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  MAAND="$target_dir/release/maand"
fi
RUNS=${1:-1}

gen() {
  python3 - "$1" <<'PY'
import json, os, sys
ws = os.path.join(sys.argv[1], "workspace")
workers = [{"host": "10.1.0.%d" % (i + 1), "labels": ["app"], "memory": "64 gb", "cpu": "32 ghz"} for i in range(10)]
open(os.path.join(ws, "workers.json"), "w").write(json.dumps(workers, indent=1))
for j in range(5):
    d = os.path.join(ws, "jobs", "svc%d" % j)
    os.makedirs(d, exist_ok=True)
    m = {"selectors": ["app"], "certs": {
        "tls": {"subject": {"common_name": "svc%d.internal" % j}},
        "peer": {"pkcs8": True, "subject": {"common_name": "svc%d-peer" % j}}}}
    open(os.path.join(d, "manifest.json"), "w").write(json.dumps(m))
    open(os.path.join(d, "Makefile"), "w").write("start:\n")
PY
}

# timed LOG CMD...: runs CMD under GNU time; prints "wall_s cpu_s" (user + system)
timed() {
  local log=$1
  shift
  /usr/bin/time -o "$log.time" -f "%e %U %S" "$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  python3 -c 'import sys; w, u, s = map(float, open(sys.argv[1]).read().split()[-3:]); print("%.2f %.2f" % (w, u + s))' "$log.time"
}

cell() { echo "$1 s wall, $2 s CPU"; }

echo "| keys | init (CA) | first build (100 leaves issued) | unchanged rebuild | forced renewal (100 leaves reissued) |"
echo "|---|---|---|---|---|"
for mode in prod test; do
  for run in $(seq 1 "$RUNS"); do
    b=$(mktemp -d -t maand-certs-bench.XXXXXX)
    if [ "$mode" = test ]; then export MAAND_TEST=1; bits=2048; else unset MAAND_TEST; bits=4096; fi
    read -r iw ic < <(cd "$b" && timed "$b/init.log" "$MAAND" init)
    gen "$b"
    read -r fw fc < <(cd "$b" && timed "$b/first.log" "$MAAND" build)
    read -r rw rc < <(cd "$b" && timed "$b/rebuild.log" "$MAAND" build)
    sed -i 's/^certs_renewal_buffer = .*/certs_renewal_buffer = 60/' "$b/maand.conf"
    read -r nw nc < <(cd "$b" && timed "$b/renew.log" "$MAAND" build)
    leaves=$(cd "$b" && "$MAAND" cat certs --output json | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["scope"] == "job"))')
    [ "$leaves" = 100 ] || { echo "expected 100 leaves, got $leaves" >&2; exit 1; }
    echo "| RSA $bits | $(cell "$iw" "$ic") | $(cell "$fw" "$fc") | $(cell "$rw" "$rc") | $(cell "$nw" "$nc") |"
    rm -rf "$b"
  done
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
