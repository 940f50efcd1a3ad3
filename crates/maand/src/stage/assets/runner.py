#!/usr/bin/env python3
"""Runs a Makefile target for the jobs of this worker (installed by maand deploy).

usage: runner.py <bucket_id> <target> [--jobs a,b]

Runs `make -s -C <root>/jobs/<job> <target>` for each job named by --jobs (else each job
of jobs.json next to bin/) whose directory exists, stopping at the first failure with that
exit status. Without --jobs, start and restart skip disabled jobs. Standard library only.

Deploy starts this once per job per batch on every worker, so its start-up is part of every
rollout: it imports only `os` and `sys` (which the interpreter has loaded anyway) and reads
jobs.json, with `json`, only when no --jobs is given. Importing `json` and `subprocess`
tripled the time of a `python3 -S` run.
"""
import os
import sys


def main(argv):
    if len(argv) < 3:
        print("usage: runner.py <bucket_id> <target> [--jobs a,b]", file=sys.stderr)
        return 2
    bucket_id, target = argv[1], argv[2]
    selected = None
    rest = argv[3:]
    while rest:
        if rest[0] == "--jobs" and len(rest) > 1:
            selected = [j.strip() for j in rest[1].split(",") if j.strip()]
            rest = rest[2:]
        else:
            print(f"runner.py: unexpected argument {rest[0]!r}", file=sys.stderr)
            return 2
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.basename(root) != bucket_id:
        print(f"runner.py: {root} is not the root of bucket {bucket_id}", file=sys.stderr)
        return 2
    if selected is None:
        import json

        try:
            with open(os.path.join(root, "jobs.json")) as f:
                jobs = json.load(f)
        except (OSError, ValueError) as e:
            print(f"runner.py: cannot read jobs.json: {e}", file=sys.stderr)
            return 2
        names = [
            e.get("job", "")
            for e in jobs
            if not (target in ("start", "restart") and e.get("disabled"))
        ]
    else:
        # Named jobs run even when jobs.json no longer lists them: deploy stops removed
        # allocations after it has pushed the new jobs.json.
        names = selected
    for job in names:
        job_dir = os.path.join(root, "jobs", job)
        if not os.path.isdir(job_dir):
            continue
        code = os.spawnvp(os.P_WAIT, "make", ["make", "-s", "-C", job_dir, target])
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
