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
MPI="mpirun --allow-run-as-root --oversubscribe --bind-to none"
for probe in 0 1; do
    for np in 2 4; do
        for b in all_reduce broadcast all_gather; do
            echo "[model] $b np$np probe=$probe" >&2
            $MPI -np $np -x TUTTI_TUNE_PROBE=$probe perf/${b}_perf -b 8 -e 64M -f 8 -n 10 -w 3 --sweep \
                -J "$out/${b}_1x${np}_p$probe.json" >"$out/${b}_1x${np}_p$probe.txt" 2>/dev/null
        done
    done
done
TT_HERE=$PWD/tests/cluster
. tests/cluster/lib.sh
if why=$(tt_cluster_can) && tt_cluster_up 2 >/dev/null 2>&1; then
    hf=$(tt_hostfile "node1:2 node2:2")
    for probe in 0 1; do
        for b in all_reduce broadcast all_gather; do
            echo "[model] $b 2x2 probe=$probe" >&2
            TUTTI_TUNE_PROBE=$probe tt_mpirun "$hf" 4 perf/${b}_perf -b 8 -e 64M -f 8 -n 10 -w 3 --sweep \
                -J "$out/${b}_2x2_p$probe.json" >"$out/${b}_2x2_p$probe.txt" 2>/dev/null
        done
    done
else
    echo "[model] no namespace hosts: ${why:-set-up failed}" >&2
fi
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
