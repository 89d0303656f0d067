#!/usr/bin/env python3
"""Summarizes bench_alternate.sh output: per file and test the median (range) of each side
(ref: llama.cpp or an earlier baton; new: baton), the new/ref ratio of medians and of each
round's pair, and for tg the bandwidth share.
  engine/tools/bench_summary.py LOG [BOUND_GBPS]"""
import re
import statistics
import sys
from collections import defaultdict

ROW = re.compile(r"^\| \d+ \| \w+ \| (pp\d+|tg\d+) \| ([\d.]+) ")
BATCH = re.compile(r"^\| \d+ \| \w+ \| (\d+) \| (\d+) \| (\d+) \| ([\d.]+) ± [\d.]+ \| ([\d.]+) ")
TRAFFIC = re.compile(r"decode weight traffic: ([\d.]+) MB per step, ([\d.]+) GB/s(?: = (\d+)% of ([\d.]+) GB/s)?")
# llama-bench: | model | size | params | backend | threads | test | t/s |
LLAMA_ROW = re.compile(r"\| +(pp\d+|tg\d+) +\| +([\d.]+) ± ")
# llama-batched-bench: | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
LLAMA_BATCH = re.compile(r"^\| +\d+ \| +\d+ \| +(\d+) \| +\d+ \| +[\d.]+ \| +([\d.]+) \| +[\d.]+ \| +([\d.]+) \|")
RESIDENT = re.compile(r"resident: peak ([\d.]+) MB, now ([\d.]+) MB, file ([\d.]+) MB")

values = defaultdict(lambda: defaultdict(dict))  # (file, test) -> side -> round -> t/s
extra = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        print(line.rstrip())
        continue
    parts = line.split(" ", 4)
    if len(parts) < 5:
        continue
    rnd, side, f, mode, text = parts
    text = text.rstrip("\n")
    m = ROW.match(text)
    if m:
        values[(f, m.group(1))][side][rnd] = float(m.group(2))
    m = LLAMA_ROW.search(text)
    if m:
        values[(f, m.group(1))][side][rnd] = float(m.group(2))
    m = BATCH.match(text)
    if m:
        b = m.group(3)
        values[(f, f"B={b} S_PP")][side][rnd] = float(m.group(4))
        values[(f, f"B={b} S_TG")][side][rnd] = float(m.group(5))
    m = LLAMA_BATCH.match(text)
    if m:
        b = m.group(1)
        values[(f, f"B={b} S_PP")][side][rnd] = float(m.group(2))
        values[(f, f"B={b} S_TG")][side][rnd] = float(m.group(3))
    m = TRAFFIC.search(text)
    if m and side == "new" and mode == "single":
        extra[(f, "traffic")] = float(m.group(1))
    m = RESIDENT.search(text)
    if m and side == "new":
        extra[(f, mode, "resident")] = (float(m.group(1)), float(m.group(3)))

for (f, test), sides in list(values.items()):
    if "threads1" in sides or "threads2" in sides:
        busy = values.pop((f, test))
        print(f"other core busy, {f} {test}: 1 thread {sorted(busy.get('threads1', {}).values())}, "
              f"2 threads {sorted(busy.get('threads2', {}).values())}")

bound = float(sys.argv[2]) if len(sys.argv) > 2 else 0
print("| file | test | reference t/s median (range) | baton t/s median (range) | baton/reference (per round) | tg % of bound |")
print("|---|---|---|---|---|---|")
for (f, test), sides in values.items():
    def desc(side):
        v = list(sides.get(side, {}).values())
        if not v:
            return "-", None
        return f"{statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f})", statistics.median(v)
    bd, bm = desc("ref")
    nd, nm = desc("new")
    ratio = f"{nm / bm:.2f}x" if bm and nm else "-"
    per_round = [sides["new"][r] / sides["ref"][r] for r in sides.get("new", {}) if r in sides.get("ref", {})]
    if per_round:
        ratio += " (" + ", ".join(f"{x:.2f}" for x in per_round) + ")"
    pct = "-"
    if test.startswith("tg") and bound > 0 and (f, "traffic") in extra and nm:
        gbs = extra[(f, "traffic")] * 1e6 * nm / 1e9
        pct = f"{gbs:.1f} GB/s = {100 * gbs / bound:.0f}%"
    print(f"| {f} | {test} | {bd} | {nd} | {ratio} | {pct} |")
for key, (peak, file_mb) in sorted((k, v) for k, v in extra.items() if k[-1] == "resident"):
    print(f"resident {key[0]} {key[1]}: peak {peak:.0f} MB vs file {file_mb:.0f} MB = {peak / file_mb:.2f}x")
