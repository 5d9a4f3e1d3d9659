#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/slices.sh [OUTDIR]: how well the tuner picks the pipelining slice.
# For broadcast and reduce (the collectives whose algorithms pipeline), the
# tuner's algorithm at each size is timed with every slice from 4K up to
# the message (--slices) and with the tuner's own, on
#   1 node x 4 ranks (this machine, shm),
#   4 namespace hosts x 1 rank (tcp; tests/cluster/lib.sh, needs root).
# Each case runs RUNS times (default 3); OUTDIR/summary.md has, per case and
# size, the median time of every slice, the fastest, the tuner's and their
# ratio; and how far apart identical settings came (slices above the
# transports' slot are cut at the slot: the same setting run again).
set -u
cd "$(dirname "$0")/.."
out=${1:-perf/results/slices}
runs=${RUNS:-3}
mkdir -p "$out"
. perf/hosts.sh
# slices SHAPE LAUNCHER NP: broadcast and reduce, RUNS times
slices()
{
    local shape=$1 launch=$2 np=$3 r b
    for r in $(seq "$runs"); do
        for b in broadcast reduce; do
            echo "[slices] $b $shape run $r" >&2
            "$launch" "$np" perf/${b}_perf -b 64K -e 64M -f 4 -n 10 -w 3 --slices \
                -J "$out/${b}_${shape}_r$r.json" >"$out/${b}_${shape}_r$r.txt" 2>/dev/null
        done
    done
}
slices 1x4 perf_local 4
if perf_hosts_up slices 4 "node1:1 node2:1 node3:1 node4:1"; then slices 4x1 perf_hosts 4; fi
"${PYTHON:-python3}" - "$out" <<'PY'
import glob, json, os, re, statistics, sys
out = sys.argv[1]
cases = {}
for f in sorted(glob.glob(os.path.join(out, "*_r*.json"))):
    case = re.sub(r"_r[0-9]+$", "", os.path.basename(f)[:-5])
    try:
        d = json.load(open(f))
    except ValueError:
        continue
    for r in d.get("results", []):
        if "times" not in r:
            continue
        row = cases.setdefault(case, {}).setdefault(r["size"], {"algorithm": r["algorithm"], "chosen": r["chosen"], "t": {}})
        for k, v in r["times"].items():
            row["t"].setdefault(k, []).append(v)
with open(os.path.join(out, "summary.md"), "w") as s:
    s.write("| case (collective_nodes x ranks) | size | algorithm | median us per slice | fastest | tuner's | tuner / fastest |\n")
    s.write("|---|---:|---|---|---|---|---:|\n")
    tot = ok = 0
    for case in sorted(cases):
        for size in sorted(cases[case]):
            row = cases[case][size]
            med = {k: statistics.median(v) for k, v in row["t"].items()}
            sl = {k: v for k, v in med.items() if k != "tuner"}
            best = min(sl, key=sl.get)
            ratio = med["tuner"] / sl[best]
            tot += 1
            ok += ratio <= 1.10
            cells = " ".join(f"{k} {v:.0f}" for k, v in sl.items())
            s.write(f"| {case} | {size} | {row['algorithm']} | {cells} | {best} | {row['chosen']} | {ratio:.2f}x |\n")
    s.write(f"\nTuner's slice within 10% of the fastest (medians of the runs): {ok} of {tot}\n")
print(open(os.path.join(out, "summary.md")).read())
PY
