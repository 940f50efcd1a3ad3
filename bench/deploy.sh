#!/usr/bin/env bash
# Benchmark `maand deploy` against the floor (bench/deploy_floor.sh: parallel rsync + ssh make
# over multiplexed connections) and Ansible (ansible.posix.synchronize per job + make where
# something changed; ansible-core plus the `ansible` package for ansible.posix), on local fleets of
# sshd workers (maand-fleet), JOBS jobs per worker:
#
#   first   first deploy of every job to every worker (then start)
#   noop    deploy again with nothing changed
#   change  one file of one job changed (then restart that job everywhere)
#
# each cold (no ssh master alive at start) and warm (masters kept from the previous run).
#
#   bench/deploy.sh [WORKERS...]      (default: 4 16; JOBS=10 RUNS=5 ANSIBLE_RUNS=3)
#
# Ansible is slow (minutes per run on a loaded 2-core machine); ANSIBLE_SIZES,
# ANSIBLE_SCENARIOS and ANSIBLE_WARMTH (space-separated; default: all) limit where it runs;
# TOOLS (default "maand floor ansible") limits the tools.
#
# Needs root (fleet), hyperfine (installed with apt-get when missing), python3 -m venv.
# Writes bench/out/deploy/results-<sizes>.tsv and prints a Markdown table (paste into RESULTS.md).
# MAAND=/path/to/maand skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
JOBS=${JOBS:-10}
RUNS=${RUNS:-5}
ANSIBLE_RUNS=${ANSIBLE_RUNS:-3}
OUT=${BENCH_OUT:-$repo/bench/out/deploy}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(4 16)

command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
if [ -z "${MAAND:-}" ]; then
  cargo build --release -q -p maand -p maand-fleet >&2
  MAAND="$repo/target/release/maand"
fi
FLEET=${FLEET:-$repo/target/release/maand-fleet}
[ -x "$FLEET" ] || FLEET="$repo/target/debug/maand-fleet"
VENV="$repo/bench/out/venv"
if [ ! -d "$VENV/lib/python3"*/site-packages/ansible_collections/ansible/posix ]; then
  echo "installing ansible-core into $VENV" >&2
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q ansible-core ansible >&2
fi
export M="$MAAND"
STEP="$repo/bench/deploy_step.sh"
FLOOR="$repo/bench/deploy_floor.sh"
mkdir -p "$OUT"
results="$OUT/results-$(IFS=-; echo "${sizes[*]}")${TOOLS:+-${TOOLS// /-}}.tsv"
: >"$results"

fleets=()
cleanup() {
  for f in "${fleets[@]}"; do "$FLEET" stop --state "$f" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# bench N TOOL SCENARIO WARMTH RUNS PREPARE COMMAND
bench() {
  local n=$1 tool=$2 scen=$3 warm=$4 runs=$5 prep=$6 cmd=$7
  [[ " ${TOOLS:-$tool} " == *" $tool "* ]] || return 0
  if [ "$tool" = ansible ]; then
    [[ " ${ANSIBLE_SIZES:-$n} " == *" $n "* ]] || return 0
    [[ " ${ANSIBLE_SCENARIOS:-$scen} " == *" $scen "* ]] || return 0
    [[ " ${ANSIBLE_WARMTH:-$warm} " == *" $warm "* ]] || return 0
  fi
  local json="$OUT/n$n/$tool-$scen-$warm.json" warmup=0
  [ "$warm" = warm ] && warmup=1
  echo "== $n workers: $tool $scen ($warm)" >&2
  local show=()
  [ "$tool" = ansible ] && show=(--show-output)
  hyperfine -S bash --runs "$runs" --warmup "$warmup" --prepare "$prep" "${show[@]}" \
    --export-json "$json" -- "$cmd" >"$OUT/n$n/$tool-$scen-$warm.log" 2>&1 || {
    echo "failed: $cmd (see $OUT/n$n/$tool-$scen-$warm.log)" >&2
    tail -5 "$OUT/n$n/$tool-$scen-$warm.log" >&2
    return 0
  }
  python3 - "$json" "$n" "$tool" "$scen" "$warm" >>"$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("\t".join(sys.argv[2:6] + [f"{r['median']:.4f}", f"{r['min']:.4f}", f"{r['max']:.4f}",
                                 str(len(r["times"])), f"{r['user'] + r['system']:.4f}"]))
PY
}

logins() { # total "Accepted publickey" lines over the fleet's sshd logs
  python3 - "$1/fleet/state.json" <<'PY'
import json, sys
n = 0
for w in json.load(open(sys.argv[1]))["workers"]:
    n += open(w["log"], errors="replace").read().count("Accepted publickey")
print(n)
PY
}

for n in "${sizes[@]}"; do
  d="$OUT/n$n"
  rm -rf "$d"
  mkdir -p "$d/floor-ctl" "$d/ansible-ctl" "$d/ansible-tmp"
  "$FLEET" start --workers "$n" --state "$d/fleet" >/dev/null
  fleets+=("$d/fleet")
  python3 - "$d" <<'PY'
import json, sys
d = sys.argv[1]
s = json.load(open(f"{d}/fleet/state.json"))
hosts = " ".join(w["host"] for w in s["workers"])
wdirs = " ".join(w["worker_dir"] for w in s["workers"])
with open(f"{d}/env.sh", "w") as f:
    f.write(f'HOSTS="{hosts}"\nWDIRS="{wdirs}"\nPORT={s["port"]}\nKEY="{s["client_key"]}"\n')
with open(f"{d}/inventory.ini", "w") as f:
    f.write("[workers]\n")
    for w in s["workers"]:
        f.write(f'{w["host"]} ansible_port={s["port"]} ansible_user=root '
                f'ansible_ssh_private_key_file={s["client_key"]}\n')
