#!/usr/bin/env bash
# The README demo: a local fleet of three sshd workers on 127.0.x.y, the demo bucket of
# examples/demo, then build → deploy → status → a one-file change rolled out worker by
# worker. Needs root (sshd in private mount namespaces). KEEP=1 leaves the fleet running.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
./scripts/setup.sh
cargo build -q -p maand -p maand-fleet
M="$here/target/debug/maand"
FLEET="$here/target/debug/maand-fleet"
demo=/tmp/maand-demo
[ -f "$demo/fleet/state.json" ] && "$FLEET" stop --state "$demo/fleet" >/dev/null 2>&1 || true
rm -rf "$demo"
mkdir -p "$demo"
if [ "${KEEP:-0}" != 1 ]; then
  trap '"$FLEET" stop --state "$demo/fleet" >/dev/null 2>&1 || true' EXIT
fi
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

"$FLEET" start --workers 3 --state "$demo/fleet" >/dev/null
hosts=$(python3 -c 'import json,sys; print(" ".join(w["host"] for w in json.load(open(sys.argv[1]))["workers"]))' "$demo/fleet/state.json")
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$demo/fleet/state.json")
echo "fleet: $hosts (sshd port $port)"

mkdir -p "$demo/bucket" && cd "$demo/bucket"
step "$M" init
cp -r "$here/examples/demo/workspace/." workspace/
install -m 600 "$demo/fleet/keys/client_ed25519" secrets/worker.key
cat > maand.conf <<CONF
ssh_user = "root"
ssh_key = "worker.key"
ssh_port = $port
use_sudo = false
ssh_connect_timeout = 5
CONF
python3 - "$hosts" > workspace/workers.json <<'PY'
import json, sys
print(json.dumps([{"host": h, "labels": ["web"]} for h in sys.argv[1].split()], indent=2))
PY

step "$M" build
step "$M" cat allocations
step "$M" cat kv --jobs web
step "$M" deploy
step "$M" job status web
step "$M" cat deployments
first=${hosts%% *}
web_port=$("$M" cat job_ports --output json | python3 -c 'import json,sys; print([p["port"] for p in json.load(sys.stdin) if p["name"]=="web_http_port"][0])')
step python3 -c "import urllib.request; print(urllib.request.urlopen('http://$first:$web_port/').read().decode())"

echo '<p>second release</p>' >> workspace/jobs/web/www/index.html.tpl
step "$M" build
step "$M" deploy --dry-run
step "$M" deploy
step python3 -c "import urllib.request; print(urllib.request.urlopen('http://$first:$web_port/').read().decode())"
step "$M" deploy
echo
echo "demo bucket: $demo/bucket"
