#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/campaign.sh [OUTDIR] [REPS]: the measurements behind perf/README.md.
# For 2 and 4 ranks and each of all-reduce, broadcast, all-gather and
# reduce-scatter: 8 B .. 256 MiB (x2 steps), tutti and Open MPI side by side
# in the same run (--mpi), results checked (-c 1), REPS runs each; then a
# latency run (8 B .. 64 KiB, 5000 iterations) and the algorithm sweep.
# Run it on an otherwise idle machine; it prints progress on stderr.
set -u
cd "$(dirname "$0")/.."
out=${1:-perf/results}
reps=${2:-3}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bind() { [ "$1" -le "$(nproc)" ] && echo core || echo none; }
for np in 2 4; do
    for b in all_reduce broadcast all_gather reduce_scatter; do
        for r in $(seq "$reps"); do
            echo "[campaign] np=$np $b run $r" >&2
            mpirun --oversubscribe --bind-to "$(bind $np)" -np "$np" perf/${b}_perf -b 8 -e 256M -f 2 -n 20 -w 5 -c 1 \
                --mpi -J "$out/${b}_np${np}_r$r.json" >"$out/${b}_np${np}_r$r.txt" 2>/dev/null
        done
    done
    for r in $(seq "$reps"); do
        echo "[campaign] np=$np latency run $r" >&2
        mpirun --oversubscribe --bind-to "$(bind $np)" -np "$np" perf/all_reduce_perf -b 8 -e 64K -f 4 -n 5000 -w 500 -c 1 \
            --mpi -J "$out/latency_np${np}_r$r.json" >"$out/latency_np${np}_r$r.txt" 2>/dev/null
    done
    echo "[campaign] np=$np sweep" >&2
    mpirun --oversubscribe --bind-to "$(bind $np)" -np "$np" perf/all_reduce_perf -b 8 -e 256M -f 4 -n 20 -w 5 --sweep \
        -J "$out/sweep_allreduce_np${np}.json" >"$out/sweep_allreduce_np${np}.txt" 2>/dev/null
done
"${PYTHON:-python3}" perf/summarize.py "$out" >"$out/summary.md"
"${PYTHON:-python3}" perf/plot.py -o perf/allreduce.png --title "all-reduce float32 sum, tutti vs Open MPI 4.1.4, one 2-core VM" \
    "$out/all_reduce_np2_r1.json" "$out/all_reduce_np4_r1.json"
echo "[campaign] wrote $out/summary.md and perf/allreduce.png" >&2
