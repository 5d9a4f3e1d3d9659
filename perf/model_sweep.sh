#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/model_sweep.sh [OUTDIR]: how well the cost model picks.  Every
# algorithm is timed at every size (--sweep) and the model's pick compared
# with the fastest, for all-reduce, broadcast and all-gather on
#   1 node x 2 ranks, 1 node x 4 ranks (this machine),
#   2 namespace hosts x 2 ranks (tests/cluster/lib.sh; needs root),
# each with the model's defaults and with TUTTI_TUNE_PROBE=1.
# Writes OUTDIR/summary.md: per case, sizes where the pick is within 10% of
# the fastest, and the worst ratio.
set -u
cd "$(dirname "$0")/.."
out=${1:-perf/results/model}
mkdir -p "$out"
. perf/hosts.sh
# sweep SHAPE LAUNCHER NP: every collective, model defaults and probed
sweep()
{
    local shape=$1 launch=$2 np=$3 probe b
    for probe in 0 1; do
        for b in all_reduce broadcast all_gather; do
            echo "[model] $b $shape probe=$probe" >&2
            TUTTI_TUNE_PROBE=$probe "$launch" "$np" perf/${b}_perf -b 8 -e 64M -f 8 -n 10 -w 3 --sweep \
                -J "$out/${b}_${shape}_p$probe.json" >"$out/${b}_${shape}_p$probe.txt" 2>/dev/null
        done
    done
}
sweep 1x2 perf_local 2
sweep 1x4 perf_local 4
if perf_hosts_up model 2 "node1:2 node2:2"; then sweep 2x2 perf_hosts 4; fi
"${PYTHON:-python3}" - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
rows = []
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    try:
        d = json.load(open(f))
    except ValueError:
        continue
    res = [r for r in d.get("results", []) if "chosen_over_fastest" in r]
    if not res:
        continue
    ok = sum(1 for r in res if r["chosen_over_fastest"] <= 1.10)
    worst = max(res, key=lambda r: r["chosen_over_fastest"])
    rows.append((os.path.basename(f)[:-5], ok, len(res), worst["chosen_over_fastest"], worst["size"],
                 worst["chosen"], worst["fastest"]))
with open(os.path.join(out, "summary.md"), "w") as s:
    s.write("| case (collective_nodes x ranks_probe) | pick within 10% | worst | at bytes | picked | fastest |\n")
    s.write("|---|---|---|---|---|---|\n")
    for name, ok, n, w, size, ch, fa in rows:
        s.write(f"| {name} | {ok}/{n} | {w:.2f}x | {size} | {ch} | {fa} |\n")
print(open(os.path.join(out, "summary.md")).read())
PY
