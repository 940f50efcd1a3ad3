#!/usr/bin/env python3
"""Markdown table of bench/deploy.sh results (medians) with the ratios the targets use.

usage: deploy_table.py results.tsv...
"""
import sys
from collections import defaultdict

rows = [l.rstrip("\n").split("\t") for p in sys.argv[1:] for l in open(p) if l.strip()]
med = {}
logins = {}
cpu = {}
for n, tool, scen, warm, median, *rest in rows:
    if scen == "noop_logins":
        logins[(n, warm)] = median
    else:
        med[(n, tool, scen, warm)] = float(median)
        if len(rest) >= 4:
            cpu[(n, tool, scen, warm)] = float(rest[3])

print("| workers | scenario | warmth | maand (s) | floor (s) | Ansible (s) | maand / floor | Ansible / maand |")
print("|---:|---|---|---:|---:|---:|---:|---:|")
sizes = sorted({int(k[0]) for k in med})
verdicts = defaultdict(list)
for n in map(str, sizes):
    for scen in ("first", "noop", "change"):
        for warm in ("cold", "warm"):
            m = med.get((n, "maand", scen, warm))
            f = med.get((n, "floor", scen, warm))
            a = med.get((n, "ansible", scen, warm))
            if m is None:
                continue
            r_floor = m / f if f else None
            r_ans = a / m if a else None
            fmt = lambda v: "-" if v is None else f"{v:.3f}"
            ratio = lambda v, d: "-" if v is None else f"{v:.{d}f}x"
            print(f"| {n} | {scen} | {warm} | {fmt(m)} | {fmt(f)} | {fmt(a)} | {ratio(r_floor, 2)} | {ratio(r_ans, 1)} |")
            if scen != "noop" and r_floor is not None:
                verdicts["maand within 1.3x of the floor"].append((f"{n} {scen} {warm}", r_floor <= 1.3, f"{r_floor:.2f}x"))
            if warm == "warm" and r_ans is not None:
                verdicts[">= 10x faster than warm Ansible"].append((f"{n} {scen}", r_ans >= 10, f"{r_ans:.1f}x"))
    m = med.get((n, "maand", "noop", "warm"))
    if m is not None:
        verdicts["no-op deploy under 0.3 s, no worker contacted"].append(
            (f"{n} workers", m < 0.3 and logins.get((n, "warm")) == "0",
             f"{m * 1000:.0f} ms wall, {cpu.get((n, 'maand', 'noop', 'warm'), float('nan')) * 1000:.0f} ms CPU, "
             f"{logins.get((n, 'warm'), '?')} logins"))
print()
for target, items in verdicts.items():
    ok = all(i[1] for i in items)
    detail = ", ".join(f"{i[0]}: {i[2]}{'' if i[1] else ' (missed)'}" for i in items)
    print(f"- **{target}**: {'met' if ok else 'MISSED'} — {detail}")
