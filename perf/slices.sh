#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/slices.sh [OUTDIR]: how well the tuner picks the pipelining slice.
# For broadcast and reduce (the collectives whose algorithms pipeline), the
# tuner's algorithm at each size is timed with every slice from 4K up to
# the message (--slices) and with the tuner's own, on
#   1 node x 4 ranks (this machine, shm),
#   4 namespace hosts x 1 rank (tcp; tests/cluster/lib.sh, needs root).
# Writes OUTDIR/summary.md: per case, sizes where the tuner's slice is
# within 10% of the fastest, and the worst ratio.
set -u
cd "$(dirname "$0")/.."
out=${1:-perf/results/slices}
mkdir -p "$out"
MPI="mpirun --allow-run-as-root --oversubscribe --bind-to none"
for b in broadcast reduce; do
    echo "[slices] $b 1x4" >&2
    $MPI -np 4 perf/${b}_perf -b 64K -e 64M -f 4 -n 10 -w 3 --slices \
        -J "$out/${b}_1x4.json" >"$out/${b}_1x4.txt" 2>/dev/null
done
TT_HERE=$PWD/tests/cluster
. tests/cluster/lib.sh
if why=$(tt_cluster_can) && tt_cluster_up 4 >/dev/null 2>&1; then
    hf=$(tt_hostfile "node1:1 node2:1 node3:1 node4:1")
    for b in broadcast reduce; do
        echo "[slices] $b 4x1" >&2
        tt_mpirun "$hf" 4 perf/${b}_perf -b 64K -e 64M -f 4 -n 10 -w 3 --slices \
            -J "$out/${b}_4x1.json" >"$out/${b}_4x1.txt" 2>/dev/null
    done
else
    echo "[slices] no namespace hosts: ${why:-set-up failed}" >&2
fi
"${PYTHON:-python3}" - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
with open(os.path.join(out, "summary.md"), "w") as s:
    s.write("| case (collective_nodes x ranks) | size | algorithm | fastest slice | tuner's slice | tuner / fastest |\n")
    s.write("|---|---:|---|---|---|---:|\n")
    for f in sorted(glob.glob(os.path.join(out, "*.json"))):
        try:
            d = json.load(open(f))
        except ValueError:
            continue
        for r in d.get("results", []):
            if "chosen_over_fastest" not in r:
                continue
            s.write(f"| {os.path.basename(f)[:-5]} | {r['size']} | {r['algorithm']} | {r['fastest']} | "
                    f"{r['chosen']} | {r['chosen_over_fastest']:.2f}x |\n")
print(open(os.path.join(out, "summary.md")).read())
PY
