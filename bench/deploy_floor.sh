#!/usr/bin/env bash
# The floor for bench/deploy.sh: the least a deploy tool can do, as a plain bash script.
# Per worker, in parallel: one rsync of the whole tree, then one ssh running `make <target>`
# for the given jobs, both over one multiplexed connection (ControlMaster, ControlPersist=60).
#
#   deploy_floor.sh STATE_DIR TARGET [JOB...]     (no JOB: rsync only, like a no-op deploy)
#
# STATE_DIR is a bench size dir of bench/deploy.sh (env.sh, src/, floor-ctl/).
set -euo pipefail
dir=$1
target=$2
shift 2
# shellcheck source=/dev/null
. "$dir/env.sh"
ssh_opts=(-i "$KEY" -p "$PORT" -o IdentitiesOnly=yes -o BatchMode=yes
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
  -o ControlMaster=auto -o "ControlPath=$dir/floor-ctl/%C" -o ControlPersist=60)
root=/opt/worker/floor
cmd=""
for j in "$@"; do
  cmd+="make -s -C $root/jobs/$j $target >/dev/null && "
done
cmd+="true"
pids=()
for h in $HOSTS; do
  (
    rsync -a --delete --exclude /jobs/*/data --rsync-path="mkdir -p $root && rsync" \
      -e "ssh ${ssh_opts[*]}" "$dir/src/" "root@$h:$root/"
    if [ $# -gt 0 ]; then
      ssh "${ssh_opts[@]}" "root@$h" "$cmd"
    fi
  ) &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
