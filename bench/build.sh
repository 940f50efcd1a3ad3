#!/usr/bin/env bash
# Benchmark `maand build`: first build and unchanged rebuild of generated workspaces
# (100, 1,000 and 5,000 workers x 50 jobs), wall time and peak RSS via /usr/bin/time -v.
#
#   bench/build.sh [WORKERS...]     (default: 100 1000 5000; JOBS=50)
#
# Prints a Markdown table on stdout; per-run logs go to $BENCH_DIR (default a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time" >&2
  apt-get install -y time >/dev/null
fi

# MAAND=/path/to/maand skips the release build and benchmarks that binary.
if [ -z "${MAAND:-}" ]; then
  cargo build --release -p maand >&2
  target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  MAAND="$target_dir/release/maand"
fi
JOBS=${JOBS:-50}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d -t maand-bench.XXXXXX)}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 5000)

# run LABEL BUCKET: one timed build; prints "wall_seconds cpu_seconds peak_rss_kb"
run() {
  local log="$BENCH_DIR/$1.time"
  (cd "$2" && /usr/bin/time -v "$MAAND" build >"$BENCH_DIR/$1.out" 2>"$log") || {
    echo "build failed, see $log" >&2
    tail -5 "$log" >&2
    exit 1
  }
  python3 - "$log" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
secs = 0.0
for part in w.split(":"):
    secs = secs * 60 + float(part)
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = sum(float(re.search(r"%s time \(seconds\): (\S+)" % k, t).group(1)) for k in ("User", "System"))
print("%.2f %.2f %d" % (secs, cpu, rss))
PY
}

echo "| workers x jobs | allocations | first build wall (CPU) | peak RSS | unchanged rebuild wall (CPU), best of 3 | peak RSS | KV rows | KV MB | load avg |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  b="$BENCH_DIR/b$n"
  rm -rf "$b" && mkdir -p "$b"
  (cd "$b" && "$MAAND" init >/dev/null)
  python3 bench/gen_workspace.py "$b" --workers "$n" --jobs "$JOBS"
  load=$(cut -d' ' -f1 /proc/loadavg)
  read -r w1 c1 r1 < <(run "first-$n" "$b")
  w2=""
  for i in 1 2 3; do
    read -r w c r < <(run "rebuild$i-$n" "$b")
    if [ -z "$w2" ] || python3 -c "import sys; sys.exit(not $w < $w2)"; then w2=$w c2=$c r2=$r; fi
  done
  allocs=$(cd "$b" && "$MAAND" info --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["allocations"])')
  read -r kvrows kvmb < <(python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute("select count(*), sum(length(value)) from key_value").fetchone(); print(r[0], r[1] // 1000000)' "$b/data/maand.db")
  printf '| %s x %s | %s | %s s (%s s) | %d MB | %s s (%s s) | %d MB | %s | %s | %s |\n' \
    "$n" "$JOBS" "$allocs" "$w1" "$c1" $((r1 / 1024)) "$w2" "$c2" $((r2 / 1024)) "$kvrows" "$kvmb" "$load"
done
echo "logs: $BENCH_DIR" >&2
