#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/p2p_a2a.sh [RESULTS] [REPS]: all-to-all (pairwise exchange, against
# Open MPI's MPI_Alltoall) and send/recv (each rank to rank+1 from rank-1 in
# one group, against MPI_Sendrecv), side by side in the same run (--mpi),
# float32, 8 B .. 64 MiB (x4 steps; all-to-all's size is each rank's whole
# send buffer, as nccl-tests counts it), results checked (-c 1), on 2, 4
# and 8 ranks of this machine (4 and 8 oversubscribed), REPS runs each;
# medians in RESULTS/alltoall/summary.md and RESULTS/sendrecv/summary.md.
set -u
cd "$(dirname "$0")/.."
results=${1:-perf/results}
reps=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bind() { [ "$1" -le "$(nproc)" ] && echo core || echo none; }
for b in alltoall sendrecv; do
    out=$results/$b
    mkdir -p "$out"
    for np in 2 4 8; do
        for r in $(seq "$reps"); do
            echo "[p2p_a2a] $b np=$np run $r" >&2
            mpirun --oversubscribe --bind-to "$(bind "$np")" -np "$np" perf/${b}_perf -b 8 -e 64M -f 4 -n 20 -w 5 -c 1 \
                --mpi -J "$out/${b}_np${np}_r$r.json" >"$out/${b}_np${np}_r$r.txt" 2>/dev/null
        done
    done
    "${PYTHON:-python3}" perf/summarize.py "$out" >"$out/summary.md"
    echo "[p2p_a2a] wrote $out/summary.md" >&2
done
