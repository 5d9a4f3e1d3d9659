#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/alltoall.sh [OUTDIR] [REPS]: all-to-all (pairwise exchange) against
# Open MPI's MPI_Alltoall in the same run (--mpi), float32, 8 B .. 64 MiB
# (x4 steps; size = each rank's whole send buffer, as nccl-tests counts it),
# results checked (-c 1), on 2, 4 and 8 ranks of this machine (4 and 8
# oversubscribed), REPS runs each; medians in OUTDIR/summary.md.
set -u
cd "$(dirname "$0")/.."
out=${1:-perf/results/alltoall}
reps=${2:-3}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bind() { [ "$1" -le "$(nproc)" ] && echo core || echo none; }
for np in 2 4 8; do
    for r in $(seq "$reps"); do
        echo "[alltoall] np=$np run $r" >&2
        mpirun --oversubscribe --bind-to "$(bind "$np")" -np "$np" perf/alltoall_perf -b 8 -e 64M -f 4 -n 20 -w 5 -c 1 \
            --mpi -J "$out/alltoall_np${np}_r$r.json" >"$out/alltoall_np${np}_r$r.txt" 2>/dev/null
    done
done
"${PYTHON:-python3}" perf/summarize.py "$out" >"$out/summary.md"
echo "[alltoall] wrote $out/summary.md" >&2
