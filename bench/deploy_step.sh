#!/usr/bin/env bash
# Untimed preparation steps of bench/deploy.sh (hyperfine --prepare).
#
#   deploy_step.sh STATE_DIR reset maand|floor|ansible   wipe that tool's worker dirs (maand:
#                                                          also restore the built bucket)
#   deploy_step.sh STATE_DIR cold  floor|ansible         close the persisted ssh masters
#   deploy_step.sh STATE_DIR touch maand|floor|ansible   change one file of job0 (maand:
#                                                          then maand build)
set -euo pipefail
dir=$1
action=$2
tool=$3
# shellcheck source=/dev/null
. "$dir/env.sh"

case "$action" in
reset)
  case "$tool" in
  maand)
    for w in $WDIRS; do rm -rf "${w:?}/$BUCKET_ID"; done
    rsync -a --delete "$dir/maand-template/" "$dir/maand/"
    ;;
  floor | ansible)
    for w in $WDIRS; do rm -rf "${w:?}/$tool"; done
    ;;
  esac
  ;;
cold)
  for s in "$dir/$tool-ctl"/*; do
    [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1 || true
  done
  ;;
touch)
  case "$tool" in
  maand)
    date +%s.%N >"$dir/maand/workspace/jobs/job0/file0.txt"
    (cd "$dir/maand" && "$M" build >/dev/null)
    ;;
  *)
    date +%s.%N >"$dir/src/jobs/job0/file0.txt"
    ;;
  esac
  ;;
esac
