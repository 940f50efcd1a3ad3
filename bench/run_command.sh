#!/usr/bin/env bash
# Benchmark (issue 4): `maand run_command true` on 4 and 16 local fleet workers, side by
# side with a plain parallel ssh loop without multiplexing and with pdsh (when installed).
# maand runs cold (ssh_control_persist = 0: new connections every run) and warm (masters
# persisted by the previous run). Needs root (the fleet) and hyperfine. Loopback only.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
cargo build -q --release -p maand -p maand-fleet
M="$here/target/release/maand"
FLEET="$here/target/release/maand-fleet"
out="$here/bench/out/run_command"
rm -rf "$out" && mkdir -p "$out"
runs=${RUNS:-10}

for n in 4 16; do
  st="$out/fleet$n"
  "$FLEET" start --workers "$n" --state "$st" >/dev/null
  trap '"$FLEET" stop --state "$st" >/dev/null 2>&1 || true' EXIT
  hosts=$(python3 -c 'import json,sys; print(" ".join(w["host"] for w in json.load(open(sys.argv[1]))["workers"]))' "$st/state.json")
  port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$st/state.json")
  key="$st/keys/client_ed25519"
  for mode in cold warm; do
    b="$out/bucket-$n-$mode"
    mkdir -p "$b" && (cd "$b" && "$M" init >/dev/null)
    install -m 600 "$key" "$b/secrets/worker.key"
    persist=$([ "$mode" = cold ] && echo 0 || echo 60)
    printf 'ssh_user = "root"\nssh_port = %s\nuse_sudo = false\nssh_control_persist = %s\n' "$port" "$persist" > "$b/maand.conf"
    python3 -c 'import json,sys; print(json.dumps([{"host": h} for h in sys.argv[1].split()]))' "$hosts" > "$b/workspace/workers.json"
    (cd "$b" && "$M" build >/dev/null && MAAND_PROGRESS=off MAAND_QUIET=1 "$M" run_command true -c "$n" >/dev/null)
  done
  kh="$out/known_hosts-$n"
  ssh_opts="-i $key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=$kh -o LogLevel=ERROR -p $port"
  cat > "$out/ssh_loop_$n.sh" <<LOOP
#!/usr/bin/env bash
for h in $hosts; do ssh $ssh_opts root@\$h true & done; wait
LOOP
  chmod +x "$out/ssh_loop_$n.sh"
  "$out/ssh_loop_$n.sh"
  cmds=(
    "cd $out/bucket-$n-cold && MAAND_PROGRESS=off MAAND_QUIET=1 $M run_command true -c $n"
    "cd $out/bucket-$n-warm && MAAND_PROGRESS=off MAAND_QUIET=1 $M run_command true -c $n"
    "$out/ssh_loop_$n.sh"
  )
  names=("maand cold" "maand warm" "ssh loop")
  if command -v pdsh >/dev/null; then
    cmds+=("PDSH_SSH_ARGS_APPEND='$ssh_opts' pdsh -R ssh -l root -w $(echo "$hosts" | tr ' ' ',') true")
    names+=("pdsh")
  fi
  args=()
  for i in "${!cmds[@]}"; do args+=(-n "${names[$i]} ($n workers)" "${cmds[$i]}"); done
  hyperfine --shell=bash --warmup 1 --runs "$runs" --export-markdown "$out/run_command_$n.md" "${args[@]}"
  "$FLEET" stop --state "$st" >/dev/null
  trap - EXIT
done
cat "$out"/run_command_*.md
