#!/usr/bin/env python3
"""Checks this worker's worker.json against the catalog (installed by maand deploy).

usage: worker.py <bucket_id> <worker_id> <update_seq>
exit 0: in sync; 1: bucket_id differs; 2: worker_id differs; 3: update_seq differs;
4: worker.json missing or unreadable. Standard library only.
"""
import json
import os
import sys


def main(argv):
    if len(argv) != 4:
        print("usage: worker.py <bucket_id> <worker_id> <update_seq>", file=sys.stderr)
        return 4
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        with open(os.path.join(root, "worker.json")) as f:
            w = json.load(f)
    except (OSError, ValueError):
        return 4
    if str(w.get("bucket_id")) != argv[1]:
        return 1
    if str(w.get("worker_id")) != argv[2]:
        return 2
    if str(w.get("update_seq")) != argv[3]:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
