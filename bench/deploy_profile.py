#!/usr/bin/env python3
"""Where a maand deploy spends its time, from the bucket's structured run logs.

usage: deploy_profile.py BUCKET [RUN_ID]      (default: the newest run with remote commands)

Prints the span from the first remote command to the last, the time in which no remote
command ran on any worker (local work: staging, hashing, catalog commits, health gates,
process start-up between rounds), and per phase/action: rounds (commands per worker) and
the mean duration of one command.
"""
import datetime
import os
import re
import sys
from collections import defaultdict

bucket = sys.argv[1]
runs_dir = os.path.join(bucket, "logs", "runs")
runs = sorted(
    (r for r in os.listdir(runs_dir) if os.listdir(os.path.join(runs_dir, r))),
    key=lambda r: os.path.getmtime(os.path.join(runs_dir, r)),
)
pat = re.compile(r'(\w+)=("[^"]*"|\S+)')


def parse(run):
    intervals, per, workers = [], defaultdict(list), set()
    for name in os.listdir(os.path.join(runs_dir, run)):
        open_ = {}
        for line in open(os.path.join(runs_dir, run, name), errors="replace"):
            m = dict(pat.findall(line))
            if m.get("event") not in ("command_begin", "command_end"):
                continue
            ts = datetime.datetime.fromisoformat(m["ts"].rstrip("Z")).timestamp()
            key = (m.get("worker"), m.get("job", "-"), m.get("phase"), m.get("action"))
            workers.add(m.get("worker"))
            if m["event"] == "command_begin":
                open_[key] = ts
            elif key in open_:
                b = open_.pop(key)
                intervals.append((b, ts))
                per[(m.get("phase"), m.get("action"))].append(ts - b)
    return intervals, per, workers


for run in [sys.argv[2]] if len(sys.argv) > 2 else reversed(runs):
    intervals, per, workers = parse(run)
    if intervals:
        break
if not intervals:
    sys.exit(f"no remote commands in run {run}")
intervals.sort()
start, end = intervals[0][0], max(e for _, e in intervals)
busy, cur_b, cur_e = 0.0, None, None
for b, e in intervals:
    if cur_e is None or b > cur_e:
        if cur_e is not None:
            busy += cur_e - cur_b
        cur_b, cur_e = b, e
    else:
        cur_e = max(cur_e, e)
busy += cur_e - cur_b
n = max(len(workers), 1)
print(f"run {run}: {n} workers, remote span {end - start:.3f} s, "
      f"no remote command running {end - start - busy:.3f} s")
for (phase, action), ds in sorted(per.items(), key=lambda kv: -sum(kv[1])):
    print(f"  {phase}/{action}: {len(ds) / n:.0f} round(s), {sum(ds) / len(ds) * 1000:.0f} ms mean per command")