PY
  # shellcheck source=/dev/null
  . "$d/env.sh"

  # The jobs: a Makefile and four 2 KiB files each.
  for j in $(seq 0 $((JOBS - 1))); do
    jd="$d/src/jobs/job$j"
    mkdir -p "$jd"
    printf 'start restart reload stop status:\n\t@mkdir -p data && echo $@ > data/state\n' >"$jd/Makefile"
    for f in 0 1 2 3; do head -c 1536 /dev/urandom | base64 -w 64 >"$jd/file$f.txt"; done
  done

  # maand: a built bucket (template), known_hosts primed by one deploy.
  t="$d/maand-template"
  mkdir -p "$t" && (cd "$t" && "$M" init >/dev/null)
  install -m 600 "$KEY" "$t/secrets/worker.key"
  cat >"$t/maand.conf" <<CONF
ssh_user = "root"
ssh_key = "worker.key"
ssh_port = $PORT
use_sudo = false
ssh_connect_timeout = 5
parallelism = 16
ssh_control_persist = 0
CONF
  python3 -c 'import json,sys; print(json.dumps([{"host": h} for h in sys.argv[1:]]))' $HOSTS >"$t/workspace/workers.json"
  for jd in "$d"/src/jobs/*; do
    cp -r "$jd" "$t/workspace/jobs/"
    printf '{"version": "1.0.0", "selectors": ["worker"], "max_concurrent_upgrades": %d}\n' "$n" \
      >"$t/workspace/jobs/$(basename "$jd")/manifest.json"
  done
  (cd "$t" && "$M" build >/dev/null)
  rsync -a --delete "$t/" "$d/maand/"
  (cd "$d/maand" && "$M" deploy >/dev/null 2>&1)
  cp "$d/maand/secrets/known_hosts" "$t/secrets/known_hosts"
  BUCKET_ID=$(cd "$t" && "$M" info --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bucket_id"])')
  echo "BUCKET_ID=$BUCKET_ID" >>"$d/env.sh"

  # Ansible: copy each job dir, make start/restart where the copy changed anything.
  cat >"$d/ansible.cfg" <<CFG
[defaults]
inventory = $d/inventory.ini
forks = 16
host_key_checking = False
interpreter_python = /usr/bin/python3
local_tmp = $d/ansible-tmp
gathering = explicit
[ssh_connection]
pipelining = True
control_path_dir = $d/ansible-ctl
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o ControlPath=$d/ansible-ctl/%C -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes
CFG
  jobs_yaml=$(for j in $(seq 0 $((JOBS - 1))); do printf 'job%s,' "$j"; done)
  cat >"$d/deploy.yml" <<YML
- hosts: workers
  gather_facts: false
  vars:
    root: /opt/worker/ansible
    jobs: "{{ '${jobs_yaml%,}'.split(',') }}"
    target: restart
  tasks:
    - name: sync job files
      ansible.posix.synchronize:
        src: "$d/src/jobs/{{ item }}/"
        dest: "{{ root }}/jobs/{{ item }}/"
        rsync_opts: ["--exclude=/data"]
        use_ssh_args: true
        ssh_connection_multiplexing: true
        rsync_path: "mkdir -p {{ root }}/jobs && rsync"
      loop: "{{ jobs }}"
      register: copied
    - name: make start/restart where something changed
      ansible.builtin.command: make -s -C {{ root }}/jobs/{{ item.item }} {{ target }}
      loop: "{{ copied.results }}"
      when: item.changed
YML
  export ANSIBLE_CONFIG="$d/ansible.cfg"
  A="$VENV/bin/ansible-playbook $d/deploy.yml"

  for warm in cold warm; do
    persist=0
    [ "$warm" = warm ] && persist=60
    sed -i "s/^ssh_control_persist = .*/ssh_control_persist = $persist/" "$t/maand.conf" "$d/maand/maand.conf"
    coldf="" colda=""
    if [ "$warm" = cold ]; then
      coldf="; $STEP $d cold floor"
      colda="; $STEP $d cold ansible"
    fi
    mc="cd $d/maand && $M deploy >/dev/null 2>&1"

    bench "$n" maand first "$warm" "$RUNS" "$STEP $d reset maand" "$mc"
    bench "$n" floor first "$warm" "$RUNS" "$STEP $d reset floor$coldf" "$FLOOR $d start ${jobs_yaml//,/ }"
    bench "$n" ansible first "$warm" "$ANSIBLE_RUNS" "$STEP $d reset ansible$colda" "$A -e target=start"

    before=$(logins "$d")
    bench "$n" maand noop "$warm" "$RUNS" "true" "$mc"
    after=$(logins "$d")
    echo "$n workers: maand noop ($warm): $((after - before)) ssh logins" >&2
    printf '%s\tmaand\tnoop_logins\t%s\t%s\t-\t-\t-\n' "$n" "$warm" "$((after - before))" >>"$results"
    bench "$n" floor noop "$warm" "$RUNS" "true$coldf" "$FLOOR $d restart"
    bench "$n" ansible noop "$warm" "$ANSIBLE_RUNS" "true$colda" "$A"

    bench "$n" maand change "$warm" "$RUNS" "$STEP $d touch maand" "$mc"
    bench "$n" floor change "$warm" "$RUNS" "$STEP $d touch floor$coldf" "$FLOOR $d restart job0"
    bench "$n" ansible change "$warm" "$ANSIBLE_RUNS" "$STEP $d touch ansible$colda" "$A"
  done
  "$FLEET" stop --state "$d/fleet" >/dev/null 2>&1 || true
done

python3 "$repo/bench/deploy_table.py" "$results"
