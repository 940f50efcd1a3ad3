#!/usr/bin/env python3
"""Runs a Makefile target for the jobs of this worker (installed by maand deploy).

usage: runner.py <bucket_id> <target> [--jobs a,b]

Reads jobs.json next to bin/, and for each selected job whose directory exists runs
`make -s -C <root>/jobs/<job> <target>`, stopping at the first failure with that exit
status. Without --jobs, start and restart skip disabled jobs. Standard library only.
"""
import json
import os
import subprocess
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
    try:
        with open(os.path.join(root, "jobs.json")) as f:
            jobs = json.load(f)
    except (OSError, ValueError) as e:
        print(f"runner.py: cannot read jobs.json: {e}", file=sys.stderr)
        return 2
    for entry in jobs:
        job = entry.get("job", "")
        if selected is not None and job not in selected:
            continue
        if selected is None and target in ("start", "restart") and entry.get("disabled"):
            continue
        job_dir = os.path.join(root, "jobs", job)
        if not os.path.isdir(job_dir):
            continue
        code = subprocess.call(["make", "-s", "-C", job_dir, target])
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
